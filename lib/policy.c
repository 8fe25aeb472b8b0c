/*
 * policy — the escalation rules of SPEC §2 (1–8), pure.
 *
 * One invoice, one decision: what happens to its next stage now.  The
 * rules are applied in a fixed order, and the first that speaks decides:
 * closed or paid (rule 3), disputed (rule 4), a reminder in an unsettled
 * state, then the next stage's due date (rules 1 and 6), the human switch
 * (rule 5), the payment grace (rule 3) and the send window (rule 7).
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"

static const char *const action_names[] = {
	[POLICY_NOTHING] = "nothing",
	[POLICY_SEND] = "send",
	[POLICY_HOLD] = "hold_for_approval",
	[POLICY_WAIT] = "wait",
	[POLICY_CANCEL] = "cancel",
	[POLICY_ESCALATE] = "escalate",
};


static const char *const state_names[] = {
	[RS_PLANNED] = "planned",
	[RS_HELD] = "held",
	[RS_APPROVED] = "approved",
	[RS_SENDING] = "sending",
	[RS_SENT] = "sent",
	[RS_FAILED] = "failed",
	[RS_CANCELLED] = "cancelled",
	[RS_IN_DOUBT] = "in_doubt",
};

/* The name plan --json prints for action A. */
const char *
policy_action_name(enum policy_action a)
{
	return action_names[a];
}


/* The name of state S in dunning.reminder.state. */
const char *
reminder_state_name(enum reminder_state s)
{
	return state_names[s];
}

/* The state called S, or -1. */
int
reminder_state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(state_names[i], s) == 0)
			return (int)i;
	return -1;
}

/* The configuration's send window. */
struct cal_window
policy_window(const struct config *cfg)
{
	struct cal_window w = {
		.start_min = cfg->schedule.window_start_min,
		.end_min = cfg->schedule.window_end_min,
		.business_days_only = cfg->schedule.business_days_only,
	};

	return w;
}

/* A row that has not left and may still leave. */
static bool
is_pending(enum reminder_state s)
{
	return s == RS_PLANNED || s == RS_HELD || s == RS_APPROVED;
}

/* Set the decision's action and reason. */
static void
say(struct policy_decision *d, enum policy_action a, enum reason r)
{
	d->action = a;
	d->reason = r;
}

/* Rules 3 and 4, closed invoices and those handed over to the lawyer:
 * cancel what has not left, if any. */
static bool
decide_stop(const struct policy_facts *f, bool pending, struct policy_decision *d)
{
	enum reason r;

	if (f->status == INV_CANCELLED)
		r = REASON_INVOICE_CANCELLED;
	else if (f->status == INV_WRITTEN_OFF)
		r = REASON_WRITTEN_OFF;
	else if (f->balance_cents <= 0)
		r = REASON_PAID;
	else if (f->disputed)
		r = REASON_DISPUTED;
	else if (f->reported)
		r = REASON_REPORTED;	/* rule 12: until a lawyer handles it */
	else if (f->plan_active)
		r = REASON_PLAN_ACTIVE;	/* rule 11: the plan's reminders instead */
	else if (f->escalated)
		r = REASON_ESCALATED;	/* handed over: the lawyer decides now */
	else
		return false;
	if (pending) {
		say(d, POLICY_CANCEL, r);
		d->op = ROW_CANCEL_PENDING;
	} else {
		say(d, r == REASON_DISPUTED || r == REASON_REPORTED || r == REASON_PLAN_ACTIVE ?
		    POLICY_WAIT : POLICY_NOTHING, r);
	}
	return true;
}

/* A row in a state only a person or the sender can settle blocks the
 * sequence: nothing new is planned behind it. */
static bool
decide_blocked(const struct policy_facts *f, struct policy_decision *d)
{
	for (int i = 0; i < f->nreminders; i++) {
		const struct policy_reminder *r = &f->reminders[i];
		enum reason why;

		if (r->state == RS_SENDING)
			why = REASON_BEING_SENT;
		else if (r->state == RS_IN_DOUBT)
			why = REASON_IN_DOUBT;
		else if (r->state == RS_FAILED)
			why = REASON_FAILED;
		else if (r->stage < 0 && r->state != RS_CANCELLED)
			why = REASON_UNKNOWN_STAGE;
		else
			continue;
		say(d, POLICY_WAIT, why);
		d->stage = r->stage;
		d->reminder_id = r->id;
		return true;
	}
	return false;
}

/* Rule 5: why the stage needs a lawyer's approval, or REASON_NONE. */
static enum reason
approval_reason(const struct policy_facts *f, const struct config *cfg, int stage)
{
	int64_t threshold;

	if (f->strategic)
		return REASON_STRATEGIC;
	if (cfg->stages[stage].requires_approval)
		return REASON_STAGE_APPROVAL;
	if (stage < cfg->approval_from_stage)
		return REASON_NONE;
	threshold = config_threshold(cfg, f->currency);
	if (threshold < 0)
		return REASON_NO_THRESHOLD;
	return f->balance_cents >= threshold ? REASON_THRESHOLD : REASON_NONE;
}

/* Move *DUE to LATER when it is later, remembering why. */
static void
push(cal_day *due, enum reason *why, cal_day later, enum reason r)
{
	if (later != CAL_NONE && later > *due) {
		*due = later;
		*why = r;
	}
}

/* Rules 4 and 6 on a date DUE: not before min_gap_days after a dispute
 * was cleared, not before the end of a pause. */
static cal_day
hold_back(const struct policy_facts *f, const struct config *cfg, cal_day due,
    enum reason *why)
{
	if (f->dispute_cleared_at != 0)
		push(&due, why, cal_local_day(f->dispute_cleared_at) + cfg->schedule.min_gap_days,
		    REASON_DISPUTE_CLEARED_GAP);
	push(&due, why, f->invoice_paused_until, REASON_PAUSED);
	push(&due, why, f->client_paused_until, REASON_PAUSED);
	if (f->plan_ended_at != 0)
		push(&due, why, cal_local_day(f->plan_ended_at) + cfg->schedule.min_gap_days,
		    REASON_PLAN_ENDED_GAP);
	return due;
}

/* Do two scheduled instants mean the same for the sender? */
static bool
same_slot(time_t a, time_t b, time_t now)
{
	return a == b || (a <= now && b <= now);
}

/* SPEC §2 rules 1–8 for one invoice at NOW. */
void
policy_decide(const struct policy_facts *f, const struct config *cfg, time_t now,
    struct policy_decision *d)
{
	struct cal_window w = policy_window(cfg);
	const struct policy_reminder *row = NULL;
	int last = -1, next;
	time_t last_at = 0, t0;
	bool pending = false, backoff = false;
	enum reason why, need;
	cal_day today = cal_local_day(now), due;

	memset(d, 0, sizeof(*d));
	d->stage = -1;
	d->due_day = CAL_NONE;

	for (int i = 0; i < f->nreminders; i++)
		pending |= is_pending(f->reminders[i].state);
	if (decide_stop(f, pending, d) || decide_blocked(f, d))
		return;

	/* Rule 1: the next stage is the one after the last done; a stage
	 * rejected by a lawyer counts as done (the lawyer decided). */
	for (int i = 0; i < f->nreminders; i++) {
		const struct policy_reminder *r = &f->reminders[i];
		bool done = r->state == RS_SENT || (r->state == RS_CANCELLED && r->rejected);

		if (done && r->stage > last) {
			last = r->stage;
			last_at = r->state == RS_SENT ? r->sent_at : r->decided_at;
			/* SPEC §2.1: after a formal notice, the delays count
			 * from the day it was posted, not the day it was
			 * written (a letter posted late keeps its 8 days). */
			if (r->state == RS_SENT && r->posted_at > last_at)
				last_at = r->posted_at;
		}
	}
	next = last + 1;
	d->stage = next;

	if (next >= (int)cfg->nstages) {
		d->stage = -1;
		if (f->escalated) {
			say(d, POLICY_NOTHING, REASON_ESCALATED);
			return;
		}
		/* The hand-over is the sequence's last step: a pause or a
		 * cleared dispute holds it back like a stage (rules 4, 6). */
		why = REASON_SEQUENCE_DONE;
		d->due_day = hold_back(f, cfg, cal_local_day(last_at) + cfg->escalation_after_days,
		    &why);
		if (today >= d->due_day)
			say(d, POLICY_ESCALATE, REASON_ESCALATION_DUE);
		else
			say(d, POLICY_WAIT, why);
		return;
	}
	for (int i = 0; i < f->nreminders; i++)
		if (f->reminders[i].stage == next)
			row = &f->reminders[i];

	/* Rules 1, 4 and 6: the date the stage is due. */
	due = f->due_on + cfg->stages[next].offset_days;
	why = REASON_NOT_DUE;
	if (last >= 0)
		push(&due, &why, cal_local_day(last_at) + cfg->schedule.min_gap_days, REASON_MIN_GAP);
	d->due_day = due = hold_back(f, cfg, due, &why);

	/* Rule 3: a recent payment defers the send; SPEC §3.5: a retry waits
	 * for its backoff; rule 7: the window. */
	t0 = now;
	if (f->last_payment_at != 0 &&
	    f->last_payment_at + (time_t)cfg->schedule.payment_grace_hours * 3600 > now)
		t0 = f->last_payment_at + (time_t)cfg->schedule.payment_grace_hours * 3600;
	if (row != NULL && row->retry && (row->state == RS_PLANNED || row->state == RS_APPROVED) &&
	    row->scheduled_for > t0) {
		t0 = row->scheduled_for;
		backoff = true;
	}
	d->send_at = cal_next_send(&w, t0, due);

	if (due > today) {
		say(d, POLICY_WAIT, why);
		if (row != NULL && (row->state == RS_PLANNED || row->state == RS_APPROVED) &&
		    !same_slot(row->scheduled_for, d->send_at, now)) {
			d->op = ROW_UPDATE;
			d->new_state = row->state;
			d->reminder_id = row->id;
		}
		return;
	}

	/* Rule 5: the human switch. */
	need = approval_reason(f, cfg, next);
	if (row != NULL && row->state == RS_HELD) {
		say(d, POLICY_HOLD, REASON_AWAITING_APPROVAL);
		return;
	}
	if (need != REASON_NONE && (row == NULL || row->state != RS_APPROVED)) {
		say(d, POLICY_HOLD, need);
		d->new_state = RS_HELD;
		if (row == NULL) {
			d->op = ROW_CREATE;
		} else {
			d->op = ROW_UPDATE;
			d->reminder_id = row->id;
		}
		return;
	}

	if (d->send_at <= now)
		say(d, POLICY_SEND, row != NULL && row->state == RS_APPROVED ? REASON_APPROVED : REASON_DUE);
	else
		say(d, POLICY_WAIT, backoff ? REASON_RETRY_BACKOFF :
		    t0 > now ? REASON_PAYMENT_GRACE : REASON_SEND_WINDOW);
	d->new_state = row != NULL && row->state == RS_APPROVED ? RS_APPROVED : RS_PLANNED;
	if (row == NULL) {
		d->op = ROW_CREATE;
	} else if (row->state == RS_CANCELLED || !same_slot(row->scheduled_for, d->send_at, now)) {
		d->op = ROW_UPDATE;
		d->reminder_id = row->id;
	}
}

/* The decision D at NOW, once written, holds until the instant returned
 * (0: until a fact changes).  What a person or the sender does to a
 * reminder is not a fact the database marks: a row waiting for them is
 * looked at again the next day, and a message due to leave when the send
 * window closes on its day (unsent, it moves to the next opening). */
time_t
policy_next_look(const struct config *cfg, time_t now, const struct policy_decision *d)
{
	cal_day today = cal_local_day(now), day;
	time_t t, end;

	switch (d->reason) {
	case REASON_INVOICE_CANCELLED:
	case REASON_WRITTEN_OFF:
	case REASON_PAID:
	case REASON_DISPUTED:
	case REASON_REPORTED:
	case REASON_ESCALATED:
	case REASON_PLAN_ACTIVE:	/* the plan's end wakes the invoice */
		return 0;
	default:
		break;
	}
	if (d->action == POLICY_CANCEL || d->action == POLICY_NOTHING ||
	    d->action == POLICY_ESCALATE)
		return 0;
	/* A stage or the hand-over not due yet: the day it is. */
	if (d->action == POLICY_WAIT && d->due_day != CAL_NONE && d->due_day > today)
		return cal_local_time(d->due_day, 0);
	/* Held for a lawyer, or behind a row only a person or the sender can
	 * settle: the next day. */
	if (d->action == POLICY_HOLD || d->due_day == CAL_NONE || d->send_at == 0)
		return cal_local_time(today + 1, 0);
	/* Due: when the window closes on the day it is to leave. */
	t = d->send_at > now ? d->send_at : now;
	day = cal_local_day(t);
	end = cal_local_time(day, cfg->schedule.window_end_min);
	return end > t ? end : cal_local_time(day + 1, 0);
}

/* The settings policy_decide() and policy_next_look() read. */
int
policy_rules(const struct config *cfg, char *buf, size_t n)
{
	size_t len = 0;
	int k;

#define PUT(...) do {							\
		k = snprintf(buf + (len < n ? len : n), len < n ? n - len : 0, __VA_ARGS__); \
		if (k < 0)						\
			return -1;					\
		len += (size_t)k;					\
	} while (0)
	PUT("tz=%s window=%d-%d business=%d gap=%d grace=%d approval_from=%d escalate=%d",
	    cfg->schedule.timezone, cfg->schedule.window_start_min, cfg->schedule.window_end_min,
	    cfg->schedule.business_days_only, cfg->schedule.min_gap_days,
	    cfg->schedule.payment_grace_hours, cfg->approval_from_stage,
	    cfg->escalation_after_days);
	for (size_t i = 0; i < cfg->nstages; i++)
		PUT(" stage=%s/%d/%d", cfg->stages[i].name, cfg->stages[i].offset_days,
		    cfg->stages[i].requires_approval);
	for (size_t i = 0; i < cfg->nthresholds; i++)
		PUT(" threshold=%s/%lld", cfg->thresholds[i].currency,
		    (long long)cfg->thresholds[i].amount_cents);
#undef PUT
	return (int)len;
}
