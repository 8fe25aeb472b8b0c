/*
 * send — one pass over the due reminders: claim a batch, compose each
 * message for its stage's channel, hand each channel its messages, record
 * every outcome as the outbox's rules judge it (outbox.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "check.h"
#include "log.h"
#include "outbox.h"
#include "policy.h"
#include "send.h"
#include "store.h"
#include "claim.h"
#include "outcome.h"

/*
 * Connection reuse: one SMTP session carries up to smtp.messages_per_session
 * messages, handed one at a time.  The session's messages are claimed
 * together (one transaction, re-checked under their invoices' send locks)
 * just before it; each is marked 'sending' right before it is handed, then
 * holds its send locks in a transaction that its outcome, recorded as soon
 * as the relay answers its end of DATA, ends: a dispute or a payment on a
 * message of the session waits for that message's answer, never for the
 * whole session.  The locks die with the connection: one that dropped
 * while the message was with the relay is taken again, and the message
 * re-checked, before its last bytes and the final dot go (before_dot); a
 * dispute or a payment that got in meanwhile wins and the message is
 * withheld (SPEC §3.5).
 */
#define RETRY_WARN 5		/* attempts after which each retry is a warning */

/*
 * How long the sender waits for a database that went away with a message
 * in hand (its mark, its lock, its re-check before the dot, its outcome):
 * a restart takes seconds, but the promotion of a standby after the
 * primary's death takes as long as the failover's monitor needs to call
 * the primary dead (pg_auto_failover's defaults: 30 s to a minute,
 * doc/operations.md).  An outcome the relay gave is recorded on the new
 * primary once it is up; the conninfo names every host and asks for
 * target_session_attrs=read-write, and each try re-resolves them
 * (store_ready: PQreset).  Past the wait, or when the daemon is stopped
 * during it (quit: SIGTERM, not a reload), the message stays 'sending'
 * and its lease (OUTBOX_LEASE, longer than the wait) makes it in_doubt:
 * never sent twice, at most the one message in hand lost to the operator's
 * dunningctl in-doubt.
 */
#define RECONNECT_WAIT 300	/* seconds */
#define RECONNECT_SAY 30	/* a warning every this many tries while waiting */

/* One wait for the database: when it started, the tries so far. */
struct db_wait {
	struct timespec start;
	int tries;
};

/* One claimed message of the batch. */
struct pending {
	size_t order;			/* its place in the claim */
	struct send_pass *s;
	struct send_group g;
	struct send_stats *st;
	const struct clock *clock;
	const struct outbox_channel *channel;
	bool marked;			/* 'sending': handed, or about to be */
	bool withheld;			/* marked, then not handed: recorded so */
};

/* Keep the copy of a message that left (or may have: in doubt), for the
 * client's access request (dunningctl export-client).  A copy the database
 * did not take is a warning: the send itself is recorded regardless. */
static void
keep_copy(struct send_pass *s, const struct send_group *g, const struct mime_copy *copy)
{
	if (copy->text != NULL && outcome_keep_copy(s->store, g, copy->subject, copy->text) < 0)
		log_warnx("%s: keeping its copy: %s", g->message_id, store_error(s->store));
}

/* Record a temporary failure WHY: retry later, or, after
 * smtp.max_attempts attempts (0: never), give up: 'failed', for the lawyer
 * and the operator to see (dunningctl in-doubt --failed, then resend). */
static int
temporary(struct send_pass *s, time_t now, struct send_group *g, const char *why,
    struct send_stats *st)
{
	int attempts = g->items[0].attempts;
	bool gave_up;

	if (outbox_judge(s->cfg, MAILER_TEMPORARY, attempts, false, &gave_up) == OUTBOX_FAILED) {
		log_warnx("%s: gave up after %d attempts: %s", g->message_id, attempts, why);
		if (outcome_failed(s->store, s->cfg, g, REASON_GAVE_UP, why) < 0)
			return -1;
		st->failed++;
		return 0;
	}
	if (attempts >= RETRY_WARN)
		log_warnx("%s: attempt %d failed again: %s", g->message_id, attempts, why);
	if (outcome_retry(s->store, s->cfg, g,
	    now + outbox_backoff(s->cfg, attempts, &s->seed), why) < 0)
		return -1;
	st->retried++;
	return 0;
}

/* The relay refused the session (ANSWER) before G was handed: G waits
 * with the session's backoff, which grows with each refused session in a
 * row, not with G's attempts; MARKED: G was 'sending' (else only claimed). */
static int
refused(struct send_pass *s, time_t now, struct send_group *g, const char *answer,
    bool marked, struct send_stats *st)
{
	if (s->refused_until == 0) {
		char where[300];
		size_t n = (size_t)snprintf(where, sizeof(where), "%s:%d: ", s->cfg->smtp.host,
		    s->cfg->smtp.port);

		s->refused_until = now + outbox_backoff(s->cfg, s->refusals + 1, &s->seed);
		/* The log line names the relay already. */
		snprintf(s->refusal, sizeof(s->refusal), "%s",
		    strncmp(answer, where, n) == 0 ? answer + n : answer);
	}
	if ((marked ? outcome_refused(s->store, s->cfg, g, s->refused_until, answer) :
	    outcome_defer(s->store, s->cfg, g, s->refused_until, REASON_SESSION_REFUSED,
	    answer)) < 0)
		return -1;
	st->refused++;
	return 0;
}

/* G was claimed, never marked 'sending': the session stopped before it
 * (WHY).  Due again after the first backoff; not an attempt. */
static int
deferred(struct send_pass *s, time_t now, struct send_group *g, const char *why,
    struct send_stats *st)
{
	if (outcome_defer(s->store, s->cfg, g, now + outbox_backoff(s->cfg, 1, &s->seed),
	    REASON_RETRY_BACKOFF, why) < 0)
		return -1;
	st->retried++;
	return 0;
}

/* After a batch whose session the relay refused: say it once (an error
 * until the relay accepts again), and leave an audit row for dunningctl
 * status.  After a batch that went out: say the relay accepts again. */
static void
session_verdict(struct send_pass *s, const struct send_stats *st, int sent_before)
{
	char until[32];
	json_t *det;

	if (s->refused_until == 0) {
		if (s->refusals > 0 && st->sent > sent_before) {
			log_info("smtp %s:%d accepts the session again", s->cfg->smtp.host,
			    s->cfg->smtp.port);
			s->refusals = 0;
		}
		return;
	}
	cal_format_instant(s->refused_until, until);
	if (s->refusals++ == 0)
		log_errx("smtp %s:%d refused the session: %s; nothing is sent until it accepts "
		    "(check %s); next try at %s", s->cfg->smtp.host, s->cfg->smtp.port, s->refusal,
		    strstr(s->refusal, "SSL") != NULL || strstr(s->refusal, "certificate") != NULL ?
		    "smtp.host and smtp.ca_file: the relay's certificate must chain to a trusted "
		    "CA and name that host" :
		    "smtp.username, the password or the token, and smtp.from", until);
	det = json_pack("{s:s, s:s, s:s, s:i}", "relay", s->cfg->smtp.host, "answer", s->refusal,
	    "retry_at", until, "refusals", s->refusals);
	if (det == NULL || store_audit(s->store, "relay_refused", 0, 0, det) < 0)
		log_warnx("recording the relay's refusal: %s",
		    det == NULL ? "out of memory" : store_error(s->store));
	json_decref(det);
}

/* Record the outcome of M (P's message).  -1 when the database did not
 * take it. */
static int
record(struct pending *p, struct outbox_msg *m)
{
	struct send_pass *s = p->s;
	struct send_group *g = &p->g;
	bool gave_up;

	if (p->withheld)
		return 0;		/* recorded when it was withheld */
	if (!p->marked)
		return m->m.outcome == MAILER_REFUSED ?
		    refused(s, m->now, g, m->m.status, false, p->st) :
		    deferred(s, m->now, g, m->m.status, p->st);
	switch (outbox_judge(s->cfg, m->m.outcome, g->items[0].attempts, false, &gave_up)) {
	case OUTBOX_SENT:
		/* The outcome first: it ends the transaction holding the send
		 * locks, which a failed copy would abort. */
		if (outcome_sent(s->store, s->cfg, g, m->path != NULL ? NULL : m->m.status,
		    m->path) < 0)
			return -1;
		keep_copy(s, g, &m->copy);
		if (m->path != NULL)
			p->st->letters++;
		else
			p->st->sent++;
		break;
	case OUTBOX_FAILED:
		if (gave_up)
			return temporary(s, m->now, g, m->m.status, p->st);
		if (outcome_failed(s->store, s->cfg, g, REASON_RELAY_REFUSED, m->m.status) < 0)
			return -1;
		p->st->failed++;
		break;
	case OUTBOX_IN_DOUBT:
		if (outcome_in_doubt(s->store, s->cfg, g, m->m.status) < 0)
			return -1;
		keep_copy(s, g, &m->copy);
		p->st->in_doubt++;
		break;
	case OUTBOX_RETRY:
		if (p->channel != &channel_email)	/* the relay's are logged by the mailer */
			log_warnx("%s: %s", g->message_id, m->m.status);
		return temporary(s, m->now, g, m->m.status, p->st);
	case OUTBOX_REFUSED:
		return refused(s, m->now, g, m->m.status, true, p->st);
	}
	return 0;
}

/* Is it still worth waiting for the database (W) for P's message: not
 * stopped, within RECONNECT_WAIT, and no other wait of the batch ran out
 * (else each of its messages would wait the whole time again)? */
static bool
waiting(struct pending *p, struct db_wait *w)
{
	struct send_pass *s = p->s;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->tries == 0)
		w->start = now;
	if (s->db_gone)
		return false;
	if (s->quit != NULL && s->quit(s->stop_arg)) {
		log_warnx("%s: stopping while waiting for the database", p->g.message_id);
		return false;
	}
	if (now.tv_sec - w->start.tv_sec >= RECONNECT_WAIT) {
		log_warnx("%s: the database did not come back within %d s", p->g.message_id,
		    RECONNECT_WAIT);
		s->db_gone = true;
		return false;
	}
	return true;
}

/* The database went away while P's message was in hand: wait (a quarter
 * of a second, then half, then a second a try), then reconnect — the
 * W->tries-th try, WHAT saying what for.  True when the store can be used
 * again (on whichever host is now read-write). */
static bool
reconnect(struct pending *p, struct db_wait *w, const char *what)
{
	struct send_pass *s = p->s;
	/* tv_nsec stays below 10^9: nanosleep refuses a second written there
	 * (EINVAL, no wait at all: the 40 tries of old took about 1 s). */
	struct timespec ts = w->tries < 2 ? (struct timespec){ 0, 250000000L << w->tries } :
	    (struct timespec){ 1, 0 };

	if (w->tries % RECONNECT_SAY == 0)
		log_warnx("%s %s: %s; trying again (%d s at most)", what, p->g.message_id,
		    store_error(s->store), RECONNECT_WAIT);
	w->tries++;
	nanosleep(&ts, NULL);
	if (store_ready(s->store) < 0 ||
	    (p->clock->set && store_set_now(s->store, clock_now(p->clock)) < 0))
		return false;
	if (w->tries > 1)
		log_info("%s: the database answers again after %d tries", p->g.message_id,
		    w->tries);
	return true;
}

/* The outcome of one message: record it, release the invoice.  The
 * database may have gone away meanwhile (a restart): the outcome is known,
 * so reconnect and record it rather than leave the row to become
 * in_doubt. */
static void
handed(struct outbox_msg *m, void *arg)
{
	struct pending *p = m->udata;
	struct send_pass *s = p->s;
	int rc = record(p, m);

	(void)arg;
	for (struct db_wait w = { 0 }; rc < 0 && store_broken(s->store) && waiting(p, &w); )
		if (reconnect(p, &w, "recording the outcome of"))
			rc = record(p, m);
	if (rc < 0) {
		/* Its lease will turn it in_doubt: never sent twice. */
		log_warnx("recording the outcome of %s: %s; it will be in_doubt", p->g.message_id,
		    store_error(s->store));
		p->st->errors++;
	}
	outcome_release(s->store, &p->g);
}

/* P was marked but is not to be handed (its invoice changed while its
 * send lock was not held): recorded so, the database waited for if it is
 * away (then its lease makes it in_doubt: never sent twice). */
static void
withhold(struct pending *p)
{
	struct send_pass *s = p->s;
	int rc = outcome_withheld(s->store, s->cfg, &p->g);

	for (struct db_wait w = { 0 }; rc < 0 && store_broken(s->store) && waiting(p, &w); )
		if (reconnect(p, &w, "withholding"))
			rc = outcome_withheld(s->store, s->cfg, &p->g);
	if (rc < 0) {
		log_warnx("withholding %s: %s; it will be in_doubt", p->g.message_id,
		    store_error(s->store));
		p->st->errors++;
		return;
	}
	log_info("%s: withheld: a payment or a dispute on its invoice came first",
	    p->g.message_id);
	p->st->skipped++;
}

/* P's send locks, held until its outcome is recorded (outcome_hold),
 * the database waited for if it went away: 1 held, 0 to be withheld, -1
 * the database did not answer. */
static int
hold(struct pending *p, const char *what)
{
	struct send_pass *s = p->s;
	int rc = outcome_hold(s->store, s->cfg, &p->g);

	for (struct db_wait w = { 0 }; rc < 0 && store_broken(s->store) && waiting(p, &w); )
		if (reconnect(p, &w, what))
			rc = outcome_hold(s->store, s->cfg, &p->g);
	return rc;
}

/* Right before M's last bytes and the final dot go to the relay: are its
 * send locks still held?  The connection may have dropped while the relay
 * had the message (a restart, a terminated backend), and its locks with
 * it: then a dispute or a payment may have been recorded since, waiting
 * for nothing.  So they are taken again on a new connection and the
 * message re-checked; if it may no longer leave, it is withheld (the
 * transfer cut before the dot) and recorded so.  False: not handed. */
static bool
before_dot(struct mailer_msg *mm, void *arg)
{
	struct pending *p = arg;
	struct send_pass *s = p->s;
	int rc;

	(void)mm;
	if (!p->marked || outcome_held(s->store, &p->g))
		return true;
	log_warnx("%s: the database connection dropped while the relay had it: its send lock "
	    "is taken again before the end of DATA (%s)", p->g.message_id, store_error(s->store));
	rc = -1;
	for (struct db_wait w = { 0 }; rc < 0 && waiting(p, &w); ) {
		if (!reconnect(p, &w, "re-checking"))
			continue;
		if ((rc = outcome_hold(s->store, s->cfg, &p->g)) < 0 && !store_broken(s->store))
			break;
	}
	if (rc == 1)
		return true;
	p->withheld = true;
	if (rc == 0) {
		withhold(p);
		return false;
	}
	/* Not known to be free to go: not handed; 'sending' until its lease
	 * makes it in_doubt. */
	log_warnx("%s: withheld: %s; it will be in_doubt", p->g.message_id,
	    store_error(s->store));
	p->st->errors++;
	return false;
}

/* Right before M is handed: its invoices re-checked and its reminders
 * marked 'sending' in one statement (outcome_mark_sending), then its send
 * locks held until its outcome is recorded (outcome_hold).  False: M is
 * not handed — its invoice changed since the claim (the planner decides
 * again), or the database did not answer (the claim's lease runs out). */
static bool
ready(struct outbox_msg *m, void *arg)
{
	struct pending *p = m->udata;
	struct send_pass *s = p->s;
	int rc = -1;

	(void)arg;
	if (!p->clock->set || store_set_now(s->store, clock_now(p->clock)) == 0)
		rc = outcome_mark_sending(s->store, s->cfg, &p->g);
	/* A database that went away and comes back within the tries: the
	 * message goes on, rather than wait for its claim's lease. */
	for (struct db_wait w = { 0 }; rc < 0 && store_broken(s->store) && waiting(p, &w); )
		if (reconnect(p, &w, "marking"))
			rc = outcome_mark_sending(s->store, s->cfg, &p->g);
	if (rc == 1) {
		p->marked = true;
		if ((rc = hold(p, "locking")) == 1)
			return true;
		p->withheld = true;
		if (rc == 0)
			withhold(p);
		else {
			log_warnx("%s: not sent: %s; it will be in_doubt", p->g.message_id,
			    store_error(s->store));
			p->st->errors++;
		}
		outcome_release(s->store, &p->g);
		return false;
	}
	switch (rc) {
	case 0:
		log_info("%s: not sent: its invoice changed since the claim", p->g.message_id);
		p->st->skipped++;
		break;
	default:
		log_warnx("%s: not sent: %s", p->g.message_id, store_error(s->store));
		p->st->errors++;
	}
	outcome_release(s->store, &p->g);
	return false;
}

/* Claimed message P, for M: checked and composed for its channel.  A
 * message that cannot be made is recorded failed at once.  True when M is
 * ready to hand over. */
static bool
prepare(struct pending *p, struct outbox_msg *m, time_t now)
{
	struct send_pass *s = p->s;
	struct send_group *g = &p->g;
	struct outbox_env env = { s->cfg, s->ms, s->password };
	enum reason why;
	char err[256];

	memset(m, 0, sizeof(*m));
	m->group = g;
	m->now = now;
	m->udata = p;
	m->m.before_dot = before_dot;
	m->m.before_dot_arg = p;
	if ((why = check_group(g, s->cfg)) != REASON_NONE) {
		log_warnx("%s to client %lld not sent: %s", s->cfg->stages[g->stage].name,
		    (long long)g->client_id, reason_text(why, true));
		if (outcome_failed(s->store, s->cfg, g, why, NULL) == 0)
			p->st->failed++;
		return false;
	}
	if ((why = p->channel->compose(&env, m, err, sizeof(err))) != REASON_NONE) {
		log_warnx("composing %s: %s", g->message_id, err);
		if (outcome_failed(s->store, s->cfg, g, why, err) == 0)
			p->st->failed++;
		outbox_msg_free(m);
		return false;
	}
	return true;
}

/* Hand the N prepared messages MSGS over, each channel its own in one go
 * (the relay's in one session), then free them. */
static void
hand(struct send_pass *s, struct outbox_msg *msgs, size_t n)
{
	struct outbox_env env = { s->cfg, s->ms, s->password };
	size_t i = 0;

	/* MSGS are grouped by channel (send_run puts them so): one call each. */
	while (i < n) {
		const struct outbox_channel *c = ((struct pending *)msgs[i].udata)->channel;
		size_t j = i;

		while (j < n && ((struct pending *)msgs[j].udata)->channel == c)
			j++;
		c->hand(&env, msgs + i, j - i, ready, handed, NULL);
		i = j;
	}
	for (i = 0; i < n; i++) {
		free(msgs[i].udata);
		outbox_msg_free(&msgs[i]);
	}
}

/* Order of the channels in a batch: letters, then the relay's session;
 * inside a channel, the claim's order. */
static int
by_channel(const void *a, const void *b)
{
	const struct pending *x = ((const struct outbox_msg *)a)->udata;
	const struct pending *y = ((const struct outbox_msg *)b)->udata;

	if (x->channel->id != y->channel->id)
		return (int)y->channel->id - (int)x->channel->id;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Send what is due, a batch at a time: read the clock, claim up to
 * smtp.messages_per_session messages in one transaction, compose them and
 * hand them to their channels (the relay's in one session).  The pass
 * stops when the send window closes, when nothing is due, or when the
 * owner asks (s->stop) — between batches, never in the middle of one. */
int
send_run(struct send_pass *s, const struct clock *clock, struct send_stats *st)
{
	struct cal_window w = policy_window(s->cfg);
	size_t cap = s->cfg->smtp.messages_per_session > 0 ?
	    (size_t)s->cfg->smtp.messages_per_session : 1, got;
	struct outbox_msg *msgs = calloc(cap, sizeof(*msgs));
	struct send_group *groups = calloc(cap, sizeof(*groups));
	char domain[256];
	int rc = 0, sent_before;

	memset(st, 0, sizeof(*st));
	if (msgs == NULL || groups == NULL) {
		free(msgs);
		free(groups);
		return -1;
	}
	mime_from_domain(s->cfg, domain, sizeof(domain));
	for (;;) {
		time_t now = clock_now(clock);
		size_t n = 0;

		if (!cal_in_window(&w, now) || (s->stop != NULL && s->stop(s->stop_arg)))
			break;
		if (clock->set && store_set_now(s->store, now) < 0) {
			rc = -1;
			break;
		}
		s->db_gone = false;
		if ((rc = claim_batch(s->store, s->cfg, now, domain, groups, cap, &got)) <= 0)
			break;
		rc = 0;
		for (size_t i = 0; i < got; i++) {
			struct pending *p = calloc(1, sizeof(*p));

			if (p == NULL) {
				/* Its lease will make it in_doubt: never sent twice. */
				log_warnx("%s: out of memory; not sent", groups[i].message_id);
				outcome_release(s->store, &groups[i]);
				st->errors++;
				continue;
			}
			*p = (struct pending){ .order = i, .s = s, .g = groups[i], .st = st,
			    .clock = clock,
			    .channel = outbox_channel(s->cfg->stages[groups[i].stage].channel) };
			if (p->channel == NULL) {
				/* Nothing was handed over: failed, for a person to act. */
				log_warnx("%s: its stage's channel has no driver", groups[i].message_id);
				if (outcome_failed(s->store, s->cfg, &p->g, REASON_NO_CHANNEL, NULL) == 0)
					st->failed++;
				else
					st->errors++;
			}
			if (p->channel == NULL || !prepare(p, &msgs[n], now)) {
				outcome_release(s->store, &p->g);
				free(p);
				continue;
			}
			n++;
		}
		qsort(msgs, n, sizeof(*msgs), by_channel);
		sent_before = st->sent;
		s->refused_until = 0;
		hand(s, msgs, n);
		session_verdict(s, st, sent_before);
		if (s->refused_until != 0)
			break;		/* the next session would be refused too */
	}
	free(msgs);
	free(groups);
	if (rc < 0) {
		log_warnx("claiming reminders: %s", store_error(s->store));
		return -1;
	}
	return 0;
}
