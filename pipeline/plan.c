/*
 * plan — reading the policy's facts and writing its decisions.
 *
 * Planning reads every candidate without locks, decides, and for the few
 * invoices whose rows must change opens one short transaction each: lock
 * the invoice (payments and disputes wait), read its facts again, decide
 * again, write the rows and their audit rows, commit.  One bad invoice is
 * logged and counted; the others go on.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "money.h"
#include "store_int.h"
#include "alerts.h"
#include "plan.h"
#include "reason.h"

/* What was paid and when last: invoice.paid_total and last_paid_at, kept by
 * the payment trigger in the payment's own transaction (sql/013). */
#define FACTS_SQL \
	"SELECT i.id, i.number, i.client_id, i.due_on, " \
	"  (i.amount - i.paid_total)::text, i.currency, i.status, " \
	"  i.disputed_at IS NOT NULL, " \
	"  coalesce(floor(extract(epoch FROM i.dispute_cleared_at)), 0)::bigint, " \
	"  i.paused_until, c.paused_until, c.strategic, " \
	"  coalesce(floor(extract(epoch FROM i.last_paid_at)), 0)::bigint, " \
	"  i.escalated_at IS NOT NULL, r.list " \
	"FROM dunning.invoice i " \
	"JOIN dunning.client c ON c.id = i.client_id " \
	"LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', id, stage, state, " \
	"    floor(extract(epoch FROM scheduled_for))::bigint, " \
	"    coalesce(floor(extract(epoch FROM sent_at)), 0)::bigint, " \
	"    coalesce(floor(extract(epoch FROM decided_at)), 0)::bigint, " \
	"    (state = 'cancelled' AND reason = 'rejected')::int, " \
	"    retrying::int), ';' ORDER BY id) AS list " \
	"  FROM dunning.reminder WHERE invoice_id = i.id) r ON true "

/* Parse one reminder "id stage state scheduled sent decided rejected retry". */
static int
parse_reminder(const struct config *cfg, const char *text, struct policy_reminder *r)
{
	char stage[32], state[16];
	long long id, sched, sent, decided;
	int rejected, retry, st;

	if (sscanf(text, "%lld %31s %15s %lld %lld %lld %d %d", &id, stage, state, &sched, &sent,
	    &decided, &rejected, &retry) != 8 || (st = reminder_state_parse(state)) < 0)
		return -1;
	r->id = id;
	r->stage = config_stage_index(cfg, stage);
	r->state = (enum reminder_state)st;
	r->scheduled_for = (time_t)sched;
	r->sent_at = (time_t)sent;
	r->decided_at = (time_t)decided;
	r->rejected = rejected != 0;
	r->retry = retry != 0;
	return 0;
}

/* Fill F from row I of RES. */
static int
parse_facts(const struct config *cfg, PGresult *res, int i, struct policy_facts *f)
{
	const char *status = PQgetvalue(res, i, 6);
	char *list, *save = NULL;

	memset(f, 0, sizeof(*f));
	f->invoice_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	f->client_id = strtoll(PQgetvalue(res, i, 2), NULL, 10);
	f->due_on = cal_parse(PQgetvalue(res, i, 3));
	if (f->due_on == CAL_NONE || money_parse(PQgetvalue(res, i, 4), &f->balance_cents) < 0)
		return -1;
	snprintf(f->currency, sizeof(f->currency), "%s", PQgetvalue(res, i, 5));
	f->status = strcmp(status, "open") == 0 ? INV_OPEN :
	    strcmp(status, "cancelled") == 0 ? INV_CANCELLED : INV_WRITTEN_OFF;
	f->disputed = PQgetvalue(res, i, 7)[0] == 't';
	f->dispute_cleared_at = (time_t)strtoll(PQgetvalue(res, i, 8), NULL, 10);
	f->invoice_paused_until = PQgetisnull(res, i, 9) ? CAL_NONE : cal_parse(PQgetvalue(res, i, 9));
	f->client_paused_until = PQgetisnull(res, i, 10) ? CAL_NONE : cal_parse(PQgetvalue(res, i, 10));
	f->strategic = PQgetvalue(res, i, 11)[0] == 't';
	f->last_payment_at = (time_t)strtoll(PQgetvalue(res, i, 12), NULL, 10);
	f->escalated = PQgetvalue(res, i, 13)[0] == 't';
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

		if (parse_facts(cfg, res, i, &f) < 0) {
			log_warnx("invoice %s: unreadable facts, skipped", PQgetvalue(res, i, 1));
			continue;
		}
		fn(&f, PQgetvalue(res, i, 1), arg);
	}
	PQclear(res);
	return rows;
}

/* Every invoice the policy may speak about at NOW: open, unpaid, not yet
 * handed over and old enough for the first stage; or with a reminder that
 * has not left (it may have to be cancelled).  Each half is a range of a
 * partial index (invoice_to_chase_idx, reminder_pending_idx: sql/014), so
 * a pass reads the invoices being chased, not the whole history.  The ids
 * go through an array because PostgreSQL cannot estimate amount >
 * paid_total: it guesses a third of all invoices and, with IN, reads the
 * whole invoice table in id order to join them; an array's ids are looked
 * up one by one. */
int
plan_each_candidate(struct store *s, const struct config *cfg, time_t now,
    plan_facts_fn fn, void *arg)
{
	char day[11];
	const char *p[1] = { day };

	cal_format(cal_local_day(now) - cfg->stages[0].offset_days, day);
	return plan_load_facts(s, cfg,
	    "i.id = ANY (ARRAY(SELECT id FROM dunning.invoice WHERE status = 'open' "
	    "    AND escalated_at IS NULL AND amount > paid_total AND due_on <= $1::date "
	    "  UNION SELECT invoice_id FROM dunning.reminder "
	    "    WHERE state IN ('planned', 'held', 'approved')))", 1, p, fn, arg);
}

/* The audit details every planning row carries. */
static json_t *
plan_details(const struct config *cfg, const struct policy_decision *d)
{
	char at[32];

	cal_format_instant(d->send_at, at);
	return json_pack("{s:s, s:s, s:s}", "stage", d->stage >= 0 ? cfg->stages[d->stage].name : "",
	    "scheduled_for", at, "reason", reason_code(d->reason));
}

/* The state the decision's row is in now, or -1 if it has none. */
static int
row_state(const struct policy_facts *f, int64_t id)
{
	for (int i = 0; i < f->nreminders; i++)
		if (f->reminders[i].id == id)
			return (int)f->reminders[i].state;
	return -1;
}

/* Write decision D (the caller holds the invoice's lock). */
int
plan_write_decision(struct store *s, const struct config *cfg, const struct policy_facts *f,
    const struct policy_decision *d, struct plan_stats *st)
{
	char ib[24], rb[24], at[32];
	const char *state = reminder_state_name(d->new_state);
	json_t *det;
	int rc = 0;

	store_i64(ib, f->invoice_id);
	cal_format_instant(d->send_at, at);
	if (d->op == ROW_CREATE) {
		const char *p[5] = { ib, cfg->stages[d->stage].name, state, at, reason_code(d->reason) };
		PGresult *res = store_q(s, "INSERT INTO dunning.reminder (invoice_id, stage, state, "
		    "scheduled_for, reason) VALUES ($1, $2, $3, $4, nullif($5, '')) "
		    "ON CONFLICT (invoice_id, stage) DO NOTHING RETURNING id", 5, p, PGRES_TUPLES_OK);

		if (res == NULL)
			return -1;
		if (PQntuples(res) == 1) {
			det = plan_details(cfg, d);
			rc = store_audit(s, "daemon", d->new_state == RS_HELD ? "held" : "planned",
			    f->invoice_id, strtoll(PQgetvalue(res, 0, 0), NULL, 10), det);
			json_decref(det);
			if (d->new_state == RS_HELD)
				st->held++;
			else
				st->planned++;
		}
		PQclear(res);
	} else if (d->op == ROW_UPDATE) {
		int old = row_state(f, d->reminder_id);
		const char *p[5] = { store_i64(rb, d->reminder_id), state, at,
			reason_code(d->reason), old >= 0 ? reminder_state_name(old) : "" };
		const char *action;
		/* A retry the planner only moves (its backoff ends outside the
		 * window) is still a retry; any other move makes the slot the
		 * planner's. */
		PGresult *res = store_q(s, "UPDATE dunning.reminder SET state = $2, "
		    "scheduled_for = $3, reason = nullif($4, ''), "
		    "retrying = retrying AND $4 = 'retry_backoff', updated_at = dunning.now() "
		    "WHERE id = $1 AND state = $5 RETURNING id", 5, p, PGRES_TUPLES_OK);
		int moved;

		if (res == NULL)
			return -1;
		moved = PQntuples(res);
		PQclear(res);
		if (moved == 0)
			return 0;	/* settled meanwhile: nothing changed, nothing to audit */
		if (old == (int)d->new_state) {
			action = "rescheduled";
			st->rescheduled++;
		} else if (d->new_state == RS_HELD) {
			action = "held";
			st->held++;
		} else {
			action = "planned";
			st->planned++;
		}
		det = plan_details(cfg, d);
		json_object_set_new(det, "previous_state", json_string(old >= 0 ?
		    reminder_state_name(old) : ""));
		rc = store_audit(s, "daemon", action, f->invoice_id, d->reminder_id, det);
		json_decref(det);
	} else if (d->op == ROW_CANCEL_PENDING) {
		const char *p[2] = { ib, reason_code(d->reason) };
		PGresult *res = store_q(s, "SELECT dunning.cancel_pending($1, $2, 'daemon')", 2, p,
		    PGRES_TUPLES_OK);

		if (res == NULL)
			return -1;
		st->cancelled += atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (rc == 0 && d->action == POLICY_ESCALATE) {
		const char *p[1] = { ib };
		PGresult *res = store_q(s, "UPDATE dunning.invoice SET escalated_at = dunning.now() "
		    "WHERE id = $1 AND escalated_at IS NULL RETURNING id", 1, p, PGRES_TUPLES_OK);

		if (res == NULL)
			return -1;
		if (PQntuples(res) == 1) {
			char key[48];

			det = json_pack("{s:s, s:i}", "last_stage", cfg->stages[cfg->nstages - 1].name,
			    "after_days", cfg->escalation_after_days);
			rc = store_audit(s, "daemon", "escalated", f->invoice_id, 0, det);
			json_decref(det);
			/* The hand-over reaches the lawyer with the decision, or
			 * not at all (SPEC §2: escalation, internal alert). */
			snprintf(key, sizeof(key), "escalated:%lld", (long long)f->invoice_id);
			det = json_pack("{s:s}", "stage", cfg->stages[cfg->nstages - 1].name);
			if (rc == 0)
				rc = alerts_add(s, "escalated", key, f->invoice_id, NULL, 0, det);
			json_decref(det);
			st->escalated++;
		}
		PQclear(res);
	}
	return rc;
}

/* Candidates whose rows must change, gathered by the first pass. */
struct todo {
	int64_t *ids;
	size_t n, cap;
	const struct config *cfg;
	time_t now;
	int examined;
};

/* First pass: decide without locks and remember who needs a write. */
static void
collect(const struct policy_facts *f, const char *number, void *arg)
{
	struct todo *t = arg;
	struct policy_decision d;

	(void)number;
	t->examined++;
	policy_decide(f, t->cfg, t->now, &d);
	if (d.op == ROW_KEEP && d.action != POLICY_ESCALATE)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		int64_t *ids = realloc(t->ids, cap * sizeof(*ids));

		if (ids == NULL)
			return;	/* the next cycle plans it */
		t->ids = ids;
		t->cap = cap;
	}
	t->ids[t->n++] = f->invoice_id;
}

/* Keep the facts of the single invoice read under lock. */
static void
keep_one(const struct policy_facts *f, const char *number, void *arg)
{
	(void)number;
	*(struct policy_facts *)arg = *f;
}

/* Plan one invoice in its own transaction. */
static int
plan_one(struct store *s, const struct config *cfg, time_t now, int64_t id,
    struct plan_stats *st)
{
	char ib[24];
	const char *p[1] = { store_i64(ib, id) };
	struct policy_facts f;
	struct policy_decision d;
	PGresult *res;

	f.invoice_id = 0;
	if (store_cmd(s, "BEGIN", 0, NULL) < 0)
		return -1;
	res = store_q(s, "SELECT 1 FROM dunning.invoice WHERE id = $1 FOR UPDATE", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	PQclear(res);
	if (plan_load_facts(s, cfg, "i.id = $1", 1, p, keep_one, &f) < 0 || f.invoice_id != id)
		goto fail;
	policy_decide(&f, cfg, now, &d);
	if (plan_write_decision(s, cfg, &f, &d, st) < 0)
		goto fail;
	return store_commit(s);
fail:
	store_rollback(s);
	return -1;
}

/* A planning pass at NOW. */
int
plan_pass(struct store *s, const struct config *cfg, time_t now, struct plan_stats *st)
{
	struct todo t = { .cfg = cfg, .now = now };

	memset(st, 0, sizeof(*st));
	if (plan_each_candidate(s, cfg, now, collect, &t) < 0) {
		free(t.ids);
		return -1;
	}
	st->invoices = t.examined;
	for (size_t i = 0; i < t.n; i++) {
		if (plan_one(s, cfg, now, t.ids[i], st) < 0) {
			log_warnx("planning invoice id %lld: %s", (long long)t.ids[i], store_error(s));
			st->errors++;
		}
	}
	free(t.ids);
	return 0;
}

/* Plan the N invoices IDS at once: the daemon heard that something
 * changed on them (a payment, a dispute, an approval).  Each is decided
 * again under its lock, like in a full pass. */
int
plan_invoices(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, struct plan_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		st->invoices++;
		if (plan_one(s, cfg, now, ids[i], st) < 0) {
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
 * held belongs to a live sender (a slow relay, a long replayed cycle): it
 * is left to that sender, which records the outcome itself. */
int
plan_expire_leases(struct store *s, time_t now)
{
	PGresult *res;
	int n;

	(void)now;
	res = store_q(s, "WITH x AS (UPDATE dunning.reminder r SET state = 'in_doubt', "
	    "  reason = 'lease_expired', lease_until = NULL, updated_at = dunning.now() "
	    "  WHERE state = 'sending' AND lease_until < dunning.now() "
	    "  AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
	    "    AND l.classid = 1685417582::bigint::oid AND l.objsubid = 2 AND l.granted "
	    "    AND l.objid = (r.invoice_id % 2147483647)::oid) "
	    "  RETURNING id, invoice_id, stage, message_id) "
	    "SELECT dunning.audit('daemon', 'in_doubt', invoice_id, id, jsonb_build_object("
	    "  'stage', stage, 'message_id', message_id, 'reason', 'lease_expired')) FROM x", 0,
	    NULL,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n;
}
