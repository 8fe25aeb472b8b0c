/*
 * send — one pass over the due reminders.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "check.h"
#include "letter.h"
#include "log.h"
#include "mailer.h"
#include "outbox.h"
#include "mime.h"
#include "policy.h"
#include "send.h"
#include "store.h"

/*
 * Connection reuse: one SMTP session carries up to smtp.messages_per_session
 * messages.  libesmtp takes every message of a session before it starts, so
 * the session's messages are claimed together (one transaction: re-checked
 * under their invoices' send locks, 'sending' committed) just before it, and
 * each is recorded and its lock released as soon as the relay answers its
 * end of DATA: a dispute or a payment on a message of the session waits for
 * that message's answer, never for the whole session.
 */
#define RETRY_WARN 5		/* attempts after which each retry is a warning */
#define RECORD_TRIES 40		/* to record a known outcome, about 40 s */

/* One message of the session being built. */
struct pending {
	struct send_pass *s;
	struct send_group g;
	struct send_stats *st;
	const struct clock *clock;
	time_t now;
	struct mime_copy copy;	/* what the client reads, kept once it left */
};

/* Keep the copy of a message that left (or may have: in doubt), for the
 * client's access request (dunningctl export-client).  A copy the database
 * did not take is a warning: the send itself is recorded regardless. */
static void
keep_copy(struct send_pass *s, const struct send_group *g, const char *subject,
    const char *text)
{
	if (text != NULL && store_keep_copy(s->store, g, subject, text) < 0)
		log_warnx("%s: keeping its copy: %s", g->message_id, store_error(s->store));
}

/* Record a temporary failure: retry later, or, after smtp.max_attempts
 * attempts (0: never), give up: 'failed', for the lawyer and the operator
 * to see (dunningctl in-doubt --failed, then resend). */
static int
temporary(struct send_pass *s, time_t now, struct send_group *g, const char *why,
    struct send_stats *st)
{
	int attempts = g->items[0].attempts;
	char detail[600];
	bool gave_up;

	if (outbox_judge(s->cfg, MAILER_TEMPORARY, attempts, false, &gave_up) == OUTBOX_FAILED) {
		snprintf(detail, sizeof(detail), "gave up after %d attempts: %s", attempts, why);
		log_warnx("%s: %s", g->message_id, detail);
		if (store_record_failed(s->store, s->cfg, g, REASON_GAVE_UP, why) < 0)
			return -1;
		st->failed++;
		return 0;
	}
	if (attempts >= RETRY_WARN)
		log_warnx("%s: attempt %d failed again: %s", g->message_id, attempts, why);
	if (store_record_retry(s->store, s->cfg, g,
	    now + outbox_backoff(s->cfg, attempts, &s->seed), why) < 0)
		return -1;
	st->retried++;
	return 0;
}

/* Write the letter of G, body TEXT, into the spool as a PDF, atomically:
 * a temporary file beside it, fsync, rename, fsync of the directory, so
 * that a letter recorded as written is on disk whole.  Its path into
 * PATH; -1 with the reason in ERR. */
static int
write_letter(const struct config *cfg, const struct send_group *g, const char *text,
    time_t now, char *path, size_t n, char *err, size_t errlen)
{
	char tmp[1100], day[11], why[256] = "";
	int fd, dfd, saved;

	cal_format(cal_local_day(now), day);
	if (mkdir(cfg->spool_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the spool %s: %s", cfg->spool_dir,
		    strerror(errno));
		return -1;
	}
	snprintf(path, n, "%s/%s-%s-%lld.pdf", cfg->spool_dir, day, cfg->stages[g->stage].name,
	    (long long)g->items[0].reminder_id);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", cfg->spool_dir, strrchr(path, '/') + 1);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot write the letter in %s: %s", cfg->spool_dir,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0640) != 0 || letter_write(cfg, g, now, text, fd, why, sizeof(why)) < 0 ||
	    fsync(fd) != 0) {
		saved = errno;
		if (why[0] == '\0')	/* not the renderer's: fchmod or fsync */
			snprintf(why, sizeof(why), "%s", strerror(saved));
		snprintf(err, errlen, "cannot write the letter %s: %s", path, why);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write the letter %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself must survive a crash. */
	if ((dfd = open(cfg->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/*
 * Channel "letter": the formal notice goes to the spool as a PDF, for
 * registered mail.  A template that does not render fails the reminder at
 * once (it would fail again); a letter that cannot be rendered or written
 * (spool full or unwritable, out of memory) is retried like a 4xx, and
 * failed after smtp.max_attempts.
 */
static void
send_letter(struct send_pass *s, time_t now, struct send_group *g, struct send_stats *st)
{
	char err[256], path[1024], detail[1400];
	char *text = templates_letter(s->ms, s->cfg, g, now, err, sizeof(err));

	if (text == NULL) {
		if (store_record_failed(s->store, s->cfg, g, REASON_NOT_COMPOSED, err) == 0)
			st->failed++;
		return;
	}
	if (write_letter(s->cfg, g, text, now, path, sizeof(path), detail, sizeof(detail)) < 0) {
		log_warnx("%s: %s", g->message_id, detail);
		if (temporary(s, now, g, detail, st) < 0)
			st->errors++;
	} else {
		keep_copy(s, g, NULL, text);
		if (store_record_sent(s->store, s->cfg, g, NULL, path) == 0)
			st->letters++;
		else
			st->errors++;
	}
	free(text);
}

/* Record the relay's verdict on P's message.  -1 when the database did
 * not take it. */
static int
record(struct pending *p, struct mailer_msg *msg)
{
	struct send_pass *s = p->s;
	struct send_group *g = &p->g;

	bool gave_up;

	switch (outbox_judge(s->cfg, msg->outcome, g->items[0].attempts, false, &gave_up)) {
	case OUTBOX_SENT:
		keep_copy(s, g, p->copy.subject, p->copy.text);
		if (store_record_sent(s->store, s->cfg, g, msg->status, NULL) < 0)
			return -1;
		p->st->sent++;
		break;
	case OUTBOX_FAILED:
		if (gave_up)
			return temporary(s, p->now, g, msg->status, p->st);
		if (store_record_failed(s->store, s->cfg, g, REASON_RELAY_REFUSED, msg->status) < 0)
			return -1;
		p->st->failed++;
		break;
	case OUTBOX_IN_DOUBT:
		keep_copy(s, g, p->copy.subject, p->copy.text);
		if (store_record_in_doubt(s->store, s->cfg, g, msg->status) < 0)
			return -1;
		p->st->in_doubt++;
		break;
	case OUTBOX_RETRY:
		return temporary(s, p->now, g, msg->status, p->st);
	}
	return 0;
}

/* The relay's verdict on one message: record it, release the invoice.
 * The database may have gone away meanwhile (a restart): the verdict is
 * known, so reconnect and record it rather than leave the row to become
 * in_doubt. */
static void
sent_one(struct mailer_msg *msg, void *arg)
{
	struct pending *p = msg->udata;
	struct send_pass *s = p->s;
	int rc = record(p, msg);

	(void)arg;
	for (int i = 0; rc < 0 && store_broken(s->store) && i < RECORD_TRIES; i++) {
		struct timespec ts = { 0, 250000000L << (i < 2 ? i : 2) };

		log_warnx("recording the outcome of %s: %s; trying again", p->g.message_id,
		    store_error(s->store));
		nanosleep(&ts, NULL);
		if (store_ready(s->store) == 0 &&
		    (!p->clock->set || store_set_now(s->store, clock_now(p->clock)) == 0))
			rc = record(p, msg);
	}
	if (rc < 0) {
		/* Its lease will turn it in_doubt: never sent twice. */
		log_warnx("recording the outcome of %s: %s; it will be in_doubt", p->g.message_id,
		    store_error(s->store));
		p->st->errors++;
	}
	store_release(s->store, &p->g);
}

/* Hand the N composed messages of MSGS to the relay in one session. */
static void
flush(struct send_pass *s, struct mailer_msg *msgs, size_t n)
{
	if (n == 0)
		return;
	mailer_send(s->cfg, s->password, msgs, n, sent_one, NULL);
	for (size_t i = 0; i < n; i++) {
		struct pending *p = msgs[i].udata;

		free((char *)msgs[i].data);
		free(p->copy.subject);
		free(p->copy.text);
		free(p);
	}
}

/* Claimed group P: a letter or a refusal is settled at once; a mail is
 * composed into MSG for the session.  True when MSG was filled. */
static bool
prepare(struct pending *p, struct mailer_msg *msg)
{
	struct send_pass *s = p->s;
	struct send_group *g = &p->g;
	enum reason why;
	char err[256];

	if ((why = check_group(g, s->cfg)) != REASON_NONE) {
		log_warnx("%s to client %lld not sent: %s", s->cfg->stages[g->stage].name,
		    (long long)g->client_id, reason_text(why, true));
		if (store_record_failed(s->store, s->cfg, g, why, NULL) == 0)
			p->st->failed++;
		return false;
	}
	if (s->cfg->stages[g->stage].channel == CONFIG_CHANNEL_LETTER) {
		send_letter(s, p->now, g, p->st);
		return false;
	}
	memset(msg, 0, sizeof(*msg));
	err[0] = '\0';
	if ((msg->data = mime_compose_kept(s->ms, s->cfg, g, p->now, &msg->len, err,
	    sizeof(err), &p->copy)) == NULL) {
		log_warnx("composing %s: %s", g->message_id, err[0] ? err : "out of memory");
		if (store_record_failed(s->store, s->cfg, g, REASON_NOT_COMPOSED,
		    err[0] ? err : "out of memory") == 0)
			p->st->failed++;
		return false;
	}
	msg->rcpt = g->email;
	msg->udata = p;
	return true;
}

/* Send what is due, a session at a time: read the clock, claim up to
 * smtp.messages_per_session messages in one transaction, compose them and
 * hand them to the relay in one session.  The pass stops when the send
 * window closes, when nothing is due, or when the owner asks (s->stop) —
 * between sessions, never in the middle of one. */
int
send_run(struct send_pass *s, const struct clock *clock, struct send_stats *st)
{
	struct cal_window w = policy_window(s->cfg);
	size_t cap = s->cfg->smtp.messages_per_session > 0 ?
	    (size_t)s->cfg->smtp.messages_per_session : 1, got;
	struct mailer_msg *msgs = calloc(cap, sizeof(*msgs));
	struct send_group *groups = calloc(cap, sizeof(*groups));
	char domain[256];
	int rc = 0;

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
		if ((rc = store_claim(s->store, s->cfg, now, domain, groups, cap, &got)) <= 0)
			break;
		rc = 0;
		for (size_t i = 0; i < got; i++) {
			struct pending *p = calloc(1, sizeof(*p));

			if (p == NULL) {
				/* Its lease will make it in_doubt: never sent twice. */
				log_warnx("%s: out of memory; not sent", groups[i].message_id);
				store_release(s->store, &groups[i]);
				st->errors++;
				continue;
			}
			p->s = s;
			p->st = st;
			p->clock = clock;
			p->now = now;
			p->g = groups[i];
			if (!prepare(p, &msgs[n])) {
				store_release(s->store, &p->g);
				free(p);
				continue;
			}
			n++;
		}
		flush(s, msgs, n);
	}
	free(msgs);
	free(groups);
	if (rc < 0) {
		log_warnx("claiming reminders: %s", store_error(s->store));
		return -1;
	}
	return 0;
}
