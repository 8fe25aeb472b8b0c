/*
 * plan — the planning pass: every candidate invoice's facts read in one
 * statement, the policy asked, its decisions written with their audit rows.
 */
#ifndef DUNNING_PLAN_H
#define DUNNING_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "policy.h"
#include "store.h"

/* Counters of one planning pass. */
struct plan_stats {
	bool all;		/* every open invoice read: the rules changed */
	int invoices;		/* candidates examined */
	int planned, held, rescheduled, cancelled, escalated, errors;
	bool head_read;		/* HEAD holds the audit chain's head after the pass */
	struct store_audit_head head;
};

/* Called for each candidate invoice with its facts. */
typedef void (*plan_facts_fn)(const struct policy_facts *f, const char *number, void *arg);
/* Which invoices a pass reads (pipeline/plan.c says how). */
enum plan_candidates {
	PLAN_DUE,	/* due to be looked at by now (dunning.invoice_next_action) */
	PLAN_ALL,	/* and every invoice the policy may speak about some day */
	PLAN_CHASED,	/* those it may speak about today (dunningctl plan) */
};
/* Read, without locking, the facts of the invoices WHICH at NOW.  Returns
 * the count, or -1. */
int plan_each_candidate(struct store *s, const struct config *cfg, time_t now,
    enum plan_candidates which, plan_facts_fn fn, void *arg);

/* Plan the invoices whose time has come (with READ_ALL, or when the rules
 * changed, every open invoice), in chunks: each chunk in one transaction
 * under the invoices' locks, decided again and written with its audit
 * rows. */
int plan_pass(struct store *s, const struct config *cfg, time_t now, bool read_all,
    struct plan_stats *st);

/* Plan only the N invoices IDS (each under its lock), e.g. after a
 * notification.  An unknown id is skipped.  -1 when the session broke. */
int plan_invoices(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, struct plan_stats *st);

/* Take and empty the wake-up queue (sql/020): the invoices named into L,
 * *CLIENT set when a row named only a client; the rows taken, or -1. */
int plan_take_woken(struct store *s, struct store_ids *l, bool *client);

/* Reminders left in 'sending' past their lease become in_doubt. */
int plan_expire_leases(struct store *s, time_t now);

/* The facts query, for candidates or for given invoices (pipeline/plan.c). */
int plan_load_facts(struct store *s, const struct config *cfg, const char *where,
    int n, const char *const *params, plan_facts_fn fn, void *arg);
/* Decisions written together, with one statement per kind (new
 * reminders, moved ones, cancellations, escalations) and their audit
 * rows, inside the caller's transaction, which holds the invoices' locks:
 * the planning pass's chunks and the claim's re-check. */
struct plan_batch;
struct plan_batch *plan_batch_new(const struct config *cfg, time_t now, size_t cap);
/* File decision D about F (no more than the batch's CAP).  -1 when out
 * of memory. */
int plan_batch_add(struct plan_batch *b, const struct policy_facts *f,
    const struct policy_decision *d);
/* File that F is to be looked at again at LOOK (0: when its facts
 * change); written last, in dunning.invoice_next_action. */
int plan_batch_look(struct plan_batch *b, const struct policy_facts *f, time_t look);
int plan_batch_write(struct store *s, struct plan_batch *b, struct plan_stats *st);
void plan_batch_free(struct plan_batch *b);
#endif
