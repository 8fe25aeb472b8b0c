/*
 * preview_sql — dunningctl preview: the group the sender would claim for
 * one reminder, read without writing or locking anything.
 *
 * It follows the claim of pipeline/claim.c step by step: the reminder's
 * siblings (same client, stage and currency, leaving at the same send,
 * sharing a retry's Message-ID), the policy's re-check at that time, the
 * Message-ID derived from the reminders that stay, and the group loaded
 * by the sender's own load_group().  For an invoice at a stage not
 * planned yet, the same message with that invoice alone, as the policy
 * would plan it.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "ctl_db.h"
#include "preview_sql.h"
#include "store_int.h"
#include "plan.h"
#include "load.h"
#include "claim.h"

/* A candidate of the group: one reminder of the same client, stage and
 * currency. */
struct member {
	int64_t reminder_id, invoice_id;
	bool keep;		/* travels in the message */
};

/* The states of a reminder that may still leave (a failed or in-doubt one
 * once resent). */
#define CAN_LEAVE { "planned", "held", "approved", "failed", "in_doubt" }

/* What preview learns of the reminder itself. */
struct head {
	int64_t id, invoice_id, client;
	int stage;
	char stage_name[32], currency[4];
	char *message_id;	/* a retry's, or NULL */
	time_t scheduled_for;
};

/* The policy's verdict on the group's invoices at the time it leaves. */
struct verdict {
	const struct config *cfg;
	time_t at;
	int stage;
	struct member *m;
	size_t n;
	int64_t head_invoice;
	char *head_note;
};

/* Keep a sibling only when the policy would send this stage with it, as
 * the claim's re-check does; say why the reminder itself would not go. */
static void
judge(const struct policy_facts *f, const char *number, void *arg)
{
	struct verdict *v = arg;
	struct policy_decision d;
	bool send;

	(void)number;
	policy_decide(f, v->cfg, v->at, &d);
	send = d.action == POLICY_SEND && d.stage == v->stage;
	if (f->invoice_id == v->head_invoice) {
		if (!send && !(d.action == POLICY_HOLD && d.stage == v->stage))
			v->head_note = strdup(reason_text(d.reason, true));
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->m[i].invoice_id == f->invoice_id && !send)
			v->m[i].keep = false;
}

void
preview_sql_free(struct send_group *g, struct preview_sql *pv)
{
	group_free(g);
	free(pv->note);
	free(pv->held_siblings);
	free(pv->sent_before);
	memset(pv, 0, sizeof(*pv));
}

/* Sort members by invoice, as the claim lists them. */
static int
by_invoice(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return (x->invoice_id > y->invoice_id) - (x->invoice_id < y->invoice_id);
}

/* "{1,2,3}", malloc'ed: the invoices of the N members (INVOICES), or the
 * reminders of those kept. */
static char *
member_array(const struct member *m, size_t n, bool invoices)
{
	char *a = malloc(3 + n * 21), *w;
	bool first = true;

	if (a == NULL)
		return NULL;
	w = a + sprintf(a, "{");
	for (size_t i = 0; i < n; i++) {
		if (!invoices && !m[i].keep)
			continue;
		w += sprintf(w, "%s%lld", first ? "" : ",",
		    (long long)(invoices ? m[i].invoice_id : m[i].reminder_id));
		first = false;
	}
	strcpy(w, "}");
	return a;
}

/* Append NUMBER to the list "F-1, F-2" in *LIST. */
static int
list_add(char **list, const char *number)
{
	size_t len = *list != NULL ? strlen(*list) : 0, add = strlen(number) + 3;
	char *l = realloc(*list, len + add);

	if (l == NULL)
		return -1;
	snprintf(l + len, add, "%s%s", len ? ", " : "", number);
	*list = l;
	return 0;
}

/* Read reminder H->id; refuse one that will not leave any more. */
static int
preview_head(struct store *s, const struct config *cfg, struct head *h,
    struct preview_sql *pv)
{
	static const char *const can_leave[] = CAN_LEAVE;
	char ib[24];
	const char *p[1] = { store_i64(ib, h->id) };
	PGresult *res;
	const char *st;

	res = ctl_db_q(s, "SELECT r.state, r.stage, i.client_id, i.currency, r.message_id, "
	    "  floor(extract(epoch FROM r.scheduled_for))::bigint, r.invoice_id "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE r.id = $1", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		snprintf(s->err, sizeof(s->err), "no reminder with id %lld", (long long)h->id);
		PQclear(res);
		return -1;
	}
	st = PQgetvalue(res, 0, 0);
	for (size_t i = 0; i < sizeof(can_leave) / sizeof(can_leave[0]); i++)
		if (strcmp(st, can_leave[i]) == 0)
			pv->state = can_leave[i];
	if (pv->state == NULL) {
		snprintf(s->err, sizeof(s->err), "reminder %lld is %s: nothing of it will leave "
		    "any more (dunningctl history shows what did)", (long long)h->id, st);
		PQclear(res);
		return -1;
	}
	snprintf(h->stage_name, sizeof(h->stage_name), "%s", PQgetvalue(res, 0, 1));
	h->client = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	snprintf(h->currency, sizeof(h->currency), "%s", PQgetvalue(res, 0, 3));
	h->message_id = PQgetisnull(res, 0, 4) ? NULL : strdup(PQgetvalue(res, 0, 4));
	h->scheduled_for = (time_t)strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	h->invoice_id = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
	PQclear(res);
	if ((h->stage = config_stage_index(cfg, h->stage_name)) < 0) {
		snprintf(s->err, sizeof(s->err), "reminder %lld is of stage \"%s\", which the "
		    "configuration does not know", (long long)h->id, h->stage_name);
		return -1;
	}
	return 0;
}

/* The reminder and its siblings into *M: the client's reminders of the
 * same stage and currency that would leave at the same send (a retry
 * travels only with those that share its Message-ID).  A held sibling is
 * listed in PV, not kept: it joins only if approved too. */
static int
preview_members(struct store *s, const struct head *h, const struct cal_window *w,
    time_t now, struct preview_sql *pv, struct member **m, size_t *n)
{
	char cb[24];
	const char *p[4] = { store_i64(cb, h->client), h->stage_name, h->currency,
		h->message_id };
	PGresult *res;
	int rows;

	res = ctl_db_q(s, "SELECT r.id, r.invoice_id, i.number, r.state, "
	    "  floor(extract(epoch FROM r.scheduled_for))::bigint "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE i.client_id = $1 AND r.stage = $2 AND i.currency = $3 "
	    "  AND r.state IN ('planned', 'approved', 'held') "
	    "  AND r.message_id IS NOT DISTINCT FROM $4", 4, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	rows = PQntuples(res);
	if ((*m = calloc((size_t)rows + 1, sizeof(**m))) == NULL)
		goto oom;
	(*m)[0] = (struct member){ h->id, h->invoice_id, true };
	*n = 1;
	for (int i = 0; i < rows; i++) {
		int64_t rid = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		time_t sched = (time_t)strtoll(PQgetvalue(res, i, 4), NULL, 10);
		bool held = strcmp(PQgetvalue(res, i, 3), "held") == 0;

		/* A held sibling would be approved now, like the reminder. */
		if (rid == h->id ||
		    cal_next_send(w, sched > now ? sched : now, CAL_NONE) != pv->leaves_at)
			continue;
		(*m)[(*n)++] = (struct member){ rid, strtoll(PQgetvalue(res, i, 1), NULL, 10),
			!held };
		if (held && list_add(&pv->held_siblings, PQgetvalue(res, i, 2)) < 0)
			goto oom;
	}
	PQclear(res);
	return 0;
oom:
	snprintf(s->err, sizeof(s->err), "out of memory");
	PQclear(res);
	return -1;
}

/* The claim's re-check at the time the message leaves: siblings the
 * policy would not send drop out; the reminder itself stays, with a note
 * saying why it would not go. */
static int
preview_recheck(struct store *s, const struct config *cfg, const struct head *h,
    struct member *m, size_t n, struct preview_sql *pv)
{
	struct verdict v = { cfg, pv->leaves_at, h->stage, m, n, h->invoice_id, NULL };
	char *inv = member_array(m, n, true);
	const char *p[1] = { inv };
	int rc;

	if (inv == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	rc = plan_load_facts(s, cfg, "i.id = ANY($1::bigint[])", 1, p, judge, &v);
	free(inv);
	if (rc < 0) {
		free(v.head_note);
		return -1;
	}
	/* A failed or in-doubt reminder leaves only once resent, and the
	 * policy then sees it planned: no verdict on it now. */
	if (strcmp(pv->state, "failed") == 0 || strcmp(pv->state, "in_doubt") == 0) {
		free(v.head_note);
		v.head_note = NULL;
	}
	pv->note = v.head_note;
	return 0;
}

/* The group of reminder ID, read in the caller's snapshot. */
static int
preview_read(struct store *s, const struct config *cfg, int64_t id, time_t now,
    const char *domain, struct send_group *g, struct preview_sql *pv)
{
	struct cal_window w = policy_window(cfg);
	struct head h = { .id = id };
	struct member *m = NULL;
	int64_t *ids = NULL;
	char *rems = NULL, mid[160];
	size_t n = 0, k = 0;
	int rc = -1;

	pv->reminder_id = id;
	if (preview_head(s, cfg, &h, pv) < 0)
		goto out;
	/* It leaves at its time, or now if that has passed (a held reminder
	 * approved now, a failed one resent now), at a send window. */
	pv->leaves_at = cal_next_send(&w, h.scheduled_for > now ? h.scheduled_for : now,
	    CAL_NONE);
	if (preview_members(s, &h, &w, now, pv, &m, &n) < 0 ||
	    preview_recheck(s, cfg, &h, m, n, pv) < 0)
		goto out;

	/* The Message-ID of the kept reminders, listed by invoice. */
	qsort(m, n, sizeof(*m), by_invoice);
	if ((ids = calloc(n, sizeof(*ids))) == NULL || (rems = member_array(m, n, false)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (m[i].keep)
			ids[k++] = m[i].reminder_id;
	group_message_id(ids, k, h.stage_name, domain, mid, sizeof(mid));

	s->err[0] = '\0';
	if (load_group(s, rems, h.client, g) < 0 || g->nitems == 0) {
		/* Its client out of sight: as unknown as the reminder. */
		if (s->err[0] == '\0')
			snprintf(s->err, sizeof(s->err), "no reminder with id %lld", (long long)id);
		goto out;
	}
	g->stage = h.stage;
	snprintf(g->currency, sizeof(g->currency), "%s", h.currency);
	free(g->message_id);
	if ((g->message_id = strdup(mid)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(h.message_id);
	free(m);
	free(ids);
	free(rems);
	return rc;
}

/* The group reminder ID would leave in, without writing or locking. */
int
preview_sql_group(struct store *s, const struct config *cfg, int64_t id, time_t now,
    const char *domain, struct send_group *g, struct preview_sql *pv)
{
	memset(g, 0, sizeof(*g));
	memset(pv, 0, sizeof(*pv));
	if (ctl_db_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return -1;
	if (preview_read(s, cfg, id, now, domain, g, pv) < 0) {
		store_rollback(s);
		preview_sql_free(g, pv);
		return -1;
	}
	return ctl_db_cmd(s, "COMMIT");
}

/* What the policy says of the invoice at a stage not planned yet. */
struct ahead {
	const struct config *cfg;
	time_t now;
	int stage;
	bool seen;
	time_t leaves_at, sent_at;
	char *note;
};

/* The stage leaves when the policy's plan says, if it is the next one;
 * a later stage, not before its day; an earlier one, never again. */
static void
judge_ahead(const struct policy_facts *f, const char *number, void *arg)
{
	struct ahead *a = arg;
	struct cal_window w = policy_window(a->cfg);
	struct policy_decision d;
	char buf[160];

	(void)number;
	a->seen = true;
	for (int i = 0; i < f->nreminders; i++)
		if (f->reminders[i].stage == a->stage && f->reminders[i].state == RS_SENT)
			a->sent_at = f->reminders[i].sent_at;
	policy_decide(f, a->cfg, a->now, &d);
	a->leaves_at = d.stage == a->stage ? d.send_at :
	    cal_next_send(&w, a->now, f->due_on + a->cfg->stages[a->stage].offset_days);
	if (d.stage == a->stage) {
		if (d.action == POLICY_SEND || d.action == POLICY_HOLD || d.action == POLICY_WAIT)
			return;
	} else if (d.stage >= 0 && d.stage < a->stage &&
	    (d.action == POLICY_SEND || d.action == POLICY_HOLD || d.action == POLICY_WAIT)) {
		return;	/* an earlier stage comes first */
	}
	if (d.stage >= 0 && d.stage != a->stage)
		snprintf(buf, sizeof(buf), "%s (the policy's next step is %s)",
		    reason_text(d.reason, true), a->cfg->stages[d.stage].name);
	else
		snprintf(buf, sizeof(buf), "%s", reason_text(d.reason, true));
	a->note = strdup(buf);
}

/* Invoice ID (of CLIENT) at stage STAGE with no reminder that may leave. */
static int
preview_ahead(struct store *s, const struct config *cfg, int64_t id, int64_t client,
    int stage, time_t now, const char *domain, struct send_group *g, struct preview_sql *pv)
{
	struct ahead a = { cfg, now, stage, false, 0, 0, NULL };
	char ib[24], arr[32], mid[160];
	const char *p[1] = { store_i64(ib, id) };
	int64_t none = 0;

	if (plan_load_facts(s, cfg, "i.id = $1", 1, p, judge_ahead, &a) < 0)
		return -1;
	pv->state = "not planned";
	pv->note = a.note;
	if (!a.seen) {
		/* Closed (cancelled, written off) or paid: the facts query
		 * skips it; the message would still read like this. */
		pv->leaves_at = now;
		if ((pv->note = strdup("the invoice is closed or paid: nothing will leave")) == NULL)
			goto oom;
	} else {
		pv->leaves_at = a.leaves_at;
	}
	if (a.sent_at != 0) {
		struct tm tm;
		char day[16];

		localtime_r(&a.sent_at, &tm);
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		if ((pv->sent_before = strdup(day)) == NULL)
			goto oom;
	}
	snprintf(arr, sizeof(arr), "{%lld}", (long long)id);
	s->err[0] = '\0';
	if (load_group_invoices(s, arr, client, g) < 0 || g->nitems != 1) {
		if (s->err[0] == '\0')
			snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	g->stage = stage;
	group_message_id(&none, 1, cfg->stages[stage].name, domain, mid, sizeof(mid));
	free(g->message_id);
	if ((g->message_id = strdup(mid)) == NULL)
		goto oom;
	return 0;
oom:
	snprintf(s->err, sizeof(s->err), "out of memory");
	return -1;
}

/* Invoice NUMBER at STAGE, read in the caller's snapshot. */
static int
preview_invoice_read(struct store *s, const struct config *cfg, const char *number,
    int stage, time_t now, const char *domain, struct send_group *g, struct preview_sql *pv)
{
	static const char *const can_leave[] = CAN_LEAVE;
	char states[80] = "{";
	const char *p[3] = { number, cfg->stages[stage].name, states };
	PGresult *res;
	int64_t invoice, client, rid = 0;

	for (size_t i = 0; i < sizeof(can_leave) / sizeof(can_leave[0]); i++)
		snprintf(states + strlen(states), sizeof(states) - strlen(states), "%s%s",
		    can_leave[i], i + 1 < sizeof(can_leave) / sizeof(can_leave[0]) ? "," : "}");

	res = ctl_db_q(s, "SELECT i.id, i.client_id, i.currency, (SELECT max(r.id) "
	    "  FROM dunning.reminder r WHERE r.invoice_id = i.id AND r.stage = $2 "
	    "  AND r.state = ANY($3::text[])) "
	    "FROM dunning.invoice i WHERE i.number = $1", 3, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		snprintf(s->err, sizeof(s->err), "no invoice numbered \"%s\"", number);
		PQclear(res);
		return -1;
	}
	invoice = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	client = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	snprintf(g->currency, sizeof(g->currency), "%s", PQgetvalue(res, 0, 2));
	if (!PQgetisnull(res, 0, 3))
		rid = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	PQclear(res);
	if (rid != 0)
		return preview_read(s, cfg, rid, now, domain, g, pv);
	return preview_ahead(s, cfg, invoice, client, stage, now, domain, g, pv);
}

int
preview_sql_invoice(struct store *s, const struct config *cfg, const char *number,
    const char *stage, time_t now, const char *domain, struct send_group *g,
    struct preview_sql *pv)
{
	int st = config_stage_index(cfg, stage);

	memset(g, 0, sizeof(*g));
	memset(pv, 0, sizeof(*pv));
	if (st < 0) {
		size_t len = (size_t)snprintf(s->err, sizeof(s->err),
		    "the configuration has no stage \"%s\": write one of", stage);

		for (size_t i = 0; i < cfg->nstages && len < sizeof(s->err); i++)
			len += (size_t)snprintf(s->err + len, sizeof(s->err) - len, "%s %s",
			    i ? "," : "", cfg->stages[i].name);
		return -1;
	}
	if (ctl_db_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return -1;
	if (preview_invoice_read(s, cfg, number, st, now, domain, g, pv) < 0) {
		store_rollback(s);
		preview_sql_free(g, pv);
		return -1;
	}
	return ctl_db_cmd(s, "COMMIT");
}
