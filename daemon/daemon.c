/*
 * daemon — the daemon's state: loading and checking what comes from files
 * (the configuration, the templates), and its own audit rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "log.h"
#include "daemon.h"

/* Print the configuration's diagnostics; true when it has no errors. */
static bool
report(const struct config_diag *diag)
{
	for (size_t i = 0; i < diag->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", diag->warnings[i]);
	for (size_t i = 0; i < diag->nerrors; i++)
		fprintf(stderr, "%s\n", diag->errors[i]);
	return diag->nerrors == 0;
}

/* Load and check everything that comes from files: the configuration and
 * the templates.  NULL after printing every error. */
struct config *
daemon_load(const char *path, time_t now, struct templates **ms)
{
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(path, &diag);
	char err[512], *old_tz = NULL;

	if (cfg != NULL)
		config_check_date(cfg, now, &diag);
	if (!report(&diag) || cfg == NULL) {
		config_diag_free(&diag);
		config_free(cfg);
		return NULL;
	}
	config_diag_free(&diag);
	/* The zone is process-wide: a refused reload must leave the old one. */
	if ((old_tz = getenv("TZ")) != NULL && (old_tz = strdup(old_tz)) == NULL)
		fatal("strdup");
	if (cal_set_timezone(cfg->schedule.timezone) < 0) {
		fprintf(stderr, "%s: unknown time zone \"%s\"\n", path, cfg->schedule.timezone);
		goto refuse;
	}
	if ((*ms = templates_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto refuse;
	}
	if (templates_lawyer_load(*ms, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		templates_free(*ms);
		*ms = NULL;
		goto refuse;
	}
	free(old_tz);
	return cfg;
refuse:
	if (old_tz != NULL)
		cal_set_timezone(old_tz);
	free(old_tz);
	config_free(cfg);
	return NULL;
}

/* SPEC §2 rule 10: every action leaves its audit row (a reload, a
 * refused reload). */
void
daemon_audit(struct daemon *d, const char *action, json_t *details)
{
	/* Ready first: a reconnection would lose the session's clock. */
	if (store_ready(d->store) < 0 ||
	    store_set_now(d->store, d->clock.set ? clock_now(&d->clock) : 0) < 0 ||
	    store_audit(d->store, action, 0, 0, details) < 0)
		log_warnx("audit %s: %s", action, store_error(d->store));
	json_decref(details);
}
