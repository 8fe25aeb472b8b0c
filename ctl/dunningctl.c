/*
 * dunningctl — the operator's and lawyers' command-line tool.
 *
 * Every command is one entry of the table below: its usage, what it does,
 * and the function that runs it (the lawyers' commands live in lawyer.c,
 * preview in preview.c, the GDPR tools in gdpr.c, rates in rates.c; the
 * helpers they share in ctl.c).  doc/dunningctl.1 is the manual.
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
#include "ctl.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "ctl_db.h"
#include "plan.h"
#include "ops_sql.h"

#define DEFAULT_CONFIG DUNNING_SYSCONFDIR "/dunningd.conf"

/* plan --json collects its decisions here. */
struct plan_out {
	struct ctl *c;
	bool json;
	json_t *out;
};

/* Load the configuration, set the zone and connect, as USER when given
 * (a lawyer's own login: row-level security then shows that lawyer's
 * files only). */
static void
open_ctl(struct ctl *c, const char *path, const char *user)
{
	struct config_diag diag = { 0 };
	char err[512], *conninfo = NULL;

	if ((c->cfg = config_load(path, &diag)) == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "%s\n", diag.errors[i]);
		exit(EX_FAIL);
	}
	config_diag_free(&diag);
	if (cal_set_timezone(c->cfg->schedule.timezone) < 0)
		fatalx("unknown time zone %s", c->cfg->schedule.timezone);
	if (user != NULL &&
	    (conninfo = ctl_db_conninfo_with_user(c->cfg->conninfo, user, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	c->store = store_connect(conninfo != NULL ? conninfo : c->cfg->conninfo, err, sizeof(err));
	free(conninfo);
	if (c->store == NULL)
		fatalx("database: %s", err);
	if (store_set_now(c->store, c->now) < 0)
		fatalx("%s", store_error(c->store));
}

/* plan: one line per decision. */
static void
print_decision(const struct policy_facts *f, const char *number, void *arg)
{
	struct plan_out *po = arg;
	struct ctl *c = po->c;
	struct policy_decision d;
	char due[11] = "", at[32] = "";

	policy_decide(f, c->cfg, c->now, &d);
	if (d.action == POLICY_NOTHING)
		return;
	if (d.due_day != CAL_NONE)
		cal_format(d.due_day, due);
	if (d.send_at > 0)
		cal_format_instant(d.send_at, at);
	if (po->json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:s?, s:s, s:s, s:s?, s:s?}",
		    "invoice_number", number, "invoice_id", (json_int_t)f->invoice_id,
		    "client_id", (json_int_t)f->client_id,
		    "stage", d.stage >= 0 ? c->cfg->stages[d.stage].name : NULL,
		    "action", policy_action_name(d.action),
		    "reason", reason_text(d.reason, true),
		    "due_on", due[0] ? due : NULL, "send_at", at[0] ? at : NULL);

		json_array_append_new(po->out, o);
	} else {
		printf("%-16s %-6s %-18s %-10s %s\n", number,
		    d.stage >= 0 ? c->cfg->stages[d.stage].name : "-",
		    policy_action_name(d.action), due[0] ? due : "-", reason_text(d.reason, true));
	}
}

/* plan [--json] */
static int
cmd_plan(struct ctl *c, int argc, char **argv)
{
	struct plan_out po = { c, false, NULL };

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			po.json = true;
		else
			return ctl_usage(c);
	}
	if (po.json)
		po.out = json_array();
	else
		printf("%-16s %-6s %-18s %-10s %s\n", "INVOICE", "STAGE", "ACTION", "DUE", "REASON");
	if (plan_each_candidate(c->store, c->cfg, c->now, PLAN_CHASED, print_decision, &po) < 0) {
		json_decref(po.out);
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	if (po.json) {
		/* One decision per line, the whole a JSON array. */
		size_t n = json_array_size(po.out);

		printf("[");
		for (size_t i = 0; i < n; i++) {
			char *s = json_dumps(json_array_get(po.out, i), JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("%s\n%s", i ? "," : "", s);
			free(s);
		}
		printf("%s]\n", n ? "\n" : "");
		json_decref(po.out);
	}
	return EX_OK;
}

/* audit verify [--head SEQ:HASH] */
static int
cmd_audit(struct ctl *c, int argc, char **argv)
{
	struct store_audit_head published, head;
	int64_t bad = 0, n;
	char why[256], line[STORE_AUDIT_HEAD_TEXT];
	bool check_head = false;

	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return ctl_usage(c);
	if (argc == 4 && strcmp(argv[2], "--head") == 0) {
		if (store_audit_head_parse(argv[3], &published) < 0) {
			fprintf(stderr, "dunningctl: audit verify --head %s: write the head as "
			    "published, SEQ:HASH (the row's sequence number in decimal, a colon, "
			    "its SHA-256 in 64 hex digits), e.g. 1234:%.64s\n", argv[3],
			    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
			return EX_USAGE;
		}
		check_head = true;
	} else if (argc != 2) {
		return ctl_usage(c);
	}
	n = store_audit_verify(c->store, check_head ? &published : NULL, &head, &bad, why,
	    sizeof(why));
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
	store_audit_head_format(&head, line);
	printf("audit chain OK: %lld rows verified\n", (long long)n);
	if (check_head) {
		char was[STORE_AUDIT_HEAD_TEXT];

		store_audit_head_format(&published, was);
		printf("the published %s is in the chain\n", was);
	}
	printf("%s\n", line);
	return EX_OK;
}

/* in-doubt: one line per reminder. */
static void
print_unsettled(const struct ops_unsettled *u, void *arg)
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
		return ctl_usage(c);
	printf("%-8s %-16s %-7s %-6s %-3s %-20s %s\n", "ID", "INVOICE", "CLIENT", "STAGE", "TRY",
	    "SINCE", "MESSAGE-ID");
	if ((n = ops_each_unsettled(c->store, state, print_unsettled, NULL)) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("%d reminder%s %s\n", n, n == 1 ? "" : "s", state);
	return EX_OK;
}

/* resend ID REASON, mark-sent ID NOTE */
static int
cmd_settle(struct ctl *c, int argc, char **argv)
{
	bool resend = strcmp(argv[0], "resend") == 0;
	int64_t id;

	if (argc != 3)
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a reminder id", &id))
		return EX_USAGE;
	if (ops_settle(c->store, resend ? "resend" : "mark_sent", id, argv[2]) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("reminder %lld: %s\n", (long long)id, resend ?
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
	if (strcmp(label, "relay") == 0 && strcmp(value, "ok") != 0)
		attention[1]++;
	printf("  %-20s %s\n", label, value);
}

/* status: is everything as it should be?  Exit 0, or 1 when reminders
 * wait for the operator (failed, in doubt) or the relay refuses the
 * session. */
/* status: the server's replication, and a warning (not an error: the
 * exit status is unchanged) when it is a primary whose replicas are not
 * synchronous (doc/operations.md). */
static void
print_replication(struct store *s)
{
	struct store_replication r;
	char msg[512];

	if (store_replication(s, &r) < 0) {
		printf("replication          unknown (%s)\n", store_error(s));
		return;
	}
	if (r.standby)
		printf("replication          this server is a standby\n");
	else if (r.replicas == 0)
		printf("replication          none\n");
	else if (r.unknown > 0)
		printf("replication          %d replica(s), synchronous_standby_names %s "
		    "(sync_state needs pg_read_all_stats)\n", r.replicas,
		    r.names_set ? "set" : "empty");
	else
		printf("replication          %d replica(s), %d synchronous\n", r.replicas, r.sync);
	if (store_replication_warning(&r, msg, sizeof(msg)))
		printf("warning: %s\n", msg);
}

static int
cmd_status(struct ctl *c, int argc, char **argv)
{
	int version, attention[2] = { 0, 0 };	/* reminders, the relay */

	(void)argv;
	if (argc != 1)
		return ctl_usage(c);
	version = store_schema_version(c->store);
	printf("database             connected\n");
	printf("schema               version %d (this dunningctl knows %d)\n", version,
	    store_known_version());
	printf("reminders and activity\n");
	if (ops_status(c->store, print_status, attention) < 0) {
		fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	print_replication(c->store);
	if (version != store_known_version()) {
		printf("attention: the schema is not the version this program knows\n");
		return EX_FAIL;
	}
	if (store_repeatables_current(c->store) != 1) {
		printf("attention: the SQL functions and views are not those this program "
		    "carries (dunningctl migrate)\n");
		return EX_FAIL;
	}
	if (attention[1]) {
		printf("attention: the relay refuses the firm's session: nothing is sent until "
		    "smtp.username, the password or token, or smtp.from are put right\n");
		return EX_FAIL;
	}
	if (attention[0]) {
		printf("attention: reminders wait for the operator (dunningctl in-doubt [--failed])\n");
		return EX_FAIL;
	}
	return EX_OK;
}

/* migrate */
static int
cmd_migrate(struct ctl *c, int argc, char **argv)
{
	int n, r;

	(void)argv;
	if (argc != 1)
		return ctl_usage(c);
	if ((n = store_migrate(c->store, stdout, &r)) < 0) {
		fprintf(stderr, "dunningctl: migrate: %s\n", store_error(c->store));
		return EX_FAIL;
	}
	printf("schema at version %d (%d migration%s applied)\n", store_known_version(), n,
	    n == 1 ? "" : "s");
	printf("functions and views up to date (%d repeatable file%s applied)\n", r,
	    r == 1 ? "" : "s");
	return EX_OK;
}

static const struct ctl_command commands[] = {
	{ "pending", "[--json]", "the reminders held for approval", cmd_pending, true },
	{ "approve", "REMINDER", "let a held reminder leave at the next window", cmd_approve,
	  true },
	{ "reject", "REMINDER REASON", "cancel a held reminder", cmd_reject, true },
	{ "dispute", "INVOICE REASON", "flag a dispute: no reminder leaves any more",
	  cmd_dispute, true },
	{ "clear-dispute", "INVOICE NOTE", "clear the dispute: the reminders resume",
	  cmd_clear_dispute, true },
	{ "acknowledge", "INVOICE ON_DATE [--note TEXT]", "record the client's written "
	    "acknowledgement of the debt: the prescription starts again", cmd_acknowledge, true },
	{ "pause", "--client ID|--invoice NUMBER UNTIL|--lift REASON",
	  "no message before UNTIL, or lift the pause", cmd_pause, true },
	{ "history", "INVOICE", "the invoice's reminders and audit rows", cmd_history, true },
	{ "preview", "[--raw] REMINDER | [--raw] --invoice NUMBER --stage NAME",
	  "the message exactly as it would leave", cmd_preview, true },
	{ "letter-sent", "REMINDER --tracking NUMBER", "record a formal notice's tracking number",
	  cmd_letter_sent, true },
	{ "agreement-signed", "AGREEMENT DATE", "record the day a fee agreement was signed",
	  cmd_agreement, true },
	{ "agreement-filed", "AGREEMENT DATE", "record the day a partial legal-aid agreement "
	    "reached the bâtonnier", cmd_agreement, true },
	/* payment plans (SPEC §2 rule 11): ctl/plans.c */
	{ "plans", "[--json]", "the payment plans, with the next instalment and what is late",
	  cmd_plans, true },
	{ "plan-propose", "INVOICE... --instalments N --first-due DATE [--note TEXT]",
	  "propose a payment plan: accepted at once under plan.auto_accept_max, else held",
	  cmd_plan_propose, true },
	{ "plan-approve", "ID", "accept a payment plan waiting for approval", cmd_plan_decide,
	  true },
	{ "plan-reject", "ID REASON", "refuse a payment plan waiting for approval",
	  cmd_plan_decide, true },
	{ "plan-cancel", "ID REASON", "end a proposed or active payment plan: the reminders "
	    "resume", cmd_plan_decide, true },
	{ "reports", "[--all] [--json]", "the clients' reports from their page, with their "
	    "words", cmd_reports, true },
	{ "report-handle", "REPORT dispute|resume|plan|paid [--note TEXT]", "record the "
	    "decision on a client's report", cmd_report_handle, true },
	{ "status", "", "connection, schema, reminders per state", cmd_status, false },
	{ "rates", "", "the legal-rate table in force, and the half-years open invoices "
	    "lack (exit 1)", cmd_rates, false },
	{ "migrate", "", "apply the pending schema migrations", cmd_migrate, false },
	{ "plan", "[--json]", "what a cycle at --now would do (writes nothing)", cmd_plan,
	  false },
	{ "audit", "verify [--head SEQ:HASH]", "recompute the audit log's hash chain (against a "
	    "head published earlier)", cmd_audit, false },
	{ "in-doubt", "[--failed]", "the reminders in doubt (or failed)", cmd_unsettled, false },
	{ "resend", "REMINDER REASON", "send a failed or in-doubt reminder again", cmd_settle,
	  false },
	{ "mark-sent", "REMINDER NOTE", "record an in-doubt reminder as delivered", cmd_settle,
	  false },
	{ "export-client", "ID [--output FILE]", "all data held on a client, as JSON (GDPR)",
	  cmd_export_client, false },
	{ "purge", "[--dry-run]", "anonymise files closed beyond retention.years", cmd_purge,
	  false },
	{ "import", "invoices|clients|payments FILE.csv [--dry-run]", "the practice software's "
	    "CSV export: good rows in, bad ones reported by line (exit 1)", cmd_import, false },
	{ "import-statement", "FILE [--dry-run] [--unmatched] | --unmatched", "a bank statement "
	    "(camt.053/054, CFONB 120): its transfers become payments", cmd_import_statement,
	  false },
	{ "payment-assign", "ENTRYREF INVOICE", "place an unmatched transfer on its invoice",
	  cmd_payment_assign, false },
	{ NULL, NULL, NULL, NULL, false },
};

/* The command called NAME, or NULL. */
static const struct ctl_command *
find_command(const char *name)
{
	for (const struct ctl_command *k = commands; name != NULL && k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* The usage of every command, to OUT. */
static void
list_commands(FILE *out, bool lawyer)
{
	for (const struct ctl_command *k = commands; k->name != NULL; k++) {
		char line[128];

		if (k->lawyer != lawyer)
			continue;
		snprintf(line, sizeof(line), "%s%s%s", k->name, *k->args ? " " : "", k->args);
		if (strlen(line) > 30)
			fprintf(out, "  %s\n  %-30s %s\n", line, "", k->summary);
		else
			fprintf(out, "  %-30s %s\n", line, k->summary);
	}
}

/* Print the usage and exit with STATUS. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *out = status ? stderr : stdout;

	fprintf(out, "usage: dunningctl [-c FILE] [-U ROLE] [--now TIMESTAMP] COMMAND [ARGS]\n"
	    "       dunningctl COMMAND --help\n"
	    "lawyers' commands:\n");
	list_commands(out, true);
	fprintf(out, "operator's commands:\n");
	list_commands(out, false);
	fprintf(out, "options:\n"
	    "  -c, --config FILE  configuration (default " DEFAULT_CONFIG ")\n"
	    "  -U, --user ROLE    connect as ROLE instead of database.conninfo's user\n"
	    "      --now T        read the clock as T (ISO 8601 with offset)\n"
	    "  -h, --help         this list;  -V, --version\n"
	    "exit status: 0 success, 1 refused or failed (status, rates: attention needed),\n"
	    "  2 usage, 3 audit chain broken\n"
	    "see dunningctl(1)\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'U' },
		{ "now", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *user = NULL;
	const struct ctl_command *k;
	struct ctl c;
	struct clock clk;
	int ch, rc;

	memset(&c, 0, sizeof(c));
	clock_init_real(&clk);
	while ((ch = getopt_long(argc, argv, "+c:U:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'U':
			if (*optarg == '\0') {
				fprintf(stderr, "dunningctl: --user: empty role name\n");
				return EX_USAGE;
			}
			user = optarg;
			break;
		case 'n':
			if (cal_parse_instant(optarg, &c.now) < 0) {
				fprintf(stderr, "dunningctl: --now %s: not an ISO 8601 instant with "
				    "an offset\n", optarg);
				return EX_USAGE;
			}
			clock_init_at(&clk, c.now, true);
			c.clock_set = true;
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
	if ((k = find_command(argv[0])) == NULL) {
		fprintf(stderr, "dunningctl: %s: unknown command (dunningctl --help lists them)\n",
		    argv[0]);
		return EX_USAGE;
	}
	c.command = k;
	/* COMMAND --help needs neither the configuration nor the database. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_command_usage(stdout, k);
			return EX_OK;
		}
	log_init("dunningctl", false);
	c.now = clock_now(&clk);
	open_ctl(&c, path, user);
	rc = k->run(&c, argc, argv);
	store_close(c.store);
	config_free(c.cfg);
	return rc;
}
