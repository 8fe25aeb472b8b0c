/*
 * store — every SQL statement of the programs, over libpq, parameterised.
 *
 * Reads the facts the policy needs, writes its decisions with their audit
 * rows, claims reminders for the sender and records the outcome, applies
 * the migrations and verifies the audit chain.  Each session carries the
 * one clock (dunning.now) of its program.
 */
#ifndef DUNNING_STORE_H
#define DUNNING_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "config.h"
#include "group.h"
#include "interest.h"
#include "policy.h"
#include "reason.h"

struct store;

/* Counters of one planning pass. */
struct plan_stats {
	int invoices;		/* candidates examined */
	int planned, held, rescheduled, cancelled, escalated, errors;
};

/* Connect with CONNINFO; NULL with the reason in ERR. */
struct store *store_connect(const char *conninfo, char *err, size_t errlen);
void store_close(struct store *s);
/* The last error, for logs. */
const char *store_error(const struct store *s);

/* Before a cycle: roll back a transaction an error left open, reconnect a
 * dropped connection.  0 when the session is usable. */
int store_ready(struct store *s);

/* True when the connection failed (the server went away), as opposed to
 * one statement failing; asks the server when libpq does not know yet. */
bool store_broken(struct store *s);

/* The one clock on this session: SET dunning.now (0: the real clock). */
int store_set_now(struct store *s, time_t now);

/* Highest migration applied, 0 when none, -1 on error. */
int store_schema_version(struct store *s);
/* The highest migration this program carries. */
int store_known_version(void);
/* Apply the pending numbered migrations and the repeatable files of
 * functions and views whose text changed (store_migrate.c), printing each
 * to OUT.  Returns how many numbered migrations were applied, or -1;
 * *REPEATABLE gets how many repeatable files ran. */
int store_migrate(struct store *s, FILE *out, int *repeatable);
/* 1 when the repeatable files recorded in the database are those this
 * program carries (names and checksums), 0 when not, -1 on error. */
int store_repeatables_current(struct store *s);

/* Publish what SQL must know of the configuration (the time zone). */
int store_publish_settings(struct store *s, const struct config *cfg);

/* Write one audit row as ACTOR ("daemon"). DETAILS may be NULL. */
int store_audit(struct store *s, const char *actor, const char *action, int64_t invoice,
    int64_t reminder, json_t *details);

/* Called for each candidate invoice with its facts. */
typedef void (*store_facts_fn)(const struct policy_facts *f, const char *number, void *arg);
/* Read the facts of every invoice the policy may have something to say
 * about at NOW, without locking.  Returns the count, or -1. */
int store_each_candidate(struct store *s, const struct config *cfg, time_t now,
    store_facts_fn fn, void *arg);

/* Plan: every candidate, each in its own transaction under the invoice's
 * lock, decided again and written with its audit rows. */
int store_plan(struct store *s, const struct config *cfg, time_t now, struct plan_stats *st);

/* Plan only the N invoices IDS (each under its lock), e.g. after a
 * notification.  An unknown id is skipped.  -1 when the session broke. */
int store_plan_invoices(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, struct plan_stats *st);

/* Reminders left in 'sending' past their lease become in_doubt. */
int store_expire_leases(struct store *s, time_t now);

/* Claim up to MAX messages (each one client, stage and currency: rule 8),
 * re-checked under their invoices' locks, marked 'sending' and committed
 * in one transaction, into G[0..*N) (G holds MAX).  Returns 1 with *N ≥ 1,
 * 0 when nothing more can leave now, -1 on error. */
int store_claim(struct store *s, const struct config *cfg, time_t now, const char *msgid_domain,
    struct send_group *g, size_t max, size_t *n);
/* Outcomes.  DETAIL (ANSWER) is the relay's answer or the error, never
 * the reason: that is WHY's code. */
int store_record_sent(struct store *s, const struct config *cfg, struct send_group *g,
    const char *answer, const char *letter_path);
int store_record_retry(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *detail);
int store_record_failed(struct store *s, const struct config *cfg, struct send_group *g,
    enum reason why, const char *detail);
int store_record_in_doubt(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail);
/* Keep the text of G's message as it left (SUBJECT may be NULL for a
 * letter): once per Message-ID, a retry adds nothing. */
int store_keep_copy(struct store *s, const struct send_group *g, const char *subject,
    const char *body);


/* Release the group's locks and memory. */
void store_release(struct store *s, struct send_group *g);

/* A reminder waiting for the operator (in_doubt or failed). */
struct store_unsettled {
	int64_t id;
	const char *invoice_number;
	int64_t client_id;
	const char *stage;
	const char *message_id;
	const char *updated_at;
	const char *why;
	int attempts;
};
typedef void (*store_unsettled_fn)(const struct store_unsettled *u, void *arg);
/* Call FN for every reminder in STATE; returns the count, or -1. */
int store_each_unsettled(struct store *s, const char *state, store_unsettled_fn fn, void *arg);
/* FUNCTION "resend" or "mark_sent" on reminder ID, with the reason WHY
 * (audited, as the connected role). */
int store_settle(struct store *s, const char *function, int64_t id, const char *why);

/* For dunningctl status: FN(label, value) for the count of reminders in
 * each state, then the last daemon start and stop and the last send. */
int store_status(struct store *s, void (*fn)(const char *label, const char *value, void *arg),
    void *arg);

/* Recompute the audit chain.  Returns the number of rows checked when the
 * chain holds, -1 on error; on a break, -2 with the first bad id in *BAD. */
int64_t store_audit_verify(struct store *s, int64_t *bad, char *why, size_t whylen);

#endif
