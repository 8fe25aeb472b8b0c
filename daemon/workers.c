/*
 * workers — the planner and sender threads (see workers.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "calendar.h"
#include "log.h"
#include "cycle.h"
#include "plan.h"
#include "workers.h"

#define BACKOFF_MAX 60		/* seconds between two attempts at an unreachable database */

/* Wake the loop. */
static void
wake(struct work *w)
{
	uint64_t one = 1;

	(void)!write(w->efd, &one, sizeof(one));
}

/* Set the flag the send pass reads between messages. */
static void
set_interrupt(struct work *w)
{
	atomic_store(&w->interrupt, w->stopping || w->hold);
}

/* Has ME something to do?  Under mu. */
static bool
has_job(const struct worker *me)
{
	const struct work *w = me->w;

	return me->id == W_PLANNER ? w->plan_all || w->woken : w->send;
}

/* Under mu, with no job: when database.idle_close is set and ME still
 * holds its connection, wait until it has been idle that long, then close
 * it (between jobs: no transaction open, no message in hand, no send lock
 * held by the session).  False when there is nothing to wait for: the
 * caller waits for a request. */
static bool
idle_wait(struct worker *me)
{
	struct work *w = me->w;
	struct timespec until = me->idle_since;
	int idle = w->cfg != NULL ? w->cfg->idle_close : 0;

	if (idle <= 0 || me->released)
		return false;
	until.tv_sec += idle;
	if (pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
		return true;	/* look again: a request, a hold, a stop */
	if (has_job(me) || w->hold || w->stopping)
		return true;
	me->released = true;
	pthread_mutex_unlock(&w->mu);
	if (store_release(me->store))
		log_debug("%s: idle %d s: database connection closed", me->id == W_PLANNER ?
		    "planner" : "sender", idle);
	pthread_mutex_lock(&w->mu);
	return true;
}

/* Wait, under mu, until ME has a job and may take it (not holding, past
 * its backoff).  False when the daemon stops. */
static bool
wait_job(struct worker *me)
{
	struct work *w = me->w;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += me->backoff;
	for (;;) {
		if (w->stopping)
			return false;
		if (w->hold) {
			if (!me->parked) {
				me->parked = true;
				wake(w);
			}
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		me->parked = false;
		if (me->backoff > 0) {
			if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
				me->backoff = -me->backoff;	/* waited: go */
			continue;
		}
		if (has_job(me)) {
			me->released = false;	/* the job's store_ready opens one */
			return true;
		}
		if (idle_wait(me))
			continue;
		pthread_cond_wait(&w->cv, &w->mu);
	}
}

/* After a job: the database answered (OK) or not; under mu. */
static void
job_done(struct worker *me, bool ok)
{
	int b = me->backoff < 0 ? -me->backoff : me->backoff;

	clock_gettime(CLOCK_MONOTONIC, &me->idle_since);
	if (ok) {
		if (me->db_down)
			log_info("%s: database reachable again", me->id == W_PLANNER ?
			    "planner" : "sender");
		me->db_down = false;
		me->backoff = 0;
	} else {
		me->db_down = true;
		me->backoff = b == 0 ? 1 : b * 2 > BACKOFF_MAX ? BACKOFF_MAX : b * 2;
	}
}

/* The read of the stop/hold flag between two messages of a send pass. */
static bool
interrupted(void *arg)
{
	struct work *w = arg;

	return atomic_load(&w->interrupt);
}

/* The read of the stop flag while the sender waits for the database to
 * come back (a failover): a reload does not end that wait, a stop does. */
static bool
quitting(void *arg)
{
	struct work *w = arg;

	return atomic_load(&w->quit);
}

/* The cycle of one job of ME: the configuration in force (under mu). */
static struct cycle
job_cycle(struct worker *me)
{
	struct work *w = me->w;
	struct cycle c = { .cfg = w->cfg, .ms = w->ms, .password = w->password,
	    .clock = w->clock, .store = me->store, .seed = me->seed, .refusals = me->refusals,
	    .rates_warned = w->rates_warned, .stop = interrupted, .quit = quitting, .stop_arg = w };

	return c;
}

/* The invoices the wake-up queue names, taken from it into L (*ALL set
 * when one names only a client: a full pass covers it).  -1 when the
 * database did not answer. */
static int
take_woken(struct worker *me, struct store_ids *l, bool *all)
{
	if (store_ready(me->store) < 0)
		return -1;
	return plan_take_woken(me->store, l, all);
}

/* The planner: full passes, and the invoices a notification's wake-up
 * names.  A notification with nothing queued (sent by someone else than
 * the SQL side's functions) costs that one statement, and plans nothing. */
static void *
planner_main(void *arg)
{
	struct worker *me = arg;
	struct work *w = me->w;

	pthread_mutex_lock(&w->mu);
	while (wait_job(me)) {
		struct cycle c = job_cycle(me);
		bool all = w->plan_all, read_all = w->read_all, woken = w->woken, ok = true;
		struct store_ids ids = { 0 };
		struct plan_stats ps, one;
		double ms = 0;
		time_t now = clock_now(w->clock);
		int taken = 0;

		w->plan_all = false;
		w->read_all = false;
		w->woken = false;
		c.read_all = read_all;
		pthread_mutex_unlock(&w->mu);

		if (woken && (taken = take_woken(me, &ids, &all)) < 0)
			ok = false;
		for (size_t i = 0; ok && i < ids.n; i++)
			log_debug("wake-up: invoice id %lld", (long long)ids.v[i]);
		if (ok && ids.n > 0 && cycle_plan_some(&c, ids.v, ids.n, &one) < 0)
			ok = false;
		if (ok && all && cycle_plan(&c, &ps, &ms) < 0)
			ok = false;
		if (!ok)
			log_warnx("planning: %s", store_error(me->store));

		pthread_mutex_lock(&w->mu);
		w->rates_warned = c.rates_warned;
		job_done(me, ok);
		if (!ok) {
			/* Wake-ups may have been lost with the job: a full pass
			 * covers them. */
			w->plan_all = true;
			w->read_all = true;
			snprintf(w->last_error, sizeof(w->last_error), "planner: %s",
			    store_error(me->store));
		} else if (all || ids.n > 0) {
			if (all) {
				w->plan = ps;
				w->last_cycle = now;
				cycle_log("cycle", now, &ps, NULL, ms);
			} else {
				log_debug("%zu invoice(s) planned on notification: %d planned, "
				    "%d held, %d rescheduled, %d cancelled", ids.n, one.planned,
				    one.held, one.rescheduled, one.cancelled);
			}
			w->send = true;
		} else if (woken) {
			log_debug("notification: the wake-up queue was empty (%d rows); nothing "
			    "planned", taken);
		}
		free(ids.v);
		pthread_cond_broadcast(&w->cv);
		wake(w);
	}
	me->exited = true;
	wake(w);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The sender: a pass over what is due (the clients', then the lawyers'
 * mail), as long as something is. */
static void *
sender_main(void *arg)
{
	struct worker *me = arg;
	struct work *w = me->w;

	me->seed = (unsigned int)(getpid() ^ time(NULL));
	pthread_mutex_lock(&w->mu);
	while (wait_job(me)) {
		struct cycle c = job_cycle(me);
		struct send_stats st;
		struct notify_stats ns;
		bool ok;

		w->send = false;
		pthread_mutex_unlock(&w->mu);

		ok = cycle_send(&c, &st, &ns) == 0;
		me->seed = c.seed;
		me->refusals = c.refusals;

		pthread_mutex_lock(&w->mu);
		job_done(me, ok);
		if (!ok) {
			w->send = true;
			snprintf(w->last_error, sizeof(w->last_error), "sender: %s",
			    store_error(me->store));
		}
		w->sent.sent += st.sent;
		w->sent.letters += st.letters;
		w->sent.retried += st.retried;
		w->sent.failed += st.failed;
		w->sent.in_doubt += st.in_doubt;
		w->sent.errors += st.errors;
		if (st.sent + st.letters + st.retried + st.failed + st.in_doubt + st.refused > 0)
			log_info("sent %d, letters %d, retried %d, failed %d, in doubt %d, "
			    "kept by a refused session %d", st.sent, st.letters, st.retried, st.failed,
			    st.in_doubt, st.refused);
		wake(w);
	}
	me->exited = true;
	wake(w);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Set up W and connect both threads' sessions. */
int
work_init(struct work *w, const struct clock *clock, const char *conninfo, char *err,
    size_t errlen)
{
	pthread_condattr_t ca;

	memset(w, 0, sizeof(*w));
	w->clock = clock;
	w->rates_warned = cal_local_day(clock_now(clock));
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&w->interrupt, false);
	atomic_init(&w->quit, false);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < W_COUNT; i++) {
		w->workers[i].w = w;
		w->workers[i].id = (enum worker_id)i;
		clock_gettime(CLOCK_MONOTONIC, &w->workers[i].idle_since);
		if ((w->workers[i].store = store_connect(conninfo, err, errlen)) == NULL)
			return -1;
	}
	return 0;
}

/* Start both threads. */
int
work_start(struct work *w)
{
	void *(*mains[W_COUNT])(void *) = { planner_main, sender_main };

	for (int i = 0; i < W_COUNT; i++) {
		if ((errno = pthread_create(&w->workers[i].thread, NULL, mains[i],
		    &w->workers[i])) != 0)
			return -1;
		w->workers[i].started = true;
	}
	return 0;
}

/* A full planning pass (then a send pass); READ_ALL: one that reads every
 * open invoice, not only those whose time has come. */
void
work_request_plan(struct work *w, bool read_all)
{
	pthread_mutex_lock(&w->mu);
	w->plan_all = true;
	w->read_all |= read_all;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* A notification came: take the wake-up queue and plan what it names at
 * once (then a send pass). */
void
work_request_woken(struct work *w)
{
	pthread_mutex_lock(&w->mu);
	w->woken = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Finish what is in flight, take nothing new. */
void
work_stop(struct work *w)
{
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	atomic_store(&w->quit, true);
	set_interrupt(w);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Park both threads; true once they are. */
bool
work_hold(struct work *w)
{
	bool all = true;

	pthread_mutex_lock(&w->mu);
	w->hold = true;
	set_interrupt(w);
	pthread_cond_broadcast(&w->cv);
	for (int i = 0; i < W_COUNT; i++)
		if (w->workers[i].started && !w->workers[i].parked && !w->workers[i].exited)
			all = false;
	pthread_mutex_unlock(&w->mu);
	return all;
}

/* Swap the configuration (NULL: keep it) and resume. */
void
work_resume(struct work *w, const struct config *cfg, const struct templates *ms,
    const char *password)
{
	pthread_mutex_lock(&w->mu);
	if (cfg != NULL) {
		w->cfg = cfg;
		w->ms = ms;
		w->password = password;
	}
	w->hold = false;
	set_interrupt(w);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Both threads gone? */
bool
work_done(struct work *w)
{
	bool done = true;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < W_COUNT; i++)
		if (w->workers[i].started && !w->workers[i].exited)
			done = false;
	pthread_mutex_unlock(&w->mu);
	return done;
}

/* Empty the eventfd. */
void
work_ack(struct work *w)
{
	uint64_t n;

	(void)!read(w->efd, &n, sizeof(n));
}

/* Join and free. */
void
work_free(struct work *w)
{
	for (int i = 0; i < W_COUNT; i++) {
		if (w->workers[i].started)
			pthread_join(w->workers[i].thread, NULL);
		store_close(w->workers[i].store);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}
