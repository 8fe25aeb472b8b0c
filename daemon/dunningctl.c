/*
 * dunningctl — the operator's and lawyers' command-line tool.
 *
 *   dunningctl [-c FILE] migrate
 *   dunningctl [-c FILE] [--now T] plan [--json]
 *   dunningctl [-c FILE] audit verify
 *   dunningctl [-c FILE] status
 *   dunningctl [-c FILE] in-doubt [--failed]
 *   dunningctl [-c FILE] resend REMINDER REASON
 *   dunningctl [-c FILE] mark-sent REMINDER NOTE
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "build_config.h"
#include "calendar.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "policy.h"
#include "store.h"

#define DEFAULT_CONFIG DUNNING_SYSCONFDIR "/dunningd.conf"

/* Exit statuses. */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_BROKEN = 3 };

struct ctl {
	struct config *cfg;
	struct store *store;
	time_t now;
	bool json;
	json_t *out;
};

/* Print the usage and exit with STATUS. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: dunningctl [-c FILE] [--now TIMESTAMP] COMMAND\n"
	    "commands:\n"
	    "  migrate          apply the pending schema migrations (idempotent)\n"
	    "  plan [--json]    what a cycle at --now would do; sends and writes nothing\n"
	    "  audit verify     recompute the audit log's hash chain\n"
	    "  status           database, schema, reminders per state, last start and send\n"
	    "  in-doubt [--failed]\n"
	    "                   reminders whose delivery is unknown (or that failed)\n"
	    "  resend ID REASON send a failed or in-doubt reminder again (same Message-ID)\n"
	    "  mark-sent ID NOTE record an in-doubt reminder as delivered\n"
	    "options:\n"
	    "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	    "      --now T        read the clock as T (ISO 8601 with offset)\n"
	    "exit status: 0 success, 1 failure, 2 usage, 3 audit chain broken\n");
	exit(status);
}

/* Load the configuration, set the zone and connect. */
static void
open_ctl(struct ctl *c, const char *path)
{
	struct config_diag diag = { 0 };
	char err[512];

	if ((c->cfg = config_load(path, &diag)) == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "%s\n", diag.errors[i]);
		exit(EX_FAIL);
	}
	config_diag_free(&diag);
	if (cal_set_timezone(c->cfg->schedule.timezone) < 0)
		fatalx("unknown time zone %s", c->cfg->schedule.timezone);
	if ((c->store = store_connect(c->cfg->conninfo, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	if (store_set_now(c->store, c->now) < 0)
		fatalx("%s", store_error(c->store));
}

/* plan: one line per decision. */
static void
print_decision(const struct policy_facts *f, const char *number, void *arg)
{
	struct ctl *c = arg;
	struct policy_decision d;
	char due[11] = "", at[32] = "";

	policy_decide(f, c->cfg, c->now, &d);
	if (d.action == POLICY_NOTHING)
		return;
	if (d.due_day != CAL_NONE)
		cal_format(d.due_day, due);
	if (d.send_at > 0)
		cal_format_instant(d.send_at, at);
	if (c->json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:s?, s:s, s:s, s:s?, s:s?}",
		    "invoice_number", number, "invoice_id", (json_int_t)f->invoice_id,
		    "client_id", (json_int_t)f->client_id,
		    "stage", d.stage >= 0 ? c->cfg->stages[d.stage].name : NULL,
		    "action", policy_action_name(d.action),
		    "reason", policy_reason_name(d.reason),
		    "due_on", due[0] ? due : NULL, "send_at", at[0] ? at : NULL);

		json_array_append_new(c->out, o);
	} else {
		printf("%-16s %-6s %-18s %-10s %s\n", number,
		    d.stage >= 0 ? c->cfg->stages[d.stage].name : "-",
		    policy_action_name(d.action), due[0] ? due : "-", policy_reason_name(d.reason));
	}
}

/* plan [--json] */
static int
cmd_plan(struct ctl *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = true;
		else
			usage(EX_USAGE);
	}
	if (c->json)
		c->out = json_array();
	else
		printf("%-16s %-6s %-18s %-10s %s\n", "INVOICE", "STAGE", "ACTION", "DUE", "REASON");
	if (store_each_candidate(c->store, c->cfg, c->now, print_decision, c) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	if (c->json) {
		/* One decision per line, the whole a JSON array. */
		size_t n = json_array_size(c->out);

		printf("[");
		for (size_t i = 0; i < n; i++) {
			char *s = json_dumps(json_array_get(c->out, i), JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("%s\n%s", i ? "," : "", s);
			free(s);
		}
		printf("%s]\n", n ? "\n" : "");
		json_decref(c->out);
	}
	return EX_OK;
}

/* audit verify */
static int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	int64_t bad = 0, n;
	char why[256];

	if (argc != 2 || strcmp(argv[1], "verify") != 0)
		usage(EX_USAGE);
	n = store_audit_verify(c->store, &bad, why, sizeof(why));
	if (n == -1) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	if (n == -2) {
		if (bad > 0)
			printf("audit chain BROKEN at row %lld: %s\n", (long long)bad, why);
		else
			printf("audit chain BROKEN: %s\n", why);
		return EX_BROKEN;
	}
	printf("audit chain OK: %lld rows verified\n", (long long)n);
	return EX_OK;
}

/* in-doubt: one line per reminder. */
static void
print_unsettled(const struct store_unsettled *u, void *arg)
{
	(void)arg;
	printf("%-8lld %-16s %-7lld %-6s %-3d %-20s %s\n    %s\n", (long long)u->id,
	    u->invoice_number, (long long)u->client_id, u->stage, u->attempts, u->updated_at,
	    u->message_id, u->why);
}

/* in-doubt [--failed] */
static int
cmd_unsettled(struct ctl *c, int argc, char **argv)
{
	const char *state = "in_doubt";
	int n;

	if (argc == 2 && strcmp(argv[1], "--failed") == 0)
		state = "failed";
	else if (argc != 1)
		usage(EX_USAGE);
	printf("%-8s %-16s %-7s %-6s %-3s %-20s %s\n", "ID", "INVOICE", "CLIENT", "STAGE", "TRY",
	    "SINCE", "MESSAGE-ID");
	if ((n = store_each_unsettled(c->store, state, print_unsettled, NULL)) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("%d reminder%s %s\n", n, n == 1 ? "" : "s", state);
	return EX_OK;
}

/* resend ID REASON, mark-sent ID NOTE */
static int
cmd_settle(struct ctl *c, const char *function, int argc, char **argv)
{
	char *end;
	long long id;

	if (argc != 3)
		usage(EX_USAGE);
	id = strtoll(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || id <= 0) {
		fprintf(stderr, "dunningctl: %s: not a reminder id\n", argv[1]);
		return EX_USAGE;
	}
	if (store_settle(c->store, function, id, argv[2]) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("reminder %lld: %s\n", id, strcmp(function, "resend") == 0 ?
	    "will be sent again at the next send window" : "recorded as sent");
	return EX_OK;
}

/* status: one "label: value" line. */
static void
print_status(const char *label, const char *value, void *arg)
{
	int *attention = arg;

	if ((strcmp(label, "in_doubt") == 0 || strcmp(label, "failed") == 0) &&
	    strcmp(value, "0") != 0)
		(*attention)++;
	printf("  %-20s %s\n", label, value);
}

/* status: is everything as it should be?  Exit 0, or 1 when reminders
 * wait for the operator (failed, in doubt). */
static int
cmd_status(struct ctl *c)
{
	int version = store_schema_version(c->store), attention = 0;

	printf("database             connected\n");
	printf("schema               version %d (this dunningctl knows %d)\n", version,
	    store_known_version());
	printf("reminders and activity\n");
	if (store_status(c->store, print_status, &attention) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	if (version != store_known_version()) {
		printf("attention: the schema is not the version this program knows\n");
		return EX_FAIL;
	}
	if (attention) {
		printf("attention: reminders wait for the operator (dunningctl in-doubt [--failed])\n");
		return EX_FAIL;
	}
	return EX_OK;
}

/* migrate */
static int
cmd_migrate(struct ctl *c)
{
	int n = store_migrate(c->store, stdout);

	if (n < 0) {
		fprintf(stderr, "dunningctl: migrate: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("schema at version %d (%d migration%s applied)\n", store_known_version(), n,
	    n == 1 ? "" : "s");
	return EX_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG;
	struct ctl c;
	struct clock clk;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	clock_init_real(&clk);
	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'n':
			if (cal_parse_instant(optarg, &c.now) < 0) {
				fprintf(stderr, "dunningctl: --now %s: not an ISO 8601 instant with "
				    "an offset\n", optarg);
				return EX_USAGE;
			}
			clock_init_at(&clk, c.now, true);
			break;
		case 'h': usage(EX_OK);
		case 'V': printf("dunningctl %s\n", DUNNING_VERSION); return EX_OK;
		default: usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(EX_USAGE);
	log_init("dunningctl", false);
	c.now = clock_now(&clk);
	open_ctl(&c, path);
	if (strcmp(argv[0], "migrate") == 0)
		rc = cmd_migrate(&c);
	else if (strcmp(argv[0], "plan") == 0)
		rc = cmd_plan(&c, argc, argv);
	else if (strcmp(argv[0], "audit") == 0)
		rc = cmd_audit(&c, argc, argv);
	else if (strcmp(argv[0], "status") == 0 && argc == 1)
		rc = cmd_status(&c);
	else if (strcmp(argv[0], "in-doubt") == 0)
		rc = cmd_unsettled(&c, argc, argv);
	else if (strcmp(argv[0], "resend") == 0)
		rc = cmd_settle(&c, "resend", argc, argv);
	else if (strcmp(argv[0], "mark-sent") == 0)
		rc = cmd_settle(&c, "mark_sent", argc, argv);
	else
		usage(EX_USAGE);
	store_close(c.store);
	config_free(c.cfg);
	return rc;
}
