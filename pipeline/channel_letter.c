/*
 * channel_letter — the formal notice as a PDF in the spool, for the firm
 * to post as a registered letter.  A text that does not render fails the
 * reminder at once (it would fail again); a letter that cannot be written
 * (spool full or unwritable, out of memory) is a temporary failure,
 * retried like a 4xx and failed after smtp.max_attempts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "letter.h"
#include "outbox.h"

/* The letter's text from its template; its copy is the text itself. */
static enum reason
letter_compose(const struct outbox_env *e, struct outbox_msg *m, char *err, size_t errlen)
{
	char *text = templates_letter(e->ts, e->cfg, m->group, m->now, err, errlen);

	if (text == NULL)
		return REASON_NOT_COMPOSED;
	m->m.data = text;
	m->m.len = strlen(text);
	/* The copy is for the client's access request: without memory for
	 * it the letter still leaves, uncopied. */
	m->copy.text = strdup(text);
	return REASON_NONE;
}

/* Write M's letter into the spool as a PDF, atomically: a temporary file
 * beside it, fsync, rename, fsync of the directory, so that a letter
 * recorded as written is on disk whole.  Its path into PATH; -1 with the
 * reason in ERR. */
static int
write_letter(const struct config *cfg, const struct outbox_msg *m, char *path, size_t n,
    char *err, size_t errlen)
{
	const struct send_group *g = m->group;
	char tmp[1100], day[11], why[256] = "";
	int fd, dfd, saved;

	cal_format(cal_local_day(m->now), day);
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
	if (fchmod(fd, 0640) != 0 ||
	    letter_write(cfg, g, m->now, m->m.data, fd, why, sizeof(why)) < 0 || fsync(fd) != 0) {
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

/* Each letter written, each reported at once. */
static void
letter_hand(const struct outbox_env *e, struct outbox_msg *msgs, size_t n, outbox_ready_fn ready,
    outbox_done_fn done, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		struct outbox_msg *m = &msgs[i];
		char path[1024];

		if (ready != NULL && !ready(m, arg))
			continue;
		if (write_letter(e->cfg, m, path, sizeof(path), m->m.status,
		    sizeof(m->m.status)) < 0) {
			m->m.outcome = MAILER_TEMPORARY;
		} else if ((m->path = strdup(path)) == NULL) {
			m->m.outcome = MAILER_TEMPORARY;
			unlink(path);
			snprintf(m->m.status, sizeof(m->m.status), "out of memory");
		} else {
			m->m.outcome = MAILER_SENT;
			m->m.status[0] = '\0';
		}
		done(m, arg);
	}
}

const struct outbox_channel channel_letter = {
	.id = CONFIG_CHANNEL_LETTER,
	.compose = letter_compose,
	.hand = letter_hand,
};
