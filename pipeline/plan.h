/*
 * plan — the planning pass: every candidate invoice's facts read in one
 * statement, the policy asked, its decisions written with their audit rows.
 */
#ifndef DUNNING_PLAN_H
#define DUNNING_PLAN_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "policy.h"
#include "store.h"

/* Counters of one planning pass. */
struct plan_stats {
	int invoices;		/* candidates examined */
	int planned, held, rescheduled, cancelled, escalated, errors;
};

/* Called for each candidate invoice with its facts. */
typedef void (*plan_facts_fn)(const struct policy_facts *f, const char *number, void *arg);
/* Read the facts of every invoice the policy may have something to say
 * about at NOW, without locking.  Returns the count, or -1. */
int plan_each_candidate(struct store *s, const struct config *cfg, time_t now,
    plan_facts_fn fn, void *arg);

/* Plan: every candidate, each in its own transaction under the invoice's
 * lock, decided again and written with its audit rows. */
int plan_pass(struct store *s, const struct config *cfg, time_t now, struct plan_stats *st);

/* Plan only the N invoices IDS (each under its lock), e.g. after a
 * notification.  An unknown id is skipped.  -1 when the session broke. */
int plan_invoices(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, struct plan_stats *st);

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
int plan_batch_write(struct store *s, struct plan_batch *b, struct plan_stats *st);
void plan_batch_free(struct plan_batch *b);
#endif
