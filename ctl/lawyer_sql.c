/*
 * lawyer_sql — the queries and calls behind dunningctl's lawyer commands
 * (lawyer.c); the preview's are in preview_sql.c, the client's data in
 * gdpr_sql.c.
 *
 * The errors here are shown to the person who typed the command, so they
 * keep the server's primary message alone ("no invoice numbered \"F-9\""),
 * not the statement and its context as the daemon's log wants them.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_db.h"
#include "lawyer_sql.h"
#include "store_int.h"

/* The name a client is shown by: the company, or first and last name. */
#define CLIENT_NAME(c) \
	"CASE WHEN " c ".kind = 'professional' THEN " c ".company_name " \
	"ELSE concat_ws(' ', nullif(" c ".first_name, ''), " c ".last_name) END"

/* Held reminders the session may see (row-level security filters them). */
int
lawyer_sql_each_held(struct store *s, const char *tz, lawyer_sql_held_fn fn, void *arg)
{
	const char *p[1] = { tz };
	PGresult *res;
	int n;

	res = ctl_db_q(s, "SELECT r.id, i.number, c.id, " CLIENT_NAME("c") ", "
	    "  " STORE_BALANCE "::text, i.currency, r.stage, to_char(h.since AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'), "
	    "  to_char(h.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	    "  coalesce(r.reason, '') "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "JOIN dunning.client c ON c.id = i.client_id "
	    /* Since it was last held: a held row that is rescheduled stays held. */
	    "CROSS JOIN LATERAL (SELECT coalesce((SELECT max(a.at) FROM dunning.audit_log a "
	    "  WHERE a.reminder_id = r.id AND a.action = 'held'), r.updated_at) AS since) h "
	    "WHERE r.state = 'held' ORDER BY h.since, r.id", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct lawyer_sql_held h = {
			.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.invoice_number = PQgetvalue(res, i, 1),
			.client_id = strtoll(PQgetvalue(res, i, 2), NULL, 10),
			.client_name = PQgetvalue(res, i, 3),
			.balance = PQgetvalue(res, i, 4),
			.currency = PQgetvalue(res, i, 5),
			.stage = PQgetvalue(res, i, 6),
			.since = PQgetvalue(res, i, 7),
			.since_utc = PQgetvalue(res, i, 8),
			.why = PQgetvalue(res, i, 9),
		};

		fn(&h, arg);
	}
	PQclear(res);
	return n;
}

/* The history's three reads, in one snapshot. */
static int
history_read(struct store *s, const char *number, const char *tz,
    void (*head)(const struct lawyer_sql_invoice *inv, void *arg),
    void (*fn)(const struct lawyer_sql_hist *h, void *arg), void *arg)
{
	const char *p[2] = { number, tz };
	char ib[24];
	PGresult *res;

	res = ctl_db_q(s, "SELECT i.id, i.number, c.id, " CLIENT_NAME("c") ", i.amount::text, "
	    "  " STORE_BALANCE "::text, i.currency, i.issued_on::text, i.due_on::text, i.status, "
	    "  coalesce(to_char(i.disputed_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), ''), "
	    "  coalesce(i.dispute_reason, ''), coalesce(i.paused_until::text, '') "
	    "FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id "
	    "WHERE i.number = $1", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		/* The words of dunning.invoice_for_update: unknown and not the
		 * caller's read the same. */
		snprintf(s->err, sizeof(s->err), "no invoice numbered \"%s\"", number);
		PQclear(res);
		return -1;
	}
	struct lawyer_sql_invoice inv = {
		.id = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
		.number = PQgetvalue(res, 0, 1),
		.client_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10),
		.client_name = PQgetvalue(res, 0, 3),
		.amount = PQgetvalue(res, 0, 4),
		.balance = PQgetvalue(res, 0, 5),
		.currency = PQgetvalue(res, 0, 6),
		.issued_on = PQgetvalue(res, 0, 7),
		.due_on = PQgetvalue(res, 0, 8),
		.status = PQgetvalue(res, 0, 9),
		.disputed_at = PQgetvalue(res, 0, 10),
		.dispute_reason = PQgetvalue(res, 0, 11),
		.paused_until = PQgetvalue(res, 0, 12),
	};
	head(&inv, arg);
	p[0] = store_i64(ib, inv.id);
	PQclear(res);

	res = ctl_db_q(s, "SELECT r.id, "
	    "  to_char(r.created_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), r.stage, r.state, to_char(r.scheduled_for AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), "
	    "  coalesce(to_char(r.sent_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI'), ''), "
	    "  coalesce(r.message_id, ''), coalesce(r.reason, '') "
	    "FROM dunning.reminder r WHERE r.invoice_id = $1 ORDER BY r.created_at, r.id", 2, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct lawyer_sql_hist h = {
			.reminder_id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.at = PQgetvalue(res, i, 1),
			.stage = PQgetvalue(res, i, 2),
			.state = PQgetvalue(res, i, 3),
			.scheduled_for = PQgetvalue(res, i, 4),
			.sent_at = PQgetvalue(res, i, 5),
			.message_id = PQgetvalue(res, i, 6),
			.reason = PQgetvalue(res, i, 7),
		};

		fn(&h, arg);
	}
	PQclear(res);

	res = ctl_db_q(s, "SELECT a.id, to_char(a.at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI:SS'), "
	    "  a.actor, a.action, coalesce(a.reminder_id, 0), "
	    "  dunning.audit_details(a.id, a.details)::text "
	    "FROM dunning.audit_log a WHERE a.invoice_id = $1 ORDER BY a.at, a.id", 2, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		struct lawyer_sql_hist h = {
			.audit = true,
			.audit_id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.at = PQgetvalue(res, i, 1),
			.actor = PQgetvalue(res, i, 2),
			.action = PQgetvalue(res, i, 3),
			.reminder_id = strtoll(PQgetvalue(res, i, 4), NULL, 10),
			.details = PQgetvalue(res, i, 5),
		};

		fn(&h, arg);
	}
	PQclear(res);
	return 0;
}

/* An invoice's header, reminders and audit rows, read in one snapshot. */
int
lawyer_sql_history(struct store *s, const char *number, const char *tz,
    void (*head)(const struct lawyer_sql_invoice *inv, void *arg),
    void (*fn)(const struct lawyer_sql_hist *h, void *arg), void *arg)
{
	if (ctl_db_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return -1;
	if (history_read(s, number, tz, head, fn, arg) < 0) {
		store_rollback(s);
		return -1;
	}
	return ctl_db_cmd(s, "COMMIT");
}

/* ------------------------------------------------------ letter-sent -- */

/* dunning.letter_sent: the tracking number of a posted formal notice. */
int
lawyer_sql_letter_sent(struct store *s, int64_t id, const char *tracking)
{
	char ib[24];
	const char *p[2] = { store_i64(ib, id), tracking };

	return ctl_db_call(s, "letter_sent", 2, p);
}
