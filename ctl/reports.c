/*
 * reports — the clients' reports (SPEC §2 rule 12): reports [--all]
 * [--json] lists them with the client's own words (which no e-mail
 * carries), report-handle ID OUTCOME [--note TEXT] records the lawyer's
 * decision through dunning.handle_report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_db.h"
#include "reports_sql.h"

/* reports: one report, as text (ARG NULL) or into the JSON array ARG. */
static void
print_report(const struct reports_sql_row *r, void *arg)
{
	json_t *out = arg;

	if (out != NULL) {
		json_array_append_new(out, json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s?, s:s, "
		    "s:s}", "id", (json_int_t)r->id, "client_id", (json_int_t)r->client_id,
		    "client_name", r->client_name, "received_at", r->received_at, "category",
		    r->category, "state", r->state, "outcome", *r->outcome ? r->outcome : NULL,
		    "invoices", r->invoices, "message", r->message));
		return;
	}
	printf("report %lld  %s  client %lld %s  %s  %s%s%s\n  invoices: %s\n",
	    (long long)r->id, r->received_at, (long long)r->client_id, r->client_name,
	    r->category, r->state, *r->outcome ? ": " : "", r->outcome, r->invoices);
	if (*r->message) {
		const char *p = r->message;

		/* The client's words, each line indented: a line of theirs
		 * never reads as one of ours. */
		while (*p) {
			size_t n = strcspn(p, "\n");

			printf("  | %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
}

/* reports [--all] [--json] */
int
cmd_reports(struct ctl *c, int argc, char **argv)
{
	json_t *out = NULL;
	bool all = false;
	int n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && out == NULL)
			out = json_array();
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else {
			json_decref(out);
			return ctl_usage(c);
		}
	}
	if ((n = reports_sql_each(c->store, c->cfg->schedule.timezone, all, print_report,
	    out)) < 0) {
		json_decref(out);
		return ctl_refused(c);
	}
	if (out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", s);
		free(s);
		json_decref(out);
	} else {
		printf("%d %sreport%s\n", n, all ? "" : "open ", n == 1 ? "" : "s");
	}
	return EX_OK;
}

/* report-handle ID OUTCOME [--note TEXT] */
int
cmd_report_handle(struct ctl *c, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *note = NULL, *p[3];
	int npos = 0;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--note") == 0 && i + 1 < argc && note == NULL)
			note = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			return ctl_usage(c);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return ctl_usage(c);
	}
	if (npos != 2)
		return ctl_usage(c);
	if (!ctl_parse_id(pos[0], "report", &id))
		return EX_USAGE;
	p[0] = pos[0];
	p[1] = pos[1];
	p[2] = note;
	if (ctl_db_call(c->store, "handle_report", 3, p) < 0)
		return ctl_refused(c);
	printf("report %s: %s recorded; %s\n", pos[0], pos[1],
	    strcmp(pos[1], "dispute") == 0 ? "its invoices are disputed" :
	    strcmp(pos[1], "resume") == 0 ? "the reminders of its invoices resume" :
	    strcmp(pos[1], "plan") == 0 ? "the plan's instalments now drive its invoices" :
	    "its invoices are settled");
	return EX_OK;
}
