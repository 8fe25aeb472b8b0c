/*
 * chase — the fee agreements' reminders (see chase.h).
 *
 * At most once, as an invoice's reminder: a row is 'sending' only from the
 * statement that marks it, committed right before it is handed; a sender
 * that stops then leaves it 'sending', and its lease makes it in_doubt
 * (never resent by the daemon).  A claim that never reached the mark is
 * due again when its lease runs out.
 */
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "chase.h"
#include "check.h"
#include "context.h"
#include "log.h"
#include "mime.h"
#include "outbox.h"
#include "policy.h"
#include "reason.h"
#include "store_int.h"

/* A 'sending' reminder whose lease ran out and whose row no live sender
 * holds (the hold locks it until the outcome): in_doubt, audited. */
#define EXPIRE_SQL \
	"WITH x AS (UPDATE dunning.agreement_reminder r SET state = 'in_doubt', " \
	"  lease_until = NULL, reason = 'lease_expired' " \
	"  WHERE r.id IN (SELECT id FROM dunning.agreement_reminder " \
	"    WHERE state = 'sending' AND lease_until < dunning.now() " \
	"    FOR UPDATE SKIP LOCKED) " \
	"  RETURNING r.id, r.agreement_id, r.stage, r.attempts, r.message_id) " \
	"SELECT dunning.audit('daemon', 'agreement_reminder_in_doubt', NULL, NULL, " \
	"  jsonb_build_object('agreement_id', agreement_id, 'agreement_reminder_id', id, " \
	"  'stage', stage, 'attempt', attempts, 'message_id', message_id, " \
	"  'reason', 'lease_expired')) FROM x"

/* The planning pass's writes, from the candidates' rows. */
static int
write_plan(struct store *s, const struct config *cfg, time_t now, PGresult *res,
    struct chase_stats *st)
{
	struct cal_window w = policy_window(cfg);
	int n = PQntuples(res), rc = -1;
	const char **ids = calloc((size_t)n, sizeof(*ids)), **stages = calloc((size_t)n,
	    sizeof(*stages)), **actions = calloc((size_t)n, sizeof(*actions)),
	    **ats = calloc((size_t)n, sizeof(*ats));
	char (*at)[32] = calloc((size_t)n, sizeof(*at));
	char *p[4] = { NULL };
	PGresult *r;

	if (ids == NULL || stages == NULL || actions == NULL || ats == NULL || at == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		cal_day start = cal_parse(PQgetvalue(res, i, 3));

		ids[i] = PQgetvalue(res, i, 0);
		stages[i] = PQgetvalue(res, i, 1);
		actions[i] = PQgetvalue(res, i, 2);
		/* SPEC rule 7: the next send-window opening on or after its
		 * first day (a skipped stage's instant is now) */
		cal_format_instant(strcmp(actions[i], "plan") == 0 ?
		    cal_next_send(&w, now, start) : now, at[i]);
		ats[i] = at[i];
		if (strcmp(actions[i], "plan") == 0)
			st->planned++;
		else
			st->skipped++;
	}
	p[0] = store_text_array(ids, (size_t)n);
	p[1] = store_text_array(stages, (size_t)n);
	p[2] = store_text_array(actions, (size_t)n);
	p[3] = store_text_array(ats, (size_t)n);
	if (p[0] == NULL || p[1] == NULL || p[2] == NULL || p[3] == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		goto out;
	}
	r = store_q(s, "SELECT dunning.agreement_chase_plan($1::bigint[], $2::text[], "
	    "$3::text[], $4::timestamptz[])", 4, (const char *const *)p, PGRES_TUPLES_OK);
	if (r != NULL) {
		PQclear(r);
		rc = 0;
	}
out:
	for (int i = 0; i < 4; i++)
		free(p[i]);
	free(ids);
	free(stages);
	free(actions);
	free(ats);
	free(at);
	return rc;
}

/* Leases, then the stages due (chase.h). */
int
chase_plan(struct store *s, const struct config *cfg, time_t now, struct chase_stats *st)
{
	const char *names[CONFIG_MAX_AGREEMENT_STAGES];
	char offsets[16 * CONFIG_MAX_AGREEMENT_STAGES + 2], days[24], *arr;
	const char *p[3];
	size_t len = 0;
	PGresult *res;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((res = store_q(s, EXPIRE_SQL, 0, NULL, PGRES_TUPLES_OK)) == NULL)
		return -1;
	if ((st->expired = PQntuples(res)) > 0)
		log_warnx("%d fee agreement reminder(s) left in 'sending' by a stopped sender are "
		    "now in_doubt", st->expired);
	PQclear(res);
	if (cfg->agreement.nstages == 0)
		return 0;
	offsets[len++] = '{';
	for (size_t i = 0; i < cfg->agreement.nstages; i++) {
		names[i] = cfg->agreement.stages[i].name;
		len += (size_t)snprintf(offsets + len, sizeof(offsets) - len, "%s%d", i ? "," : "",
		    cfg->agreement.stages[i].offset_days);
	}
	snprintf(offsets + len, sizeof(offsets) - len, "}");
	if ((arr = store_text_array(names, cfg->agreement.nstages)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	p[0] = arr;
	p[1] = offsets;
	p[2] = store_i64(days, cfg->agreement.unsigned_alert_days);
	res = store_q(s, "SELECT agreement_id, stage, action, start_day::text "
	    "FROM dunning.agreement_chase_candidates($1::text[], $2::integer[], $3::integer)",
	    3, p, PGRES_TUPLES_OK);
	free(arr);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? write_plan(s, cfg, now, res, st) : 0;
	PQclear(res);
	return rc;
}

/* ---- sending ------------------------------------------------------- */

/* One claimed reminder on its way. */
struct job {
	struct chase_pass *p;
	struct chase_stats *st;
	const struct clock *clock;
	int64_t id, agreement_id;
	int attempts;		/* with this one, once marked */
	bool held;		/* marked and held: a transaction is open */
	char stage[32];
	char message_id[160];
	struct agreement_mail a;
	char *col[9];		/* the strings a points into */
};

/* Move J's row from EXPECT to STATE (SQL NULLs: the reminder's reason,
 * RETRY_AT, DETAIL) and audit ACTION, in the session's transaction if
 * one is open; a failure tells the lawyer.  1 when the row moved, 0 when
 * someone else settled it, -1 on error. */
static int
record(struct job *j, const char *expect, const char *state, const char *action,
    enum reason why, const char *retry_at, const char *detail)
{
	struct store *s = j->p->store;
	char ib[24];
	const char *p[7] = { store_i64(ib, j->id), state, retry_at,
	    why != REASON_NONE ? reason_code(why) : NULL, detail, action, expect };
	PGresult *res;
	int n;

	res = store_q(s, "WITH o AS (UPDATE dunning.agreement_reminder SET state = $2, "
	    "  lease_until = NULL, "
	    "  sent_at = CASE WHEN $2 = 'sent' THEN dunning.now() ELSE sent_at END, "
	    "  scheduled_for = coalesce($3::timestamptz, scheduled_for), "
	    /* withheld or cancelled after the mark: not handed, not an attempt */
	    "  attempts = attempts - CASE WHEN $7 = 'sending' AND $6 IN "
	    "    ('agreement_reminder_withheld', 'agreement_reminder_cancelled') THEN 1 "
	    "    ELSE 0 END, "
	    "  reason = coalesce($4, reason), last_error = coalesce($5, last_error) "
	    "  WHERE id = $1 AND state = $7 "
	    "  RETURNING id, agreement_id, stage, attempts, message_id) "
	    "SELECT dunning.audit('daemon', $6, NULL, NULL, jsonb_build_object("
	    "  'agreement_id', o.agreement_id, 'agreement_reminder_id', o.id, 'stage', o.stage, "
	    "  'attempt', o.attempts, 'message_id', o.message_id) || jsonb_strip_nulls("
	    "  jsonb_build_object('reason', $4::text, 'detail', $5::text, "
	    "  'retry_at', $3::timestamptz))) FROM o", 7, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	if (n == 1 && strcmp(state, "failed") == 0) {
		char ab[24];
		const char *q[4] = { store_i64(ab, j->agreement_id), j->stage, reason_code(why),
		    NULL };

		if ((res = store_q(s, "SELECT dunning.agreement_chase_failed_alert($1, $2, $3, $4)",
		    4, q, PGRES_TUPLES_OK)) == NULL)
			return -1;
		PQclear(res);
	}
	return n;
}

/* Record J's outcome, ending the hold's transaction when one is open. */
static void
settle(struct job *j, const char *expect, const char *state, const char *action,
    enum reason why, const char *retry_at, const char *detail)
{
	struct store *s = j->p->store;
	int rc = record(j, expect, state, action, why, retry_at, detail);

	if (j->held) {
		if (rc < 0)
			store_rollback(s);
		else if (store_commit(s) < 0)
			rc = -1;
		j->held = false;
	}
	if (rc < 0) {
		/* 'sending' stays: its lease makes it in_doubt, never resent */
		log_warnx("%s: recording '%s': %s", j->message_id, state, store_error(s));
		j->st->errors++;
	}
}

/* J cannot leave, for WHY (DETAIL may be NULL): failed, audited, its
 * lawyer told.  Its row is still claimed ('planned'). */
static void
fail_claimed(struct job *j, enum reason why, const char *detail)
{
	log_warnx("%s: fee agreement %lld, stage %s: not sent: %s%s%s", j->message_id,
	    (long long)j->agreement_id, j->stage, reason_text(why, true), detail ? ": " : "",
	    detail ? detail : "");
	j->st->failed++;
	if (store_cmd(j->p->store, "BEGIN", 0, NULL) < 0) {
		j->st->errors++;
		return;
	}
	j->held = true;
	settle(j, "planned", "failed", "agreement_reminder_failed", why, NULL, detail);
}

/* Why J's message may not be made, or REASON_NONE: the address, the
 * names and the signature link, as a reminder's are checked. */
static enum reason
check_job(const struct job *j)
{
	const struct agreement_mail *a = &j->a;
	const char *names[] = { a->first_name, a->last_name, a->company_name };

	if (a->email == NULL || *a->email == '\0')
		return REASON_NO_EMAIL;
	if (!check_address(a->email))
		return REASON_INVALID_EMAIL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!check_utf8(names[i]))
			return REASON_INVALID_TEXT;
		if (names[i] != NULL && check_has_control(names[i]))
			return REASON_CONTROL_IN_NAME;
	}
	if (!check_payment_url(a->signature_url))
		return REASON_SIGNATURE_URL_REFUSED;
	return REASON_NONE;
}

/* Right before J is handed: marked 'sending' (committed), then held.
 * False: not handed (signed meanwhile, or the database did not answer). */
static bool
ready(struct outbox_msg *m, void *arg)
{
	struct job *j = m->udata;
	struct store *s = j->p->store;
	char ib[24], why[16] = "";
	const char *p[2] = { store_i64(ib, j->id), j->message_id };
	PGresult *res;

	(void)arg;
	if (j->clock->set && store_set_now(s, clock_now(j->clock)) < 0)
		goto db;
	res = store_q(s, "WITH m AS (UPDATE dunning.agreement_reminder SET state = 'sending', "
	    "  attempts = attempts + 1, message_id = $2, "
	    "  lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
	    "  WHERE id = $1 AND state = 'planned' "
	    "  RETURNING id, agreement_id, stage, attempts) "
	    "SELECT m.attempts, dunning.audit('daemon', 'agreement_reminder_sending', NULL, NULL, "
	    "  jsonb_build_object('agreement_id', m.agreement_id, 'agreement_reminder_id', m.id, "
	    "  'stage', m.stage, 'attempt', m.attempts, 'message_id', $2::text)) FROM m", 2, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		goto db;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return false;		/* settled by someone else since the claim */
	}
	j->attempts = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	/* The last check, held until the outcome is recorded. */
	if (store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto db;
	if ((res = store_q(s, "SELECT dunning.agreement_chase_hold($1)", 1, p,
	    PGRES_TUPLES_OK)) == NULL) {
		store_rollback(s);
		goto db;
	}
	snprintf(why, sizeof(why), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (strcmp(why, "held") == 0) {
		j->held = true;
		return true;
	}
	store_rollback(s);
	j->st->withheld++;
	log_info("%s: withheld: %s", j->message_id, strcmp(why, "signed") == 0 ?
	    "the fee agreement is signed" : "its fee agreement is being changed");
	if (strcmp(why, "signed") == 0)
		settle(j, "sending", "cancelled", "agreement_reminder_cancelled",
		    REASON_AGREEMENT_SIGNED, NULL, NULL);
	else if (strcmp(why, "busy") == 0) {
		/* due again after a backoff, not at once: a signature left
		 * open in a lawyer's session must not make this pass spin */
		char at[32];

		cal_format_instant(clock_now(j->clock) + outbox_backoff(j->p->cfg, 1, &j->p->seed),
		    at);
		settle(j, "sending", "planned", "agreement_reminder_withheld", REASON_NONE, at,
		    NULL);
	}
	return false;
db:
	/* Marked or not, nothing was handed: a marked row becomes in_doubt
	 * by its lease, an unmarked claim is due again. */
	log_warnx("%s: not sent: %s", j->message_id, store_error(s));
	j->st->errors++;
	return false;
}

/* The relay's verdict on J. */
static void
done(struct outbox_msg *m, void *arg)
{
	struct job *j = m->udata;
	struct chase_pass *p = j->p;
	char at[32], detail[300];
	bool gave_up = false;
	const char *expect = j->held ? "sending" : "planned";

	(void)arg;
	snprintf(detail, sizeof(detail), "%s", m->m.status);
	if (!j->held) {
		/* never handed (the session stopped before it): due again after
		 * the backoff, not an attempt */
		cal_format_instant(m->now + outbox_backoff(p->cfg, 1, &p->seed), at);
		settle(j, expect, "planned", "agreement_reminder_retried", REASON_RETRY_BACKOFF, at,
		    detail);
		j->st->retried++;
		return;
	}
	switch (outbox_judge(p->cfg, m->m.outcome, j->attempts, false, &gave_up)) {
	case OUTBOX_SENT:
		j->st->sent++;
		settle(j, expect, "sent", "agreement_reminder_sent", REASON_NONE, NULL, NULL);
		break;
	case OUTBOX_RETRY:
	case OUTBOX_REFUSED:
		j->st->retried++;
		cal_format_instant(m->now + outbox_backoff(p->cfg, j->attempts, &p->seed), at);
		settle(j, expect, "planned", "agreement_reminder_retried", REASON_RETRY_BACKOFF, at,
		    detail);
		break;
	case OUTBOX_FAILED:
		j->st->failed++;
		settle(j, expect, "failed", "agreement_reminder_failed", gave_up ? REASON_GAVE_UP :
		    REASON_RELAY_REFUSED, NULL, detail);
		break;
	case OUTBOX_IN_DOUBT:
	default:
		j->st->in_doubt++;
		settle(j, expect, "in_doubt", "agreement_reminder_in_doubt",
		    REASON_NO_ANSWER_AFTER_DATA, NULL, detail);
		break;
	}
}

/* Claim up to CAP due reminders into *OUT (jobs, malloc'ed).  The count,
 * or -1. */
static int
claim(struct chase_pass *p, const struct clock *clock, struct chase_stats *st, size_t cap,
    const char *domain, struct job **out)
{
	const struct config *cfg = p->cfg;
	const char *names[CONFIG_MAX_AGREEMENT_STAGES];
	char cb[24], *arr;
	const char *q[2];
	PGresult *res;
	int n;

	for (size_t i = 0; i < cfg->agreement.nstages; i++)
		names[i] = cfg->agreement.stages[i].name;
	if ((arr = store_text_array(names, cfg->agreement.nstages)) == NULL)
		return -1;
	q[0] = store_i64(cb, (int64_t)cap);
	q[1] = arr;
	res = store_q(p->store, "WITH c AS (UPDATE dunning.agreement_reminder r "
	    "  SET lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
	    "  WHERE r.id IN (SELECT r.id FROM dunning.agreement_reminder r "
	    "    JOIN dunning.fee_agreement a ON a.id = r.agreement_id "
	    "    JOIN dunning.client c ON c.id = a.client_id "
	    "    WHERE r.state = 'planned' AND r.scheduled_for <= dunning.now() "
	    "      AND (r.lease_until IS NULL OR r.lease_until < dunning.now()) "
	    "      AND a.signed_on IS NULL AND r.stage = ANY ($2::text[]) "
	    /* SPEC rule 6: a paused client waits for the end of the pause */
	    "      AND (c.paused_until IS NULL OR c.paused_until <= dunning.today()) "
	    "    ORDER BY r.scheduled_for, r.id LIMIT $1 FOR UPDATE OF r SKIP LOCKED) "
	    "  RETURNING r.*) "
	    "SELECT c.id, c.agreement_id, c.stage, a.sent_on::text, a.signature_url, cl.kind, "
	    "  cl.first_name, cl.last_name, cl.company_name, cl.email, cl.language, l.full_name, "
	    "  l.email "
	    "FROM c JOIN dunning.fee_agreement a ON a.id = c.agreement_id "
	    "JOIN dunning.client cl ON cl.id = a.client_id "
	    "LEFT JOIN dunning.lawyer l ON l.id = cl.lawyer_id "
	    "ORDER BY c.scheduled_for, c.id", 2, q, PGRES_TUPLES_OK);
	free(arr);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n == 0 || (*out = calloc((size_t)n, sizeof(**out))) == NULL) {
		PQclear(res);
		return n == 0 ? 0 : -1;
	}
	for (int i = 0; i < n; i++) {
		struct job *j = &(*out)[i];

		j->p = p;
		j->st = st;
		j->clock = clock;
		j->id = store_col_i64(res, i, 0);
		j->agreement_id = store_col_i64(res, i, 1);
		snprintf(j->stage, sizeof(j->stage), "%s", PQgetvalue(res, i, 2));
		snprintf(j->message_id, sizeof(j->message_id), "<dunning-agreement.%lld.%s@%s>",
		    (long long)j->id, j->stage, domain);
		j->a.stage = config_agreement_stage_index(cfg, j->stage);
		j->a.message_id = j->message_id;
		j->a.sent_on = cal_parse(PQgetvalue(res, i, 3));
		for (int c = 0; c < 9; c++)
			j->col[c] = store_col(res, i, 4 + c);
		j->a.signature_url = j->col[0];
		j->a.kind = j->col[1];
		j->a.first_name = j->col[2];
		j->a.last_name = j->col[3];
		j->a.company_name = j->col[4];
		j->a.email = j->col[5];
		j->a.language = j->col[6];
		j->a.lawyer_name = j->col[7];
		j->a.lawyer_email = j->col[8];
	}
	PQclear(res);
	return n;
}

/* Send what is due, a batch at a time, inside the send window. */
int
chase_send(struct chase_pass *p, const struct clock *clock, struct chase_stats *st)
{
	struct cal_window w = policy_window(p->cfg);
	size_t cap = p->cfg->smtp.messages_per_session > 0 ?
	    (size_t)p->cfg->smtp.messages_per_session : 1;
	struct outbox_env env = { p->cfg, p->ms, p->password };
	struct outbox_msg *msgs;
	char domain[256];
	int rc = 0;

	if (p->cfg->agreement.nstages == 0 || (msgs = calloc(cap, sizeof(*msgs))) == NULL)
		return p->cfg->agreement.nstages == 0 ? 0 : -1;
	mime_from_domain(p->cfg, domain, sizeof(domain));
	for (;;) {
		time_t now = clock_now(clock);
		struct job *jobs = NULL;
		size_t k = 0;
		int got;

		if (!cal_in_window(&w, now) || (p->stop != NULL && p->stop(p->stop_arg)))
			break;
		if (clock->set && store_set_now(p->store, now) < 0) {
			rc = -1;
			break;
		}
		if ((got = claim(p, clock, st, cap, domain, &jobs)) <= 0) {
			rc = got;
			break;
		}
		for (int i = 0; i < got; i++) {
			struct job *j = &jobs[i];
			enum reason why = check_job(j);
			char err[256] = "";

			if (why == REASON_NONE && j->a.stage < 0)
				why = REASON_UNKNOWN_STAGE;
			if (why != REASON_NONE) {
				fail_claimed(j, why, NULL);
				continue;
			}
			memset(&msgs[k], 0, sizeof(msgs[k]));
			msgs[k].m.data = mime_agreement_compose(p->ms, p->cfg, &j->a, now,
			    &msgs[k].m.len, err, sizeof(err), &msgs[k].copy);
			if (msgs[k].m.data == NULL) {
				fail_claimed(j, REASON_NOT_COMPOSED, err[0] ? err : "out of memory");
				continue;
			}
			msgs[k].m.rcpt = j->a.email;
			msgs[k].now = now;
			msgs[k].udata = j;
			k++;
		}
		channel_email.hand(&env, msgs, k, ready, done, NULL);
		for (size_t i = 0; i < k; i++)
			outbox_msg_free(&msgs[i]);
		for (int i = 0; i < got; i++)
			for (size_t c = 0; c < 9; c++)
				free(jobs[i].col[c]);
		free(jobs);
	}
	free(msgs);
	if (rc < 0)
		log_warnx("the fee agreements' reminders: %s", store_error(p->store));
	return rc < 0 ? -1 : 0;
}
