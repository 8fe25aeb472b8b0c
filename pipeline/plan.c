/*
 * plan — reading the policy's facts and writing its decisions.
 *
 * Planning reads every candidate without locks and decides; the invoices
 * whose rows must change are then written in chunks, one transaction each:
 * their locks taken together (SKIP LOCKED: an invoice a payment or a
 * lawyer holds is planned at the next pass), their facts read again in one
 * statement, decided again, and written with one statement per kind of
 * decision.  A chunk that fails is written again an invoice at a time:
 * one bad invoice is logged and counted; the others go on.
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

/*
 * A chunk: the invoices of one transaction, locked together, their facts
 * read again in one statement, decided, and their decisions written with
 * one statement per kind: new reminders, moved ones, cancellations,
 * escalations, each with its audit rows (and the escalations' alerts).
 */
#define CHUNK 500

/* One column of text values, as a PostgreSQL array at the end. */
struct col {
	const char **v;
	char **own;		/* the values this column allocated */
	size_t n;
};

/* The decisions of a chunk, by the statement that writes them. */
struct chunk {
	const struct config *cfg;
	time_t now;
	size_t cap;
	/* ROW_CREATE: invoice, stage, state, scheduled_for, reason, at */
	struct col c_inv, c_stage, c_state, c_sched, c_reason;
	/* ROW_UPDATE: reminder, stage, state, scheduled_for, reason, old state */
	struct col u_rem, u_stage, u_state, u_sched, u_reason, u_old;
	/* ROW_CANCEL_PENDING: invoice, reason */
	struct col x_inv, x_reason;
	/* POLICY_ESCALATE: invoice */
	struct col e_inv;
	int examined;
};

/* Append V (copied when OWN) to C; -1 when out of memory. */
static int
col_add(struct col *c, size_t cap, const char *v, bool own)
{
	if (c->v == NULL && ((c->v = calloc(cap, sizeof(*c->v))) == NULL ||
	    (c->own = calloc(cap, sizeof(*c->own))) == NULL))
		return -1;
	if (own) {
		if ((c->own[c->n] = strdup(v)) == NULL)
			return -1;
		v = c->own[c->n];
	}
	c->v[c->n++] = v;
	return 0;
}

/* Free C's values. */
static void
col_free(struct col *c)
{
	for (size_t i = 0; c->own != NULL && i < c->n; i++)
		free(c->own[i]);
	free(c->own);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* Free every column of K. */
static void
chunk_free(struct chunk *k)
{
	struct col *cols[] = { &k->c_inv, &k->c_stage, &k->c_state, &k->c_sched, &k->c_reason,
	    &k->u_rem, &k->u_stage, &k->u_state, &k->u_sched, &k->u_reason, &k->u_old,
	    &k->x_inv, &k->x_reason, &k->e_inv };

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		col_free(cols[i]);
}

/* Decide F again (under its lock) and file the decision in the chunk. */
static void
file_decision(const struct policy_facts *f, const char *number, void *arg)
{
	struct chunk *k = arg;
	struct policy_decision d;
	char ib[24], rb[24], at[32];
	const char *stage, *state;
	bool oom = false;

	(void)number;
	k->examined++;
	policy_decide(f, k->cfg, k->now, &d);
	store_i64(ib, f->invoice_id);
	cal_format_instant(d.send_at, at);
	stage = d.stage >= 0 ? k->cfg->stages[d.stage].name : "";
	state = reminder_state_name(d.new_state);
	if (d.op == ROW_CREATE) {
		oom = col_add(&k->c_inv, k->cap, ib, true) < 0 ||
		    col_add(&k->c_stage, k->cap, stage, false) < 0 ||
		    col_add(&k->c_state, k->cap, state, false) < 0 ||
		    col_add(&k->c_sched, k->cap, at, true) < 0 ||
		    col_add(&k->c_reason, k->cap, reason_code(d.reason), false) < 0;
	} else if (d.op == ROW_UPDATE) {
		int old = row_state(f, d.reminder_id);

		oom = col_add(&k->u_rem, k->cap, store_i64(rb, d.reminder_id), true) < 0 ||
		    col_add(&k->u_stage, k->cap, stage, false) < 0 ||
		    col_add(&k->u_state, k->cap, state, false) < 0 ||
		    col_add(&k->u_sched, k->cap, at, true) < 0 ||
		    col_add(&k->u_reason, k->cap, reason_code(d.reason), false) < 0 ||
		    col_add(&k->u_old, k->cap, old >= 0 ? reminder_state_name(old) : "", false) < 0;
	} else if (d.op == ROW_CANCEL_PENDING) {
		oom = col_add(&k->x_inv, k->cap, ib, true) < 0 ||
		    col_add(&k->x_reason, k->cap, reason_code(d.reason), false) < 0;
	}
	if (!oom && d.action == POLICY_ESCALATE)
		oom = col_add(&k->e_inv, k->cap, ib, true) < 0;
	if (oom)
		log_warnx("invoice %s: out of memory; the next pass plans it", ib);
}

/* Run SQL with the N columns COLS as text[] parameters (then EXTRA, NX
 * more), and return its rows (NULL on error). */
static PGresult *
chunk_q(struct store *s, const char *sql, struct col *const *cols, int n,
    const char *const *extra, int nx)
{
	const char *p[8];
	char *a[8] = { NULL };
	PGresult *res = NULL;
	int i;

	for (i = 0; i < n; i++)
		if ((p[i] = a[i] = store_text_array(cols[i]->v, cols[i]->n)) == NULL)
			goto out;
	for (int j = 0; j < nx; j++)
		p[n + j] = extra[j];
	res = store_qp(s, sql, n + nx, p, PGRES_TUPLES_OK);
out:
	for (i = 0; i < n; i++)
		free(a[i]);
	return res;
}

/* Write K's decisions: one statement per kind, each with its audit rows. */
static int
chunk_write(struct store *s, struct chunk *k, struct plan_stats *st)
{
	PGresult *res;

	if (k->c_inv.n > 0) {
		struct col *c[] = { &k->c_inv, &k->c_stage, &k->c_state, &k->c_sched, &k->c_reason };

		/* The audit rows in the order of the invoices, as they were
		 * decided. */
		if ((res = chunk_q(s, "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], "
		    "  $3::text[], $4::text[], $5::text[]) AS u(inv, stage, state, at, reason)), "
		    "ins AS (INSERT INTO dunning.reminder (invoice_id, stage, state, scheduled_for, "
		    "  reason) SELECT inv, stage, state, at::timestamptz, nullif(reason, '') FROM u "
		    "  ORDER BY inv ON CONFLICT (invoice_id, stage) DO NOTHING "
		    "  RETURNING id, invoice_id, stage, state) "
		    "SELECT x.state, dunning.audit('daemon', CASE WHEN x.state = 'held' THEN 'held' "
		    "  ELSE 'planned' END, x.invoice_id, x.id, jsonb_build_object('stage', x.stage, "
		    "  'scheduled_for', x.at, 'reason', x.reason)) "
		    "FROM (SELECT ins.*, u.at, u.reason FROM ins JOIN u ON u.inv = ins.invoice_id "
		    "  AND u.stage = ins.stage ORDER BY ins.invoice_id) x", c, 5, NULL, 0)) == NULL)
			return -1;
		for (int i = 0; i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 0), "held") == 0)
				st->held++;
			else
				st->planned++;
		PQclear(res);
	}
	if (k->u_rem.n > 0) {
		struct col *c[] = { &k->u_rem, &k->u_stage, &k->u_state, &k->u_sched, &k->u_reason,
		    &k->u_old };

		/* A row settled meanwhile (its state no longer the one read) is
		 * left alone, unaudited.  A retry the planner only moves (its
		 * backoff ends outside the window) is still a retry. */
		if ((res = chunk_q(s, "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], "
		    "  $3::text[], $4::text[], $5::text[], $6::text[]) "
		    "  AS u(rem, stage, state, at, reason, old)), "
		    "up AS (UPDATE dunning.reminder r SET state = u.state, "
		    "  scheduled_for = u.at::timestamptz, reason = nullif(u.reason, ''), "
		    "  retrying = r.retrying AND u.reason = 'retry_backoff', "
		    "  updated_at = dunning.now() FROM u WHERE r.id = u.rem AND r.state = u.old "
		    "  RETURNING r.id, r.invoice_id) "
		    "SELECT x.action, dunning.audit('daemon', x.action, x.invoice_id, x.id, "
		    "  jsonb_build_object('stage', x.stage, 'scheduled_for', x.at, 'reason', x.reason, "
		    "  'previous_state', x.old)) "
		    "FROM (SELECT up.id, up.invoice_id, u.stage, u.at, u.reason, u.old, "
		    "  CASE WHEN u.old = u.state THEN 'rescheduled' WHEN u.state = 'held' THEN 'held' "
		    "  ELSE 'planned' END AS action "
		    "  FROM up JOIN u ON u.rem = up.id ORDER BY up.invoice_id) x", c, 6, NULL, 0))
		    == NULL)
			return -1;
		for (int i = 0; i < PQntuples(res); i++) {
			const char *a = PQgetvalue(res, i, 0);

			if (strcmp(a, "rescheduled") == 0)
				st->rescheduled++;
			else if (strcmp(a, "held") == 0)
				st->held++;
			else
				st->planned++;
		}
		PQclear(res);
	}
	if (k->x_inv.n > 0) {
		struct col *c[] = { &k->x_inv, &k->x_reason };

		if ((res = chunk_q(s, "SELECT coalesce(sum(dunning.cancel_pending(inv, reason, "
		    "  'daemon')), 0) FROM (SELECT * FROM unnest($1::bigint[], $2::text[]) "
		    "  AS u(inv, reason) ORDER BY inv) x", c, 2, NULL, 0)) == NULL)
			return -1;
		st->cancelled += atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (k->e_inv.n > 0) {
		struct col *c[] = { &k->e_inv };
		char after[16];
		const char *x[2] = { k->cfg->stages[k->cfg->nstages - 1].name, after };

		/* The hand-over reaches the lawyer with the decision, or not
		 * at all (SPEC §2: escalation, internal alert). */
		snprintf(after, sizeof(after), "%d", k->cfg->escalation_after_days);
		if ((res = chunk_q(s, "WITH e AS (UPDATE dunning.invoice SET escalated_at = "
		    "  dunning.now() WHERE id = ANY ($1::bigint[]) AND escalated_at IS NULL "
		    "  RETURNING id) "
		    "SELECT dunning.audit('daemon', 'escalated', e.id, NULL, "
		    "  jsonb_build_object('last_stage', $2::text, 'after_days', $3::int)), "
		    "  dunning.lawyer_alert_add('escalated', 'escalated:' || e.id, e.id, NULL, "
		    "  jsonb_build_object('stage', $2::text)) "
		    "FROM (SELECT id FROM e ORDER BY id) e", c, 1, x, 2)) == NULL)
			return -1;
		st->escalated += PQntuples(res);
		PQclear(res);
	}
	return 0;
}

/* Plan the N invoices IDS in one transaction: lock them (SKIP: pass by
 * those another transaction holds — the next pass or notification plans
 * them — rather than wait), read their facts again, decide, write. */
static int
plan_chunk(struct store *s, const struct config *cfg, time_t now, const int64_t *ids,
    size_t n, bool skip, struct plan_stats *st)
{
	struct store_ids l = { (int64_t *)ids, n, n }, locked = { 0 };
	struct chunk k = { .cfg = cfg, .now = now, .cap = n };
	struct plan_stats got = { 0 };
	char *a = store_ids_array(&l), *la = NULL;
	const char *p[1] = { a };
	PGresult *res;
	int rc = -1;

	if (a == NULL || store_cmd(s, "BEGIN", 0, NULL) < 0)
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
	    plan_load_facts(s, cfg, "i.id = ANY ($1::bigint[])", 1, p, file_decision, &k) < 0 ||
	    chunk_write(s, &k, &got) < 0)
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
	chunk_free(&k);
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

/* A planning pass at NOW. */
int
plan_pass(struct store *s, const struct config *cfg, time_t now, struct plan_stats *st)
{
	struct todo t = { .cfg = cfg, .now = now };
	int rc;

	memset(st, 0, sizeof(*st));
	if (plan_each_candidate(s, cfg, now, collect, &t) < 0) {
		free(t.ids);
		return -1;
	}
	st->invoices = t.examined;
	rc = plan_chunks(s, cfg, now, t.ids, t.n, true, st);
	free(t.ids);
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
