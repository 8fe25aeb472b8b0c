/*
 * plans — the payment plans' pass and their instalment reminders (see
 * plans.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "log.h"
#include "mime.h"
#include "money.h"
#include "outbox.h"
#include "plans.h"
#include "policy.h"
#include "store_int.h"

#define MAX_ROUNDS 20		/* sessions in one run, at most: the rest waits */

/* The plans' rules at the session's clock (sql/functions/plans.sql). */
int
plans_pass(struct store *s, const struct config *cfg, struct plans_stats *st)
{
	char before[16], late[16], breach[16];
	const char *p[3] = { before, late, breach };
	PGresult *res;

	snprintf(before, sizeof(before), "%d", cfg->plan.reminder_days_before);
	snprintf(late, sizeof(late), "%d", cfg->plan.late_days);
	snprintf(breach, sizeof(breach), "%d", cfg->plan.breach_after_days);
	res = store_qp(s, "SELECT dunning.plans_pass($1::int, $2::int, $3::int)", 3, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	st->changed = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (st->changed > 0)
		log_info("payment plans: %d completed or broken", st->changed);
	return 0;
}

/* Record what became of reminder N: STATE ('sent', 'planned' again at
 * AT, 'failed', 'in_doubt', 'cancelled'), REASON's code and DETAIL, with
 * its audit row ACTION, in one statement: only a row still 'sending' (a
 * row the lease settled meanwhile is left as it is). */
static int
record(struct store *s, const struct plan_notice *n, const char *state, enum reason r,
    const char *detail, time_t at, const char *action)
{
	char id[24], when[24];
	const char *p[6] = { store_i64(id, n->id), state, reason_code(r), detail ? detail : "",
		store_i64(when, (int64_t)at), action };
	PGresult *res;

	res = store_qp(s, "WITH u AS (UPDATE dunning.plan_message SET state = $2, "
	    "    reason = nullif($3, ''), last_error = nullif(left($4, 500), ''), "
	    "    lease_until = NULL, "
	    "    sent_at = CASE WHEN $2 = 'sent' THEN dunning.now() END, "
	    "    scheduled_for = CASE WHEN $2 = 'planned' THEN to_timestamp($5::bigint) "
	    "                         ELSE scheduled_for END "
	    "  WHERE id = $1::bigint AND state = 'sending' "
	    "  RETURNING id, plan_id, seq, kind, attempts, message_id) "
	    "SELECT count(dunning.audit('daemon', $6, dunning.plan_first_invoice(u.plan_id), NULL, "
	    "  jsonb_strip_nulls(jsonb_build_object('plan_id', u.plan_id, 'seq', u.seq, "
	    "    'kind', u.kind, 'message_id', u.message_id, 'attempts', u.attempts, "
	    "    'reason', nullif($3, ''), 'detail', nullif(left($4, 500), ''))))) FROM u",
	    6, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* The claims whose lease ran out (a sender stopped mid-send): in_doubt,
 * never sent again blindly. */
static int
expire(struct store *s, struct plans_stats *st)
{
	PGresult *res = store_qp(s, "WITH u AS (UPDATE dunning.plan_message "
	    "  SET state = 'in_doubt', reason = 'lease_expired', lease_until = NULL "
	    "  WHERE state = 'sending' AND lease_until < dunning.now() "
	    "  RETURNING id, plan_id, seq, kind, message_id) "
	    "SELECT count(dunning.audit('daemon', 'plan_reminder_in_doubt', "
	    "  dunning.plan_first_invoice(u.plan_id), NULL, jsonb_build_object('plan_id', "
	    "  u.plan_id, 'seq', u.seq, 'kind', u.kind, 'message_id', u.message_id, "
	    "  'reason', 'lease_expired'))) FROM u", 0, NULL, PGRES_TUPLES_OK);
	int n;

	if (res == NULL)
		return -1;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (n > 0)
		log_warnx("%d payment plan reminder(s) left in 'sending' by a stopped sender are "
		    "now in_doubt", n);
	st->in_doubt += n;
	return 0;
}

/* Claim up to MAX reminders due: 'sending' with a lease and a Message-ID
 * at DOMAIN, each audited, committed (the statement's own transaction)
 * before anything is handed; then what each says, read at once. */
static int
claim(struct store *s, int max, const char *domain, struct plan_notice **out)
{
	char mb[24];
	const char *p[2] = { store_i64(mb, max), domain };
	struct plan_notice *v;
	PGresult *res;
	int n;

	*out = NULL;
	res = store_qp(s, "WITH c AS (UPDATE dunning.plan_message m SET state = 'sending', "
	    "    attempts = m.attempts + 1, "
	    "    lease_until = dunning.now() + interval '" OUTBOX_LEASE "', "
	    "    message_id = coalesce(m.message_id, format('<dunning-plan.%s.%s.%s@%s>', "
	    "      m.plan_id, m.seq, m.kind, $2::text)) "
	    "  WHERE m.id IN (SELECT x.id FROM dunning.plan_message x "
	    "    JOIN dunning.payment_plan pl ON pl.id = x.plan_id "
	    "    WHERE x.state = 'planned' AND x.scheduled_for <= dunning.now() "
	    "      AND pl.state = 'active' AND NOT dunning.plan_disputed(pl.id) "
	    "    ORDER BY x.id LIMIT $1::int FOR UPDATE OF x SKIP LOCKED) "
	    "  RETURNING m.id, m.plan_id, m.seq, m.kind, m.attempts, m.message_id), "
	    "a AS (SELECT c.id, dunning.audit('daemon', 'plan_reminder_sending', "
	    "    dunning.plan_first_invoice(c.plan_id), NULL, jsonb_build_object('plan_id', "
	    "    c.plan_id, 'seq', c.seq, 'kind', c.kind, 'message_id', c.message_id, "
	    "    'attempts', c.attempts)) AS done FROM c) "
	    "SELECT c.id, c.plan_id, c.seq, c.kind = 'late', c.attempts, c.message_id, "
	    "  dunning.notify_client_name(cl), cl.email, cl.language, l.full_name, l.email, "
	    "  pl.currency, (sc.left_to_pay * 100)::bigint, "
	    "  ((pl.total - pd.paid) * 100)::bigint, sc.due_on::text, "
	    "  (SELECT count(*) FROM dunning.plan_instalment t WHERE t.plan_id = pl.id), "
	    "  (SELECT string_agg(i.number, ', ' ORDER BY i.due_on, i.number) "
	    "   FROM dunning.plan_invoice pi JOIN dunning.invoice i ON i.id = pi.invoice_id "
	    "   WHERE pi.plan_id = pl.id), "
	    "  (SELECT count(*) > 1 FROM dunning.plan_invoice pi WHERE pi.plan_id = pl.id) "
	    "FROM c JOIN a ON a.id = c.id "
	    "JOIN dunning.payment_plan pl ON pl.id = c.plan_id "
	    "JOIN dunning.client cl ON cl.id = pl.client_id "
	    "LEFT JOIN dunning.lawyer l ON l.id = cl.lawyer_id "
	    "CROSS JOIN LATERAL (SELECT dunning.plan_paid(pl.id) AS paid) pd "
	    "JOIN LATERAL dunning.plan_schedule(pl.id, pd.paid) sc ON sc.seq = c.seq "
	    "ORDER BY c.id", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n;
	}
	for (int i = 0; i < n; i++) {
		struct plan_notice *x = &v[i];

		x->id = store_col_i64(res, i, 0);
		x->plan_id = store_col_i64(res, i, 1);
		x->seq = atoi(PQgetvalue(res, i, 2));
		x->late = PQgetvalue(res, i, 3)[0] == 't';
		x->attempts = atoi(PQgetvalue(res, i, 4));
		snprintf(x->message_id, sizeof(x->message_id), "%s", PQgetvalue(res, i, 5));
		x->client_name = store_col(res, i, 6);
		x->email = store_col(res, i, 7);
		x->language = store_col(res, i, 8);
		x->lawyer_name = store_col(res, i, 9);
		x->lawyer_email = store_col(res, i, 10);
		snprintf(x->currency, sizeof(x->currency), "%s", PQgetvalue(res, i, 11));
		x->amount_cents = store_col_i64(res, i, 12);
		x->remaining_cents = store_col_i64(res, i, 13);
		x->due_on = cal_parse(PQgetvalue(res, i, 14));
		x->ninstalments = atoi(PQgetvalue(res, i, 15));
		x->invoices = store_col(res, i, 16);
		x->several = PQgetvalue(res, i, 17)[0] == 't';
	}
	PQclear(res);
	*out = v;
	return n;
}

static void
notices_free(struct plan_notice *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].client_name);
		free(v[i].email);
		free(v[i].language);
		free(v[i].lawyer_name);
		free(v[i].lawyer_email);
		free(v[i].invoices);
	}
	free(v);
}

/* One message of the session being built. */
struct job {
	struct plans_send *p;
	struct plans_stats *st;
	struct plan_notice *n;
	time_t now;
};

/* Right before N is handed: its plan still active and its instalment
 * still owing what the message says, else it is not handed — cancelled
 * when nothing is owed any more or the plan ended, due again (composed
 * anew, the attempt not counted) when the amount changed.  True: hand it. */
static bool
ready(struct outbox_msg *om, void *arg)
{
	struct job *j = om->udata;
	char id[24], cents[24];
	const char *p[2] = { store_i64(id, j->n->id), store_i64(cents, j->n->amount_cents) };
	PGresult *res;
	bool go;

	(void)arg;
	res = store_qp(j->p->store, "WITH u AS (UPDATE dunning.plan_message m SET "
	    "    state = CASE WHEN pl.state <> 'active' OR coalesce(sc.left_to_pay, 0) <= 0 "
	    "                   OR dunning.plan_disputed(pl.id) "
	    "                 THEN 'cancelled' ELSE 'planned' END, "
	    "    reason = CASE WHEN pl.state <> 'active' THEN 'plan_ended' "
	    "                  WHEN dunning.plan_disputed(pl.id) THEN 'disputed' "
	    "                  WHEN coalesce(sc.left_to_pay, 0) <= 0 THEN 'paid' END, "
	    "    attempts = m.attempts - 1, lease_until = NULL "
	    "  FROM dunning.payment_plan pl "
	    "  LEFT JOIN LATERAL dunning.plan_schedule(pl.id, dunning.plan_paid(pl.id)) sc ON true "
	    "  WHERE m.id = $1::bigint AND pl.id = m.plan_id AND sc.seq = m.seq "
	    "    AND m.state = 'sending' "
	    "    AND NOT (pl.state = 'active' AND NOT dunning.plan_disputed(pl.id) "
	    "             AND (sc.left_to_pay * 100)::bigint = $2::bigint) "
	    "  RETURNING m.id, m.plan_id, m.seq, m.kind, m.state, m.reason, m.message_id) "
	    "SELECT count(dunning.audit('daemon', 'plan_reminder_withheld', "
	    "  dunning.plan_first_invoice(u.plan_id), NULL, jsonb_strip_nulls(jsonb_build_object("
	    "  'plan_id', u.plan_id, 'seq', u.seq, 'kind', u.kind, 'state', u.state, "
	    "  'reason', u.reason, 'message_id', u.message_id)))) FROM u", 2, p, PGRES_TUPLES_OK);
	if (res == NULL) {
		/* Unknown: not handed; the lease settles it as in_doubt, which
		 * the operator sees, rather than a message sent on stale facts. */
		log_warnx("payment plan reminder %lld: %s", (long long)j->n->id,
		    store_error(j->p->store));
		j->st->errors++;
		return false;
	}
	go = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
	if (!go)
		j->st->cancelled++;
	return go;
}

/* The relay's verdict on one message. */
static void
done(struct outbox_msg *om, void *arg)
{
	struct job *j = om->udata;
	struct plans_send *p = j->p;
	struct plan_notice *n = j->n;
	bool gave_up = false;
	int rc;

	(void)arg;
	switch (outbox_judge(p->cfg, om->m.outcome, n->attempts, false, &gave_up)) {
	case OUTBOX_SENT:
		rc = record(p->store, n, "sent", REASON_NONE, NULL, 0, "plan_reminder_sent");
		j->st->sent++;
		break;
	case OUTBOX_RETRY:
		rc = record(p->store, n, "planned", REASON_NONE, om->m.status,
		    j->now + outbox_backoff(p->cfg, n->attempts, &p->seed), "plan_reminder_retry");
		j->st->retried++;
		break;
	case OUTBOX_REFUSED:
		rc = record(p->store, n, "planned", REASON_SESSION_REFUSED, om->m.status,
		    j->now + outbox_backoff(p->cfg, 1, &p->seed), "plan_reminder_retry");
		j->st->retried++;
		break;
	case OUTBOX_FAILED:
		rc = record(p->store, n, "failed",
		    gave_up ? REASON_GAVE_UP : REASON_RELAY_REFUSED, om->m.status, 0,
		    "plan_reminder_failed");
		j->st->failed++;
		break;
	case OUTBOX_IN_DOUBT:
	default:
		rc = record(p->store, n, "in_doubt", REASON_NO_ANSWER_AFTER_DATA, om->m.status, 0,
		    "plan_reminder_in_doubt");
		j->st->in_doubt++;
		break;
	}
	if (rc < 0) {
		log_warnx("recording payment plan reminder %s: %s", n->message_id,
		    store_error(p->store));
		j->st->errors++;
	}
}

/* Send the queued instalment reminders due (see plans.h). */
int
plans_send(struct plans_send *p, const struct clock *clock, struct plans_stats *st)
{
	struct cal_window w = policy_window(p->cfg);
	struct outbox_env env = { p->cfg, p->ms, p->password };
	int cap = p->cfg->smtp.messages_per_session;
	char domain[256];
	time_t now = clock_now(clock);

	if (expire(p->store, st) < 0)
		return -1;
	mime_from_domain(p->cfg, domain, sizeof(domain));
	for (int round = 0; round < MAX_ROUNDS; round++) {
		struct outbox_msg *msgs;
		struct job *jobs;
		struct plan_notice *v;
		size_t k = 0;
		int got;

		now = clock_now(clock);
		if (!cal_in_window(&w, now))
			return 0;
		if ((got = claim(p->store, cap, domain, &v)) <= 0)
			return got;
		msgs = calloc((size_t)got, sizeof(*msgs));
		jobs = calloc((size_t)got, sizeof(*jobs));
		if (msgs == NULL || jobs == NULL) {
			free(msgs);
			free(jobs);
			notices_free(v, got);
			return -1;	/* the lease settles them */
		}
		for (int i = 0; i < got; i++) {
			char err[300] = "";
			enum reason r;

			jobs[i] = (struct job){ .p = p, .st = st, .n = &v[i], .now = now };
			memset(&msgs[k], 0, sizeof(msgs[k]));
			msgs[k].m.data = mime_plan_compose(p->ms, p->cfg, &v[i], now, &msgs[k].m.len,
			    err, sizeof(err), &msgs[k].copy);
			if (msgs[k].m.data != NULL) {
				msgs[k].m.rcpt = v[i].email;
				msgs[k].now = now;
				msgs[k].udata = &jobs[i];
				k++;
				continue;
			}
			r = v[i].email == NULL || *v[i].email == '\0' ? REASON_NO_EMAIL :
			    strstr(err, "e-mail address") != NULL ? REASON_INVALID_EMAIL :
			    REASON_NOT_COMPOSED;
			log_warnx("payment plan reminder %s not composed: %s", v[i].message_id, err);
			if (record(p->store, &v[i], "failed", r, err, 0, "plan_reminder_failed") < 0)
				st->errors++;
			st->failed++;
		}
		channel_email.hand(&env, msgs, k, ready, done, NULL);
		for (size_t i = 0; i < k; i++)
			outbox_msg_free(&msgs[i]);
		free(msgs);
		free(jobs);
		notices_free(v, got);
		if (got < cap)
			return 0;
	}
	return 0;
}
