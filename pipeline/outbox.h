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
 *   sending whose lease ran out and whose sender is gone ──▶ in_doubt
 *
 * The claim (FOR UPDATE SKIP LOCKED, 'sending' committed with its lease)
 * and the recording are each table's own SQL (pipeline/claim.c and
 * pipeline/outcome.c for reminders, pipeline/alerts.c for the lawyers'
 * mail); the rules above are here, once.
 */
#ifndef DUNNING_OUTBOX_H
#define DUNNING_OUTBOX_H

#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "mailer.h"

/* How long a claimed row may stay 'sending' before it is presumed lost
 * (an SQL interval). */
#define OUTBOX_LEASE "15 minutes"

/* What to record after an attempt. */
enum outbox_verdict {
	OUTBOX_SENT,		/* the relay took it */
	OUTBOX_RETRY,		/* due again after outbox_backoff() */
	OUTBOX_FAILED,		/* refused for good, or given up */
	OUTBOX_IN_DOUBT,	/* it may have left: for the operator */
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

#endif
