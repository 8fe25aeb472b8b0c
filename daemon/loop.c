/*
 * loop — the daemon's event loop (libevent): signals, the poll timer, the
 * send-window opening, the LISTEN connection, the workers' eventfd and the
 * systemd watchdog.  Nothing here waits on the network: the database work
 * and SMTP run in the worker threads.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "build_config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "calendar.h"
#include "loop.h"
#include "service.h"
#include "listener.h"
#include "log.h"
#include "mailer.h"
#include "policy.h"

struct loop {
	struct daemon *d;
	const char *path;
	struct event_base *base;
	struct listener *listener;
	struct event *ev_term, *ev_int, *ev_hup;
	struct event *ev_poll;		/* every schedule.poll_interval */
	struct event *ev_window;	/* at the next send-window opening */
	struct event *ev_work;		/* the workers' eventfd */
	struct event *ev_watchdog;	/* WATCHDOG=1, when systemd asks for it */
	bool stopping;
	bool reloading;
	bool listening;
	int rc;
};

/* libevent's own messages, into ours. */
static void
event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Free EV if it was made. */
static void
drop(struct event *ev)
{
	if (ev != NULL)
		event_free(ev);
}

/* Tell systemd where we are. */
static void
status(struct loop *l)
{
	struct work *w = &l->d->work;
	struct send_stats st;
	struct plan_stats ps;
	time_t last;
	char at[32] = "none yet", err[256];
	bool down = false;

	pthread_mutex_lock(&w->mu);
	st = w->sent;
	ps = w->plan;
	last = w->last_cycle;
	for (int i = 0; i < W_COUNT; i++)
		down |= w->workers[i].db_down;
	snprintf(err, sizeof(err), "%s", w->last_error);
	pthread_mutex_unlock(&w->mu);
	if (last != 0)
		cal_format_instant(last, at);
	if (down || !l->listening)
		service_notify("STATUS=waiting for the database%s%s", err[0] ? ": " : "", err);
	else
		service_notify("STATUS=last cycle %s: %d held; since start %d sent, %d letters, "
		    "%d retried, %d failed, %d in doubt", at, ps.held, st.sent, st.letters,
		    st.retried, st.failed, st.in_doubt);
}

/* Arm the timer for the next opening of the send window after now. */
static void
arm_window(struct loop *l)
{
	const struct config *cfg = l->d->cfg;
	struct cal_window win = policy_window(cfg);
	time_t now = clock_now(&l->d->clock), next;
	cal_day today = cal_local_day(now);
	struct timeval tv = { 0, 0 };

	if (cal_in_window(&win, now))
		next = cal_next_send(&win, cal_local_time(today, cfg->schedule.window_end_min),
		    today + 1);
	else
		next = cal_next_send(&win, now, today);
	tv.tv_sec = next > now ? next - now : 1;
	evtimer_add(l->ev_window, &tv);
	log_debug("next send window opens in %ld s", (long)tv.tv_sec);
}

/* (Re)arm the poll timer at schedule.poll_interval. */
static void
arm_poll(struct loop *l)
{
	struct timeval tv = { l->d->cfg->schedule.poll_interval, 0 };

	event_del(l->ev_poll);
	event_add(l->ev_poll, &tv);
}

/* The workers are parked: read the file again, swap or keep. */
static void
reload(struct loop *l)
{
	struct daemon *d = l->d;
	struct templates *ms = NULL;
	struct config *cfg;
	char restart[256], err[256];
	char *password = NULL;

	l->reloading = false;
	cfg = daemon_load(l->path, clock_now(&d->clock), &ms);
	if (cfg != NULL) {
		password = mailer_password(cfg, err, sizeof(err));
		if (err[0]) {
			log_warnx("%s: smtp password: %s", l->path, err);
			templates_free(ms);
			config_free(cfg);
			cfg = NULL;
		}
	}
	if (cfg == NULL) {
		log_warnx("reload refused: the running configuration is kept");
		daemon_audit(d, "config_rejected", json_pack("{s:s}", "path", l->path));
		work_resume(&d->work, NULL, NULL, NULL);
		service_notify("READY=1\nSTATUS=reload refused; running configuration kept");
		return;
	}
	if (config_restart_keys(d->cfg, cfg, restart, sizeof(restart)) > 0)
		log_warnx("%s changed: takes effect after a restart (systemctl restart dunningd)",
		    restart);
	work_resume(&d->work, cfg, ms, password);
	templates_free(d->ms);
	config_free(d->cfg);
	free(d->password);
	d->cfg = cfg;
	d->ms = ms;
	d->password = password;
	log_info("configuration reloaded");
	daemon_audit(d, "config_reloaded", json_pack("{s:s, s:s?}", "path", l->path,
	    "needs_restart", restart[0] ? restart : NULL));
	service_notify("READY=1\nSTATUS=configuration reloaded");
	arm_poll(l);
	event_del(l->ev_window);
	arm_window(l);
	work_request_plan(&d->work, true);
}

/* SIGHUP: park the workers, then reload (now, or when they report). */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;
	struct timespec mono;

	(void)sig;
	(void)what;
	if (l->stopping || l->reloading)
		return;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	service_notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading %s",
	    (long long)mono.tv_sec * 1000000 + mono.tv_nsec / 1000, l->path);
	log_info("reloading %s", l->path);
	l->reloading = true;
	if (work_hold(&l->d->work))
		reload(l);
}

/* SIGTERM, SIGINT: the send in flight finishes, nothing new is taken; a
 * second signal exits at once. */
static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	struct loop *l = arg;

	(void)what;
	if (l->stopping) {
		log_warnx("signal %d again: exiting now; a message in flight becomes in_doubt",
		    (int)sig);
		_exit(1);
	}
	l->stopping = true;
	service_notify("STOPPING=1\nSTATUS=stopping: finishing the send in flight");
	log_info("stopping: finishing the send in flight");
	event_del(l->ev_poll);
	event_del(l->ev_window);
	listener_free(l->listener);
	l->listener = NULL;
	work_stop(&l->d->work);
	if (work_done(&l->d->work))
		event_base_loopbreak(l->base);
}

/* The workers reported: a reload may proceed, a stop may end. */
static void
on_work(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	work_ack(&l->d->work);
	if (l->stopping) {
		if (work_done(&l->d->work))
			event_base_loopbreak(l->base);
		return;
	}
	if (l->reloading && work_hold(&l->d->work))
		reload(l);
	status(l);
}

/* Every poll_interval: a full pass (the safety net under LISTEN). */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	work_request_plan(&l->d->work, false);
}

/* The send window opens: plan and send at once, not at the next poll. */
static void
on_window(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	log_debug("send window open");
	work_request_plan(&l->d->work, false);
	arm_window(l);
}

/* WATCHDOG=1 from the loop itself: a stuck loop stops feeding systemd. */
static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	service_notify("WATCHDOG=1");
}

/* A notification: its payload names nothing (sql/020) and anyone may
 * send one, so it only wakes the planner to take the wake-up queue, which
 * says what changed; an empty queue plans nothing. */
static void
on_notify(const char *payload, void *arg)
{
	struct loop *l = arg;

	(void)payload;
	log_debug("notification: taking the wake-up queue");
	work_request_woken(&l->d->work);
}

/* The LISTEN connection came up (rescan: notifications sent while it was
 * down are lost) or went down. */
static void
on_listen_state(bool up, const char *why, int retry_in, void *arg)
{
	struct loop *l = arg;

	if (up) {
		log_info("listening for payments, disputes and approvals");
		l->listening = true;
		/* Some may have been missed: every open invoice is read, and the
		 * queue they left is emptied. */
		work_request_plan(&l->d->work, true);
		work_request_woken(&l->d->work);
	} else {
		log_warnx("database (notifications): %s; next attempt in %d s", why, retry_in);
		l->listening = false;
		service_notify("STATUS=waiting for the database: %s (next attempt in %d s)", why,
		    retry_in);
	}
}

/* The watchdog period systemd asked for, halved; 0 when none. */
static long
watchdog_usec(void)
{
#if HAVE_LIBSYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		return (long)(usec / 2);
#endif
	return 0;
}

/* Run the loop until a stop.  The workers' configuration is D's. */
int
loop_run(struct daemon *d, const char *path)
{
	struct loop l = { .d = d, .path = path };
	struct listener_cb cb = { on_notify, on_listen_state, &l };
	long wd = watchdog_usec();
	sigset_t set;

	event_set_log_callback(event_log);
	/* The threads must not take the signals: block them before starting
	 * the threads; libevent reads them on the loop. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((l.base = event_base_new()) == NULL) {
		log_warnx("cannot create the event loop");
		return 1;
	}
	l.ev_term = evsignal_new(l.base, SIGTERM, on_term, &l);
	l.ev_int = evsignal_new(l.base, SIGINT, on_term, &l);
	l.ev_hup = evsignal_new(l.base, SIGHUP, on_hup, &l);
	l.ev_poll = event_new(l.base, -1, EV_PERSIST, on_poll, &l);
	l.ev_window = evtimer_new(l.base, on_window, &l);
	l.ev_work = event_new(l.base, d->work.efd, EV_READ | EV_PERSIST, on_work, &l);
	l.ev_watchdog = event_new(l.base, -1, EV_PERSIST, on_watchdog, &l);
	if (!l.ev_term || !l.ev_int || !l.ev_hup || !l.ev_poll || !l.ev_window || !l.ev_work ||
	    !l.ev_watchdog || event_add(l.ev_term, NULL) || event_add(l.ev_int, NULL) ||
	    event_add(l.ev_hup, NULL) || event_add(l.ev_work, NULL)) {
		log_warnx("cannot set up the event loop");
		l.rc = 1;
		goto out;
	}
	if (wd > 0) {
		struct timeval tv = { wd / 1000000, wd % 1000000 };

		event_add(l.ev_watchdog, &tv);
	}
	if (work_start(&d->work) < 0) {
		log_warn("cannot start the worker threads");
		l.rc = 1;
		goto out;
	}
	if ((l.listener = listener_new(l.base, d->cfg->conninfo, &cb)) == NULL) {
		log_warnx("cannot set up the notification listener");
		work_stop(&d->work);
		l.rc = 1;
		goto out;
	}
	/* The first full pass comes when LISTEN is up (on_listen_state): a
	 * pass read before it could miss a change notified in between. */
	arm_poll(&l);
	arm_window(&l);
	service_notify("READY=1\nSTATUS=running, a full pass every %d s",
	    d->cfg->schedule.poll_interval);
	log_info("running: a full pass every %d s, notifications at once",
	    d->cfg->schedule.poll_interval);
	event_base_dispatch(l.base);
out:
	listener_free(l.listener);
	if (!work_done(&d->work))
		work_stop(&d->work);
	drop(l.ev_term);
	drop(l.ev_int);
	drop(l.ev_hup);
	drop(l.ev_poll);
	drop(l.ev_window);
	drop(l.ev_work);
	drop(l.ev_watchdog);
	if (l.base != NULL)
		event_base_free(l.base);
	return l.rc;
}
