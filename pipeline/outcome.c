/*
 * outcome — the sender's outcomes (SPEC §3.5), and the send locks the
 * claim (claim.c) tries and each message holds while it is handed.
 *
 * A send lock is the row lock of the invoice's row in dunning.send_lock
 * (sql/020): only the owner's functions and the daemon can take it, and it
 * lasts as long as the transaction that took it.  A message is marked
 * 'sending' (committed) under its locks, then holds them again in a
 * transaction (outcome_hold) that stays open while the message is handed
 * and ends with its outcome, recorded in it: a payment or a dispute waits
 * for that one send, or came first and the message is withheld.  If the
 * connection drops while the message is in hand, the lock goes with it:
 * the sender takes it again on its new connection and re-checks before
 * the end of DATA (pipeline/send.c), so nothing leaves after a dispute
 * that won in between.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "reason.h"
#include "store_int.h"
#include "alerts.h"
#include "outbox.h"
#include "outcome.h"

/* What is recorded of a message's fate, besides its state. */
struct outcome {
	const char *action;		/* the audit row's: sent, retried, failed, in_doubt */
	enum reason reason;		/* dunning.reminder.reason (REASON_NONE: NULL) */
	const char *detail;		/* the relay's answer or the error, or NULL */
	const char *retry_at;		/* a retry's instant, or NULL */
	const char *letter_path;	/* a written letter's file, or NULL */
	const char *alert;		/* the lawyer's alert to queue, or NULL */
};

/* Try the send locks of invoices IDS in the transaction in progress (never
 * waited for: a payment or a dispute being recorded keeps its invoice);
 * they are held until it ends.  How many were taken, their ids into TAKEN
 * (may be NULL); -1 on error. */
int
outcome_send_locks(struct store *s, const int64_t *ids, size_t n, struct store_ids *taken)
{
	struct store_ids l = { (int64_t *)ids, n, n };
	char *a;
	const char *p[1];
	PGresult *res;
	int got;

	if (n == 0)
		return 0;
	if ((a = store_ids_array(&l)) == NULL)
		return -1;
	p[0] = a;
	res = store_qp(s, "SELECT k.invoice_id FROM dunning.send_lock k "
	    "WHERE k.invoice_id = ANY($1::bigint[]) ORDER BY k.invoice_id FOR UPDATE SKIP LOCKED",
	    1, p, PGRES_TUPLES_OK);
	free(a);
	if (res == NULL)
		return -1;
	got = PQntuples(res);
	for (int i = 0; i < got && taken != NULL; i++)
		if (store_ids_add(taken, strtoll(PQgetvalue(res, i, 0), NULL, 10)) < 0)
			got = -1;
	PQclear(res);
	return got;
}

/* The reminders of G as an array literal. */
static char *
group_rems(const struct send_group *g)
{
	struct store_ids l = { 0 };
	char *a;

	for (size_t i = 0; i < g->nitems; i++)
		if (store_ids_add(&l, g->items[i].reminder_id) < 0) {
			free(l.v);
			return NULL;
		}
	a = store_ids_array(&l);
	free(l.v);
	return a;
}

/* Queue the lawyer's alert of KIND (NULL: none) about the rows of RES
 * that record() moved, in its transaction: one alert per message, named
 * after its first reminder (and attempt, for a failure, which a resend
 * can repeat). */
static int
alert(struct store *s, const struct config *cfg, const struct send_group *g, PGresult *res,
    const char *kind, const struct outcome *o)
{
	struct store_ids moved = { 0 };
	char key[96];
	json_t *det;
	int rc;

	if (kind == NULL || PQntuples(res) == 0)
		return 0;
	for (int i = 0; i < PQntuples(res); i++)
		if (store_ids_add(&moved, strtoll(PQgetvalue(res, i, 0), NULL, 10)) < 0) {
			free(moved.v);
			return -1;
		}
	snprintf(key, sizeof(key), "%s:%lld", kind, (long long)moved.v[0]);
	if (strcmp(kind, "failed") == 0)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), ":%s",
		    PQgetvalue(res, 0, 2));
	det = json_pack("{s:s}", "stage", cfg->stages[g->stage].name);
	if (o->letter_path != NULL)
		json_object_set_new(det, "path", json_string(o->letter_path));
	if (strcmp(kind, "failed") == 0) {
		json_object_set_new(det, "reason", json_string(reason_code(o->reason)));
		json_object_set_new(det, "attempts", json_integer(atoi(PQgetvalue(res, 0, 2))));
		if (o->detail != NULL)
			json_object_set_new(det, "why", json_string(o->detail));
	}
	rc = alerts_add(s, kind, key, 0, moved.v, moved.n, det);
	json_decref(det);
	free(moved.v);
	return rc;
}

/* The statement of an outcome: UPDATE (which must end with "RETURNING id,
 * invoice_id, attempts"; $1 the reminders, $2 the detail, $3 the retry's
 * instant, $7 the reason's code, $8 the letter's path) and the audit row
 * of each row it moved ($4 the action, $5 the stage, $6 the Message-ID). */
#define RECORD_SQL(update) \
	"WITH x AS (" update ") " \
	"SELECT x.id, x.invoice_id, x.attempts, dunning.audit('daemon', $4, x.invoice_id, x.id, " \
	"  jsonb_build_object('stage', $5::text, 'message_id', $6::text, 'attempt', x.attempts) " \
	"  || jsonb_strip_nulls(jsonb_build_object('detail', $2::text, 'retry_at', $3::text, " \
	"    'reason', nullif($7::text, ''), 'letter', $8::text))) " \
	"FROM x ORDER BY x.id"

/* Move G's reminders out of 'sending' with SQL (a RECORD_SQL), auditing
 * O's action for each row it really moved, in the same statement, and
 * queueing O's lawyer's alert (if any), all in one transaction; a row
 * someone else settled meanwhile is left alone and logged.  In the
 * transaction that holds G's send locks (outcome_hold), which its COMMIT
 * ends: the locks go when the outcome is there to see.  Otherwise,
 * without an alert, it is one statement. */
static int
record(struct store *s, const struct config *cfg, struct send_group *g, const char *sql,
    const struct outcome *o)
{
	char *a = group_rems(g), clean[512];
	const char *p[8] = { a, NULL, o->retry_at, o->action, cfg->stages[g->stage].name,
	    g->message_id ? g->message_id : "", reason_code(o->reason), o->letter_path };
	struct outcome oc = *o;
	PGresult *res = NULL;
	bool held = PQtransactionStatus(s->conn) == PQTRANS_INTRANS;
	bool tx = held || o->alert != NULL;
	int rc = -1;

	/* Relay answers are free text: keep them printable ASCII, whole. */
	if (o->detail != NULL) {
		snprintf(clean, sizeof(clean), "%s", o->detail);
		for (char *c = clean; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		p[1] = oc.detail = clean;
	}
	if (a == NULL || (tx && !held && store_cmd(s, "BEGIN", 0, NULL) < 0))
		goto out;
	if ((res = store_qp(s, sql, 8, p, PGRES_TUPLES_OK)) == NULL)
		goto fail;
	if ((size_t)PQntuples(res) != g->nitems)
		log_warnx("%s: %zu of %d reminder(s) were no longer sending; %s recorded for the rest",
		    g->message_id ? g->message_id : "?", g->nitems - (size_t)PQntuples(res),
		    (int)g->nitems, o->action);
	if (!tx) {
		rc = 0;
		goto out;
	}
	if (alert(s, cfg, g, res, o->alert, &oc) < 0)
		goto fail;
	rc = store_commit(s);
	goto out;
fail:
	if (tx)
		store_rollback(s);
out:
	PQclear(res);
	free(a);
	return rc;
}

/* The relay took the message (ANSWER), or the letter was written to
 * LETTER_PATH.  The lawyer is told where a letter is, and when a stage
 * with notify_lawyer left. */
int
outcome_sent(struct store *s, const struct config *cfg, struct send_group *g,
    const char *answer, const char *letter_path)
{
	struct outcome o = { .action = "sent", .detail = answer, .letter_path = letter_path,
	    .alert = letter_path != NULL ? "letter_ready" :
	    cfg->stages[g->stage].notify_lawyer ? "stage_sent" : NULL };

	return record(s, cfg, g, RECORD_SQL("UPDATE dunning.reminder SET state = 'sent', "
	    "sent_at = dunning.now(), lease_until = NULL, last_error = NULL, reason = NULL, "
	    "retrying = false, letter_path = $8::text, updated_at = dunning.now() "
	    "WHERE id = ANY($1::bigint[]) AND state IN ('sending', 'in_doubt') "
	    "RETURNING id, invoice_id, attempts"), &o);
}

/* Back to planned (or approved), due again at RETRY_AT, for WHY (DETAIL);
 * an attempt or not (COUNTED: the claim counted one). */
static int
wait_again(struct store *s, const struct config *cfg, struct send_group *g, time_t retry_at,
    enum reason why, const char *detail, bool counted)
{
	char at[32];
	struct outcome o = { .action = "retried", .reason = why, .detail = detail, .retry_at = at };

	cal_format_instant(retry_at, at);
#define WAIT_SQL(set) RECORD_SQL("UPDATE dunning.reminder SET " set \
	"state = CASE WHEN decided_at IS NOT NULL THEN 'approved' ELSE 'planned' END, " \
	"scheduled_for = $3::text::timestamptz, lease_until = NULL, last_error = left($2, 500), " \
	"reason = nullif($7, ''), retrying = true, updated_at = dunning.now() " \
	"WHERE id = ANY($1::bigint[]) AND state = 'sending' " \
	"RETURNING id, invoice_id, attempts")
	return record(s, cfg, g, counted ? WAIT_SQL("") :
	    WAIT_SQL("attempts = greatest(attempts - 1, 0), "), &o);
#undef WAIT_SQL
}

/* A temporary failure (DETAIL): due again at RETRY_AT. */
int
outcome_retry(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *detail)
{
	return wait_again(s, cfg, g, retry_at, REASON_RETRY_BACKOFF, detail, true);
}

/* The relay refused the session (ANSWER) before G was handed: due again
 * at RETRY_AT, and not an attempt — what must change is the firm's
 * credentials or sender, not the message, so smtp.max_attempts never
 * turns a refused login into failed reminders. */
int
outcome_refused(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *answer)
{
	return wait_again(s, cfg, g, retry_at, REASON_SESSION_REFUSED, answer, false);
}

/* G was claimed but never marked 'sending' — a session that stopped
 * before reaching it (WHY, DETAIL): due again at RETRY_AT, its claim
 * released, not an attempt. */
int
outcome_defer(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, enum reason why, const char *detail)
{
	char at[32];
	struct outcome o = { .action = "retried", .reason = why, .detail = detail, .retry_at = at };

	cal_format_instant(retry_at, at);
	return record(s, cfg, g, RECORD_SQL("UPDATE dunning.reminder SET "
	    "scheduled_for = $3::text::timestamptz, lease_until = NULL, claim = NULL, "
	    "last_error = left($2, 500), reason = nullif($7, ''), retrying = true, "
	    "updated_at = dunning.now() "
	    "WHERE id = ANY($1::bigint[]) AND state IN ('planned', 'approved') "
	    "  AND lease_until IS NOT NULL "
	    "RETURNING id, invoice_id, attempts"), &o);
}

/* A permanent failure, WHY (with DETAIL, the relay's answer or the error,
 * or NULL): a person must act.  From 'sending', or from the claim for a
 * message that could not be made (never handed). */
int
outcome_failed(struct store *s, const struct config *cfg, struct send_group *g,
    enum reason why, const char *detail)
{
	struct outcome o = { .action = "failed", .reason = why, .detail = detail,
	    .alert = "failed" };

	return record(s, cfg, g, RECORD_SQL("UPDATE dunning.reminder SET state = 'failed', "
	    "lease_until = NULL, claim = NULL, last_error = left($2, 500), reason = nullif($7, ''), "
	    "retrying = false, updated_at = dunning.now() WHERE id = ANY($1::bigint[]) "
	    "  AND (state = 'sending' OR (state IN ('planned', 'approved') "
	    "    AND lease_until IS NOT NULL)) "
	    "RETURNING id, invoice_id, attempts"), &o);
}

/*
 * Right before G is handed: in one statement, its reminders must still
 * carry G's claim and be due, their invoices open, not disputed, not
 * handed over, not paused, in no active payment plan (rule 11), and owing
 * what the message says; then their
 * send locks are taken (tried: a payment or a dispute being recorded
 * wins) and the reminders marked 'sending', each with its audit row —
 * all of them or none — and committed (the statement's own transaction:
 * the locks go with it; outcome_hold takes them again).  1: marked; 0: not
 * marked, G's claim released (the planner decides again); -1: error.
 */
int
outcome_mark_sending(struct store *s, const struct config *cfg, struct send_group *g)
{
	char *rems = group_rems(g), *bal = NULL, claim[24], n[24], *p[6];
	struct store_ids balances = { 0 };
	PGresult *res = NULL;
	int rc = -1, marked = 0;

	for (size_t i = 0; i < g->nitems; i++)
		if (store_ids_add(&balances, g->items[i].balance_cents) < 0)
			goto out;
	if (rems == NULL || (bal = store_ids_array(&balances)) == NULL)
		goto out;
	p[0] = rems;
	p[1] = bal;
	p[2] = (char *)store_i64(claim, g->claim);
	p[3] = (char *)store_i64(n, (int64_t)g->nitems);
	p[4] = g->message_id;
	p[5] = (char *)cfg->stages[g->stage].name;
	res = store_qp(s, "WITH w AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS w(id, cents)), "
	    "  ok AS (SELECT r.id, r.invoice_id FROM dunning.reminder r "
	    "    JOIN w ON w.id = r.id JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "    JOIN dunning.client c ON c.id = i.client_id "
	    "    WHERE r.claim = $3::bigint AND r.lease_until >= dunning.now() "
	    "      AND r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "      AND i.status = 'open' AND i.disputed_at IS NULL AND i.escalated_at IS NULL "
	    "      AND NOT dunning.plan_active(i.id) "
	    "      AND NOT EXISTS (SELECT 1 FROM dunning.client_report_invoice ri "
	    "        WHERE ri.invoice_id = i.id AND NOT ri.handled) "
	    "      AND coalesce(i.paused_until, '-infinity') <= dunning.today() "
	    "      AND coalesce(c.paused_until, '-infinity') <= dunning.today() "
	    "      AND ((i.amount - coalesce((SELECT sum(pm.amount) FROM dunning.payment pm "
	    "            WHERE pm.invoice_id = i.id), 0)) * 100)::bigint = w.cents "
	    "    ORDER BY r.invoice_id FOR UPDATE OF r SKIP LOCKED), "
	    "  k AS (SELECT k.invoice_id FROM dunning.send_lock k "
	    "    WHERE k.invoice_id IN (SELECT invoice_id FROM ok) "
	    "      AND (SELECT count(*) FROM ok) = $4::int "
	    "    ORDER BY k.invoice_id FOR UPDATE SKIP LOCKED), "
	    "  l AS (SELECT ok.id, ok.invoice_id, ok.invoice_id IN (SELECT invoice_id FROM k) AS got "
	    "    FROM ok WHERE (SELECT count(*) FROM ok) = $4::int), "
	    "  x AS (UPDATE dunning.reminder r SET state = 'sending', attempts = r.attempts + 1, "
	    "      lease_until = dunning.now() + interval '" OUTBOX_LEASE "', message_id = $5, "
	    "      updated_at = dunning.now() FROM l "
	    "    WHERE r.id = l.id AND (SELECT count(*) FILTER (WHERE got) FROM l) = $4::int "
	    "    RETURNING r.id, r.invoice_id, r.attempts) "
	    "SELECT l.invoice_id, l.got, (SELECT count(*) FROM x), "
	    "  (SELECT count(dunning.audit('daemon', 'sending', x.invoice_id, x.id, "
	    "     jsonb_build_object('stage', $6::text, 'message_id', $5::text, "
	    "     'attempt', x.attempts))) FROM x) "
	    "FROM l", 6, (const char *const *)p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto out;
	for (int r = 0; r < PQntuples(res); r++)
		marked = atoi(PQgetvalue(res, r, 2));
	if (marked == (int)g->nitems) {
		for (size_t i = 0; i < g->nitems; i++)
			g->items[i].attempts++;
		rc = 1;
		goto out;
	}
	/* Not marked: the claim goes (a row a lawyer holds keeps it until the
	 * lease runs out). */
	PQclear(res);
	p[0] = rems;
	res = store_qp(s, "UPDATE dunning.reminder SET claim = NULL, lease_until = NULL "
	    "WHERE id IN (SELECT id FROM dunning.reminder WHERE id = ANY($1::bigint[]) "
	    "  AND claim = $2::bigint AND state IN ('planned', 'approved') FOR UPDATE SKIP LOCKED)",
	    2, (const char *const []){ rems, claim }, PGRES_COMMAND_OK);
	rc = res == NULL ? -1 : 0;
out:
	PQclear(res);
	free(rems);
	free(bal);
	free(balances.v);
	return rc;
}

/*
 * G, marked 'sending', about to be handed (or handed on a connection that
 * dropped meanwhile): in a transaction left open until its outcome is
 * recorded, its invoices' send locks taken (tried), then G re-checked
 * under them — its reminders still 'sending' with its Message-ID, their
 * invoices open, not disputed, not handed over, not paused, owing what
 * the message says.  1: G holds its locks (g->locked, in this session);
 * 0: a payment or a dispute is being recorded or was, nothing held: G
 * must not be handed (outcome_withheld); -1: error, nothing held.
 */
int
outcome_hold(struct store *s, const struct config *cfg, struct send_group *g)
{
	char *rems = group_rems(g), *bal = NULL, n[24];
	struct store_ids balances = { 0 };
	const char *p[4];
	PGresult *res = NULL;
	int rc = -1;

	(void)cfg;
	g->locked = false;
	for (size_t i = 0; i < g->nitems; i++)
		if (store_ids_add(&balances, g->items[i].balance_cents) < 0)
			goto out;
	if (rems == NULL || (bal = store_ids_array(&balances)) == NULL ||
	    store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto out;
	p[0] = rems;
	/* The locks first, the facts after, in a statement of its own: its
	 * snapshot sees whatever committed before the locks were had. */
	res = store_qp(s, "SELECT (SELECT count(*) FROM (SELECT 1 FROM dunning.send_lock k "
	    "    WHERE k.invoice_id IN (SELECT r.invoice_id FROM dunning.reminder r "
	    "      WHERE r.id = ANY($1::bigint[])) "
	    "    ORDER BY k.invoice_id FOR UPDATE SKIP LOCKED) x) "
	    "  = (SELECT count(DISTINCT r.invoice_id) FROM dunning.reminder r "
	    "     WHERE r.id = ANY($1::bigint[]))", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		rc = 0;
		goto fail;
	}
	PQclear(res);
	p[1] = bal;
	p[2] = g->message_id;
	p[3] = store_i64(n, (int64_t)g->nitems);
	res = store_qp(s, "SELECT count(*) = $4::int "
	    "FROM unnest($1::bigint[], $2::bigint[]) AS w(id, cents) "
	    "JOIN dunning.reminder r ON r.id = w.id "
	    "JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "JOIN dunning.client c ON c.id = i.client_id "
	    "WHERE r.state = 'sending' AND r.message_id = $3 "
	    "  AND i.status = 'open' AND i.disputed_at IS NULL AND i.escalated_at IS NULL "
	    "  AND NOT dunning.plan_active(i.id) "
	    "  AND NOT EXISTS (SELECT 1 FROM dunning.client_report_invoice ri "
	    "    WHERE ri.invoice_id = i.id AND NOT ri.handled) "
	    "  AND coalesce(i.paused_until, '-infinity') <= dunning.today() "
	    "  AND coalesce(c.paused_until, '-infinity') <= dunning.today() "
	    "  AND ((i.amount - coalesce((SELECT sum(pm.amount) FROM dunning.payment pm "
	    "        WHERE pm.invoice_id = i.id), 0)) * 100)::bigint = w.cents",
	    4, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		rc = 0;
		goto fail;
	}
	g->locked = true;
	g->session = s->session;
	rc = 1;
	goto out;
fail:
	store_rollback(s);
out:
	PQclear(res);
	free(rems);
	free(bal);
	free(balances.v);
	return rc;
}

/* Are G's send locks still held, its transaction alive?  One round trip
 * on the session that took them (the connection may have dropped since:
 * the server ends a dead session's transaction and its locks). */
bool
outcome_held(struct store *s, const struct send_group *g)
{
	PGresult *res;
	bool ok;

	if (!g->locked || g->session != s->session ||
	    PQtransactionStatus(s->conn) != PQTRANS_INTRANS)
		return false;
	res = PQexec(s->conn, "SELECT 1");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		store_fail(s, res, "the send lock");
	PQclear(res);
	return ok;
}

/* G was marked 'sending' but is not handed: a payment or a dispute got its
 * invoice while the send lock was not held (between the marking and the
 * lock, or after the connection dropped).  Its reminders go back to due
 * (planned, or approved), their claim released, the attempt not counted,
 * audited 'withheld', and their invoices to the planner's next pass; the
 * next claim's re-check decides (cancelled for a dispute, with its
 * reason). */
int
outcome_withheld(struct store *s, const struct config *cfg, struct send_group *g)
{
	struct outcome o = { .action = "withheld" };

	return record(s, cfg, g, RECORD_SQL("UPDATE dunning.reminder r SET "
	    "state = CASE WHEN decided_at IS NOT NULL THEN 'approved' ELSE 'planned' END, "
	    "attempts = greatest(attempts - 1, 0), lease_until = NULL, claim = NULL, "
	    "updated_at = dunning.now() "
	    "WHERE id = ANY($1::bigint[]) AND state = 'sending' "
	    "RETURNING id, invoice_id, attempts"), &o);
}

/* End the transaction holding G's send locks if its outcome did not (an
 * error), and free G. */
void
outcome_release(struct store *s, struct send_group *g)
{
	/* After a reconnection the locks died with the old session. */
	if (g->locked && g->session == s->session &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		store_rollback(s);
	g->locked = false;
	group_free(g);
}

/* The outcome is unknown (the connection dropped after the data went
 * out): never resent blindly, the operator decides (SPEC §3.5). */
int
outcome_in_doubt(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail)
{
	struct outcome o = { .action = "in_doubt", .reason = REASON_NO_ANSWER_AFTER_DATA,
	    .detail = detail };

	return record(s, cfg, g, RECORD_SQL("UPDATE dunning.reminder SET state = 'in_doubt', "
	    "lease_until = NULL, last_error = left($2, 500), reason = nullif($7, ''), "
	    "updated_at = dunning.now() WHERE id = ANY($1::bigint[]) AND state = 'sending' "
	    "RETURNING id, invoice_id, attempts"), &o);
}

/* ------------------------------------------------------ kept copies -- */

/* Keep the text of G's message once (a retry carries the same id). */
int
outcome_keep_copy(struct store *s, const struct send_group *g, const char *subject,
    const char *body)
{
	char cb[24], *arr, *w;
	const char *p[5];
	PGresult *res;
	int rc;

	if (g->message_id == NULL || g->nitems == 0) {
		snprintf(s->err, sizeof(s->err), "keeping a copy: the message has no id");
		return -1;
	}
	if ((arr = malloc(3 + g->nitems * 21)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	w = arr + sprintf(arr, "{");
	for (size_t i = 0; i < g->nitems; i++)
		w += sprintf(w, "%s%lld", i ? "," : "", (long long)g->items[i].reminder_id);
	strcpy(w, "}");
	p[0] = g->message_id;
	p[1] = store_i64(cb, g->client_id);
	p[2] = arr;
	p[3] = subject;
	p[4] = body;
	/* The stage's name is the reminders' own (G holds its index in a
	 * configuration this module does not see). */
	res = store_qp(s, "INSERT INTO dunning.message_copy (message_id, client_id, stage, "
	    "  reminder_ids, subject, body) "
	    "SELECT $1, $2, r.stage, $3::bigint[], $4, $5 FROM dunning.reminder r "
	    "WHERE r.id = ($3::bigint[])[1] "
	    "ON CONFLICT (message_id) DO NOTHING", 5, p, PGRES_COMMAND_OK);
	rc = res != NULL ? 0 : -1;
	PQclear(res);
	free(arr);
	return rc;
}
