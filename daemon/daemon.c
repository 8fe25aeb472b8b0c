/*
 * daemon — the daemon's state: loading and checking what comes from files
 * (the configuration, the templates), and its own audit rows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Can formal notices be written into spool.dir (PATH: the configuration
 * file)?  A spool on a read-only file system never heals by itself: under
 * systemd it means the unit's ReadWritePaths= does not name spool.dir
 * (ProtectSystem=strict makes every other path read-only), so the daemon
 * refuses to start, saying which drop-in to add.  Anything else (missing,
 * not a directory, not ours) is only a warning: a letter that cannot be
 * written waits and is retried (pipeline/channel_letter.c), and the
 * directory is created at the first letter. */
static bool
spool_ready(const struct config *cfg, const char *path)
{
	char dir[1024];
	bool letters = false;
	struct stat st;
	char *slash;

	for (size_t i = 0; i < cfg->nstages; i++)
		letters |= cfg->stages[i].channel == CONFIG_CHANNEL_LETTER;
	if (!letters || cfg->spool_dir == NULL || *cfg->spool_dir == '\0')
		return true;
	/* The spool, or the nearest directory above it that exists. */
	snprintf(dir, sizeof(dir), "%s", cfg->spool_dir);
	while (stat(dir, &st) != 0 && errno == ENOENT &&
	    (slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (access(dir, W_OK | X_OK) == 0)
		return true;
	if (errno == EROFS) {
		fprintf(stderr, "%s: spool.dir %s is on a read-only file system: no formal "
		    "notice could be written.  Under systemd the unit must name it in "
		    "ReadWritePaths=: dunningd's generator writes that drop-in "
		    "(dunningd.service.d/50-spool-dir.conf) from %s at boot and at "
		    "`systemctl daemon-reload`; without it, `systemctl edit dunningd` and add\n"
		    "[Service]\nReadWritePaths=%s\n", path, cfg->spool_dir, path, cfg->spool_dir);
		return false;
	}
	fprintf(stderr, "warning: spool.dir %s: %s: %s; formal notices wait until it can be "
	    "written\n", cfg->spool_dir, dir, strerror(errno));
	return true;
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
	if (!spool_ready(cfg, path))
		goto refuse;
	/* Rule 12: with web.base_url, every client mail carries a signed link;
	 * without a key it could carry none. */
	if (*cfg->web.base_url != '\0' && cfg->web.nkeys == 0) {
		fprintf(stderr, "%s: web.base_url is set but the links' key cannot be read: %s\n",
		    path, cfg->web.key_error);
		goto refuse;
	}
	if ((*ms = templates_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto refuse;
	}
	if (templates_lawyer_load(*ms, cfg, err, sizeof(err)) < 0 ||
	    templates_plan_load(*ms, cfg, err, sizeof(err)) < 0) {
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
