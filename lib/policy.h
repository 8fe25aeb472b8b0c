/*
 * policy — SPEC §2 rules 1–8 as one pure function:
 * (invoice facts, configuration, now) → one decision for the invoice.
 *
 * No I/O.  The store reads the facts; the planner and the sender apply the
 * decision (the sender runs it again under the invoice's lock before each
 * send, so the rules are re-checked where it matters).
 */
#ifndef DUNNING_POLICY_H
#define DUNNING_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "reason.h"

enum reminder_state {
	RS_PLANNED,
	RS_HELD,
	RS_APPROVED,
	RS_SENDING,
	RS_SENT,
	RS_FAILED,
	RS_CANCELLED,
	RS_IN_DOUBT,
};

enum invoice_status {
	INV_OPEN,
	INV_CANCELLED,
	INV_WRITTEN_OFF,
};

/* One existing reminder row of the invoice. */
struct policy_reminder {
	int64_t id;
	int stage;			/* index into cfg->stages, -1 if unknown */
	enum reminder_state state;
	time_t scheduled_for;
	time_t sent_at;			/* sent rows */
	time_t decided_at;		/* approved / rejected rows, 0 if none */
	bool rejected;			/* cancelled by a lawyer's rejection */
	bool retry;			/* planned again after a temporary failure:
					 * not before scheduled_for (backoff) */
	time_t posted_at;		/* a letter recorded posted (letter_sent), 0 if not */
};

struct policy_facts {
	int64_t invoice_id;
	int64_t client_id;
	cal_day due_on;
	int64_t balance_cents;		/* amount − payments; <= 0 is paid */
	char currency[4];
	enum invoice_status status;
	bool disputed;
	bool reported;			/* an open client report names it (rule 12) */
	time_t dispute_cleared_at;	/* 0 = never */
	cal_day invoice_paused_until;	/* CAL_NONE = not paused */
	cal_day client_paused_until;
	bool strategic;
	time_t last_payment_at;		/* 0 = no payment */
	bool escalated;			/* the sequence already ended */
	/* Rule 11: in an active payment plan (no escalation message), and
	 * when an accepted plan of it last broke or was cancelled (0 never:
	 * the next stage min_gap_days after it). */
	bool plan_active;
	time_t plan_ended_at;
	/* Not a fact the rules read: when the planner meant to look at the
	 * invoice again (dunning.invoice_next_action; 0 none, POLICY_LOOK_NOW
	 * after a change of its facts). */
	time_t next_look;
	struct policy_reminder reminders[CONFIG_MAX_STAGES];
	int nreminders;
};

/* next_look of an invoice whose facts changed (-infinity in SQL). */
#define POLICY_LOOK_NOW ((time_t)1)

enum policy_action {
	POLICY_NOTHING,		/* closed, paid, or sequence over: nothing to do */
	POLICY_SEND,		/* the stage's message leaves now */
	POLICY_HOLD,		/* the stage waits for a lawyer's approval */
	POLICY_WAIT,		/* the stage is not due yet, or may not leave yet */
	POLICY_CANCEL,		/* pending reminders are cancelled */
	POLICY_ESCALATE,	/* the sequence ends: hand the file to the lawyer */
};


/* What to do with the reminder row of the decided stage. */
enum policy_row_op {
	ROW_KEEP,		/* the row (if any) is right as it is */
	ROW_CREATE,		/* insert it in NEW_STATE at SEND_AT */
	ROW_UPDATE,		/* set NEW_STATE and SEND_AT on REMINDER_ID */
	ROW_CANCEL_PENDING,	/* cancel every planned/held/approved row */
};

struct policy_decision {
	enum policy_action action;
	enum reason reason;
	int stage;			/* the stage concerned, -1 when none */
	cal_day due_day;		/* the date the stage is due (rule 1) */
	time_t send_at;			/* earliest instant it may leave */
	enum policy_row_op op;
	enum reminder_state new_state;
	int64_t reminder_id;		/* ROW_UPDATE: the row */
};

void policy_decide(const struct policy_facts *f, const struct config *cfg, time_t now,
    struct policy_decision *d);

/* When the invoice decided as D at NOW (its decision written) should be
 * looked at again if none of its facts changes: the start of the day its
 * next stage or hand-over falls due, the day after a reminder should have
 * left or while one waits for a person, or 0 when only a change of its
 * facts can matter (paid, closed, disputed, handed over). */
time_t policy_next_look(const struct config *cfg, time_t now, const struct policy_decision *d);

/* Into BUF (N bytes), the settings the rules read, as one line: two
 * configurations with the same line decide alike.  Returns the length it
 * needed (snprintf's), so a line longer than N is seen. */
int policy_rules(const struct config *cfg, char *buf, size_t n);

/* The send window of the configuration. */
struct cal_window policy_window(const struct config *cfg);

const char *policy_action_name(enum policy_action a);
const char *reminder_state_name(enum reminder_state s);
/* Parse a state name; returns -1 when unknown. */
int reminder_state_parse(const char *s);

#endif
