/*
 * outbox — what every kind of outgoing message shares (reminders to
 * clients, the lawyers' alerts and digests): the states of a row, its
 * lease, the backoff between attempts and the verdict on an attempt.
 *
 *   due ──claim──▶ sending ──relay 250──▶ sent
 *   (pending,       (lease   ──4xx, cut before the end──▶ due again at
 *    planned,        until     now + outbox_backoff(), or failed after
 *    approved)       …)        smtp.max_attempts
 *                            ──5xx──▶ failed
 *                            ──outcome unknown──▶ in_doubt (client mail:
 *                              never resent blindly) or due again (the
 *                              lawyers' mail: at least once)
 *   sending whose lease ran out and whose sender is gone ──▶ in_doubt for
 *   a reminder; the lawyers' mail is claimed again (at least once)
 *
 * The claim (FOR UPDATE SKIP LOCKED, 'sending' committed with its lease)
 * and the recording are each table's own SQL (pipeline/claim.c and
 * pipeline/outcome.c for reminders, pipeline/alerts.c for the lawyers'
 * mail); the rules above are here, once.
 *
 * A message leaves through a channel, a small driver that composes it
 * and hands it over: channel_email.c (the relay, one SMTP session for a
 * batch), channel_letter.c (a PDF in the spool, for registered mail).  A
 * stage names its channel in the configuration; the lawyers' mail, which
 * composes its own text, leaves through channel_email's hand.  A new
 * channel (SMS, electronic registered letter) is one such file, its row
 * in outbox_channel() and its name in the configuration.
 */
#ifndef DUNNING_OUTBOX_H
#define DUNNING_OUTBOX_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "group.h"
#include "mailer.h"
#include "mime.h"
#include "reason.h"
#include "templates.h"

/* How long a claimed row may stay 'sending' before it is presumed lost
 * (an SQL interval). */
#define OUTBOX_LEASE "15 minutes"

/* What to record after an attempt. */
enum outbox_verdict {
	OUTBOX_SENT,		/* the relay took it */
	OUTBOX_RETRY,		/* due again after outbox_backoff() */
	OUTBOX_FAILED,		/* refused for good, or given up */
	OUTBOX_IN_DOUBT,	/* it may have left: for the operator */
	OUTBOX_REFUSED,		/* the relay refused the session: nothing left,
				 * not an attempt; wait for the operator */
};

/* The verdict on an attempt that ended with OUTCOME, the ATTEMPTS-th of
 * its row; AT_LEAST_ONCE for internal mail (an unknown outcome is sent
 * again rather than left in doubt).  *GAVE_UP tells a failure that comes
 * from smtp.max_attempts. */
enum outbox_verdict outbox_judge(const struct config *cfg, enum mailer_outcome outcome,
    int attempts, bool at_least_once, bool *gave_up);

/* The delay before the attempt after the ATTEMPTS-th: smtp.retry_base
 * doubled per attempt up to smtp.retry_max, with ±20 % jitter from SEED,
 * so that daemons retrying the same relay do not come back in step. */
time_t outbox_backoff(const struct config *cfg, int attempts, unsigned int *seed);

/* One message on its way: what a channel composed, and its outcome. */
struct outbox_msg {
	struct mailer_msg m;		/* data, len, rcpt; outcome and status once handed */
	const struct send_group *group;	/* the client's message it carries, or NULL */
	time_t now;			/* the instant it is composed for */
	char *path;			/* where a letter was written (malloc'ed) */
	struct mime_copy copy;		/* what the client reads, kept once it left */
	void *udata;			/* the pass's */
};

/* What a channel needs besides the message. */
struct outbox_env {
	const struct config *cfg;
	const struct templates *ts;
	const char *password;
};

typedef bool (*outbox_ready_fn)(struct outbox_msg *m, void *arg);
typedef void (*outbox_done_fn)(struct outbox_msg *m, void *arg);

/* A channel's driver. */
struct outbox_channel {
	enum config_channel id;
	/* Compose M's payload from M->group at M->now: REASON_NONE, or why
	 * not (the detail in ERR). */
	enum reason (*compose)(const struct outbox_env *e, struct outbox_msg *m, char *err,
	    size_t errlen);
	/* Hand MSGS[0..N) over one at a time: READY (may be NULL) right
	 * before each (false: skip it), then DONE as soon as its outcome
	 * (m.outcome, m.status) is known.  A message the channel could not
	 * reach (a stopped session) gets DONE without READY. */
	void (*hand)(const struct outbox_env *e, struct outbox_msg *msgs, size_t n,
	    outbox_ready_fn ready, outbox_done_fn done, void *arg);
};

extern const struct outbox_channel channel_email, channel_letter;

/* The driver of the configured channel ID. */
const struct outbox_channel *outbox_channel(enum config_channel id);
/* Free what M's channel allocated (payload, copy, path). */
void outbox_msg_free(struct outbox_msg *m);

#endif
