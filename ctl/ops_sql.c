/*
 * ops_sql — the operator's queries and actions on unsettled reminders
 * (dunningctl in-doubt, resend, mark-sent), over the audited SQL functions.
 */
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "store_int.h"
#include "ops_sql.h"

/* Every reminder in STATE ('in_doubt' or 'failed'), oldest first. */
int
ops_each_unsettled(struct store *s, const char *state, ops_unsettled_fn fn, void *arg)
{
	const char *p[1] = { state };
	PGresult *res;
	int n;

	res = store_q(s, "SELECT r.id, i.number, i.client_id, r.stage, "
	    "  coalesce(r.message_id, ''), to_char(r.updated_at AT TIME ZONE 'UTC', "
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), r.reason, r.attempts, r.last_error "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE r.state = $1 ORDER BY r.updated_at, r.id", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		enum reason why = reason_of(PQgetvalue(res, i, 6));
		char *text = reason_say(why, true, atoi(PQgetvalue(res, i, 7)),
		    PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8));
		struct ops_unsettled u = {
			.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.invoice_number = PQgetvalue(res, i, 1),
			.client_id = strtoll(PQgetvalue(res, i, 2), NULL, 10),
			.stage = PQgetvalue(res, i, 3),
			.message_id = PQgetvalue(res, i, 4),
			.updated_at = PQgetvalue(res, i, 5),
			.why = text != NULL ? text : "",
			.attempts = atoi(PQgetvalue(res, i, 7)),
		};

		fn(&u, arg);
		free(text);
	}
	PQclear(res);
	return n;
}

/* dunning.resend or dunning.mark_sent (FUNCTION) on reminder ID. */
int
ops_settle(struct store *s, const char *function, int64_t id, const char *why)
{
	char ib[24];
	const char *p[2] = { store_i64(ib, id), why };
	PGresult *res;

	if (strcmp(function, "resend") == 0)
		res = store_q(s, "SELECT dunning.resend($1, $2)", 2, p, PGRES_TUPLES_OK);
	else
		res = store_q(s, "SELECT dunning.mark_sent($1, $2)", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* What dunningctl status shows: the count of reminders per state, the
 * daemons' last start and stop, the last reminder sent, whether the relay
 * refuses the session.  Calls FN with
 * (label, value) pairs; returns 0 or -1. */
int
ops_status(struct store *s, void (*fn)(const char *label, const char *value, void *arg),
    void *arg)
{
	PGresult *res;

	res = store_q(s, "SELECT st, count(r.id) FROM unnest(ARRAY['planned', 'held', "
	    "  'approved', 'sending', 'sent', 'failed', 'cancelled', 'in_doubt']) st "
	    "LEFT JOIN dunning.reminder r ON r.state = st GROUP BY st "
	    "ORDER BY array_position(ARRAY['planned', 'held', 'approved', 'sending', 'sent', "
	    "  'failed', 'cancelled', 'in_doubt'], st)", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		fn(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), arg);
	PQclear(res);
	res = store_q(s, "SELECT x.label, coalesce((SELECT to_char(max(at) AT TIME ZONE 'UTC', "
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM dunning.audit_log a "
	    "  WHERE a.action = x.action), 'never') "
	    "FROM (VALUES ('last daemon start', 'daemon_started', 1), "
	    "  ('last daemon stop', 'daemon_stopped', 2), ('last reminder sent', 'sent', 3)) "
	    "  x(label, action, o) ORDER BY x.o", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++)
		fn(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), arg);
	PQclear(res);
	/* The relay's last refusal of the session, unless a message left
	 * since. */
	res = store_q(s, "SELECT coalesce((SELECT 'refused the session at ' || "
	    "  to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ': ' || "
	    "  coalesce(r.details->>'answer', '?') "
	    "  FROM (SELECT a.id, a.at, a.details FROM dunning.audit_log a "
	    "        WHERE a.action = 'relay_refused' ORDER BY a.id DESC LIMIT 1) r "
	    "  WHERE NOT EXISTS (SELECT 1 FROM dunning.audit_log a "
	    "                    WHERE a.action = 'sent' AND a.id > r.id)), 'ok')",
	    0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	fn("relay", PQgetvalue(res, 0, 0), arg);
	PQclear(res);
	return 0;
}
