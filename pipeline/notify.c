/*
 * notify — alerts and digests to the lawyers (see notify.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "context.h"
#include "log.h"
#include "mailer.h"
#include "outbox.h"
#include "mime.h"
#include "notify.h"
#include "policy.h"
#include "acks.h"
#include "alerts.h"
#include "no_answer.h"
#include "rates.h"

#define MAX_ROUNDS 100		/* sessions in one run, at most: the rest waits */

/* One mail of the session being built: an alert or a digest. */
struct job {
	struct notify_pass *n;
	struct notify_stats *st;
	time_t now;
	const struct lawyer_alert *alert;	/* NULL for a digest */
	int64_t lawyer;				/* a digest's */
	cal_day day;
	int nitems;
	char message_id[160];
};

/* Record that job J cannot be delivered: WHY, audited and logged. */
static int
fail(struct job *j, const char *why)
{
	struct notify_pass *n = j->n;
	int rc;

	j->st->failed++;
	if (j->alert != NULL) {
		log_warnx("lawyer alert %lld (%s) to lawyer %lld not delivered: %s",
		    (long long)j->alert->id, j->alert->kind, (long long)j->alert->lawyer_id, why);
		rc = alerts_failed(n->store, j->alert, why);
	} else {
		log_warnx("digest to lawyer %lld not delivered: %s", (long long)j->lawyer, why);
		rc = alerts_digest_failed(n->store, j->lawyer, j->day, why);
	}
	return rc;
}

/* A temporary failure of job J: again later, or, GAVE_UP after
 * smtp.max_attempts, failed (a digest is the day's: it is tried again
 * until the window closes, whatever the attempts). */
static int
retry(struct job *j, const char *why, bool gave_up)
{
	struct notify_pass *n = j->n;
	int attempts = j->alert != NULL ? j->alert->attempts : 1;
	char detail[400];

	if (j->alert == NULL) {
		/* A digest is the day's: it is retried until the window closes. */
		struct cal_window w = policy_window(n->cfg);
		time_t at = j->now + outbox_backoff(n->cfg, 1, &n->seed);

		if (!cal_in_window(&w, at) || cal_local_day(at) != j->day)
			return fail(j, why);
		j->st->retried++;
		return alerts_digest_retry(n->store, j->lawyer, j->day, at, why);
	}
	if (gave_up) {
		snprintf(detail, sizeof(detail), "gave up after %d attempts: %s", attempts, why);
		return fail(j, detail);
	}
	j->st->retried++;
	return alerts_retry(n->store, j->alert,
	    j->now + outbox_backoff(n->cfg, attempts, &n->seed), why);
}

/* The relay's verdict on one mail. */
static void
done(struct outbox_msg *om, void *arg)
{
	struct mailer_msg *m = &om->m;
	struct job *j = om->udata;
	bool gave_up;
	int rc;

	(void)arg;
	switch (outbox_judge(j->n->cfg, m->outcome, j->alert != NULL ? j->alert->attempts : 1,
	    true, &gave_up)) {
	case OUTBOX_SENT:
		if (j->alert != NULL) {
			rc = alerts_sent(j->n->store, j->alert, j->message_id);
			j->st->alerts++;
		} else {
			rc = alerts_digest_sent(j->n->store, j->lawyer, j->day, j->nitems,
			    j->message_id);
			j->st->digests++;
		}
		break;
	case OUTBOX_FAILED:
		rc = gave_up ? retry(j, m->status, true) : fail(j, m->status);
		break;
	case OUTBOX_RETRY:
	case OUTBOX_REFUSED:
	case OUTBOX_IN_DOUBT:
		/* Internal mail: sent again, same Message-ID, rather than lost. */
		rc = retry(j, m->status, false);
		break;
	default:
		rc = -1;
	}
	if (rc < 0) {
		/* The lease turns it back into a retry. */
		log_warnx("recording the lawyer's mail %s: %s", j->message_id,
		    store_error(j->n->store));
		j->st->errors++;
	}
}

/* Hand the K composed mails to the relay in one session (the e-mail
 * channel's), then free them. */
static void
flush(struct notify_pass *n, struct outbox_msg *msgs, size_t k)
{
	struct outbox_env env = { n->cfg, n->ms, n->password };

	if (k == 0)
		return;
	channel_email.hand(&env, msgs, k, NULL, done, NULL);
	for (size_t i = 0; i < k; i++) {
		free(msgs[i].udata);
		outbox_msg_free(&msgs[i]);
	}
}

/* Compose J's mail with CTX (consumed) to NAME <ADDR> into MSG; a mail
 * that cannot be made is recorded failed.  True when MSG was filled. */
static bool
compose(struct job *j, enum templates_lawyer which, json_t *ctx, const char *name,
    const char *addr, struct outbox_msg *msg)
{
	struct notify_pass *n = j->n;
	char err[256] = "";

	memset(msg, 0, sizeof(*msg));
	msg->m.data = mime_lawyer_compose(n->ms, n->cfg, which, ctx, name, addr,
	    j->message_id, j->now, &msg->m.len, err, sizeof(err));
	json_decref(ctx);
	if (msg->m.data == NULL) {
		if (fail(j, err[0] ? err : "out of memory") < 0)
			j->st->errors++;
		return false;
	}
	msg->m.rcpt = addr;
	msg->now = j->now;
	msg->udata = j;
	return true;
}

/* The queued alerts, a session at a time. */
static int
run_alerts(struct notify_pass *n, time_t now, const char *domain, struct outbox_msg *msgs,
    size_t cap, struct notify_stats *st)
{
	for (int round = 0; round < MAX_ROUNDS; round++) {
		struct lawyer_alert *v;
		size_t k = 0;
		int got;

		if (n->stop != NULL && n->stop(n->stop_arg))
			return 0;
		if ((got = alerts_claim(n->store, (int)cap, &v)) <= 0)
			return got;
		for (int i = 0; i < got; i++) {
			struct job *j = calloc(1, sizeof(*j));

			if (j == NULL) {
				st->errors++;	/* its lease brings it back */
				continue;
			}
			*j = (struct job){ .n = n, .st = st, .now = now, .alert = &v[i] };
			snprintf(j->message_id, sizeof(j->message_id),
			    "<dunning-lawyer.alert.%lld@%s>", (long long)v[i].id, domain);
			if (v[i].lawyer_id == 0) {
				if (fail(j, "the client has no responsible lawyer") < 0)
					st->errors++;
				free(j);
			} else if (compose(j, TEMPLATES_LAWYER_ALERT,
			    context_alert(n->cfg, &v[i], now), v[i].lawyer_name,
			    v[i].lawyer_email, &msgs[k])) {
				k++;
			} else {
				free(j);
			}
		}
		flush(n, msgs, k);
		alerts_free(v, got);
	}
	return 0;
}

/* Append to *ITEMS (*NI of them) the half-years of GAPS (N, per lawyer)
 * missing for LAWYER's open invoices (SPEC §2.1: the digest says which
 * half-year is missing and how many invoices lose their interest figure).
 * Out of memory leaves the digest without them. */
static void
add_no_rate(struct digest_item **items, int *ni, const struct rates_gap *gaps, int n,
    int64_t lawyer)
{
	struct digest_item *v;
	int k = 0;

	for (int i = 0; i < n; i++)
		k += gaps[i].lawyer_id == lawyer;
	if (k == 0 || (v = realloc(*items, (size_t)(*ni + k) * sizeof(*v))) == NULL)
		return;
	for (int i = 0; i < n; i++)
		if (gaps[i].lawyer_id == lawyer)
			v[(*ni)++] = (struct digest_item){ .section = DIGEST_NO_RATE,
			    .year = gaps[i].year, .half = gaps[i].half,
			    .invoices = gaps[i].invoices };
	*items = v;
}

/* The day's digest of every lawyer that has none yet. */
static int
run_digests(struct notify_pass *n, time_t now, const char *domain, struct outbox_msg *msgs,
    size_t cap, struct notify_stats *st)
{
	cal_day day = cal_local_day(now);
	struct digest_lawyer *l;
	struct rates_gap *gaps = NULL;
	struct store_audit_head head;
	char head_text[STORE_AUDIT_HEAD_TEXT];
	size_t k = 0;
	int nl, ngaps, y, m, d, rc = 0;

	if ((nl = alerts_digest_lawyers(n->store, day, &l)) <= 0)
		return nl;
	/* SPEC §3.5: each digest publishes the audit chain's head, as it is
	 * before the digests' own rows. */
	if (store_audit_head(n->store, &head) < 0) {
		alerts_digest_lawyers_free(l, nl);
		return -1;
	}
	store_audit_head_format(&head, head_text);
	/* Every lawyer's missing half-years in one statement; without them
	 * the digests still go. */
	if ((ngaps = rates_gaps(n->store, n->cfg, &gaps)) < 0) {
		log_warnx("the half-years missing from the legal-rate table: %s",
		    store_error(n->store));
		ngaps = 0;
	}
	cal_to_ymd(day, &y, &m, &d);
	for (int i = 0; i < nl; i++) {
		struct digest_item *items = NULL;
		struct job *j;
		int ni, took;

		if (n->stop != NULL && n->stop(n->stop_arg))
			break;
		if ((ni = alerts_digest_items(n->store, l[i].id,
		    n->cfg->escalation_dispute_reminder_days, &items)) >= 0) {
			add_no_rate(&items, &ni, gaps, ngaps, l[i].id);
			/* Rule 12: without it, the digest still goes. */
			if (no_answer_items(n->store, n->cfg, l[i].id, &items, &ni) < 0)
				log_warnx("the no-answer line of lawyer %lld's digest: %s",
				    (long long)l[i].id, store_error(n->store));
		}
		if (ni < 0 || (took = alerts_digest_take(n->store, &l[i], day, ni)) < 0) {
			alerts_digest_items_free(items, ni > 0 ? ni : 0);
			rc = -1;
			break;
		}
		if (took == 0 || (j = calloc(1, sizeof(*j))) == NULL) {
			/* Empty, another daemon's, or (out of memory) left to the
			 * lease. */
			alerts_digest_items_free(items, ni);
			continue;
		}
		*j = (struct job){ .n = n, .st = st, .now = now, .lawyer = l[i].id, .day = day,
		    .nitems = ni };
		snprintf(j->message_id, sizeof(j->message_id),
		    "<dunning-lawyer.digest.%lld.%04d%02d%02d@%s>", (long long)l[i].id, y, m, d,
		    domain);
		if (compose(j, TEMPLATES_LAWYER_DIGEST,
		    context_digest(n->cfg, l[i].name, items, ni, head_text, now), l[i].name,
		    l[i].email, &msgs[k]))
			k++;
		else
			free(j);
		alerts_digest_items_free(items, ni);
		if (k == cap) {
			flush(n, msgs, k);
			k = 0;
		}
	}
	flush(n, msgs, k);
	free(gaps);
	alerts_digest_lawyers_free(l, nl);
	return rc;
}

/* Alerts, then digests, inside the send window only. */
int
notify_run(struct notify_pass *n, const struct clock *clock, struct notify_stats *st)
{
	struct cal_window w = policy_window(n->cfg);
	size_t cap = n->cfg->smtp.messages_per_session > 0 ?
	    (size_t)n->cfg->smtp.messages_per_session : 1;
	time_t now = clock_now(clock);
	struct outbox_msg *msgs;
	char domain[256];
	int rc;

	memset(st, 0, sizeof(*st));
	if (!cal_in_window(&w, now))
		return 0;
	if (clock->set && store_set_now(n->store, now) < 0)
		return -1;
	if ((msgs = calloc(cap, sizeof(*msgs))) == NULL)
		return -1;
	mime_from_domain(n->cfg, domain, sizeof(domain));
	/* SPEC §2 rule 14: once a day, at the day's first pass inside the
	 * window, the invoices within prescription.alert_days of prescribing
	 * get their alert queued (one set-based statement; each threshold once
	 * per period, by the alert's key), so that it leaves at once, below,
	 * and the digest that follows lists it.  A failure is logged and
	 * tried again at the next pass. */
	if (n->prescription_day != cal_local_day(now)) {
		if (alerts_prescription(n->store, n->cfg->prescription.alert_days) < 0)
			log_warnx("the prescription alerts: %s", store_error(n->store));
		else
			n->prescription_day = cal_local_day(now);
	}
	/* Each pass, not once a day: one cheap set-based statement over the
	 * few agreements awaiting filing, idempotent by event_key, so a
	 * signature entered by the firm's software is told the same day. */
	rc = alerts_legal_aid(n->store) < 0 ? -1 : 0;
	/* Rule 13: the agreements still unsigned at unsigned_alert_days,
	 * likewise each pass, each told once. */
	if (rc == 0 && alerts_agreement_unsigned(n->store, n->cfg->agreement.unsigned_alert_days) < 0)
		rc = -1;
	if (rc == 0)
		rc = run_alerts(n, now, domain, msgs, cap, st);
	/* Rule 12: the clients' acknowledgements of their reports. */
	if (rc == 0)
		rc = acks_run(n, now, domain, cap, st);
	if (rc == 0)
		rc = run_digests(n, now, domain, msgs, cap, st);
	free(msgs);
	if (rc < 0)
		log_warnx("the lawyers' mail: %s", store_error(n->store));
	return rc < 0 ? -1 : 0;
}
