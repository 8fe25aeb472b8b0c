/*
 * chase — the fee agreements sent for signature and not signed (SPEC §2
 * rule 13, sql/025): a reminder at each stage of agreement { stage … },
 * on the outbox of the invoices' reminders (outbox.h).
 *
 * Planning (chase_plan, at each full planning pass): the leases of
 * reminders left 'sending' by a stopped sender become in_doubt, then the
 * stages due (dunning.agreement_chase_candidates) are planned at the next
 * send-window opening on or after their first day (cal_next_send), or
 * recorded skipped when a later stage is due too.
 *
 * Sending (chase_send, after the invoices' send pass, inside the window):
 * due reminders claimed under a lease (FOR UPDATE SKIP LOCKED), checked
 * (the client's address, the signature link https://) and composed, then
 * each marked 'sending' (committed) right before it is handed; its
 * agreement is then held FOR SHARE and checked unsigned
 * (dunning.agreement_chase_hold) in a transaction that stays open until its
 * outcome is recorded: a signature committed before withholds it, one
 * attempted meanwhile waits for that one message.  Every action has its
 * audit row; the Message-ID is the row's, the same on every attempt.
 */
#ifndef DUNNING_CHASE_H
#define DUNNING_CHASE_H

#include <stdbool.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "store.h"
#include "templates.h"

struct chase_stats {
	int planned, skipped, expired;		/* planning */
	int sent, retried, failed, in_doubt, withheld, errors;	/* sending */
};

/* Plan the agreements' reminders at NOW (the session's clock set by the
 * caller): leases first, then the stages due.  0, or -1 (store_error). */
int chase_plan(struct store *s, const struct config *cfg, time_t now, struct chase_stats *st);

struct chase_pass {
	const struct config *cfg;
	const struct templates *ms;
	struct store *store;
	const char *password;
	unsigned int seed;	/* retry jitter */
	bool (*stop)(void *arg);	/* NULL, or true to end the pass early */
	void *stop_arg;
};

/* Send the agreements' reminders due by CLOCK, inside the send window.
 * 0, or -1 (store_error). */
int chase_send(struct chase_pass *p, const struct clock *clock, struct chase_stats *st);

#endif
