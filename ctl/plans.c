/*
 * plans — the payment-plan commands (SPEC §2 rule 11, §3.3): plans,
 * plan-propose, plan-approve, plan-reject, plan-cancel.
 *
 * As the lawyer's other commands: each action is one SQL function of
 * sql/functions/plans.sql, which checks the caller's right to the
 * invoices (row-level security), validates, audits with the login as
 * actor and wakes the daemon; dunningctl checks the shape of its
 * arguments and says in one line what happened.  A refusal prints the
 * server's own words and exits 1; a malformed command exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "ctl.h"
#include "ctl_db.h"
#include "plans_sql.h"

#define MAX_PLAN_INVOICES 64

/* plans: one row, as a table line or a JSON object of OUT. */
static void
print_plan(const struct plans_sql_row *r, void *arg)
{
	json_t *out = arg;

	if (out != NULL) {
		json_t *o = json_object();

		json_object_set_new(o, "plan_id", json_integer(strtoll(r->id, NULL, 10)));
		json_object_set_new(o, "client_name", json_string(r->client));
		json_object_set_new(o, "currency", json_string(r->currency));
		json_object_set_new(o, "state", json_string(r->state));
		json_object_set_new(o, "total", json_string(r->total));
		json_object_set_new(o, "paid", json_string(r->paid));
		json_object_set_new(o, "next_due_on", *r->next_due_on ? json_string(r->next_due_on) :
		    json_null());
		json_object_set_new(o, "next_amount", *r->next_amount ? json_string(r->next_amount) :
		    json_null());
		json_object_set_new(o, "late_amount", *r->late_amount ? json_string(r->late_amount) :
		    json_null());
		json_array_append_new(out, o);
		return;
	}
	printf("%-6s ", r->id);
	ctl_pad(r->client, 28, " ");
	printf("%-9s %-3s %12s %12s  %-10s %12s %12s\n", r->state, r->currency, r->total,
	    r->paid, *r->next_due_on ? r->next_due_on : "-",
	    *r->next_amount ? r->next_amount : "-", *r->late_amount ? r->late_amount : "-");
}

/* plans [--json] */
int
cmd_plans(struct ctl *c, int argc, char **argv)
{
	json_t *out = NULL;
	int n;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		out = json_array();
	else if (argc != 1)
		return ctl_usage(c);
	if (out == NULL)
		printf("%-6s %-28s %-9s %-3s %12s %12s  %-10s %12s %12s\n", "ID", "CLIENT", "STATE",
		    "CUR", "TOTAL", "PAID", "NEXT DUE", "NEXT", "LATE");
	if ((n = plans_sql_each(c->store, print_plan, out)) < 0) {
		json_decref(out);
		return ctl_refused(c);
	}
	if (out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", s);
		free(s);
		json_decref(out);
	} else {
		printf("%d payment plan%s\n", n, n == 1 ? "" : "s");
	}
	return EX_OK;
}

static void
print_instalment(const struct plans_sql_instalment *t, void *arg)
{
	(void)arg;
	printf("  instalment %s: %s on %s\n", t->seq, t->amount, t->due_on);
}

/* plan-propose INVOICE... --instalments N --first-due DATE [--note TEXT] */
int
cmd_plan_propose(struct ctl *c, int argc, char **argv)
{
	const char *numbers[MAX_PLAN_INVOICES], *n = NULL, *first = NULL, *note = NULL;
	char state[32];
	size_t k = 0;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instalments") == 0 && i + 1 < argc && n == NULL)
			n = argv[++i];
		else if (strcmp(argv[i], "--first-due") == 0 && i + 1 < argc && first == NULL)
			first = argv[++i];
		else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc && note == NULL)
			note = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			return ctl_usage(c);
		else if (k < MAX_PLAN_INVOICES)
			numbers[k++] = argv[i];
		else
			return ctl_usage(c);
	}
	if (k == 0 || n == NULL || first == NULL)
		return ctl_usage(c);
	if (strspn(n, "0123456789") != strlen(n) || strlen(n) == 0 || strlen(n) > 2) {
		fprintf(stderr, "dunningctl: %s: not a number of instalments\n", n);
		return EX_USAGE;
	}
	if (cal_parse(first) == CAL_NONE) {
		fprintf(stderr, "dunningctl: %s: not a date (YYYY-MM-DD)\n", first);
		return EX_USAGE;
	}
	if (plans_sql_propose(c->store, numbers, k, n, first, note, &id, state, sizeof(state),
	    print_instalment, NULL) < 0)
		return ctl_refused(c);
	if (strcmp(state, "active") == 0)
		printf("plan %lld: accepted at once; the reminders of its invoices are suspended "
		    "while it runs\n", (long long)id);
	else
		printf("plan %lld: %s, waiting for a lawyer's approval (dunningctl plan-approve "
		    "%lld)\n", (long long)id, state, (long long)id);
	return EX_OK;
}

/* plan-approve ID | plan-reject ID REASON | plan-cancel ID REASON */
int
cmd_plan_decide(struct ctl *c, int argc, char **argv)
{
	bool approve = strcmp(argv[0], "plan-approve") == 0;
	char ib[24];
	const char *p[2] = { ib, argc > 2 ? argv[2] : NULL };
	int64_t id;

	if (argc != (approve ? 2 : 3))
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a plan id", &id))
		return EX_USAGE;
	snprintf(ib, sizeof(ib), "%lld", (long long)id);
	if (ctl_db_call(c->store, approve ? "approve_plan" : strcmp(argv[0], "plan-reject") == 0 ?
	    "reject_plan" : "cancel_plan", approve ? 1 : 2, p) < 0)
		return ctl_refused(c);
	if (approve)
		printf("plan %lld approved: active from now; the reminders of its invoices are "
		    "suspended while it runs\n", (long long)id);
	else if (strcmp(argv[0], "plan-reject") == 0)
		printf("plan %lld rejected: the reminders of its invoices go on\n", (long long)id);
	else
		printf("plan %lld cancelled: the reminders of its invoices resume, the next one "
		    "not before %d days from now\n", (long long)id, c->cfg->schedule.min_gap_days);
	return EX_OK;
}
