/*
 * store_send — the sender's transactions (SPEC §3.5).
 *
 * Claim: pick the next due reminder with SKIP LOCKED, gather the other due
 * reminders of the same client, stage and currency (rule 8: one message),
 * lock their invoices (payments and disputes wait), take each invoice's
 * send lock, run the policy again on fresh facts, mark the survivors
 * 'sending' and commit.  The send lock is held until the outcome is
 * recorded, so a payment or a dispute arriving meanwhile waits for it.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "store_int.h"
#include "store_notify.h"

/* How long a claim may stay 'sending' before it is presumed lost. */
#define LEASE "15 minutes"
/* How the sender words a written letter's outcome (sender.c): the lawyer
 * is told the path that follows. */
#define LETTER_WRITTEN "letter written to "

#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

/* A growable list of ids, printed as a PostgreSQL array. */
struct ids {
	int64_t *v;
	size_t n, cap;
};

/* Append ID. */
static int
ids_add(struct ids *l, int64_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

/* "{1,2,3}", malloc'ed. */
static char *
ids_array(const struct ids *l)
{
	size_t cap = 3 + l->n * 21, len = 1;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[0] = '{';
	for (size_t i = 0; i < l->n; i++)
		len += snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)l->v[i]);
	snprintf(s + len, cap - len, "}");
	return s;
}

/* Take or release the send lock of invoice ID (session level). */
static bool
send_lock(struct store *s, int64_t id, bool take)
{
	char ib[24];
	const char *p[1] = { store_i64(ib, id) };
	PGresult *res = store_q(s, take ?
	    "SELECT pg_try_advisory_lock(1685417582, ($1::bigint % 2147483647)::integer)" :
	    "SELECT pg_advisory_unlock(1685417582, ($1::bigint % 2147483647)::integer)",
	    1, p, PGRES_TUPLES_OK);
	bool ok = res != NULL && PQgetvalue(res, 0, 0)[0] == 't';

	PQclear(res);
	return ok;
}

/* The re-check of one claimed invoice. */
struct recheck {
	struct store *s;
	const struct config *cfg;
	time_t now;
	int stage;
	struct ids *keep;	/* invoices whose reminder may leave */
	int rc;
};

/* Rules 3–7 again, on facts read under the lock: the reminder leaves only
 * if the policy still says "send this stage now"; otherwise its decision
 * is written (cancelled, held, rescheduled) and the invoice leaves the
 * group. */
static void
recheck_one(const struct policy_facts *f, const char *number, void *arg)
{
	struct recheck *rc = arg;
	struct policy_decision d;
	struct plan_stats st;

	policy_decide(f, rc->cfg, rc->now, &d);
	if (d.action == POLICY_SEND && d.stage == rc->stage) {
		if (ids_add(rc->keep, f->invoice_id) < 0)
			rc->rc = -1;
		return;
	}
	log_info("invoice %s: not sent at claim: %s", number, policy_reason_name(d.reason));
	memset(&st, 0, sizeof(st));
	if (store_write_decision(rc->s, rc->cfg, f, &d, &st) < 0)
		rc->rc = -1;
}

/* Is ID in L? */
static bool
ids_has(const struct ids *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

/* Keep the first PQntuples rows' column C of RES in L. */
static int
ids_from(struct ids *l, PGresult *res, int c)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (ids_add(l, strtoll(PQgetvalue(res, i, c), NULL, 10)) < 0)
			return -1;
	return 0;
}

/* One claim attempt: 1 claimed, 0 nothing due, 2 the head could not be
 * sent now (it is in SKIP; try the next one), 3 the HINT (a head read
 * ahead, or 0 for none) is no longer due, -1 error (rolled back).
 *
 * Locks are taken in the same order as everywhere else — invoice, then
 * reminder — and always with SKIP LOCKED, so the claim never waits while
 * holding a lock: a lawyer's function or a payment holding an invoice just
 * makes the claim pass it by, and no cycle of waits can form. */
static int
claim_once(struct store *s, const struct config *cfg, time_t now, const char *domain,
    struct ids *skip, int64_t hint, struct send_group *g)
{
	struct ids rems = { 0 }, invs = { 0 }, got_r = { 0 }, got_i = { 0 }, locked = { 0 };
	struct ids keep = { 0 }, sent_r = { 0 };
	char *skip_a = NULL, *inv_a = NULL, *rem_a = NULL, *head_mid = NULL, mid[160], rb[24];
	const char *p[6];
	PGresult *res = NULL;
	int64_t client, head;
	int stage, rc = -1;
	char currency[4], stage_name[32];

	if ((skip_a = ids_array(skip)) == NULL || store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto out;
	p[0] = skip_a;
	p[1] = store_i64(rb, hint);
	res = store_q(s, "SELECT r.id, i.client_id, r.stage, i.currency, r.message_id "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND r.id <> ALL ($1::bigint[]) AND ($2::bigint = 0 OR r.id = $2) "
	    "ORDER BY r.scheduled_for, r.id LIMIT 1", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto rollback;
	if (PQntuples(res) == 0) {
		rc = store_cmd(s, "COMMIT", 0, NULL) < 0 ? -1 : hint != 0 ? 3 : 0;
		goto out;
	}
	head = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	client = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(stage_name, sizeof(stage_name), "%s", PQgetvalue(res, 0, 2));
	snprintf(currency, sizeof(currency), "%s", PQgetvalue(res, 0, 3));
	head_mid = PQgetisnull(res, 0, 4) ? NULL : strdup(PQgetvalue(res, 0, 4));
	PQclear(res);
	res = NULL;
	if (ids_add(skip, head) < 0)
		goto rollback;
	if ((stage = config_stage_index(cfg, stage_name)) < 0) {
		log_warnx("reminder %lld: stage \"%s\" is not configured; left alone",
		    (long long)head, stage_name);
		rc = store_cmd(s, "COMMIT", 0, NULL) < 0 ? -1 : 2;
		goto out;
	}

	/* Rule 8: the client's other reminders due at this stage.  A retry
	 * travels only with the reminders that share its Message-ID. */
	p[0] = store_i64(rb, client);
	p[1] = stage_name;
	p[2] = currency;
	p[3] = skip_a;
	p[4] = head_mid;
	p[5] = store_i64(mid, head);
	res = store_q(s, "SELECT r.id, r.invoice_id "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE i.client_id = $1 AND r.stage = $2 AND i.currency = $3 "
	    "  AND r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND (r.id <> ALL ($4::bigint[]) OR r.id = $6) "
	    "  AND r.message_id IS NOT DISTINCT FROM $5 ORDER BY r.invoice_id", 6, p,
	    PGRES_TUPLES_OK);
	if (res == NULL || ids_from(&rems, res, 0) < 0 || ids_from(&invs, res, 1) < 0)
		goto rollback;
	PQclear(res);
	res = NULL;
	for (size_t i = 0; i < rems.n; i++)
		if (!ids_has(skip, rems.v[i]) && ids_add(skip, rems.v[i]) < 0)
			goto rollback;

	/* Invoices first, then reminders, neither waited for. */
	if ((inv_a = ids_array(&invs)) == NULL || (rem_a = ids_array(&rems)) == NULL)
		goto rollback;
	p[0] = inv_a;
	p[1] = rem_a;
	p[2] = head_mid;
	res = store_q(s, "SELECT id, invoice_id FROM dunning.reminder "
	    "WHERE id = ANY($2::bigint[]) AND invoice_id = ANY($1::bigint[]) "
	    "  AND invoice_id IN (SELECT id FROM dunning.invoice WHERE id = ANY($1::bigint[]) "
	    "    FOR UPDATE SKIP LOCKED) "
	    "  AND state IN ('planned', 'approved') AND scheduled_for <= dunning.now() "
	    "  AND message_id IS NOT DISTINCT FROM $3 "
	    "ORDER BY invoice_id FOR UPDATE SKIP LOCKED", 3, p, PGRES_TUPLES_OK);
	if (res == NULL || ids_from(&got_r, res, 0) < 0 || ids_from(&got_i, res, 1) < 0)
		goto rollback;
	PQclear(res);
	res = NULL;

	/* The send lock: a payment or a dispute being recorded wins. */
	for (size_t i = 0; i < got_i.n; i++) {
		if (!send_lock(s, got_i.v[i], true)) {
			log_info("reminder %lld: a payment or dispute is being recorded; later",
			    (long long)got_r.v[i]);
			continue;
		}
		if (ids_add(&locked, got_i.v[i]) < 0) {
			send_lock(s, got_i.v[i], false);
			goto unlock;
		}
	}

	/* Rules 3–7 again, on facts read under the locks. */
	free(inv_a);
	if ((inv_a = ids_array(&locked)) == NULL)
		goto unlock;
	struct recheck chk = { s, cfg, now, stage, &keep, 0 };

	p[0] = inv_a;
	if (store_load_facts(s, cfg, "i.id = ANY($1::bigint[])", 1, p, recheck_one, &chk) < 0 ||
	    chk.rc < 0)
		goto unlock;
	for (size_t i = 0; i < locked.n; i++)
		if (!ids_has(&keep, locked.v[i]))
			send_lock(s, locked.v[i], false);
	for (size_t i = 0; i < got_i.n; i++)
		if (ids_has(&keep, got_i.v[i]) && ids_add(&sent_r, got_r.v[i]) < 0)
			goto unlock_keep;
	if (sent_r.n == 0) {
		rc = store_cmd(s, "COMMIT", 0, NULL) < 0 ? -1 : 2;
		goto out;
	}

	/* Mark them sending, each with its audit row, in the same transaction. */
	store_message_id(sent_r.v, sent_r.n, stage_name, domain, mid, sizeof(mid));
	free(rem_a);
	if ((rem_a = ids_array(&sent_r)) == NULL)
		goto unlock_keep;
	p[0] = rem_a;
	p[1] = mid;
	p[2] = stage_name;
	res = store_q(s, "WITH x AS (UPDATE dunning.reminder SET state = 'sending', "
	    "  attempts = attempts + 1, lease_until = dunning.now() + interval '" LEASE "', "
	    "  message_id = $2, updated_at = dunning.now() "
	    "  WHERE id = ANY($1::bigint[]) RETURNING id, invoice_id, attempts) "
	    "SELECT dunning.audit('daemon', 'sending', invoice_id, id, jsonb_build_object("
	    "  'stage', $3::text, 'message_id', $2::text, 'attempt', attempts)) FROM x", 3, p,
	    PGRES_TUPLES_OK);
	if (res == NULL || (size_t)PQntuples(res) != sent_r.n)
		goto unlock_keep;
	PQclear(res);
	res = NULL;
	memset(g, 0, sizeof(*g));
	g->stage = stage;
	g->session = s->session;
	snprintf(g->currency, sizeof(g->currency), "%s", currency);
	if (store_load_group(s, rem_a, client, g) < 0 || store_cmd(s, "COMMIT", 0, NULL) < 0) {
		store_group_free(g);
		goto unlock_keep;
	}
	rc = 1;
	goto out;

unlock_keep:
	for (size_t k = 0; k < keep.n; k++)
		send_lock(s, keep.v[k], false);
	goto rollback;
unlock:
	for (size_t i = 0; i < locked.n; i++)
		send_lock(s, locked.v[i], false);
rollback:
	store_rollback(s);
	rc = -1;
out:
	PQclear(res);
	free(head_mid);
	free(skip_a);
	free(inv_a);
	free(rem_a);
	free(rems.v);
	free(invs.v);
	free(got_r.v);
	free(got_i.v);
	free(locked.v);
	free(keep.v);
	free(sent_r.v);
	return rc;
}

/*
 * The due heads, read ahead in their order.  Finding the first due
 * reminder in (scheduled_for, id) order sorts every due row (the index is
 * on scheduled_for alone, and a batch shares one scheduled_for): done for
 * each message, a batch of N cost N²/2 rows sorted (24 ms a claim with
 * 10 000 due).  The sender's thread reads the next HEADS_AHEAD ids at once
 * and claims them in turn, each checked again by its claim (still due, not
 * skipped, under its locks); a reminder that became due meanwhile with an
 * earlier time waits for the next read, at most HEADS_AHEAD claims.
 */
#define HEADS_AHEAD 64

struct heads {
	const struct store *s;
	int64_t v[HEADS_AHEAD];
	size_t n, i;
};

static __thread struct heads heads;

/* Read the next due heads not in SKIP.  -1 on error. */
static int
heads_read(struct store *s, const struct ids *skip)
{
	char *a = ids_array(skip);
	const char *p[1] = { a };
	PGresult *res;

	heads.s = s;
	heads.n = heads.i = 0;
	if (a == NULL)
		return -1;
	res = store_q(s, "SELECT r.id FROM dunning.reminder r "
	    "WHERE r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND r.id <> ALL ($1::bigint[]) "
	    "ORDER BY r.scheduled_for, r.id LIMIT " STORE_STR(HEADS_AHEAD), 1, p, PGRES_TUPLES_OK);
	free(a);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res) && r < HEADS_AHEAD; r++)
		heads.v[heads.n++] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* Claim the next sendable group.  Reminders that cannot go now are
 * remembered for this call, so each due reminder is looked at once. */
int
store_claim(struct store *s, const struct config *cfg, time_t now, const char *domain,
    struct send_group *g)
{
	struct ids skip = { 0 };
	int64_t hint;
	int rc;

	do {
		if (heads.s != s || heads.i == heads.n) {
			if (heads_read(s, &skip) < 0) {
				rc = -1;
				break;
			}
			if (heads.n == 0) {
				rc = 0;		/* nothing due */
				break;
			}
		}
		hint = heads.v[heads.i++];
		if (ids_has(&skip, hint)) {
			rc = 2;
			continue;
		}
		rc = claim_once(s, cfg, now, domain, &skip, hint, g);
	} while (rc == 2 || rc == 3);
	free(skip.v);
	return rc;
}

/* The reminders of G as an array literal. */
static char *
group_rems(const struct send_group *g)
{
	struct ids l = { 0 };
	char *a;

	for (size_t i = 0; i < g->nitems; i++)
		if (ids_add(&l, g->items[i].reminder_id) < 0) {
			free(l.v);
			return NULL;
		}
	a = ids_array(&l);
	free(l.v);
	return a;
}

/* Queue the lawyer's alert of KIND (NULL: none) about the rows of RES
 * that record() moved, in its transaction: one alert per message, named
 * after its first reminder (and attempt, for a failure, which a resend
 * can repeat). */
static int
alert(struct store *s, const struct config *cfg, const struct send_group *g, PGresult *res,
    const char *kind, const char *path, const char *why)
{
	struct ids moved = { 0 };
	char key[96];
	json_t *det;
	int rc;

	if (kind == NULL || PQntuples(res) == 0)
		return 0;
	if (ids_from(&moved, res, 0) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s:%lld", kind, (long long)moved.v[0]);
	if (strcmp(kind, "failed") == 0)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), ":%s",
		    PQgetvalue(res, 0, 2));
	det = json_pack("{s:s}", "stage", cfg->stages[g->stage].name);
	if (path != NULL)
		json_object_set_new(det, "path", json_string(path));
	if (why != NULL)
		json_object_set_new(det, "why", json_string(why));
	rc = store_alert_add(s, kind, key, 0, moved.v, moved.n, det);
	json_decref(det);
	free(moved.v);
	return rc;
}

/* Move G's reminders out of 'sending' with SQL (which must end with
 * "RETURNING id, invoice_id, attempts"), auditing ACTION with DETAIL for
 * each row it really moved, and queueing the lawyer's alert of ALERT_KIND
 * (NULL: none), all in one transaction; a row someone else settled
 * meanwhile is left alone and logged. */
static int
record(struct store *s, const struct config *cfg, struct send_group *g, const char *sql,
    const char *extra, const char *action, const char *detail, const char *alert_kind)
{
	char *a = group_rems(g), clean[512];
	const char *p[3] = { a, clean, extra };
	const char *path = NULL;
	PGresult *res = NULL;
	int rc = -1;

	/* Relay answers are free text: keep them printable ASCII, whole. */
	snprintf(clean, sizeof(clean), "%s", detail);
	for (char *c = clean; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	if (a == NULL || store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto out;
	if ((res = store_q(s, sql, extra != NULL ? 3 : 2, p, PGRES_TUPLES_OK)) == NULL)
		goto fail;
	if ((size_t)PQntuples(res) != g->nitems)
		log_warnx("%s: %zu of %d reminder(s) were no longer sending; %s recorded for the rest",
		    g->message_id ? g->message_id : "?", g->nitems - (size_t)PQntuples(res),
		    (int)g->nitems, action);
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *det = json_pack("{s:s, s:s, s:s, s:i}", "stage", cfg->stages[g->stage].name,
		    "message_id", g->message_id ? g->message_id : "", "detail", clean,
		    "attempt", atoi(PQgetvalue(res, i, 2)));

		if (extra != NULL)
			json_object_set_new(det, "retry_at", json_string(extra));
		if (store_audit(s, "daemon", action, strtoll(PQgetvalue(res, i, 1), NULL, 10),
		    strtoll(PQgetvalue(res, i, 0), NULL, 10), det) < 0) {
			json_decref(det);
			goto fail;
		}
		json_decref(det);
	}
	if (alert_kind != NULL && strcmp(alert_kind, "letter_ready") == 0)
		path = detail + strlen(LETTER_WRITTEN);
	if (alert(s, cfg, g, res, alert_kind, path, strcmp(alert_kind ? alert_kind : "",
	    "failed") == 0 ? clean : NULL) < 0)
		goto fail;
	rc = store_cmd(s, "COMMIT", 0, NULL);
	goto out;
fail:
	store_rollback(s);
out:
	PQclear(res);
	free(a);
	return rc;
}

/* The relay took the message (or the letter was written).  The lawyer
 * is told where a letter is, and when a stage with notify_lawyer left. */
int
store_record_sent(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail)
{
	const char *kind = NULL;

	if (strncmp(detail, LETTER_WRITTEN, strlen(LETTER_WRITTEN)) == 0)
		kind = "letter_ready";
	else if (cfg->stages[g->stage].notify_lawyer)
		kind = "stage_sent";
	return record(s, cfg, g, "UPDATE dunning.reminder SET state = 'sent', "
	    "sent_at = dunning.now(), lease_until = NULL, last_error = NULL, reason = left($2, 200), "
	    "updated_at = dunning.now() "
	    "WHERE id = ANY($1::bigint[]) AND state IN ('sending', 'in_doubt') "
	    "RETURNING id, invoice_id, attempts", NULL, "sent", detail, kind);
}

/* A temporary failure: back to planned (or approved) at RETRY_AT. */
int
store_record_retry(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *detail)
{
	char at[32];

	cal_format_instant(retry_at, at);
	return record(s, cfg, g, "UPDATE dunning.reminder SET "
	    "state = CASE WHEN decided_at IS NOT NULL THEN 'approved' ELSE 'planned' END, "
	    "scheduled_for = $3, lease_until = NULL, last_error = left($2, 500), "
	    "reason = 'retry_backoff', updated_at = dunning.now() "
	    "WHERE id = ANY($1::bigint[]) AND state = 'sending' "
	    "RETURNING id, invoice_id, attempts", at, "retried", detail, NULL);
}

/* A permanent failure: a person must act. */
int
store_record_failed(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail)
{
	return record(s, cfg, g, "UPDATE dunning.reminder SET state = 'failed', "
	    "lease_until = NULL, last_error = left($2, 500), reason = 'failed', "
	    "updated_at = dunning.now() WHERE id = ANY($1::bigint[]) AND state = 'sending' "
	    "RETURNING id, invoice_id, attempts", NULL, "failed", detail, "failed");
}

/* Drop the send locks and free G. */
void
store_release(struct store *s, struct send_group *g)
{
	/* After a reconnection the locks died with the old session. */
	for (size_t i = 0; i < g->nitems && g->session == s->session; i++)
		send_lock(s, g->items[i].invoice_id, false);
	store_group_free(g);
}

/* The outcome is unknown (the connection dropped after the data went
 * out): never resent blindly, the operator decides (SPEC §3.5). */
int
store_record_in_doubt(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail)
{
	return record(s, cfg, g, "UPDATE dunning.reminder SET state = 'in_doubt', "
	    "lease_until = NULL, last_error = left($2, 500), reason = 'no_answer_after_data', "
	    "updated_at = dunning.now() WHERE id = ANY($1::bigint[]) AND state = 'sending' "
	    "RETURNING id, invoice_id, attempts", NULL, "in_doubt", detail, NULL);
}
