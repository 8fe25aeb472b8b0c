/*
 * lawyer — the lawyers' commands: dispute, clear-dispute, acknowledge,
 * approve, reject, pause, pending, history, letter-sent, agreement-signed,
 * agreement-filed.
 *
 * Each action is one of the SQL functions of SPEC §3.1, which validates,
 * audits with the login as actor and wakes the daemon; dunningctl only
 * checks the shape of its arguments and says in one line what happened.
 * A refusal prints the server's own words and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "calendar.h"
#include "ctl.h"
#include "ctl_db.h"
#include "lawyer_sql.h"

/* dispute INVOICE REASON */
int
cmd_dispute(struct ctl *c, int argc, char **argv)
{
	const char *p[2];

	if (argc != 3)
		return ctl_usage(c);
	p[0] = argv[1];
	p[1] = argv[2];
	if (ctl_db_call(c->store, "flag_dispute", 2, p) < 0)
		return ctl_refused(c);
	printf("invoice %s: dispute recorded; its pending reminders are cancelled and none "
	    "leaves until the dispute is cleared\n", argv[1]);
	return EX_OK;
}

/* clear-dispute INVOICE NOTE */
int
cmd_clear_dispute(struct ctl *c, int argc, char **argv)
{
	const char *p[2];

	if (argc != 3)
		return ctl_usage(c);
	p[0] = argv[1];
	p[1] = argv[2];
	if (ctl_db_call(c->store, "clear_dispute", 2, p) < 0)
		return ctl_refused(c);
	printf("invoice %s: dispute cleared; the reminders resume, the next one not before "
	    "%d days from now\n", argv[1], c->cfg->schedule.min_gap_days);
	return EX_OK;
}

/* acknowledge INVOICE ON_DATE [--note TEXT]: a written acknowledgement of
 * the debt, signed by the client on ON_DATE (rule 14: it starts the
 * prescription period again). */
int
cmd_acknowledge(struct ctl *c, int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *note = NULL, *p[3];
	int npos = 0;

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
	if (cal_parse(pos[1]) == CAL_NONE) {
		fprintf(stderr, "dunningctl: %s: not a date (YYYY-MM-DD)\n", pos[1]);
		return EX_USAGE;
	}
	p[0] = pos[0];
	p[1] = pos[1];
	p[2] = note;
	if (ctl_db_call(c->store, "acknowledge_debt", 3, p) < 0)
		return ctl_refused(c);
	printf("invoice %s: acknowledgement of the debt on %s recorded; the prescription "
	    "period starts again from that day\n", pos[0], pos[1]);
	return EX_OK;
}

/* approve REMINDER */
int
cmd_approve(struct ctl *c, int argc, char **argv)
{
	char ib[24];
	const char *p[1] = { ib };
	int64_t id;

	if (argc != 2)
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a reminder id", &id))
		return EX_USAGE;
	snprintf(ib, sizeof(ib), "%lld", (long long)id);
	if (ctl_db_call(c->store, "approve", 1, p) < 0)
		return ctl_refused(c);
	printf("reminder %lld approved: it leaves at the next send window\n", (long long)id);
	return EX_OK;
}

/* reject REMINDER REASON */
int
cmd_reject(struct ctl *c, int argc, char **argv)
{
	char ib[24];
	const char *p[2] = { ib, NULL };
	int64_t id;

	if (argc != 3)
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a reminder id", &id))
		return EX_USAGE;
	snprintf(ib, sizeof(ib), "%lld", (long long)id);
	p[1] = argv[2];
	if (ctl_db_call(c->store, "reject", 2, p) < 0)
		return ctl_refused(c);
	printf("reminder %lld rejected: it will not be sent\n", (long long)id);
	return EX_OK;
}

/* pause --client ID|--invoice NUMBER (UNTIL|--lift) REASON */
int
cmd_pause(struct ctl *c, int argc, char **argv)
{
	const char *client = NULL, *invoice = NULL, *pos[2] = { NULL, NULL }, *p[3];
	char ib[24];
	int npos = 0;
	bool lift = false;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--client") == 0 && i + 1 < argc && client == NULL)
			client = argv[++i];
		else if (strcmp(argv[i], "--invoice") == 0 && i + 1 < argc && invoice == NULL)
			invoice = argv[++i];
		else if (strcmp(argv[i], "--lift") == 0)
			lift = true;
		else if (argv[i][0] == '-' && argv[i][1] == '-')
			return ctl_usage(c);
		else if (npos < 2)
			pos[npos++] = argv[i];
		else
			return ctl_usage(c);
	}
	if ((client == NULL) == (invoice == NULL) || npos != (lift ? 1 : 2))
		return ctl_usage(c);
	if (!lift && cal_parse(pos[0]) == CAL_NONE) {
		fprintf(stderr, "dunningctl: %s: not a date (YYYY-MM-DD)\n", pos[0]);
		return EX_USAGE;
	}
	p[1] = lift ? NULL : pos[0];
	p[2] = pos[npos - 1];
	if (client != NULL) {
		if (!ctl_parse_id(client, "a client id", &id))
			return EX_USAGE;
		snprintf(ib, sizeof(ib), "%lld", (long long)id);
		p[0] = ib;
	} else {
		p[0] = invoice;
	}
	if (ctl_db_call(c->store, client != NULL ? "pause_client" : "pause_invoice", 3, p) < 0)
		return ctl_refused(c);
	if (lift)
		printf("%s %s: pause lifted\n", client != NULL ? "client" : "invoice", p[0]);
	else
		printf("%s %s paused: no message before %s\n",
		    client != NULL ? "client" : "invoice", p[0], pos[0]);
	return EX_OK;
}

/* pending: one line per held reminder, or one JSON object. */
static void
print_held(const struct lawyer_sql_held *h, void *arg)
{
	json_t *out = arg;
	char id[24], bal[48];

	if (out != NULL) {
		json_array_append_new(out, json_pack("{s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, "
		    "s:s}", "reminder_id", (json_int_t)h->id, "invoice_number", h->invoice_number,
		    "client_id", (json_int_t)h->client_id, "client_name", h->client_name,
		    "balance", h->balance, "currency", h->currency, "stage", h->stage,
		    "since", h->since_utc, "why", h->why));
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)h->id);
	snprintf(bal, sizeof(bal), "%s %s", h->balance, h->currency);
	ctl_pad(id, 7, " ");
	ctl_pad(h->invoice_number, 16, " ");
	ctl_pad(h->client_name, 28, " ");
	printf("%15s  ", bal);
	ctl_pad(h->stage, 6, " ");
	ctl_pad(h->since, 17, " ");
	printf("%s\n", h->why);
}

/* pending [--json] */
int
cmd_pending(struct ctl *c, int argc, char **argv)
{
	json_t *out = NULL;
	int n;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		out = json_array();
	else if (argc != 1)
		return ctl_usage(c);
	if (out == NULL)
		printf("%-7s %-16s %-28s %15s  %-6s %-17s %s\n", "ID", "INVOICE", "CLIENT",
		    "BALANCE", "STAGE", "HELD SINCE", "WHY");
	if ((n = lawyer_sql_each_held(c->store, c->cfg->schedule.timezone, print_held, out)) < 0) {
		json_decref(out);
		return ctl_refused(c);
	}
	if (out != NULL) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		printf("%s\n", s);
		free(s);
		json_decref(out);
	} else {
		printf("%d reminder%s held for approval\n", n, n == 1 ? "" : "s");
	}
	return EX_OK;
}

/* What history has printed so far. */
struct hist_out {
	const char *tz;
	bool reminders, audit;
};

/* history: the invoice itself. */
static void
print_invoice(const struct lawyer_sql_invoice *inv, void *arg)
{
	(void)arg;
	printf("invoice %s: client %lld %s; %s %s, balance %s %s; issued %s, due %s; %s\n",
	    inv->number, (long long)inv->client_id, inv->client_name, inv->amount, inv->currency,
	    inv->balance, inv->currency, inv->issued_on, inv->due_on, inv->status);
	if (*inv->disputed_at)
		printf("  disputed since %s: %s\n", inv->disputed_at, inv->dispute_reason);
	if (*inv->paused_until)
		printf("  paused until %s\n", inv->paused_until);
}

/* history: one reminder or audit row. */
static void
print_hist(const struct lawyer_sql_hist *h, void *arg)
{
	struct hist_out *ho = arg;
	char id[24];

	if (!h->audit) {
		if (!ho->reminders) {
			printf("reminders (times in %s):\n", ho->tz);
			printf("  %-7s %-6s %-10s %-19s  %-16s  %-16s  %s\n", "ID", "STAGE", "STATE", "CREATED", "SCHEDULED", "SENT",
			    "MESSAGE-ID / REASON");
			ho->reminders = true;
		}
		printf("  %-7lld %-6s %-10s %-19s  %-16s  %-16s  %s\n", (long long)h->reminder_id,
		    h->stage, h->state, h->at, h->scheduled_for, *h->sent_at ? h->sent_at : "-",
		    *h->message_id ? h->message_id : h->reason);
		return;
	}
	if (!ho->audit) {
		if (!ho->reminders)
			printf("reminders: none\n");
		printf("audit (times in %s):\n", ho->tz);
		ho->audit = true;
	}
	if (h->reminder_id != 0)
		snprintf(id, sizeof(id), "reminder %lld", (long long)h->reminder_id);
	else
		snprintf(id, sizeof(id), "-");
	printf("  %s  ", h->at);
	ctl_pad(h->actor, 14, " ");
	ctl_pad(h->action, 18, " ");
	ctl_pad(id, 14, " ");
	printf("%s\n", h->details);
}

/* history INVOICE */
int
cmd_history(struct ctl *c, int argc, char **argv)
{
	struct hist_out ho = { c->cfg->schedule.timezone, false, false };

	if (argc != 2)
		return ctl_usage(c);
	if (lawyer_sql_history(c->store, argv[1], ho.tz, print_invoice, print_hist, &ho) < 0)
		return ctl_refused(c);
	if (!ho.reminders && !ho.audit)
		printf("reminders: none\naudit: none\n");
	else if (!ho.audit)
		printf("audit: none\n");
	return EX_OK;
}

/* letter-sent REMINDER --tracking NUMBER */
int
cmd_letter_sent(struct ctl *c, int argc, char **argv)
{
	const char *rem = NULL, *tracking = NULL;
	int64_t id;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tracking") == 0 && i + 1 < argc && tracking == NULL)
			tracking = argv[++i];
		else if (strncmp(argv[i], "--tracking=", 11) == 0 && tracking == NULL)
			tracking = argv[i] + 11;
		else if (rem == NULL && argv[i][0] != '-')
			rem = argv[i];
		else
			return ctl_usage(c);
	}
	if (rem == NULL || tracking == NULL)
		return ctl_usage(c);
	if (!ctl_parse_id(rem, "a reminder id", &id))
		return EX_USAGE;
	if (lawyer_sql_letter_sent(c->store, id, tracking) < 0)
		return ctl_refused(c);
	printf("reminder %lld: letter recorded as posted, tracking number %s\n", (long long)id,
	    tracking);
	return EX_OK;
}

/* agreement-signed|agreement-filed AGREEMENT DATE: rule 13, the day the
 * client signed a fee agreement, or the day one under partial legal aid
 * reached the bâtonnier (dunning.agreement_signed, agreement_filed). */
int
cmd_agreement(struct ctl *c, int argc, char **argv)
{
	bool filed = strcmp(argv[0], "agreement-filed") == 0;
	char ib[24];
	const char *p[2] = { ib, NULL };
	int64_t id;

	if (argc != 3)
		return ctl_usage(c);
	if (!ctl_parse_id(argv[1], "a fee agreement id", &id))
		return EX_USAGE;
	if (cal_parse(argv[2]) == CAL_NONE) {
		fprintf(stderr, "dunningctl: %s: not a date (YYYY-MM-DD)\n", argv[2]);
		return EX_USAGE;
	}
	snprintf(ib, sizeof(ib), "%lld", (long long)id);
	p[1] = argv[2];
	if (ctl_db_call(c->store, filed ? "agreement_filed" : "agreement_signed", 2, p) < 0)
		return ctl_refused(c);
	if (filed)
		printf("fee agreement %lld: recorded as filed with the bâtonnier on %s\n",
		    (long long)id, argv[2]);
	else
		printf("fee agreement %lld: recorded as signed on %s\n", (long long)id, argv[2]);
	return EX_OK;
}
