/*
 * store_ctl — the queries and calls of dunningctl's lawyer and operator
 * commands (dispute, approve, pause, pending, history, preview,
 * letter-sent, export-client, purge), and the kept copies of the messages
 * that left.
 *
 * Every call runs as the role the session connected as: row-level security
 * decides what a lawyer sees, the SQL functions what a lawyer may do.  On
 * error, store_error() holds the server's primary message alone ("no
 * invoice numbered \"F-9\""), ready to be shown to the person who typed
 * the command.
 */
#ifndef DUNNING_STORE_CTL_H
#define DUNNING_STORE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "group.h"
#include "store.h"
#include <libpq-fe.h>

/* CONNINFO (key=value or URI) with its user replaced by USER and its
 * password dropped (it was the configured user's), as a key=value string,
 * malloc'ed.  NULL with the reason in ERR. */
char *store_conninfo_with_user(const char *conninfo, const char *user, char *err,
    size_t errlen);

/* SELECT dunning.FUNCTION(...) with N text parameters (NULL is SQL NULL).
 * FUNCTION is one of the lawyer's functions, named by the caller in
 * code, never from input. */
int store_call(struct store *s, const char *function, int n, const char *const *params);

/* A reminder held for approval, as the pending list shows it. */
struct store_held {
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
typedef void (*store_held_fn)(const struct store_held *h, void *arg);
/* Every held reminder the session may see, oldest first; times in zone TZ.
 * Returns the count, or -1. */
int store_each_held(struct store *s, const char *tz, store_held_fn fn, void *arg);

/* An invoice, as history shows it first. */
struct store_invoice {
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
struct store_hist {
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
int store_history(struct store *s, const char *number, const char *tz,
    void (*head)(const struct store_invoice *inv, void *arg),
    void (*fn)(const struct store_hist *h, void *arg), void *arg);

/* What preview found about the reminder and its group. */
struct store_preview {
	int64_t reminder_id;	/* 0: the invoice's stage is not planned yet */
	const char *state;	/* the reminder's state now ("not planned") */
	time_t leaves_at;	/* when it would leave: now, or its scheduled time */
	char *note;		/* why the policy would not send it, or NULL */
	char *held_siblings;	/* "F-1, F-2": held reminders that would join if approved */
	char *sent_before;	/* "2026-03-05": a reminder of this stage already sent */
};
/* Build G as the sender would claim it for reminder ID at NOW: the
 * reminder, and the client's other reminders of the same stage and
 * currency due by then that the policy would send, with the Message-ID
 * derived as the sender derives it.  Nothing is written or locked.  0, or
 * -1 (error in store_error). */
int store_preview_group(struct store *s, const struct config *cfg, int64_t id, time_t now,
    const char *domain, struct send_group *g, struct store_preview *pv);
/* The same for invoice NUMBER at stage STAGE: its reminder of that stage
 * when one may still leave; otherwise the message that stage would be,
 * with this invoice alone, at the earliest time the stage is due (no
 * Message-ID yet: G's is a placeholder). */
int store_preview_invoice(struct store *s, const struct config *cfg, const char *number,
    const char *stage, time_t now, const char *domain, struct send_group *g,
    struct store_preview *pv);
/* Free what store_preview_group allocated (it holds no lock). */
void store_preview_free(struct send_group *g, struct store_preview *pv);

/* Record the registered-mail tracking number of sent letter ID. */
int store_letter_sent(struct store *s, int64_t id, const char *tracking);

/* Every datum held on client ID as one JSON object (see doc/dunningctl.1):
 * the export is audited, then read in one snapshot.  NULL on error ("no
 * client with id N" when the session may not see it). */
json_t *store_export_client(struct store *s, int64_t id);

/* A client the purge anonymises (or would). */
struct store_purged {
	int64_t client_id;
	const char *closed_on;	/* the last of its invoices' closing dates */
	int invoices;
	int copies;		/* kept message copies deleted */
};
typedef void (*store_purged_fn)(const struct store_purged *p, void *arg);
/* Anonymise the clients whose invoices all closed more than YEARS years
 * ago (DRY_RUN: only list them), in one transaction.  Returns how many,
 * or -1. */
int store_purge(struct store *s, int years, bool dry_run, store_purged_fn fn, void *arg);

/* dunningctl's statements (ctl/lawyer_sql.c): like store_q and store_cmd, but
 * the error remembered is the server's primary message alone, shown as is
 * to the person who typed the command. */
void store_ctl_fail(struct store *s, const PGresult *res);
PGresult *store_ctl_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
int store_ctl_cmd(struct store *s, const char *sql);
#endif
