/*
 * lawyer_sql — the queries behind the lawyers' commands: the reminders
 * held for approval, an invoice's history, a letter posted.  Row-level
 * security decides what a lawyer sees, the SQL functions what a lawyer may
 * do.
 */
#ifndef DUNNING_LAWYER_SQL_H
#define DUNNING_LAWYER_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* A reminder held for approval, as the pending list shows it. */
struct lawyer_sql_held {
	int64_t id;
	const char *invoice_number;
	int64_t client_id;
	const char *client_name;
	const char *balance;	/* numeric text, "6000.00" */
	const char *currency;
	const char *stage;
	const char *since;	/* local time in the firm's zone, "2026-03-31 10:00" */
	const char *since_utc;	/* ISO 8601, "2026-03-31T08:00:00Z" */
	const char *why;	/* reminder.reason: approval_threshold, strategic_client... */
};
typedef void (*lawyer_sql_held_fn)(const struct lawyer_sql_held *h, void *arg);
/* Every held reminder the session may see, oldest first; times in zone TZ.
 * Returns the count, or -1. */
int lawyer_sql_each_held(struct store *s, const char *tz, lawyer_sql_held_fn fn, void *arg);

/* An invoice, as history shows it first. */
struct lawyer_sql_invoice {
	int64_t id;
	const char *number;
	int64_t client_id;
	const char *client_name;
	const char *amount, *balance, *currency;	/* numeric text */
	const char *issued_on, *due_on, *status;
	const char *disputed_at, *dispute_reason;	/* "" when not disputed */
	const char *paused_until;			/* "" when not paused */
};

/* One line of an invoice's history: a reminder, or an audit row. */
struct lawyer_sql_hist {
	bool audit;
	const char *at;		/* local time: the audit row's, or the reminder's creation */
	int64_t reminder_id;	/* 0 for an audit row about the invoice alone */
	/* reminder: */
	const char *stage, *state, *scheduled_for, *sent_at, *message_id, *reason;
	/* audit row: */
	int64_t audit_id;
	const char *actor, *action, *details;
};

/* Invoice NUMBER's history in one snapshot, times in zone TZ: HEAD once,
 * then FN for its reminders (by creation) and its audit rows (by time).
 * 0, or -1 ("no invoice numbered ..." when the session cannot see it). */
int lawyer_sql_history(struct store *s, const char *number, const char *tz,
    void (*head)(const struct lawyer_sql_invoice *inv, void *arg),
    void (*fn)(const struct lawyer_sql_hist *h, void *arg), void *arg);

/* Record the registered-mail tracking number of sent letter ID. */
int lawyer_sql_letter_sent(struct store *s, int64_t id, const char *tracking);

#endif
