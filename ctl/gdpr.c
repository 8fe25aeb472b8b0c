/*
 * gdpr — the GDPR tools: export-client (the client's access request)
 * and purge (anonymise the files closed for longer than the retention
 * period).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_db.h"
#include "gdpr_sql.h"

/* export-client ID: the document on stdout, the confirmation on stderr so
 * that stdout can go straight to a file. */
int
cmd_export_client(struct ctl *c, int argc, char **argv)
{
	static const struct { const char *key, *what; } parts[] = {
		{ "invoices", "invoice" }, { "payments", "payment" }, { "reminders", "reminder" },
		{ "messages", "message" }, { "audit", "audit row" },
	};
	json_t *doc;
	char *text;
	int64_t id;

	if (argc != 2)
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a client id", &id))
		return EX_USAGE;
	if ((doc = gdpr_sql_export_client(c->store, id)) == NULL)
		return ctl_refused(c);
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(doc);
		fprintf(stderr, "dunningctl: out of memory\n");
		return EX_FAIL;
	}
	if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "dunningctl: writing the export failed\n");
		free(text);
		json_decref(doc);
		return EX_FAIL;
	}
	fprintf(stderr, "client %lld exported:", (long long)id);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t n = json_array_size(json_object_get(doc, parts[i].key));

		fprintf(stderr, "%s %zu %s%s", i ? "," : "", n, parts[i].what, n == 1 ? "" : "s");
	}
	fprintf(stderr, "\n");
	free(text);
	json_decref(doc);
	return EX_OK;
}

/* purge: one line per client, under a header printed with the first. */
static void
print_purged(const struct gdpr_sql_purged *p, void *arg)
{
	bool *header = arg;

	if (!*header)
		printf("%-8s %-10s  %8s  %14s\n", "CLIENT", "CLOSED ON", "INVOICES",
		    "MESSAGE COPIES");
	*header = true;
	printf("%-8lld %-10s  %8d  %14d\n", (long long)p->client_id, p->closed_on, p->invoices,
	    p->copies);
}

/* purge [--dry-run] */
int
cmd_purge(struct ctl *c, int argc, char **argv)
{
	bool dry = false, header = false;
	int n, years = c->cfg->retention_years;

	if (argc == 2 && strcmp(argv[1], "--dry-run") == 0)
		dry = true;
	else if (argc != 1)
		return ctl_usage(c);
	if ((n = gdpr_sql_purge(c->store, years, dry, print_purged, &header)) < 0)
		return ctl_refused(c);
	if (dry)
		printf("%d client%s would be anonymised (closed more than %d year%s ago); "
		    "nothing changed\n", n, n == 1 ? "" : "s", years, years == 1 ? "" : "s");
	else
		printf("%d client%s anonymised (closed more than %d year%s ago)\n", n,
		    n == 1 ? "" : "s", years, years == 1 ? "" : "s");
	return EX_OK;
}
