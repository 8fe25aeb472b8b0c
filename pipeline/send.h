/*
 * send — send what is due: claim, compose, hand to the relay in one
 * SMTP session per batch, record each outcome.
 */
#ifndef DUNNING_SEND_H
#define DUNNING_SEND_H

#include <stdbool.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "templates.h"
#include "store.h"

struct send_pass {
	const struct config *cfg;
	const struct templates *ms;
	struct store *store;
	const char *password;
	unsigned int seed;	/* retry jitter */
	int refusals;		/* sessions the relay refused in a row (carried) */
	char refusal[256];	/* the relay's last refusal, in this pass */
	time_t refused_until;	/* when the refused messages are due again */
	bool (*stop)(void *arg);	/* NULL, or true to end the pass early */
	bool (*quit)(void *arg);	/* NULL, or true to stop waiting for the database
					 * (send.c: RECONNECT_WAIT) */
	void *stop_arg;		/* of both */
	bool db_gone;		/* a wait for the database ran out in this batch:
				 * the batch's other messages do not wait again */
};

struct send_stats {
	int sent, letters, retried, failed, in_doubt, errors;
	int refused;		/* messages a refused session kept */
	int skipped;		/* claimed, then not sent: their invoice changed */
};

/* Send everything due, by CLOCK, until nothing is due or the send window
 * closes. */
int send_run(struct send_pass *s, const struct clock *clock, struct send_stats *st);

#endif
