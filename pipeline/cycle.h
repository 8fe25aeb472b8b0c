/*
 * cycle — the daemon's work, one function per pass, the same for
 * `--once`, `--plan-only` and the running daemon's threads (a test of
 * `--once` is a test of the daemon):
 *
 *   cycle_plan       leases expired, then every candidate planned
 *                    (pipeline/plan.c), and the daily warning of a missing
 *                    legal rate;
 *   cycle_plan_some  the invoices a notification named;
 *   cycle_send       what is due sent (pipeline/send.c), then the lawyers'
 *                    alerts and digests (pipeline/notify.c);
 *   cycle_once       the three in turn, as `--once` runs them.
 *
 * A cycle holds what one thread needs for a pass: the configuration and
 * templates in force, its own database session and the one clock.
 */
#ifndef DUNNING_CYCLE_H
#define DUNNING_CYCLE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "templates.h"
#include "notify.h"
#include "send.h"
#include "store.h"
#include "plan.h"

struct cycle {
	const struct config *cfg;
	const struct templates *ms;
	const char *password;
	const struct clock *clock;
	struct store *store;		/* this thread's session */
	unsigned int seed;		/* retry jitter, carried from pass to pass */
	int refusals;			/* sessions the relay refused in a row */
	cal_day rates_warned;		/* local day a missing legal rate was last said */
	cal_day prescription_day;	/* local day the prescription alerts were queued */
	bool read_all;			/* the planning pass reads every open invoice,
					 * not only those due (plan_pass) */
	bool (*stop)(void *arg);	/* NULL, or true to end a send pass early */
	bool (*quit)(void *arg);	/* NULL, or true to give up waiting for the
					 * database (a stop, not a reload) */
	void *stop_arg;		/* of both */
};

/* Counters of one cycle (or of the passes since the start). */
struct cycle_stats {
	struct plan_stats plan;
	struct send_stats send;
	struct notify_stats notify;
};

/* The full planning pass at the clock's now; *MS (may be NULL) gets the
 * time of the pass over the candidates.  -1 when the database could not be
 * used (the reason in store_error). */
int cycle_plan(struct cycle *c, struct plan_stats *ps, double *ms);
/* Plan the N invoices IDS at once (a notification named them). */
int cycle_plan_some(struct cycle *c, const int64_t *ids, size_t n, struct plan_stats *ps);
/* Send what is due, then the lawyers' mail.  0 when both passes ran; 1
 * when the clients' pass ran but the lawyers' mail could not use the
 * database (counted in NS->errors: the next pass tries again); -1 when
 * the send pass could not use the database. */
int cycle_send(struct cycle *c, struct send_stats *ss, struct notify_stats *ns);
/* `--once`: plan, then (unless PLAN_ONLY) send; one log line says what
 * the cycle did.  -1 when it could not run. */
int cycle_once(struct cycle *c, bool plan_only);

/* The log line of a pass at NOW, WHAT ("cycle", "planning pass"): the
 * planning figures, those of the send pass when SS is not NULL, and the
 * audit chain's head ("audit head SEQ:HASH", SPEC §3.5: published in the
 * journal at every pass). */
void cycle_log(const char *what, time_t now, const struct plan_stats *ps,
    const struct send_stats *ss, double plan_ms);

#endif
