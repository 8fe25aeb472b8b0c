/*
 * listener — LISTEN dunning on a non-blocking libpq connection driven by
 * the event loop.  Never blocks: the connection is opened with
 * PQconnectStart/PQconnectPoll, the LISTEN sent with PQsendQuery, and the
 * socket read with PQconsumeInput when libevent says it is readable.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "listener.h"
#include "log.h"

#define BACKOFF_MAX 30		/* seconds between two connection attempts, at most */

struct listener {
	struct event_base *base;
	char *conninfo;
	struct listener_cb cb;
	PGconn *conn;
	struct event *io;	/* on the connection's socket */
	struct event *retry;	/* the next connection attempt */
	int backoff;		/* seconds; 0 once listening */
	bool connecting;	/* PQconnectPoll still running */
	bool up;		/* LISTEN acknowledged */
	unsigned int seed;
};

static void on_io(evutil_socket_t fd, short what, void *arg);

/* Watch the socket for WHAT (EV_READ, EV_WRITE, with EV_PERSIST or not). */
static int
watch(struct listener *l, short what)
{
	if (l->io != NULL)
		event_free(l->io);
	l->io = event_new(l->base, PQsocket(l->conn), what, on_io, l);
	return l->io == NULL ? -1 : event_add(l->io, NULL);
}

/* Drop the connection and try again later, with a capped, jittered
 * backoff. */
static void
lost(struct listener *l, const char *why)
{
	char msg[256];
	struct timeval tv = { 0, 0 };

	snprintf(msg, sizeof(msg), "%s", why != NULL && *why ? why : "connection lost");
	msg[strcspn(msg, "\r\n")] = '\0';
	if (l->io != NULL) {
		event_free(l->io);
		l->io = NULL;
	}
	if (l->conn != NULL) {
		PQfinish(l->conn);
		l->conn = NULL;
	}
	l->connecting = l->up = false;
	l->backoff = l->backoff == 0 ? 1 : l->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX :
	    l->backoff * 2;
	tv.tv_sec = l->backoff;
	tv.tv_usec = rand_r(&l->seed) % 500000;
	evtimer_add(l->retry, &tv);
	l->cb.state(false, msg, l->backoff, l->cb.arg);
}

/* The server's notices, into our log. */
static void
notice(void *arg, const char *message)
{
	(void)arg;
	log_warnx("postgresql (notifications): %.*s", (int)strcspn(message, "\n"), message);
}

/* Open a new connection, without waiting for it. */
static void
start(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	l->conn = PQconnectStart(l->conninfo);
	if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
		lost(l, l->conn ? PQerrorMessage(l->conn) : "out of memory");
		return;
	}
	PQsetNoticeProcessor(l->conn, notice, NULL);
	l->connecting = true;
	/* libpq's documentation: begin as if PQconnectPoll said WRITING. */
	if (watch(l, EV_WRITE) < 0)
		lost(l, "cannot watch the connection");
}

/* Read what arrived: the LISTEN's acknowledgement, then notifications. */
static void
drain(struct listener *l)
{
	PGnotify *n;
	PGresult *res;

	if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
		lost(l, PQerrorMessage(l->conn));
		return;
	}
	while (!PQisBusy(l->conn) && (res = PQgetResult(l->conn)) != NULL) {
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		PQclear(res);
		if (!ok) {
			lost(l, PQerrorMessage(l->conn));
			return;
		}
		if (!l->up) {
			l->up = true;
			l->backoff = 0;
			l->cb.state(true, NULL, 0, l->cb.arg);
		}
	}
	while ((n = PQnotifies(l->conn)) != NULL) {
		l->cb.notify(n->extra, l->cb.arg);
		PQfreemem(n);
	}
}

/* The socket is ready: advance the connection, or read. */
static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	if (l->connecting) {
		switch (PQconnectPoll(l->conn)) {
		case PGRES_POLLING_READING:
			if (watch(l, EV_READ) < 0)
				lost(l, "cannot watch the connection");
			return;
		case PGRES_POLLING_WRITING:
			if (watch(l, EV_WRITE) < 0)
				lost(l, "cannot watch the connection");
			return;
		case PGRES_POLLING_FAILED:
			lost(l, PQerrorMessage(l->conn));
			return;
		default:
			break;
		}
		l->connecting = false;
		if (PQsetnonblocking(l->conn, 1) != 0 ||
		    !PQsendQuery(l->conn, "LISTEN dunning")) {
			lost(l, PQerrorMessage(l->conn));
			return;
		}
		what = EV_WRITE;
	}
	if (what & EV_WRITE) {
		int f = PQflush(l->conn);

		if (f < 0) {
			lost(l, PQerrorMessage(l->conn));
			return;
		}
		if (watch(l, f == 1 ? EV_READ | EV_WRITE | EV_PERSIST : EV_READ | EV_PERSIST) < 0) {
			lost(l, "cannot watch the connection");
			return;
		}
	}
	if (what & EV_READ)
		drain(l);
}

/* A listener on BASE, connecting at once. */
struct listener *
listener_new(struct event_base *base, const char *conninfo, const struct listener_cb *cb)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (l == NULL || (l->conninfo = strdup(conninfo)) == NULL) {
		free(l);
		return NULL;
	}
	l->base = base;
	l->cb = *cb;
	l->seed = (unsigned int)time(NULL);
	if ((l->retry = evtimer_new(base, start, l)) == NULL) {
		free(l->conninfo);
		free(l);
		return NULL;
	}
	start(-1, 0, l);
	return l;
}

/* Close the connection and free L. */
void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->io != NULL)
		event_free(l->io);
	event_free(l->retry);
	if (l->conn != NULL)
		PQfinish(l->conn);
	free(l->conninfo);
	free(l);
}
