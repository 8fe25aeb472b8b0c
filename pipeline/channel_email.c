/*
 * channel_email — the relay: a client's reminder composed as MIME, and a
 * batch of messages (the client's or the lawyers') handed in one SMTP
 * session, each outcome reported as soon as the relay answers its end of
 * DATA.
 */
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "outbox.h"

/* What the relay's answer to one message reports back to. */
struct hand {
	struct outbox_msg *msgs;
	outbox_ready_fn ready;
	outbox_done_fn done;
	void *arg;
};

/* The client's reminder as a MIME message, its copy kept aside. */
static enum reason
email_compose(const struct outbox_env *e, struct outbox_msg *m, char *err, size_t errlen)
{
	enum reason why;

	err[0] = '\0';
	m->m.data = mime_compose_kept(e->ts, e->cfg, m->group, m->now, &m->m.len, err, errlen,
	    &why, &m->copy);
	if (m->m.data == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		return why;
	}
	m->m.rcpt = m->group->email;
	return REASON_NONE;
}

/* The mailer about to hand one message: asked on. */
static bool
ready_cb(struct mailer_msg *mm, void *arg)
{
	struct hand *h = arg;

	return h->ready == NULL || h->ready(mm->udata, h->arg);
}

/* The mailer's report on one message, passed on. */
static void
answered(struct mailer_msg *mm, void *arg)
{
	struct hand *h = arg;
	struct outbox_msg *m = mm->udata;

	m->m.outcome = mm->outcome;
	memcpy(m->m.status, mm->status, sizeof(m->m.status));
	h->done(m, h->arg);
}

/* One session for the N messages (connection reuse), one at a time. */
static void
email_hand(const struct outbox_env *e, struct outbox_msg *msgs, size_t n, outbox_ready_fn ready,
    outbox_done_fn done, void *arg)
{
	struct hand h = { msgs, ready, done, arg };
	struct mailer_msg *mm;

	if (n == 0)
		return;
	if ((mm = calloc(n, sizeof(*mm))) == NULL) {
		/* Nothing went out: each is retried like a failed connection. */
		for (size_t i = 0; i < n; i++) {
			msgs[i].m.outcome = MAILER_TEMPORARY;
			snprintf(msgs[i].m.status, sizeof(msgs[i].m.status), "out of memory");
			done(&msgs[i], arg);
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mm[i] = msgs[i].m;
		mm[i].udata = &msgs[i];
	}
	mailer_send(e->cfg, e->password, mm, n, ready_cb, answered, &h);
	free(mm);
}

const struct outbox_channel channel_email = {
	.id = CONFIG_CHANNEL_EMAIL,
	.compose = email_compose,
	.hand = email_hand,
};
