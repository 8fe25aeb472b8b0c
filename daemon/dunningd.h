/*
 * dunningd — what the program's files share: the daemon's state, loading
 * the configuration, talking to systemd, and the event loop.
 */
#ifndef DUNNING_DUNNINGD_H
#define DUNNING_DUNNINGD_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "clock.h"
#include "config.h"
#include "templates.h"
#include "store.h"
#include "workers.h"

struct daemon {
	struct config *cfg;
	struct templates *ms;
	struct store *store;	/* the main thread's session: start, stop, reload */
	char *password;
	struct clock clock;
	unsigned int seed;
	struct work work;	/* the planner and sender threads */
};

/* Load and check the configuration and its templates at PATH; NULL after
 * logging every error (the time zone is left as it was). */
struct config *daemon_load(const char *path, time_t now, struct templates **ms);
/* Tell systemd (Type=notify); a no-op without it. */
void daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One audit row by the daemon, at its clock; DETAILS is consumed. */
void daemon_audit(struct daemon *d, const char *action, json_t *details);

/* The event loop, until SIGTERM or SIGINT.  Returns the exit status. */
int loop_run(struct daemon *d, const char *path);

#endif
