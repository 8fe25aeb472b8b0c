/*
 * workers — the daemon's two threads besides the event loop, each with its
 * own PostgreSQL connection:
 *
 *   planner  expires leases and plans, in full (poll timer, window opening,
 *            reconnection) or, after a notification, only the invoices the
 *            wake-up queue names (sql/020: the notification itself names
 *            nothing);
 *   sender   claims and sends what is due (libcurl blocks for each
 *            message of an SMTP session: never on the loop).
 *
 * The loop asks for work with work_request_*; the threads report through an
 * eventfd the loop watches.  Everything shared is under one mutex.  A
 * reload parks both threads at a safe point (between jobs, or between two
 * SMTP sessions), swaps the configuration, and resumes them.  With
 * database.idle_close, a thread idle that long closes its connection
 * between jobs (no transaction, nothing claimed) and the next job opens
 * another: an idle daemon holds only the listener's.
 */
#ifndef DUNNING_WORKERS_H
#define DUNNING_WORKERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "templates.h"
#include "send.h"
#include "store.h"
#include "plan.h"

enum worker_id { W_PLANNER, W_SENDER, W_COUNT };

struct worker {
	struct work *w;
	enum worker_id id;
	pthread_t thread;
	bool started;
	struct store *store;	/* this thread's connection */
	bool exited;		/* under mu */
	bool parked;		/* under mu: waiting for the reload to end */
	bool db_down;		/* under mu: the last job could not reach the database */
	int backoff;		/* seconds before the next attempt after a failure */
	unsigned int seed;	/* the sender's retry jitter */
	int refusals;		/* sessions the relay refused in a row */
	struct timespec idle_since;	/* CLOCK_MONOTONIC: the end of the last job */
	bool released;		/* the idle connection is closed (database.idle_close) */
};

struct work {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* the threads wait on it for requests */
	int efd;		/* eventfd: the threads wake the loop */
	const struct clock *clock;

	/* Under mu. */
	const struct config *cfg;
	const struct templates *ms;
	const char *password;
	bool stopping;		/* SIGTERM: finish what is in flight, take nothing new */
	bool hold;		/* reload: park at the next safe point */
	bool plan_all;		/* a full planning pass is wanted */
	bool read_all;		/* and it reads every open invoice: notifications
				 * may have been lost (plan_pass) */
	bool woken;		/* a NOTIFY came: take the wake-up queue */
	bool send;		/* a send pass is wanted */
	struct plan_stats plan;	/* of the last full pass */
	struct send_stats sent;	/* totals since the start */
	time_t last_cycle;	/* when the last full pass ended */
	cal_day rates_warned;	/* local day the missing legal rate was last said */
	char last_error[256];

	atomic_bool interrupt;	/* stopping or hold, read between messages */
	atomic_bool quit;	/* stopping: a wait for the database gives up */
	struct worker workers[W_COUNT];
};

/* Set up W (mutex, eventfd); the threads connect with CONNINFO.  -1 on
 * error, with ERR. */
int work_init(struct work *w, const struct clock *clock, const char *conninfo, char *err,
    size_t errlen);
/* Start the threads. */
int work_start(struct work *w);
/* Requests from the loop. */
void work_request_plan(struct work *w, bool read_all);
void work_request_woken(struct work *w);
/* Ask the threads to stop after what is in flight. */
void work_stop(struct work *w);
/* Ask them to park for a reload; true once both are parked (or gone). */
bool work_hold(struct work *w);
/* Swap in a new configuration (threads parked) and resume. */
void work_resume(struct work *w, const struct config *cfg, const struct templates *ms,
    const char *password);
/* True once both threads have exited. */
bool work_done(struct work *w);
/* Join the threads and free W. */
void work_free(struct work *w);
/* Read the eventfd (the loop calls this when it is readable). */
void work_ack(struct work *w);

#endif
