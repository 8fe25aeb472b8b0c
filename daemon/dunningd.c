/*
 * dunningd — the payment-reminder daemon.
 *
 *   dunningd -c FILE --check-config      validate the configuration
 *   dunningd -c FILE --once [--now T]    one cycle: plan, then send
 *   dunningd -c FILE --plan-only [--now T]  one planning pass, nothing sent
 *   dunningd -c FILE [--now T]           run: a cycle every poll_interval
 */
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "mailer.h"
#include "message.h"
#include "notifier.h"
#include "sender.h"
#include "store.h"
#include "dunningd.h"

#define DEFAULT_CONFIG DUNNING_SYSCONFDIR "/dunningd.conf"


/* Print the usage and exit with STATUS. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: dunningd [-c FILE] [--check-config | --once | --plan-only] [--now TIMESTAMP] "
	    "[-v]\n"
	    "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	    "      --check-config  validate the configuration and its templates, then exit\n"
	    "      --once          run one cycle (plan, then send what is due) and exit\n"
	    "      --plan-only     run one planning pass (write the decisions, send nothing)\n"
	    "                      and exit\n"
	    "      --now T         read the clock as T (ISO 8601 with offset)\n"
	    "  -v, --verbose       debug messages\n"
	    "  -V, --version       print the version\n");
	exit(status);
}

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
daemon_load(const char *path, time_t now, struct message_set **ms)
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
	if (cfg->smtp.tls == CONFIG_TLS_IMPLICIT) {
		fprintf(stderr, "%s: smtp tls = \"tls\" (implicit TLS, port 465) is not supported "
		    "by the SMTP library: use tls = \"starttls\" (port 587)\n", path);
		config_free(cfg);
		return NULL;
	}
	/* The zone is process-wide: a refused reload must leave the old one. */
	if ((old_tz = getenv("TZ")) != NULL && (old_tz = strdup(old_tz)) == NULL)
		fatal("strdup");
	if (cal_set_timezone(cfg->schedule.timezone) < 0) {
		fprintf(stderr, "%s: unknown time zone \"%s\"\n", path, cfg->schedule.timezone);
		goto refuse;
	}
	if ((*ms = message_set_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto refuse;
	}
	if (message_lawyer_load(*ms, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		message_set_free(*ms);
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

/* Tell systemd (Type=notify) what we are doing; a no-op elsewhere. */
void
daemon_notify(const char *fmt, ...)
{
#if HAVE_LIBSYSTEMD
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notify(0, buf);
#else
	(void)fmt;
#endif
}

/* Milliseconds elapsed since T0 (CLOCK_MONOTONIC). */
static double
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* One cycle at the clock's now: leases, planning, sending, then the
 * lawyers' alerts and digests.  PLAN_ONLY: the planning pass alone. */
static int
cycle(struct daemon *d, bool plan_only)
{
	time_t now = clock_now(&d->clock);
	struct plan_stats ps;
	struct send_stats ss;
	struct notify_stats ns;
	struct sender snd = { .cfg = d->cfg, .ms = d->ms, .store = d->store,
	    .password = d->password, .seed = d->seed };
	struct notifier nt = { .cfg = d->cfg, .ms = d->ms, .store = d->store,
	    .password = d->password };
	struct timespec t0;
	double plan_ms, send_ms;
	char at[32];
	int n;

	cal_format_instant(now, at);
	/* dunning.now only when --now replays a date; otherwise SQL reads the
	 * real clock itself, instant by instant. */
	if (store_set_now(d->store, d->clock.set ? now : 0) < 0 ||
	    store_publish_settings(d->store, d->cfg) < 0) {
		log_warnx("%s", store_error(d->store));
		return -1;
	}
	if ((n = store_expire_leases(d->store, now)) < 0)
		log_warnx("%s", store_error(d->store));
	else if (n > 0)
		log_warnx("%d reminder(s) left in 'sending' by a stopped sender are now in_doubt: "
		    "see dunningctl in-doubt", n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (store_plan(d->store, d->cfg, now, &ps) < 0) {
		log_warnx("planning: %s", store_error(d->store));
		return -1;
	}
	plan_ms = ms_since(&t0);
	if (plan_only) {
		log_info("planning pass %s: %d invoices examined; %d planned, %d held, "
		    "%d rescheduled, %d cancelled, %d escalated; %d errors; %.1f ms",
		    at, ps.invoices, ps.planned, ps.held, ps.rescheduled, ps.cancelled,
		    ps.escalated, ps.errors, plan_ms);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sender_run(&snd, &d->clock, &ss) < 0)
		return -1;
	send_ms = ms_since(&t0);
	log_debug("cycle %s: planning %.1f ms, sending %.1f ms", at, plan_ms, send_ms);
	d->seed = snd.seed;
	/* The clients' cycle ran: a failure here is the lawyers' mail's,
	 * logged, and tried again by the next cycle. */
	nt.seed = d->seed;
	if (notifier_run(&nt, &d->clock, &ns) < 0)
		ns.errors++;
	d->seed = nt.seed;
	if (ns.alerts + ns.digests + ns.retried + ns.failed + ns.errors > 0)
		log_info("lawyers: %d alerts, %d digests sent, %d retried, %d failed, %d errors",
		    ns.alerts, ns.digests, ns.retried, ns.failed, ns.errors);
	daemon_notify("STATUS=last cycle %s: %d sent, %d letters, %d held, %d failed, %d retried",
	    at, ss.sent, ss.letters, ps.held, ss.failed, ss.retried);
	log_info("cycle %s: %d invoices examined; %d planned, %d held, %d rescheduled, "
	    "%d cancelled, %d escalated; %d sent, %d letters, %d retried, %d failed, "
	    "%d in doubt; %d errors", at, ps.invoices, ps.planned, ps.held, ps.rescheduled,
	    ps.cancelled, ps.escalated, ss.sent, ss.letters, ss.retried, ss.failed, ss.in_doubt,
	    ps.errors + ss.errors);
	return 0;
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

/* SPEC §2 rule 10: every action leaves its audit row (a reload, a
 * refused reload). */
void
daemon_audit(struct daemon *d, const char *action, json_t *details)
{
	/* Ready first: a reconnection would lose the session's clock. */
	if (store_ready(d->store) < 0 ||
	    store_set_now(d->store, d->clock.set ? clock_now(&d->clock) : 0) < 0 ||
	    store_audit(d->store, "daemon", action, 0, 0, details) < 0)
		log_warnx("audit %s: %s", action, store_error(d->store));
	json_decref(details);
}

/* Run until SIGTERM or SIGINT; SIGHUP reloads the configuration. */
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *now_arg = NULL;
	bool check = false, once = false, plan_only = false, verbose = false;
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
		case 'v': verbose = true; break;
		case 'V': printf("dunningd %s\n", DUNNING_VERSION); return 0;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	log_init("dunningd", verbose);
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
	audit_life(&d, "daemon_started", once);
	if (once)
		rc = cycle(&d, plan_only) < 0 ? 1 : 0;
	else
		rc = run(&d, path);
	audit_life(&d, "daemon_stopped", once);
out:
	store_close(d.store);
	message_set_free(d.ms);
	config_free(d.cfg);
	free(d.password);
	return rc;
}
