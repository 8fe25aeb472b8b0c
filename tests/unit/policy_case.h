/*
 * policy_case — the table-driven harness of the policy tests: a case is an
 * invoice, its reminder rows, an instant and the decision policy_decide
 * must take; run_table() decides each case and compares.  Header-only,
 * like tap.h: one test program includes it once.
 *
 * Every expectation is worked out by hand from the SPEC with the default
 * configuration of §3.2:
 *
 *   stages j3 / j10 / j30 / j45 at J+3 / J+10 / J+30 / J+45, j45 a letter
 *   with requires_approval; approval from j30 at 5 000.00 EUR; min_gap_days
 *   5; payment_grace_hours 24; window 09:00–18:00 on business days,
 *   Europe/Paris; escalation 15 days after the last stage.
 *
 * Unless a case says otherwise the invoice is due on Monday 2 March 2026 for
 * 1 200.00 EUR, so j3 is due Thursday 5 March, j10 Thursday 12 March, j30
 * Wednesday 1 April and j45 Thursday 16 April.  Instants are Paris wall
 * time ("2026-03-05 09:00"; CET until 29 March, CEST after) or ISO 8601
 * with an explicit offset where daylight saving time is the point.
 */
#ifndef DUNNING_POLICY_CASE_H
#define DUNNING_POLICY_CASE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "config.h"
#include "policy.h"
#include "tap.h"

/* An expected enum value in the table; 0 means "not checked". */
#define WANT(x) ((x) + 1)

/* One existing reminder row. */
struct row {
	const char *stage;	/* NULL ends the list; a name no stage has is -1 */
	enum reminder_state state;
	const char *scheduled;
	const char *sent;
	const char *decided;
	bool rejected;
	const char *posted;	/* a letter recorded posted (letter_sent), or NULL */
};

#define SENT(st, at)		{ st, RS_SENT, at, at, NULL, false }
#define ROW(st, state, at)	{ st, state, at, NULL, NULL, false }
#define APPROVED(st, at, by)	{ st, RS_APPROVED, at, NULL, by, false }
#define REJECTED(st, at, by)	{ st, RS_CANCELLED, at, NULL, by, true }
#define POSTED(st, at, post)	{ st, RS_SENT, at, at, NULL, false, post }

/* The stages of the default invoice, sent on their due days. */
#define J3	SENT("j3", "2026-03-05 09:00")
#define J10	SENT("j10", "2026-03-12 09:00")
#define J30	SENT("j30", "2026-04-01 09:00")
#define J45	SENT("j45", "2026-04-20 10:00")

/* One case: the facts, now, and the decision expected. */
struct pcase {
	const char *name;

	const char *due;		/* NULL: 2026-03-02 */
	const char *balance;		/* "1200.00"; NULL: 1200.00 */
	const char *currency;		/* NULL: EUR */
	enum invoice_status status;
	bool disputed;
	bool reported;		/* an open client report (rule 12) */
	const char *cleared;		/* dispute cleared at; NULL: never */
	bool plan_active;		/* in an active payment plan (rule 11) */
	const char *plan_ended;		/* an accepted plan broke or was cancelled at */
	const char *inv_pause;		/* paused_until dates; NULL: none */
	const char *cli_pause;
	bool strategic;
	const char *paid_at;		/* last payment; NULL: none */
	bool escalated;
	bool all_days;			/* schedule.business_days_only = false */
	bool j45_free;			/* stage j45 requires_approval = false */
	struct row rows[CONFIG_MAX_STAGES];
	const char *now;

	enum policy_action action;
	const char *stage;		/* NULL: no stage (-1) */
	int reason;			/* WANT(REASON_…) or 0 */
	int op;				/* WANT(ROW_…) or 0 */
	int state;			/* WANT(RS_…) or 0: the new state */
	const char *due_day;		/* NULL: not checked */
	const char *send_at;		/* NULL: not checked */
	const char *look;		/* policy_next_look(): "none" (0), an
					 * instant, or NULL: not checked */
};

/* The instant of a table string: ISO 8601 with an offset, or Paris wall
 * time "YYYY-MM-DD HH:MM"; a typo in the table is fatal. */
static time_t
when(const char *s)
{
	char date[11];
	time_t t;
	int hh, mm;
	cal_day day;

	if (cal_parse_instant(s, &t) == 0)
		return t;
	if (strlen(s) == 16 && sscanf(s + 11, "%2d:%2d", &hh, &mm) == 2) {
		memcpy(date, s, 10);
		date[10] = '\0';
		if ((day = cal_parse(date)) != CAL_NONE && s[10] == ' ')
			return cal_local_time(day, hh * 60 + mm);
	}
	printf("Bail out! bad instant in the table: %s\n", s);
	exit(2);
}

/* The date of a table string; a typo is fatal. */
static cal_day
date_of(const char *s)
{
	cal_day d = cal_parse(s);

	if (d == CAL_NONE) {
		printf("Bail out! bad date in the table: %s\n", s);
		exit(2);
	}
	return d;
}

/* Cents of an amount "-1234.56"; a typo is fatal. */
static int64_t
cents(const char *s)
{
	long long units;
	int frac, len;

	if (sscanf(s, "%lld.%2d%n", &units, &frac, &len) != 2 || s[len] != '\0' ||
	    strlen(strchr(s, '.')) != 3) {
		printf("Bail out! bad amount in the table: %s\n", s);
		exit(2);
	}
	return s[0] == '-' ? units * 100 - frac : units * 100 + frac;
}

/* Index of stage NAME in CFG, -1 when it has none. */
static int
stage_ix(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nstages; i++)
		if (strcmp(cfg->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The configuration of SPEC §3.2 with its defaults, tweaked by case C. */
static void
make_config(struct config *cfg, const struct pcase *c)
{
	static const struct config_stage stages[] = {
		{ "j3", 3, "j03", CONFIG_CHANNEL_EMAIL, false, false },
		{ "j10", 10, "j10", CONFIG_CHANNEL_EMAIL, false, false },
		{ "j30", 30, "j30", CONFIG_CHANNEL_EMAIL, true, false },
		{ "j45", 45, "j45", CONFIG_CHANNEL_LETTER, true, true },
	};
	static struct config_threshold eur[] = { { "EUR", 500000 } };
	static char tz[] = "Europe/Paris";

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->stages, stages, sizeof(stages));
	cfg->nstages = sizeof(stages) / sizeof(stages[0]);
	cfg->schedule.timezone = tz;
	cfg->schedule.window_start_min = 9 * 60;
	cfg->schedule.window_end_min = 18 * 60;
	cfg->schedule.business_days_only = !c->all_days;
	cfg->schedule.poll_interval = 60;
	cfg->schedule.min_gap_days = 5;
	cfg->schedule.payment_grace_hours = 24;
	cfg->approval_from_stage = stage_ix(cfg, "j30");
	cfg->thresholds = eur;
	cfg->nthresholds = 1;
	cfg->escalation_after_days = 15;
	if (c->j45_free)
		cfg->stages[stage_ix(cfg, "j45")].requires_approval = false;
}

/* The policy facts of case C. */
static void
make_facts(const struct config *cfg, const struct pcase *c, struct policy_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->invoice_id = 1;
	f->client_id = 1;
	f->due_on = date_of(c->due ? c->due : "2026-03-02");
	f->balance_cents = cents(c->balance ? c->balance : "1200.00");
	snprintf(f->currency, sizeof(f->currency), "%s", c->currency ? c->currency : "EUR");
	f->status = c->status;
	f->disputed = c->disputed;
	f->reported = c->reported;
	f->dispute_cleared_at = c->cleared ? when(c->cleared) : 0;
	f->plan_active = c->plan_active;
	f->plan_ended_at = c->plan_ended ? when(c->plan_ended) : 0;
	f->invoice_paused_until = c->inv_pause ? date_of(c->inv_pause) : CAL_NONE;
	f->client_paused_until = c->cli_pause ? date_of(c->cli_pause) : CAL_NONE;
	f->strategic = c->strategic;
	f->last_payment_at = c->paid_at ? when(c->paid_at) : 0;
	f->escalated = c->escalated;
	for (int i = 0; i < CONFIG_MAX_STAGES && c->rows[i].stage != NULL; i++) {
		const struct row *r = &c->rows[i];
		struct policy_reminder *p = &f->reminders[f->nreminders++];

		p->id = 11 + i;
		p->stage = stage_ix(cfg, r->stage);
		p->state = r->state;
		p->scheduled_for = r->scheduled ? when(r->scheduled) : 0;
		p->sent_at = r->sent ? when(r->sent) : 0;
		p->decided_at = r->decided ? when(r->decided) : 0;
		p->rejected = r->rejected;
		p->posted_at = r->posted ? when(r->posted) : 0;
	}
}

/* The id make_facts gave the row of stage STAGE, or 0. */
static int64_t
row_id(const struct config *cfg, const struct pcase *c, int stage)
{
	for (int i = 0; i < CONFIG_MAX_STAGES && c->rows[i].stage != NULL; i++)
		if (stage_ix(cfg, c->rows[i].stage) == stage)
			return 11 + i;
	return 0;
}

/* Paris wall time of T, for diagnostics. */
static const char *
show_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	if (t == 0)
		snprintf(buf, n, "0");
	else if (strftime(buf, n, "%Y-%m-%d %H:%M %z", localtime_r(&t, &tm)) == 0)
		snprintf(buf, n, "?");
	return buf;
}

/* A decision in one line, for diagnostics. */
static void
show(const struct config *cfg, const struct policy_decision *d, char *buf, size_t n)
{
	static const char *const ops[] = { "keep", "create", "update", "cancel_pending" };
	char day[16] = "-", at[40];

	if (d->due_day != CAL_NONE)
		cal_format(d->due_day, day);
	snprintf(buf, n, "%s %s (%s) op %s %s id %lld, due %s, send_at %s",
	    policy_action_name(d->action), d->stage >= 0 ? cfg->stages[d->stage].name : "-",
	    reason_text(d->reason, true), ops[d->op], reminder_state_name(d->new_state),
	    (long long)d->reminder_id, day, show_time(d->send_at, at, sizeof(at)));
}

/* What SPEC §2 says of any decision, whatever the case: a message leaves
 * only inside the window, never before now, never before its due date. */
static const char *
invariant(const struct config *cfg, const struct policy_decision *d, time_t now)
{
	struct cal_window w = policy_window(cfg);

	if (d->action == POLICY_SEND && d->send_at > now)
		return "send with send_at in the future";
	if (d->action == POLICY_WAIT && d->stage >= 0 && d->due_day != CAL_NONE &&
	    d->send_at <= now)
		return "wait with send_at not in the future";
	if ((d->action == POLICY_SEND || d->action == POLICY_WAIT || d->action == POLICY_HOLD) &&
	    d->stage >= 0 && d->due_day != CAL_NONE) {
		if (!cal_in_window(&w, d->send_at))
			return "send_at outside the send window";
		if (cal_local_day(d->send_at) < d->due_day)
			return "send_at before the due day";
	}
	return NULL;
}

/* Decide case C and compare with what it expects. */
static void
run_case(const struct pcase *c)
{
	struct config cfg;
	struct policy_facts f;
	struct policy_decision d;
	time_t now = when(c->now);
	int stage;
	char got[320], why[200] = "";
	const char *inv;

	make_config(&cfg, c);
	make_facts(&cfg, c, &f);
	stage = c->stage ? stage_ix(&cfg, c->stage) : -1;
	policy_decide(&f, &cfg, now, &d);

	if (d.action != c->action)
		snprintf(why, sizeof(why), "action: expected %s",
		    policy_action_name(c->action));
	else if (d.stage != stage)
		snprintf(why, sizeof(why), "stage: expected %s", c->stage ? c->stage : "-");
	else if (c->reason && d.reason != (enum reason)(c->reason - 1))
		snprintf(why, sizeof(why), "reason: expected \"%s\"",
		    reason_text((enum reason)(c->reason - 1), true));
	else if (c->op && d.op != (enum policy_row_op)(c->op - 1))
		snprintf(why, sizeof(why), "op: expected %d", c->op - 1);
	else if (c->state && d.new_state != (enum reminder_state)(c->state - 1))
		snprintf(why, sizeof(why), "new_state: expected %s",
		    reminder_state_name((enum reminder_state)(c->state - 1)));
	else if (c->due_day && d.due_day != date_of(c->due_day))
		snprintf(why, sizeof(why), "due_day: expected %s", c->due_day);
	else if (c->send_at && d.send_at != when(c->send_at))
		snprintf(why, sizeof(why), "send_at: expected %s", c->send_at);
	else if ((d.op == ROW_UPDATE || d.reason == REASON_FAILED || d.reason == REASON_IN_DOUBT ||
	    d.reason == REASON_BEING_SENT) && d.reminder_id != row_id(&cfg, c, stage))
		snprintf(why, sizeof(why), "reminder_id: expected %lld",
		    (long long)row_id(&cfg, c, stage));
	else if (c->look && policy_next_look(&cfg, now, &d) !=
	    (strcmp(c->look, "none") == 0 ? 0 : when(c->look)))
		snprintf(why, sizeof(why), "next look: expected %s, got %s", c->look,
		    show_time(policy_next_look(&cfg, now, &d), got, sizeof(got)));
	else if ((inv = invariant(&cfg, &d, now)) != NULL)
		snprintf(why, sizeof(why), "invariant: %s", inv);
	if (!tap_ok(why[0] == '\0', "%s", c->name)) {
		show(&cfg, &d, got, sizeof(got));
		tap_diag("%s", why);
		tap_diag("got %s", got);
	}
}

/* Decide every case of the table CASES (N of them) in Europe/Paris. */
static void
run_table(const struct pcase *cases, size_t n)
{
	if (cal_set_timezone("Europe/Paris") < 0) {
		printf("Bail out! Europe/Paris is not installed\n");
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		run_case(&cases[i]);
}

#endif
