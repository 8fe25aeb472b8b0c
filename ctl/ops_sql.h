/*
 * ops_sql — the operator's queries on unsettled reminders and the
 * daemon's health (dunningctl in-doubt, resend, mark-sent, status).
 */
#ifndef DUNNING_OPS_SQL_H
#define DUNNING_OPS_SQL_H

#include <stdint.h>

#include "store.h"

/* A reminder waiting for the operator (in_doubt or failed). */
struct ops_unsettled {
	int64_t id;
	const char *invoice_number;
	int64_t client_id;
	const char *stage;
	const char *message_id;
	const char *updated_at;
	const char *why;
	int attempts;
};
typedef void (*ops_unsettled_fn)(const struct ops_unsettled *u, void *arg);
/* Call FN for every reminder in STATE; returns the count, or -1. */
int ops_each_unsettled(struct store *s, const char *state, ops_unsettled_fn fn, void *arg);
/* FUNCTION "resend" or "mark_sent" on reminder ID, with the reason WHY
 * (audited, as the connected role). */
int ops_settle(struct store *s, const char *function, int64_t id, const char *why);

/* For dunningctl status: FN(label, value) for the count of reminders in
 * each state, then the last daemon start and stop and the last send. */
int ops_status(struct store *s, void (*fn)(const char *label, const char *value, void *arg),
    void *arg);
#endif
