/*
 * plan — reading the policy's facts and writing its decisions.
 *
 * A pass takes the ids of the invoices whose time has come (their
 * bookmark, dunning.invoice_next_action, is due: sql/017) and writes them in
 * chunks, one transaction each: their locks taken together (SKIP LOCKED:
 * an invoice a payment or a lawyer holds is planned at the next pass),
 * their facts read in one statement, each decided by the policy, and the
 * decisions written with one statement per kind, the bookmarks last.  A
 * chunk that fails is written again an invoice at a time: one bad invoice
 * is logged and counted; the others go on.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "store_int.h"
#include "plan.h"
#include "rows.h"

/* What was paid and when last: invoice.paid_total and last_paid_at, kept by
 * the payment trigger in the payment's own transaction (sql/013). */
#define FACTS_SQL \
	"SELECT i.id, i.number, i.client_id, i.due_on, " \
	"  (i.amount - i.paid_total)::text, i.currency, i.status, " \
	"  i.disputed_at IS NOT NULL, " \
	"  coalesce(floor(extract(epoch FROM i.dispute_cleared_at)), 0)::bigint, " \
	"  i.paused_until, c.paused_until, c.strategic, " \
	"  coalesce(floor(extract(epoch FROM i.last_paid_at)), 0)::bigint, " \
	"  i.escalated_at IS NOT NULL, r.list, " \
	"  CASE WHEN b.next_action_at = '-infinity' THEN 1 " \
	"    ELSE floor(extract(epoch FROM b.next_action_at))::bigint END, " \
	"  dunning.plan_active(i.id), " \
	"  coalesce(floor(extract(epoch FROM dunning.plan_resumed_at(i.id))), 0)::bigint, " \
	"  EXISTS (SELECT 1 FROM dunning.client_report_invoice ri " \
	"    WHERE ri.invoice_id = i.id AND NOT ri.handled) " \
	"FROM dunning.invoice i " \
	"JOIN dunning.client c ON c.id = i.client_id " \
	"LEFT JOIN dunning.invoice_next_action b ON b.invoice_id = i.id " \
	"LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', id, stage, state, " \
	"    floor(extract(epoch FROM scheduled_for))::bigint, " \
	"    coalesce(floor(extract(epoch FROM sent_at)), 0)::bigint, " \
	"    coalesce(floor(extract(epoch FROM decided_at)), 0)::bigint, " \
	"    (state = 'cancelled' AND reason = 'rejected')::int, " \
	"    retrying::int, " \
	"    coalesce((SELECT floor(extract(epoch FROM min(a.at)))::bigint " \
	"      FROM dunning.audit_log a WHERE a.reminder_id = rm.id " \
	"      AND a.action = 'letter_posted'), 0)), ';' ORDER BY id) AS list " \
	"  FROM dunning.reminder rm WHERE invoice_id = i.id) r ON true "

/* Parse one reminder "id stage state scheduled sent decided rejected
 * retry posted", as concat_ws writes it: nine fields, one space apart, the
 * numbers exact, rejected and retry 0 or 1, posted the instant its letter
 * was recorded posted (dunning.letter_sent) or 0.  TEXT is cut up. */
static int
parse_reminder(const struct config *cfg, char *text, struct policy_reminder *r)
{
	char *v[9];
	int64_t id;
	int st;

	for (int k = 0; k < 9; k++)
		if ((v[k] = strsep(&text, " ")) == NULL)
			return -1;
	if (text != NULL || *v[1] == '\0' || store_parse_i64(v[0], &id) < 0 ||
	    (st = reminder_state_parse(v[2])) < 0 ||
	    store_parse_epoch(v[3], &r->scheduled_for) < 0 ||
	    store_parse_epoch(v[4], &r->sent_at) < 0 ||
	    store_parse_epoch(v[5], &r->decided_at) < 0 ||
	    (strcmp(v[6], "0") != 0 && strcmp(v[6], "1") != 0) ||
	    (strcmp(v[7], "0") != 0 && strcmp(v[7], "1") != 0) ||
	    store_parse_epoch(v[8], &r->posted_at) < 0)
		return -1;
	r->id = id;
	r->stage = config_stage_index(cfg, v[1]);
	r->state = (enum reminder_state)st;
	r->rejected = *v[6] == '1';
	r->retry = *v[7] == '1';
	return 0;
}

/* Column C of row I: a date, or CAL_NONE for SQL NULL; -1 for a text
 * that is no date (never read as "none"). */
static int
day_or_none(const PGresult *res, int i, int c, cal_day *d)
{
	*d = CAL_NONE;
	if (PQgetisnull(res, i, c))
		return 0;
	return (*d = cal_parse(PQgetvalue(res, i, c))) != CAL_NONE ? 0 : -1;
}

/* Fill F from row I of RES (rows.h).  Every column is read exactly, or
 * the row refused: a word, number or date read as another would decide
 * on facts that are not the invoice's (a status unknown here taken for
 * written off, a pause that is no date for no pause). */
int
plan_parse_facts(const struct config *cfg, const PGresult *res, int i, struct policy_facts *f)
{
	const char *status = PQgetvalue(res, i, 6), *cur = PQgetvalue(res, i, 5);
	char *list, *save = NULL;

	memset(f, 0, sizeof(*f));
	if (store_parse_i64(PQgetvalue(res, i, 0), &f->invoice_id) < 0 ||
	    store_parse_i64(PQgetvalue(res, i, 2), &f->client_id) < 0 ||
	    (f->due_on = cal_parse(PQgetvalue(res, i, 3))) == CAL_NONE ||
	    money_parse(PQgetvalue(res, i, 4), &f->balance_cents) < 0 ||
	    strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3 ||
	    store_parse_bool(PQgetvalue(res, i, 7), &f->disputed) < 0 ||
	    store_parse_epoch(PQgetvalue(res, i, 8), &f->dispute_cleared_at) < 0 ||
	    day_or_none(res, i, 9, &f->invoice_paused_until) < 0 ||
	    day_or_none(res, i, 10, &f->client_paused_until) < 0 ||
	    store_parse_bool(PQgetvalue(res, i, 11), &f->strategic) < 0 ||
	    store_parse_epoch(PQgetvalue(res, i, 12), &f->last_payment_at) < 0 ||
	    store_parse_bool(PQgetvalue(res, i, 13), &f->escalated) < 0 ||
	    (!PQgetisnull(res, i, 15) && store_parse_epoch(PQgetvalue(res, i, 15),
	    &f->next_look) < 0) ||
	    store_parse_bool(PQgetvalue(res, i, 16), &f->plan_active) < 0 ||
	    store_parse_epoch(PQgetvalue(res, i, 17), &f->plan_ended_at) < 0 ||
	    store_parse_bool(PQgetvalue(res, i, 18), &f->reported) < 0)
		return -1;
	memcpy(f->currency, cur, 4);
	if (strcmp(status, "open") == 0)
		f->status = INV_OPEN;
	else if (strcmp(status, "cancelled") == 0)
		f->status = INV_CANCELLED;
	else if (strcmp(status, "written_off") == 0)
		f->status = INV_WRITTEN_OFF;
	else
		return -1;
	if (PQgetisnull(res, i, 14))
		return 0;
	if ((list = strdup(PQgetvalue(res, i, 14))) == NULL)
		return -1;
	for (char *tok = strtok_r(list, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
		if (f->nreminders == CONFIG_MAX_STAGES ||
		    parse_reminder(cfg, tok, &f->reminders[f->nreminders]) < 0) {
			free(list);
			return -1;
		}
		f->nreminders++;
	}
	free(list);
	return 0;
}

/* Run the facts query with WHERE and call FN for each row. */
int
plan_load_facts(struct store *s, const struct config *cfg, const char *where, int n,
    const char *const *params, plan_facts_fn fn, void *arg)
{
	char *sql;
	PGresult *res;
	int rows;

	if (asprintf(&sql, "%s WHERE %s ORDER BY i.id", FACTS_SQL, where) < 0)
		return -1;
	res = store_q(s, sql, n, params, PGRES_TUPLES_OK);
	free(sql);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		struct policy_facts f;

		if (plan_parse_facts(cfg, res, i, &f) < 0) {
			log_warnx("invoice %s: unreadable facts, skipped", PQgetvalue(res, i, 1));
			continue;
		}
		fn(&f, PQgetvalue(res, i, 1), arg);
	}
	PQclear(res);
	return rows;
}

/* The invoices a pass reads (enum plan_candidates).  Most passes: those
 * whose bookmark has come (next_action_at <= NOW, a range of
 * invoice_next_action_at_idx: sql/017), so a day with nothing due reads
 * nothing.  After the rules changed (plan_rules), besides those: every
 * invoice the policy may have something to say about, some day — open,
 * unpaid, not handed over, or with a reminder that has not left — since
 * each bookmark was written under the old rules.  `dunningctl plan`: those
 * the policy may have something to say about today, the first stage due.
 * Each set is one column of ids, the range of a partial index
 * (invoice_next_action_at_idx, invoice_to_chase_idx, reminder_pending_idx:
 * sql/014, 017); a pass reads it alone (candidate_ids), the facts query
 * takes it as an array.  The ids go through an array because
 * PostgreSQL cannot estimate amount > paid_total: it guesses a third of all
 * invoices and, with IN, reads the whole invoice table in id order to join
 * them; an array's ids are looked up one by one. */
static const char *const candidates[] = {
	/* In the bookmarks' order, so that PostgreSQL takes them from
	 * invoice_next_action_at_idx even when its statistics still count the
	 * bookmarks as they were before the last pass. */
	[PLAN_DUE] = "SELECT invoice_id FROM dunning.invoice_next_action "
	    "WHERE next_action_at <= $1::timestamptz ORDER BY next_action_at",
	[PLAN_ALL] = "SELECT invoice_id FROM dunning.invoice_next_action "
	    "WHERE next_action_at <= $1::timestamptz "
	    "UNION SELECT id FROM dunning.invoice WHERE status = 'open' "
	    "  AND escalated_at IS NULL AND amount > paid_total "
	    "UNION SELECT invoice_id FROM dunning.reminder "
	    "  WHERE state IN ('planned', 'held', 'approved')",
	[PLAN_CHASED] = "SELECT id FROM dunning.invoice WHERE status = 'open' "
	    "  AND escalated_at IS NULL AND amount > paid_total AND due_on <= $1::date "
	    "UNION SELECT invoice_id FROM dunning.reminder "
	    "  WHERE state IN ('planned', 'held', 'approved')",
};

int
plan_each_candidate(struct store *s, const struct config *cfg, time_t now,
    enum plan_candidates which, plan_facts_fn fn, void *arg)
{
	char at[32], day[11], *where;
	const char *p[1] = { at };
	int rc;

	cal_format_instant(now, at);
	if (which == PLAN_CHASED) {
		cal_format(cal_local_day(now) - cfg->stages[0].offset_days, day);
		p[0] = day;
	}
	if (asprintf(&where, "i.id = ANY (ARRAY(%s))", candidates[which]) < 0)
		return -1;
	rc = plan_load_facts(s, cfg, where, 1, p, fn, arg);
	free(where);
	return rc;
}

/* The invoices of one transaction of a pass. */
#define CHUNK 500

/* A chunk being decided again under its locks. */
struct redecide {
	const struct config *cfg;
	time_t now;
	struct plan_batch *batch;
};

/* Decide F again (under its lock) and file the decision in the batch. */
static void
file_decision(const struct policy_facts *f, const char *number, void *arg)
{
	struct redecide *r = arg;
	struct policy_decision d;

	(void)number;
	policy_decide(f, r->cfg, r->now, &d);
	if (plan_batch_add(r->batch, f, &d) == 0)
		(void)plan_batch_look(r->batch, f, policy_next_look(r->cfg, r->now, &d));
}

/* Plan the N invoices IDS in one transaction: lock them (SKIP: pass by
 * those another transaction holds — the next pass or notification plans
 * them — rather than wait), read their facts again, decide, write. */
static int
plan_chunk(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, bool skip, struct plan_stats *st)
{
	struct store_ids l = { (int64_t *)ids, n, n }, locked = { 0 };
	struct plan_batch *k = plan_batch_new(cfg, now, n);
	struct redecide r = { cfg, now, k };
	struct plan_stats got = { 0 };
	char *a = store_ids_array(&l), *la = NULL;
	const char *p[1] = { a };
	PGresult *res;
	int rc = -1;

	if (a == NULL || k == NULL || store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto out;
	res = store_qp(s, skip ?
	    "SELECT id FROM dunning.invoice WHERE id = ANY ($1::bigint[]) ORDER BY id "
	    "FOR UPDATE SKIP LOCKED" :
	    "SELECT id FROM dunning.invoice WHERE id = ANY ($1::bigint[]) ORDER BY id FOR UPDATE",
	    1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	for (int i = 0; i < PQntuples(res); i++)
		if (store_ids_add(&locked, strtoll(PQgetvalue(res, i, 0), NULL, 10)) < 0) {
			PQclear(res);
			goto fail;
		}
	PQclear(res);
	if (locked.n == 0) {
		rc = store_commit(s);
		goto out;
	}
	p[0] = la = store_ids_array(&locked);
	if (la == NULL ||
	    plan_load_facts(s, cfg, "i.id = ANY ($1::bigint[])", 1, p, file_decision, &r) < 0 ||
	    plan_batch_write(s, k, &got) < 0)
		goto fail;
	if ((rc = store_commit(s)) == 0) {
		st->planned += got.planned;
		st->held += got.held;
		st->rescheduled += got.rescheduled;
		st->cancelled += got.cancelled;
		st->escalated += got.escalated;
	}
	goto out;
fail:
	store_rollback(s);
out:
	plan_batch_free(k);
	free(locked.v);
	free(la);
	free(a);
	return rc;
}

/* Plan IDS in chunks; a chunk that fails is planned again an invoice at a
 * time, so that one bad invoice is logged and counted and the others go
 * on.  -1 when the session broke. */
static int
plan_chunks(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, bool skip, struct plan_stats *st)
{
	for (size_t i = 0; i < n; i += CHUNK) {
		size_t m = n - i < CHUNK ? n - i : CHUNK;

		if (plan_chunk(s, cfg, now, ids + i, m, skip, st) == 0)
			continue;
		if (store_broken(s))
			return -1;
		for (size_t j = i; j < i + m; j++) {
			if (m > 1 && plan_chunk(s, cfg, now, ids + j, 1, skip, st) == 0)
				continue;
			log_warnx("planning invoice id %lld: %s", (long long)ids[j], store_error(s));
			st->errors++;
			if (store_broken(s))
				return -1;
		}
	}
	return 0;
}


/* Order of ids. */
static int
id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The ids of the invoices WHICH (PLAN_DUE or PLAN_ALL) at NOW, in id
 * order, into L (the caller's to free): read through a cursor, a batch at
 * a time, so that a pass over a million invoices holds their ids (8 bytes
 * each), not a result of a million rows.  Each is read once, under its
 * lock, by the chunks: with bookmarks, nearly every candidate has
 * something to write (its decision, or at least its next bookmark). */
static int
candidate_ids(struct store *s, time_t now, enum plan_candidates which, struct store_ids *l)
{
	char at[32], *sql;
	const char *p[1] = { at };
	PGresult *res;
	int rows;

	cal_format_instant(now, at);
	if (asprintf(&sql, "DECLARE plan_ids NO SCROLL CURSOR FOR %s", candidates[which]) < 0)
		return -1;
	if (store_cmd(s, "BEGIN", 0, NULL) < 0 || store_cmd(s, sql, 1, p) < 0) {
		free(sql);
		goto fail;
	}
	free(sql);
	do {
		if ((res = store_q(s, "FETCH FORWARD 10000 FROM plan_ids", 0, NULL,
		    PGRES_TUPLES_OK)) == NULL)
			goto fail;
		rows = PQntuples(res);
		for (int i = 0; i < rows; i++)
			if (store_ids_add(l, strtoll(PQgetvalue(res, i, 0), NULL, 10)) < 0) {
				PQclear(res);
				goto fail;
			}
		PQclear(res);
	} while (rows > 0);
	if (store_commit(s) < 0)
		return -1;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), id_cmp);
	return 0;
fail:
	store_rollback(s);
	return -1;
}

/* 1 when the rules RULES (policy_rules()) differ from those the bookmarks
 * were written under, 0 when not, -1 on error. */
static int
rules_changed(struct store *s, const char *rules)
{
	const char *p[1] = { rules };
	PGresult *res;
	int changed;

	res = store_q(s, "SELECT count(*) FROM dunning.setting WHERE key = 'plan_rules' "
	    "AND value = $1", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	changed = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
	return changed;
}

/* The wake-ups the SQL side queued (dunning.wake, sql/base/wake.sql),
 * taken and emptied in one statement: the invoices they name added to L
 * (in no order, maybe twice); *CLIENT set when one named only a client.
 * The number of rows taken, or -1. */
int
plan_take_woken(struct store *s, struct store_ids *l, bool *client)
{
	PGresult *res;
	int n;

	res = store_qp(s, "WITH q AS (DELETE FROM dunning.wake_queue RETURNING invoice_id) "
	    "SELECT invoice_id, count(*) FROM q GROUP BY invoice_id", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		n += atoi(PQgetvalue(res, i, 1));
		if (PQgetisnull(res, i, 0))
			*client = true;
		else if (store_ids_add(l, strtoll(PQgetvalue(res, i, 0), NULL, 10)) < 0) {
			PQclear(res);
			return -1;
		}
	}
	PQclear(res);
	return n;
}

/* Sort L's ids and drop the repeated ones. */
static void
ids_unique(struct store_ids *l)
{
	size_t w = 0;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), id_cmp);
	for (size_t i = 0; i < l->n; i++)
		if (w == 0 || l->v[w - 1] != l->v[i])
			l->v[w++] = l->v[i];
	l->n = w;
}

/* A planning pass at NOW: the invoices whose bookmark has come, and those
 * the wake-up queue names (taken here too, so that it never grows when no
 * daemon listens: dunningd --once). */
int
plan_pass(struct store *s, const struct config *cfg, time_t now, bool read_all,
    struct plan_stats *st)
{
	struct store_ids t = { 0 };
	char rules[4096];
	const char *p[1] = { rules };
	bool client = false;
	int rc, n;

	memset(st, 0, sizeof(*st));
	if ((n = policy_rules(cfg, rules, sizeof(rules))) < 0 || (size_t)n >= sizeof(rules))
		st->all = true;		/* cannot be remembered: read all, every pass */
	else if ((rc = rules_changed(s, rules)) < 0)
		return -1;
	else
		st->all = rc == 1;
	st->all |= read_all;
	if (candidate_ids(s, now, st->all ? PLAN_ALL : PLAN_DUE, &t) < 0 ||
	    plan_take_woken(s, &t, &client) < 0) {
		free(t.v);
		return -1;
	}
	ids_unique(&t);
	st->invoices = (int)t.n;
	rc = plan_chunks(s, cfg, now, t.v, t.n, true, st);
	free(t.v);
	/* Every bookmark is now under these rules, unless an invoice failed
	 * (it is read again at the next pass, with all the others). */
	if (rc == 0 && st->all && st->errors == 0 && (size_t)n < sizeof(rules) &&
	    store_cmd(s, "UPDATE dunning.setting SET value = $1 WHERE key = 'plan_rules'", 1,
	    p) < 0)
		rc = -1;
	return rc < 0 && store_ready(s) < 0 ? -1 : 0;
}

/* Plan the N invoices IDS at once: the daemon heard that something
 * changed on them (a payment, a dispute, an approval).  Each is decided
 * again under its lock, like in a full pass, waiting for the lock: one
 * invoice at a time, so no wait can form a cycle. */
int
plan_invoices(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, struct plan_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		st->invoices++;
		if (plan_chunk(s, cfg, now, ids + i, 1, false, st) < 0) {
			log_warnx("planning invoice id %lld: %s", (long long)ids[i], store_error(s));
			st->errors++;
			if (store_ready(s) < 0)
				return -1;
		}
	}
	return 0;
}

/* A 'sending' row whose lease ran out: the daemon that claimed it died or
 * lost its connection; whether the relay took the message is unknown, so
 * it is never resent blindly (SPEC §3.5).  A row whose send lock is still
 * held (its row in dunning.send_lock locked: tried here, never waited for)
 * belongs to a live sender (a slow relay, a long replayed cycle): it is
 * left to that sender, which records the outcome itself.
 * A claimed reminder whose lease ran out was never handed (it would be
 * 'sending'): its claim is released, audited, and it is due again. */
int
plan_expire_leases(struct store *s, time_t now)
{
	PGresult *res;
	int n;

	(void)now;
	res = store_q(s, "WITH f AS (SELECT k.invoice_id FROM dunning.send_lock k "
	    "  WHERE k.invoice_id IN (SELECT invoice_id FROM dunning.reminder "
	    "    WHERE state = 'sending' AND lease_until < dunning.now()) "
	    "  ORDER BY k.invoice_id FOR UPDATE SKIP LOCKED), "
	    "x AS (UPDATE dunning.reminder r SET state = 'in_doubt', "
	    "  reason = 'lease_expired', lease_until = NULL, updated_at = dunning.now() "
	    "  WHERE state = 'sending' AND lease_until < dunning.now() "
	    "  AND (r.invoice_id IN (SELECT invoice_id FROM f) "
	    "    OR NOT EXISTS (SELECT 1 FROM dunning.send_lock k WHERE k.invoice_id = r.invoice_id)) "
	    "  RETURNING id, invoice_id, stage, message_id), "
	    "y AS (UPDATE dunning.reminder r SET lease_until = NULL, claim = NULL, "
	    "  updated_at = dunning.now() "
	    "  WHERE state IN ('planned', 'approved') AND lease_until < dunning.now() "
	    "  RETURNING id, invoice_id, stage) "
	    "SELECT true, dunning.audit('daemon', 'in_doubt', invoice_id, id, jsonb_build_object("
	    "  'stage', stage, 'message_id', message_id, 'reason', 'lease_expired')) FROM x "
	    "UNION ALL "
	    "SELECT false, dunning.audit('daemon', 'claim_released', invoice_id, id, "
	    "  jsonb_build_object('stage', stage, 'reason', 'lease_expired')) FROM y",
	    0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = 0;
	for (int i = 0; i < PQntuples(res); i++)
		n += PQgetvalue(res, i, 0)[0] == 't';
	if (PQntuples(res) > n)
		log_info("%d claimed reminder(s) never handed by a stopped sender are due again",
		    PQntuples(res) - n);
	PQclear(res);
	return n;
}
