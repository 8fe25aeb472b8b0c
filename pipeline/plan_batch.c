/*
 * plan_batch — decisions written together (plan.h): the new reminders,
 * the moved ones, the cancellations and the escalations each with one
 * statement, their audit rows (and the escalations' alerts) in the same
 * statements, inside the caller's transaction, which holds the invoices'
 * locks.  The planning pass writes a chunk with it, the claim its
 * re-check's decisions.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plan.h"
#include "reason.h"
#include "store_int.h"

/* The state the decision's row is in now, or -1 if it has none. */
static int
row_state(const struct policy_facts *f, int64_t id)
{
	for (int i = 0; i < f->nreminders; i++)
		if (f->reminders[i].id == id)
			return (int)f->reminders[i].state;
	return -1;
}

/* One column of text values, as a PostgreSQL array at the end. */
struct col {
	const char **v;
	char **own;		/* the values this column allocated */
	size_t n;
};

/* Decisions to write together, by the statement that writes them. */
struct plan_batch {
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
	/* the bookmark moved (dunning.invoice_next_action): invoice, instant
	 * ("" none) */
	struct col l_inv, l_at;
};

/* Append V (copied when OWN) to C, which holds CAP; -1 when out of memory
 * or full. */
static int
col_add(struct col *c, size_t cap, const char *v, bool own)
{
	if (c->v == NULL && ((c->v = calloc(cap, sizeof(*c->v))) == NULL ||
	    (c->own = calloc(cap, sizeof(*c->own))) == NULL))
		return -1;
	if (c->n == cap)
		return -1;	/* more decisions than the batch was made for */
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
chunk_free_cols(struct plan_batch *k)
{
	struct col *cols[] = { &k->c_inv, &k->c_stage, &k->c_state, &k->c_sched, &k->c_reason,
	    &k->u_rem, &k->u_stage, &k->u_state, &k->u_sched, &k->u_reason, &k->u_old,
	    &k->x_inv, &k->x_reason, &k->e_inv, &k->l_inv, &k->l_at };

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		col_free(cols[i]);
}

/* A batch for up to CAP decisions taken at NOW; NULL when out of memory. */
struct plan_batch *
plan_batch_new(const struct config *cfg, time_t now, size_t cap)
{
	struct plan_batch *k = calloc(1, sizeof(*k));

	if (k != NULL) {
		k->cfg = cfg;
		k->now = now;
		k->cap = cap > 0 ? cap : 1;
	}
	return k;
}

/* Free every column of K, and K. */
void
plan_batch_free(struct plan_batch *k)
{
	if (k == NULL)
		return;
	chunk_free_cols(k);
	free(k);
}


/* File decision D about F in K, to be written with the batch.  -1 when
 * out of memory (the next pass decides it again). */
int
plan_batch_add(struct plan_batch *k, const struct policy_facts *f,
    const struct policy_decision *dp)
{
	struct policy_decision d = *dp;
	char ib[24], rb[24], at[32];
	const char *stage, *state;
	bool oom = false;

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
	return oom ? -1 : 0;
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

/* File in K that F is to be looked at again at LOOK (policy_next_look();
 * nothing to write when its bookmark says so already).  -1 when out of
 * memory. */
int
plan_batch_look(struct plan_batch *k, const struct policy_facts *f, time_t look)
{
	char ib[24], at[32];

	if (look == f->next_look)
		return 0;
	if (look == 0)
		at[0] = '\0';
	else
		cal_format_instant(look, at);
	return col_add(&k->l_inv, k->cap, store_i64(ib, f->invoice_id), true) < 0 ||
	    col_add(&k->l_at, k->cap, at, true) < 0 ? -1 : 0;
}

/* Write K's decisions (inside the caller's transaction, which holds the
 * invoices' locks): one statement per kind, each with its audit rows. */
int
plan_batch_write(struct store *s, struct plan_batch *k, struct plan_stats *st)
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
		    "  RETURNING id, invoice_id, stage, state), "
		    "a AS (INSERT INTO dunning.audit_log (actor, action, invoice_id, reminder_id, "
		    "  details) SELECT 'daemon', CASE WHEN x.state = 'held' THEN 'held' "
		    "  ELSE 'planned' END, x.invoice_id, x.id, jsonb_build_object('stage', x.stage, "
		    "  'scheduled_for', x.at, 'reason', x.reason) "
		    "  FROM (SELECT ins.*, u.at, u.reason FROM ins JOIN u ON u.inv = ins.invoice_id "
		    "    AND u.stage = ins.stage) x ORDER BY x.invoice_id) "
		    "SELECT state FROM ins", c, 5, NULL, 0)) == NULL)
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
		    "  RETURNING r.id, r.invoice_id), "
		    "x AS (SELECT up.id, up.invoice_id, u.stage, u.at, u.reason, u.old, "
		    "  CASE WHEN u.old = u.state THEN 'rescheduled' WHEN u.state = 'held' THEN 'held' "
		    "  ELSE 'planned' END AS action FROM up JOIN u ON u.rem = up.id), "
		    "a AS (INSERT INTO dunning.audit_log (actor, action, invoice_id, reminder_id, "
		    "  details) SELECT 'daemon', x.action, x.invoice_id, x.id, jsonb_build_object("
		    "  'stage', x.stage, 'scheduled_for', x.at, 'reason', x.reason, "
		    "  'previous_state', x.old) FROM x ORDER BY x.invoice_id) "
		    "SELECT action FROM x", c, 6, NULL, 0)) == NULL)
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
	/* Last: the bookmarks, over what the statements above changed (an
	 * escalation or a cancellation marks its invoice to be looked at
	 * again: sql/017). */
	if (k->l_inv.n > 0) {
		struct col *c[] = { &k->l_inv, &k->l_at };

		/* One statement: the bookmarks that move, those that go (only a
		 * change of facts can matter now). */
		if ((res = chunk_q(s, "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[]) "
		    "  AS u(id, at)), "
		    "gone AS (DELETE FROM dunning.invoice_next_action b USING u "
		    "  WHERE u.at = '' AND b.invoice_id = u.id RETURNING 1), "
		    "moved AS (INSERT INTO dunning.invoice_next_action (invoice_id, next_action_at) "
		    "  SELECT id, at::timestamptz FROM u WHERE at <> '' ORDER BY id "
		    "  ON CONFLICT (invoice_id) DO UPDATE SET next_action_at = EXCLUDED.next_action_at "
		    "  RETURNING 1) "
		    "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM moved)", c, 2, NULL,
		    0)) == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}
