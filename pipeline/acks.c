/*
 * acks — the clients' acknowledgements of their reports (acks.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "acks.h"
#include "calendar.h"
#include "log.h"
#include "mailer.h"
#include "mime.h"
#include "outbox.h"
#include "store_int.h"

/* One acknowledgement on its way. */
struct job {
	struct notify_pass *n;
	struct notify_stats *st;
	struct ack a;
	time_t now;
	char message_id[160];
};

/* The client's plan proposals' acknowledgements (029's plan_ack), as the
 * reports' below: the plan's id, the client, its state, its schedule as
 * "YYYY-MM-DD=AMOUNT;…" (mail/ack.c writes it out). */
static const char plan_claim[] =
    "WITH c AS (UPDATE dunning.plan_ack k SET state = 'sending', "
    "  attempts = k.attempts + 1, lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
    "  WHERE k.plan_id IN (SELECT plan_id FROM dunning.plan_ack "
    "    WHERE state = 'pending' AND coalesce(next_try_at, '-infinity') <= dunning.now() "
    "    ORDER BY plan_id LIMIT $1 FOR UPDATE SKIP LOCKED) "
    "  RETURNING k.plan_id, k.attempts) "
    "SELECT c.plan_id, cl.email, dunning.notify_client_name(cl), cl.language, cl.kind, "
    "  p.state, (SELECT string_agg(i.number, ', ' ORDER BY i.due_on, i.number) "
    "    FROM dunning.plan_invoice pi JOIN dunning.invoice i ON i.id = pi.invoice_id "
    "    WHERE pi.plan_id = p.id), "
    "  (SELECT count(*) FROM dunning.plan_invoice pi WHERE pi.plan_id = p.id), "
    "  l.full_name, l.email, floor(extract(epoch FROM p.created_at))::bigint, c.attempts, "
    "  (SELECT string_agg(t.due_on::text || '=' || t.amount::text, ';' ORDER BY t.seq) "
    "    FROM dunning.plan_instalment t WHERE t.plan_id = p.id), p.currency "
    "FROM c JOIN dunning.payment_plan p ON p.id = c.plan_id "
    "JOIN dunning.client cl ON cl.id = p.client_id "
    "LEFT JOIN dunning.lawyer l ON l.id = cl.lawyer_id ORDER BY c.plan_id";

/* The acknowledgements due (of the reports, or of the plans when PLAN),
 * claimed: each 'sending', its attempt counted, under a lease, committed
 * with the statement.  Those whose lease ran out first become 'in_doubt'
 * (never sent again).  How many into *OUT, or -1. */
static int
claim(struct store *s, int max, bool plan, struct ack **out)
{
	char mb[24];
	const char *p[1] = { store_i64(mb, max) };
	struct ack *v;
	PGresult *res;
	int n;

	*out = NULL;
	if (store_cmd(s, plan ? "UPDATE dunning.plan_ack SET state = 'in_doubt', "
	    "  lease_until = NULL, last_error = 'the daemon stopped while it was being sent' "
	    "WHERE state = 'sending' AND lease_until < dunning.now()" :
	    "UPDATE dunning.client_ack SET state = 'in_doubt', lease_until = NULL, "
	    "  last_error = 'the daemon stopped while it was being sent' "
	    "WHERE state = 'sending' AND lease_until < dunning.now()", 0, NULL) < 0)
		return -1;
	res = store_q(s, plan ? plan_claim : "WITH c AS (UPDATE dunning.client_ack k SET state = 'sending', "
	    "  attempts = k.attempts + 1, lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
	    "  WHERE k.report_id IN (SELECT report_id FROM dunning.client_ack "
	    "    WHERE state = 'pending' AND coalesce(next_try_at, '-infinity') <= dunning.now() "
	    "    ORDER BY report_id LIMIT $1 FOR UPDATE SKIP LOCKED) "
	    "  RETURNING k.report_id, k.attempts) "
	    "SELECT c.report_id, cl.email, dunning.notify_client_name(cl), cl.language, cl.kind, "
	    "  r.category, (SELECT string_agg(i.number, ', ' ORDER BY i.due_on, i.number) "
	    "    FROM dunning.client_report_invoice ri JOIN dunning.invoice i ON i.id = ri.invoice_id "
	    "    WHERE ri.report_id = r.id), "
	    "  (SELECT count(*) FROM dunning.client_report_invoice ri WHERE ri.report_id = r.id), "
	    "  l.full_name, l.email, floor(extract(epoch FROM r.received_at))::bigint, c.attempts "
	    "FROM c JOIN dunning.client_report r ON r.id = c.report_id "
	    "JOIN dunning.client cl ON cl.id = r.client_id "
	    "LEFT JOIN dunning.lawyer l ON l.id = cl.lawyer_id ORDER BY c.report_id", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n;
	}
	for (int i = 0; i < n; i++) {
		if (plan) {
			v[i].plan_id = store_col_i64(res, i, 0);
			v[i].plan_state = store_col(res, i, 5);
			v[i].schedule = store_col(res, i, 12);
			snprintf(v[i].currency, sizeof(v[i].currency), "%s",
			    PQgetvalue(res, i, 13));
		} else {
			v[i].report_id = store_col_i64(res, i, 0);
			v[i].category = store_col(res, i, 5);
		}
		v[i].email = store_col(res, i, 1);
		v[i].client_name = store_col(res, i, 2);
		v[i].language = store_col(res, i, 3);
		v[i].kind = store_col(res, i, 4);
		v[i].invoices = store_col(res, i, 6);
		v[i].ninvoices = (int)store_col_i64(res, i, 7);
		v[i].lawyer_name = store_col(res, i, 8);
		v[i].lawyer_email = store_col(res, i, 9);
		v[i].received_at = (time_t)store_col_i64(res, i, 10);
		v[i].attempts = (int)store_col_i64(res, i, 11);
	}
	PQclear(res);
	*out = v;
	return n;
}

/* Free the N claimed V. */
static void
acks_free(struct ack *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].email);
		free(v[i].client_name);
		free(v[i].language);
		free(v[i].kind);
		free(v[i].category);
		free(v[i].plan_state);
		free(v[i].schedule);
		free(v[i].invoices);
		free(v[i].lawyer_name);
		free(v[i].lawyer_email);
	}
	free(v);
}

/* Record J's outcome: STATE ('sent', 'pending' again at RETRY_AT,
 * 'failed', 'in_doubt'), WHY the relay's words; audited as the daemon's. */
static void
record(struct job *j, const char *state, time_t retry_at, const char *why)
{
	char id[24], at[32];
	bool plan = j->a.plan_id != 0;
	const char *p[5] = { store_i64(id, plan ? j->a.plan_id : j->a.report_id), state, NULL, why,
	    j->message_id };

	if (retry_at != 0) {
		cal_format_instant(retry_at, at);
		p[2] = at;
	}
	if (store_cmd(j->n->store, plan ? "WITH k AS (UPDATE dunning.plan_ack SET state = $2, "
	    "  next_try_at = $3::timestamptz, lease_until = NULL, last_error = $4, "
	    "  sent_at = CASE WHEN $2 = 'sent' THEN dunning.now() END, message_id = $5 "
	    "  WHERE plan_id = $1::bigint AND state = 'sending' RETURNING plan_id) "
	    "SELECT dunning.audit('daemon', 'plan_ack_' || $2, NULL, NULL, "
	    "  jsonb_build_object('plan_id', plan_id, 'message_id', $5::text)) FROM k" :
	    "WITH k AS (UPDATE dunning.client_ack SET state = $2, "
	    "  next_try_at = $3::timestamptz, lease_until = NULL, last_error = $4, "
	    "  sent_at = CASE WHEN $2 = 'sent' THEN dunning.now() END, message_id = $5 "
	    "  WHERE report_id = $1::bigint AND state = 'sending' RETURNING report_id) "
	    "SELECT dunning.audit('daemon', 'client_ack_' || $2, NULL, NULL, "
	    "  jsonb_build_object('report_id', report_id, 'message_id', $5::text)) FROM k",
	    5, p) < 0) {
		log_warnx("recording the acknowledgement of %s %lld: %s", plan ? "plan" : "report",
		    (long long)(plan ? j->a.plan_id : j->a.report_id), store_error(j->n->store));
		j->st->errors++;
	}
}

/* The relay's verdict on one acknowledgement. */
static void
done(struct outbox_msg *om, void *arg)
{
	struct job *j = om->udata;
	bool gave_up;

	(void)arg;
	switch (outbox_judge(j->n->cfg, om->m.outcome, j->a.attempts, false, &gave_up)) {
	case OUTBOX_SENT:
		record(j, "sent", 0, om->m.status);
		j->st->alerts++;
		break;
	case OUTBOX_RETRY:
	case OUTBOX_REFUSED:
		record(j, "pending", j->now + outbox_backoff(j->n->cfg, j->a.attempts, &j->n->seed),
		    om->m.status);
		j->st->retried++;
		break;
	case OUTBOX_FAILED:
		record(j, "failed", 0, om->m.status);
		j->st->failed++;
		break;
	default:
		record(j, "in_doubt", 0, om->m.status);
		j->st->failed++;
		break;
	}
}

/* The acknowledgements of one kind (the plans' when PLAN): see acks_run. */
static int
run(struct notify_pass *n, time_t now, const char *domain, size_t cap, bool plan,
    struct notify_stats *st)
{
	struct outbox_env env = { n->cfg, n->ms, n->password };
	struct outbox_msg *msgs;
	struct job *jobs;
	struct ack *v;
	size_t k = 0;
	int got;

	if ((got = claim(n->store, (int)cap, plan, &v)) <= 0)
		return got;
	msgs = calloc((size_t)got, sizeof(*msgs));
	jobs = calloc((size_t)got, sizeof(*jobs));
	if (msgs == NULL || jobs == NULL) {
		free(msgs);
		free(jobs);
		acks_free(v, got);
		return -1;
	}
	for (int i = 0; i < got; i++) {
		struct job *j = &jobs[i];
		char *subject = NULL, *text = NULL, err[256] = "";

		*j = (struct job){ .n = n, .st = st, .a = v[i], .now = now };
		snprintf(j->message_id, sizeof(j->message_id), plan ? "<dunning-ack-plan.%lld@%s>" :
		    "<dunning-ack.%lld@%s>", (long long)(plan ? v[i].plan_id : v[i].report_id),
		    domain);
		if (ack_text(n->cfg, &v[i], &subject, &text) == 0)
			msgs[k].m.data = mime_plain_compose(n->cfg, v[i].client_name, v[i].email,
			    v[i].lawyer_email, subject, text, j->message_id, now, &msgs[k].m.len,
			    err, sizeof(err));
		free(subject);
		free(text);
		if (msgs[k].m.data == NULL) {
			log_warnx("acknowledgement of %s %lld not sent: %s", plan ? "plan" : "report",
			    (long long)(plan ? v[i].plan_id : v[i].report_id),
			    err[0] ? err : "out of memory");
			record(j, "failed", 0, err[0] ? err : "out of memory");
			st->failed++;
			continue;
		}
		msgs[k].m.rcpt = v[i].email;
		msgs[k].now = now;
		msgs[k].udata = j;
		k++;
	}
	if (k > 0)
		channel_email.hand(&env, msgs, k, NULL, done, NULL);
	for (size_t i = 0; i < k; i++)
		outbox_msg_free(&msgs[i]);
	free(msgs);
	free(jobs);
	acks_free(v, got);
	return 0;
}

int
acks_run(struct notify_pass *n, time_t now, const char *domain, size_t cap,
    struct notify_stats *st)
{
	int a = run(n, now, domain, cap, false, st), b = run(n, now, domain, cap, true, st);

	return a < 0 || b < 0 ? -1 : 0;
}
