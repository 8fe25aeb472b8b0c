/*
 * sender — one pass over the due reminders.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "log.h"
#include "mailer.h"
#include "policy.h"
#include "sender.h"

/*
 * One message per SMTP session.  libesmtp takes every message of a session
 * before it starts, so a batch would be claimed (and its send locks held)
 * for the whole session: a dispute or a payment on the last message would
 * wait for all the others, and a crash would leave them all in doubt.  One
 * at a time, a dispute waits for at most the one send in flight (SPEC §3.5).
 */
#define RETRY_BASE 300		/* seconds; doubled each attempt */
#define RETRY_MAX 7200
#define RETRY_WARN 5		/* attempts after which each retry is a warning */

/* Capped exponential backoff with ±20 % jitter, so that daemons retrying
 * the same relay do not come back in step. */
static time_t
backoff(struct sender *s, int attempt)
{
	long d = RETRY_BASE;

	for (int i = 1; i < attempt && d < RETRY_MAX; i++)
		d *= 2;
	if (d > RETRY_MAX)
		d = RETRY_MAX;
	return d - d / 5 + rand_r(&s->seed) % (2 * (d / 5) + 1);
}

/* Record a temporary failure: retry later.  A temporary failure never
 * becomes permanent by itself (a relay outage must not fail every due
 * reminder); past RETRY_WARN attempts each retry is logged as a warning. */
static void
temporary(struct sender *s, time_t now, struct send_group *g, const char *why,
    struct send_stats *st)
{
	if (g->items[0].attempts >= RETRY_WARN)
		log_warnx("%s: attempt %d failed again: %s", g->message_id, g->items[0].attempts, why);
	if (store_record_retry(s->store, s->cfg, g, now + backoff(s, g->items[0].attempts), why) == 0)
		st->retried++;
	else
		st->errors++;
}

/* Write the letter atomically into the spool; its path into PATH. */
static int
write_letter(const struct config *cfg, const struct send_group *g, const char *text,
    time_t now, char *path, size_t n)
{
	char tmp[1100], day[11];
	size_t len = strlen(text);
	int fd;

	cal_format(cal_local_day(now), day);
	if (mkdir(cfg->spool_dir, 0750) != 0 && errno != EEXIST)
		return -1;
	snprintf(path, n, "%s/%s-%s-%lld.txt", cfg->spool_dir, day, cfg->stages[g->stage].name,
	    (long long)g->items[0].reminder_id);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640)) < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

/* Channel "letter": the document goes to the spool for registered mail. */
static void
send_letter(struct sender *s, time_t now, struct send_group *g, struct send_stats *st)
{
	char err[256], path[1024], detail[1100];
	char *text = message_letter(s->ms, s->cfg, g, now, err, sizeof(err));

	if (text == NULL) {
		if (store_record_failed(s->store, s->cfg, g, err) == 0)
			st->failed++;
		return;
	}
	if (write_letter(s->cfg, g, text, now, path, sizeof(path)) < 0) {
		snprintf(detail, sizeof(detail), "cannot write the letter in %s: %s",
		    s->cfg->spool_dir, strerror(errno));
		log_warnx("%s", detail);
		temporary(s, now, g, detail, st);
	} else {
		snprintf(detail, sizeof(detail), "letter written to %s", path);
		if (store_record_sent(s->store, s->cfg, g, detail) == 0)
			st->letters++;
		else
			st->errors++;
	}
	free(text);
}

/* One message to the relay, and its outcome recorded. */
static void
send_mail(struct sender *s, time_t now, struct send_group *g, struct send_stats *st)
{
	struct mailer_msg msg;
	char err[256];
	int rc = 0;

	memset(&msg, 0, sizeof(msg));
	err[0] = '\0';
	if ((msg.data = message_compose(s->ms, s->cfg, g, now, &msg.len, err,
	    sizeof(err))) == NULL) {
		log_warnx("composing %s: %s", g->message_id, err[0] ? err : "out of memory");
		if (store_record_failed(s->store, s->cfg, g, err[0] ? err : "out of memory") == 0)
			st->failed++;
		return;
	}
	msg.rcpt = g->email;
	mailer_send(s->cfg, s->password, &msg, 1);
	switch (msg.outcome) {
	case MAILER_SENT:
		if ((rc = store_record_sent(s->store, s->cfg, g, msg.status)) == 0)
			st->sent++;
		break;
	case MAILER_PERMANENT:
		if ((rc = store_record_failed(s->store, s->cfg, g, msg.status)) == 0)
			st->failed++;
		break;
	case MAILER_UNKNOWN:
		if ((rc = store_record_in_doubt(s->store, s->cfg, g, msg.status)) == 0)
			st->in_doubt++;
		break;
	case MAILER_TEMPORARY:
		temporary(s, now, g, msg.status, st);
		break;
	}
	if (rc < 0) {
		/* The lease will turn it in_doubt: never sent twice. */
		log_warnx("recording the outcome of %s: %s", g->message_id, store_error(s->store));
		st->errors++;
	}
	free((char *)msg.data);
}

/* Send what is due, reading the clock before each claim: the pass stops
 * when the send window closes. */
int
sender_run(struct sender *s, const struct clock *clock, struct send_stats *st)
{
	struct cal_window w = policy_window(s->cfg);
	struct send_group g;
	char domain[256];
	int rc = 0;

	memset(st, 0, sizeof(*st));
	message_from_domain(s->cfg, domain, sizeof(domain));
	for (;;) {
		time_t now = clock_now(clock);
		const char *why;

		if (!cal_in_window(&w, now))
			break;
		if (clock->set && store_set_now(s->store, now) < 0) {
			rc = -1;
			break;
		}
		if ((rc = store_claim(s->store, s->cfg, now, domain, &g)) <= 0)
			break;
		rc = 0;
		if ((why = message_check(&g, s->cfg)) != NULL) {
			log_warnx("%s to client %lld not sent: %s", s->cfg->stages[g.stage].name,
			    (long long)g.client_id, why);
			if (store_record_failed(s->store, s->cfg, &g, why) == 0)
				st->failed++;
		} else if (s->cfg->stages[g.stage].channel == CONFIG_CHANNEL_LETTER) {
			send_letter(s, now, &g, st);
		} else {
			send_mail(s, now, &g, st);
		}
		store_release(s->store, &g);
	}
	if (rc < 0) {
		log_warnx("claiming reminders: %s", store_error(s->store));
		return -1;
	}
	return 0;
}
