/*
 * listener — a PostgreSQL connection on the event loop that LISTENs on the
 * channel the SQL side NOTIFYs ("dunning": payments, disputes, pauses,
 * approvals, rejections).  A notification only wakes: what changed is in
 * dunning.wake_queue, which only the daemon reads (sql/020); any role may
 * NOTIFY, so the payload is never trusted.  Non-blocking libpq (PQconnectStart/Poll,
 * PQconsumeInput, PQnotifies); reconnects by itself with a capped backoff.
 */
#ifndef DUNNING_LISTENER_H
#define DUNNING_LISTENER_H

#include <stdbool.h>

#include <event2/event.h>

struct listener;

struct listener_cb {
	/* A notification came (its payload, empty from our SQL, is not to be
	 * trusted: any role may NOTIFY). */
	void (*notify)(const char *payload, void *arg);
	/* Connected and listening (UP), or lost with WHY and the seconds until
	 * the next attempt.  Notifications sent while down are lost: on UP the
	 * owner rescans everything. */
	void (*state)(bool up, const char *why, int retry_in, void *arg);
	void *arg;
};

/* Start connecting with CONNINFO on BASE. */
struct listener *listener_new(struct event_base *base, const char *conninfo,
    const struct listener_cb *cb);
void listener_free(struct listener *l);

#endif
