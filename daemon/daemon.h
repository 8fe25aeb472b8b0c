/*
 * daemon — the daemon's state, shared by its files: loading and checking
 * the configuration and templates, and the daemon's own audit rows.
 */
#ifndef DUNNING_DAEMON_H
#define DUNNING_DAEMON_H

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
/* One audit row by the daemon, at its clock; DETAILS is consumed. */
void daemon_audit(struct daemon *d, const char *action, json_t *details);

#endif
