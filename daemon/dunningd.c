/*
 * dunningd — the payment-reminder daemon.
 *
 *   dunningd -c FILE --check-config      validate the configuration
 *   dunningd -c FILE --once [--now T]    one cycle: plan, then send
 *   dunningd -c FILE --plan-only [--now T]  one planning pass, nothing sent
 *   dunningd -c FILE [--now T]           run: a cycle every poll_interval
 *   dunningd -c FILE --print-spool-dir   spool.dir, for the systemd generator
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "mailer.h"
#include "templates.h"
#include "cycle.h"
#include "store.h"
#include "daemon.h"
#include "loop.h"

#define DEFAULT_CONFIG DUNNING_SYSCONFDIR "/dunningd.conf"


/* Print the usage and exit with STATUS. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: dunningd [-c FILE] [--check-config | --once | --plan-only] [--now TIMESTAMP] "
	    "[-v] | --print-spool-dir\n"
	    "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	    "      --check-config  validate the configuration and its templates, then exit\n"
	    "      --once          run one cycle (plan, then send what is due) and exit\n"
	    "      --plan-only     run one planning pass (write the decisions, send nothing)\n"
	    "                      and exit\n"
	    "      --now T         read the clock as T (ISO 8601 with offset)\n"
	    "      --print-spool-dir  print spool.dir (for systemd/dunningd-spool-generator)\n"
	    "  -v, --verbose       debug messages\n"
	    "  -V, --version       print the version\n");
	exit(status);
}

/* --print-spool-dir: spool.dir of the configuration at PATH on a line of
 * its own, for the generator that writes the unit's ReadWritePaths=
 * (systemd/dunningd-spool-generator).  The file is only parsed: no
 * template, no database.  1 with the errors on stderr. */
static int
print_spool_dir(const char *path)
{
	struct config_diag diag = { 0 };
	struct config *cfg = config_load(path, &diag);
	int rc = 1;

	for (size_t i = 0; i < diag.nerrors; i++)
		fprintf(stderr, "%s\n", diag.errors[i]);
	if (cfg != NULL && diag.nerrors == 0) {
		printf("%s\n", cfg->spool_dir);
		rc = 0;
	}
	config_diag_free(&diag);
	config_free(cfg);
	return rc;
}

/* Write the daemon_started / daemon_stopped audit row. */
static void
audit_life(struct daemon *d, const char *action, bool once)
{
	char host[256] = "";
	json_t *det;

	gethostname(host, sizeof(host) - 1);
	det = json_pack("{s:s, s:s, s:i, s:b}", "version", DUNNING_VERSION, "host", host,
	    "pid", (int)getpid(), "once", once);
	daemon_audit(d, action, det);
}

/* Run until SIGTERM or SIGINT; SIGHUP reloads the configuration. */
/* The warning of a replicated primary without a synchronous standby
 * (store_replication_warning), on S; printed on stderr by --check-config
 * (STORE NULL: connect to CONNINFO for it), logged at start.  Never an
 * error: the configuration is right, the database's setup is the
 * operator's (doc/operations.md). */
static void
warn_replication(struct store *s, const char *conninfo)
{
	struct store_replication r;
	struct store *own = NULL;
	char msg[512], err[256];

	if (s == NULL && (s = own = store_connect(conninfo, err, sizeof(err))) == NULL) {
		fprintf(stderr, "warning: database not reached (%s): its replication was not "
		    "checked\n", err);
		return;
	}
	if (store_replication(s, &r) < 0)
		snprintf(msg, sizeof(msg), "database: its replication not checked: %s",
		    store_error(s));
	else if (store_replication_warning(&r, msg, sizeof(msg)) == 0)
		msg[0] = '\0';
	if (msg[0] != '\0') {
		if (own != NULL)
			fprintf(stderr, "warning: %s\n", msg);
		else
			log_warnx("%s", msg);
	}
	store_close(own);
}

static int
run(struct daemon *d, const char *path)
{
	char err[512];
	int rc;

	if (work_init(&d->work, &d->clock, d->cfg->conninfo, err, sizeof(err)) < 0) {
		log_warnx("database: %s", err);
		return 1;
	}
	d->work.cfg = d->cfg;
	d->work.ms = d->ms;
	d->work.password = d->password;
	rc = loop_run(d, path);
	work_free(&d->work);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "once", no_argument, NULL, 'o' },
		{ "plan-only", no_argument, NULL, 'p' },
		{ "now", required_argument, NULL, 'n' },
		{ "print-spool-dir", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *now_arg = NULL;
	bool check = false, once = false, plan_only = false, verbose = false, spool = false;
	struct daemon d;
	char err[512];
	time_t now;
	int c, version, rc = 0;

	while ((c = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = true; break;
		case 'o': once = true; break;
		case 'p': once = plan_only = true; break;
		case 'n': now_arg = optarg; break;
		case 'S': spool = true; break;
		case 'v': verbose = true; break;
		case 'V': printf("dunningd %s\n", DUNNING_VERSION); return 0;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	log_init("dunningd", verbose);
	if (spool)
		return print_spool_dir(path);
	signal(SIGPIPE, SIG_IGN);
	memset(&d, 0, sizeof(d));
	if (now_arg != NULL) {
		if (cal_parse_instant(now_arg, &now) < 0)
			fatalx("--now %s: not an ISO 8601 instant with an offset "
			    "(e.g. 2026-03-10T09:30:00+01:00)", now_arg);
		clock_init_at(&d.clock, now, once);
	} else {
		clock_init_real(&d.clock);
	}
	if ((d.cfg = daemon_load(path, clock_now(&d.clock), &d.ms)) == NULL)
		return 1;
	if (check) {
		warn_replication(NULL, d.cfg->conninfo);
		printf("configuration OK\n");
		goto out;
	}
	d.password = mailer_password(d.cfg, err, sizeof(err));
	if (err[0])
		fatalx("smtp password: %s", err);
	d.seed = (unsigned int)(getpid() ^ time(NULL));
	if ((d.store = store_connect(d.cfg->conninfo, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	version = store_schema_version(d.store);
	if (version < 0)
		fatalx("database: %s", store_error(d.store));
	if (version != store_known_version())
		fatalx("the database is at schema version %d but this dunningd knows version %d: %s",
		    version, store_known_version(), version < store_known_version() ?
		    "run dunningctl migrate" : "upgrade dunningd");
	/* The functions and views are the program's too (sql/README.md): a
	 * database migrated by another build may run other ones. */
	switch (store_repeatables_current(d.store)) {
	case 1:
		break;
	case 0:
		fatalx("the database's SQL functions and views are not those of this dunningd: "
		    "run dunningctl migrate");
	default:
		fatalx("database: %s", store_error(d.store));
	}
	warn_replication(d.store, NULL);
	audit_life(&d, "daemon_started", once);
	/* Running, this session serves only the audit rows of the start and
	 * the stop: it holds no backend in between (store_ready opens one). */
	if (!once)
		store_release(d.store);
	if (once) {
		struct cycle cy = { .cfg = d.cfg, .ms = d.ms, .password = d.password,
		    .clock = &d.clock, .store = d.store, .seed = d.seed,
		    .rates_warned = cal_local_day(clock_now(&d.clock)) };

		rc = cycle_once(&cy, plan_only) < 0 ? 1 : 0;
	} else {
		rc = run(&d, path);
	}
	audit_life(&d, "daemon_stopped", once);
out:
	store_close(d.store);
	templates_free(d.ms);
	config_free(d.cfg);
	free(d.password);
	return rc;
}
