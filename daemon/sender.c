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

#define BATCH 25		/* messages per SMTP session */
#define MAX_ATTEMPTS 5
#define RETRY_BASE 300		/* seconds; doubled each attempt */
#define RETRY_MAX 7200

struct pending {
	struct send_group g;
	char *data;
	size_t len;
};

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

/* Record a temporary failure: retry later, or give up after the last
 * attempt. */
static void
temporary(struct sender *s, time_t now, struct send_group *g, const char *why,
    struct send_stats *st)
{
	char msg[400];

	if (g->items[0].attempts >= MAX_ATTEMPTS) {
		snprintf(msg, sizeof(msg), "gave up after %d attempts: %s", MAX_ATTEMPTS, why);
		if (store_record_failed(s->store, s->cfg, g, msg) == 0)
			st->failed++;
		else
			st->errors++;
		return;
	}
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

/* One SMTP session for the batch, then each outcome recorded. */
static void
flush(struct sender *s, time_t now, struct pending *batch, size_t n, struct send_stats *st)
{
	struct mailer_msg msgs[BATCH];

	memset(msgs, 0, sizeof(msgs));
	for (size_t i = 0; i < n; i++) {
		msgs[i].data = batch[i].data;
		msgs[i].len = batch[i].len;
		msgs[i].rcpt = batch[i].g.email;
	}
	mailer_send(s->cfg, s->password, msgs, n);
	for (size_t i = 0; i < n; i++) {
		struct send_group *g = &batch[i].g;
		int rc = 0;

		switch (msgs[i].outcome) {
		case MAILER_SENT:
			if ((rc = store_record_sent(s->store, s->cfg, g, msgs[i].status)) == 0)
				st->sent++;
			break;
		case MAILER_PERMANENT:
			if ((rc = store_record_failed(s->store, s->cfg, g, msgs[i].status)) == 0)
				st->failed++;
			break;
		case MAILER_UNKNOWN:
			if ((rc = store_record_in_doubt(s->store, s->cfg, g, msgs[i].status)) == 0)
				st->in_doubt++;
			break;
		case MAILER_TEMPORARY:
			temporary(s, now, g, msgs[i].status, st);
			break;
		}
		if (rc < 0) {
			/* The lease will turn it in_doubt: never sent twice. */
			log_warnx("recording the outcome of %s: %s", g->message_id,
			    store_error(s->store));
			st->errors++;
		}
		free(batch[i].data);
		store_release(s->store, g);
	}
}

/* Send what is due at NOW. */
int
sender_run(struct sender *s, time_t now, struct send_stats *st)
{
	struct cal_window w = policy_window(s->cfg);
	struct pending batch[BATCH];
	size_t n = 0;
	char domain[256], err[256];
	int rc;

	memset(st, 0, sizeof(*st));
	if (!cal_in_window(&w, now))
		return 0;
	message_from_domain(s->cfg, domain, sizeof(domain));
	while ((rc = store_claim(s->store, s->cfg, now, domain, &batch[n].g)) == 1) {
		struct send_group *g = &batch[n].g;
		const char *why = message_check(g, s->cfg);

		if (why != NULL) {
			log_warnx("%s to client %lld not sent: %s", s->cfg->stages[g->stage].name,
			    (long long)g->client_id, why);
			if (store_record_failed(s->store, s->cfg, g, why) == 0)
				st->failed++;
			store_release(s->store, g);
			continue;
		}
		if (s->cfg->stages[g->stage].channel == CONFIG_CHANNEL_LETTER) {
			send_letter(s, now, g, st);
			store_release(s->store, g);
			continue;
		}
		batch[n].data = message_compose(s->ms, s->cfg, g, now, &batch[n].len, err,
		    sizeof(err));
		if (batch[n].data == NULL) {
			log_warnx("composing %s: %s", g->message_id, err);
			if (store_record_failed(s->store, s->cfg, g, err) == 0)
				st->failed++;
			store_release(s->store, g);
			continue;
		}
		if (++n == BATCH) {
			flush(s, now, batch, n, st);
			n = 0;
		}
	}
	if (n > 0)
		flush(s, now, batch, n, st);
	if (rc < 0) {
		log_warnx("claiming reminders: %s", store_error(s->store));
		return -1;
	}
	return 0;
}
