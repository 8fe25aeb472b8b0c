/*
 * test_policy — the escalation rules of SPEC §2 (rules 1–7 and the hand-over
 * after the last stage) as a table of invoices, instants and the decision
 * policy_decide must take.  Every expectation is worked out by hand from the
 * SPEC with the default configuration of §3.2:
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
};

#define SENT(st, at)		{ st, RS_SENT, at, at, NULL, false }
#define ROW(st, state, at)	{ st, state, at, NULL, NULL, false }
#define APPROVED(st, at, by)	{ st, RS_APPROVED, at, NULL, by, false }
#define REJECTED(st, at, by)	{ st, RS_CANCELLED, at, NULL, by, true }

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
	const char *cleared;		/* dispute cleared at; NULL: never */
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
	int reason;			/* WANT(PR_…) or 0 */
	int op;				/* WANT(ROW_…) or 0 */
	int state;			/* WANT(RS_…) or 0: the new state */
	const char *due_day;		/* NULL: not checked */
	const char *send_at;		/* NULL: not checked */
};

static const struct pcase cases[] = {
	/* ---- Rule 1: order and due dates ---- */
	{ .name = "rule 1: j3 not due at J+2, no row written yet",
	  .now = "2026-03-04 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_NOT_DUE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-03-05", .send_at = "2026-03-05 09:00" },
	{ .name = "rule 1: j3 on its due day J+3, in the window",
	  .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-03-05", .send_at = "2026-03-05 10:00" },
	{ .name = "rule 1+7: j3 due today at 07:30 is planned for 09:00",
	  .now = "2026-03-05 07:30",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_PLANNED), .due_day = "2026-03-05",
	  .send_at = "2026-03-05 09:00" },
	{ .name = "rule 1: a planned j3 already in its slot is kept as it is",
	  .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 09:10",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_KEEP),
	  .send_at = "2026-03-05 09:10" },
	{ .name = "rule 1: a planned j3 scheduled for a later slot is moved to now",
	  .rows = { ROW("j3", RS_PLANNED, "2026-03-06 09:00") },
	  .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_UPDATE),
	  .state = WANT(RS_PLANNED), .send_at = "2026-03-05 10:00" },
	/* j3 sent 5 March: the gap allows 10 March, J+10 is 12 March. */
	{ .name = "rule 1: j10 the day before J+10 waits",
	  .rows = { J3 }, .now = "2026-03-11 17:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_NOT_DUE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-03-12", .send_at = "2026-03-12 09:00" },
	{ .name = "rule 1: j10 on J+10 at the opening",
	  .rows = { J3 }, .now = "2026-03-12 09:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-03-12", .send_at = "2026-03-12 09:00" },
	{ .name = "rule 1: j30 on J+30 (1 200.00 EUR, under the threshold)",
	  .rows = { J3, J10 }, .now = "2026-04-01 11:00",
	  .action = POLICY_SEND, .stage = "j30", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-04-01", .send_at = "2026-04-01 11:00" },
	{ .name = "rule 1+5: j45 on J+45 is held for approval",
	  .rows = { J3, J10, J30 }, .now = "2026-04-16 10:00",
	  .action = POLICY_HOLD, .stage = "j45", .reason = WANT(REASON_STAGE_APPROVAL),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-04-16" },
	/* j3 left late, on Tuesday 10 March: 10 + 5 = Sunday 15 > J+10 = 12. */
	{ .name = "rule 1: min_gap_days pushes j10 from J+10 to Sunday 15 March",
	  .rows = { SENT("j3", "2026-03-10 11:00") }, .now = "2026-03-12 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_MIN_GAP), .op = WANT(ROW_KEEP),
	  .due_day = "2026-03-15", .send_at = "2026-03-16 09:00" },
	{ .name = "rule 1+7: the pushed j10 leaves Monday 16 March 09:00",
	  .rows = { SENT("j3", "2026-03-10 11:00") }, .now = "2026-03-16 09:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .due_day = "2026-03-15", .send_at = "2026-03-16 09:00" },
	/* Due Thursday 5 March, first seen Tuesday 14 April = J+40 (26 + 14). */
	{ .name = "rule 1: an invoice first seen at J+40 gets j3, not j45",
	  .due = "2026-03-05", .now = "2026-04-14 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-03-08", .send_at = "2026-04-14 10:00" },
	/* j3 sent 14 April: 14 + 5 = Sunday 19 April; J+10 (15 March) is long past. */
	{ .name = "rule 1: J+40 invoice: j10 five days after j3, not at J+10",
	  .due = "2026-03-05", .rows = { SENT("j3", "2026-04-14 10:00") },
	  .now = "2026-04-15 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_MIN_GAP), .op = WANT(ROW_KEEP),
	  .due_day = "2026-04-19", .send_at = "2026-04-20 09:00" },
	{ .name = "rule 1: J+40 invoice: j10 leaves Monday 20 April 09:00",
	  .due = "2026-03-05", .rows = { SENT("j3", "2026-04-14 10:00") },
	  .now = "2026-04-20 09:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .due_day = "2026-04-19", .send_at = "2026-04-20 09:00" },
	/* j10 sent 20 April: 20 + 5 = Saturday 25 April; J+30 was 4 April. */
	{ .name = "rule 1: J+40 invoice: j30 follows j10 by the gap (Saturday 25 -> Monday 27)",
	  .due = "2026-03-05",
	  .rows = { SENT("j3", "2026-04-14 10:00"), SENT("j10", "2026-04-20 09:00") },
	  .now = "2026-04-21 10:00",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_MIN_GAP),
	  .due_day = "2026-04-25", .send_at = "2026-04-27 09:00" },
	/* j30 sent Monday 27 April: 27 + 5 = Saturday 2 May; J+45 was 19 April. */
	{ .name = "rule 1+5: J+40 invoice: j45 held on Saturday 2 May, five days after j30",
	  .due = "2026-03-05",
	  .rows = { SENT("j3", "2026-04-14 10:00"), SENT("j10", "2026-04-20 09:00"),
		    SENT("j30", "2026-04-27 09:00") },
	  .now = "2026-05-02 10:00",
	  .action = POLICY_HOLD, .stage = "j45", .reason = WANT(REASON_STAGE_APPROVAL),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-05-02",
	  .send_at = "2026-05-04 09:00" },

	/* ---- Rule 2: once ---- */
	{ .name = "rule 2: j3 sent is not decided again on its own due day; next is j10",
	  .rows = { J3 }, .now = "2026-03-05 15:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_NOT_DUE),
	  .due_day = "2026-03-12" },
	{ .name = "rule 2: j3 and j10 sent: next is j30",
	  .rows = { J3, J10 }, .now = "2026-03-20 10:00",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_NOT_DUE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-04-01", .send_at = "2026-04-01 09:00" },
	{ .name = "rule 2: a sent j10 row with its j3 cancelled: j10 is never redone",
	  .rows = { ROW("j3", RS_CANCELLED, "2026-03-05 09:00"), J10 },
	  .now = "2026-03-20 10:00",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_NOT_DUE),
	  .due_day = "2026-04-01" },

	/* ---- Rule 3: never to a paid invoice ---- */
	{ .name = "rule 3: balance 0 with a planned j3: cancel pending",
	  .balance = "0.00", .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 08:30",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_PAID), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 3: overpaid (-50.00) with a held j30: cancel pending",
	  .balance = "-50.00",
	  .rows = { J3, J10, ROW("j30", RS_HELD, "2026-04-01 09:00") },
	  .now = "2026-04-02 10:00",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_PAID), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 3: balance 0, nothing pending: nothing",
	  .balance = "0.00", .rows = { J3 }, .now = "2026-03-12 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_PAID), .op = WANT(ROW_KEEP) },
	{ .name = "rule 3: overpaid by a cent, no reminder yet: nothing at J+3",
	  .balance = "-0.01", .now = "2026-03-05 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_PAID), .op = WANT(ROW_KEEP) },
	{ .name = "rule 3: a partial payment (400.00 left) is still reminded",
	  .balance = "400.00", .paid_at = "2026-03-01 10:00", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE) },
	/* Paid Wednesday 10:00, 23 h before Thursday's 09:00 opening: grace to 10:00. */
	{ .name = "rule 3: a payment 23 h before the window: wait until payment + 24 h",
	  .balance = "400.00", .paid_at = "2026-03-04 10:00", .now = "2026-03-05 09:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAYMENT_GRACE),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_PLANNED), .due_day = "2026-03-05",
	  .send_at = "2026-03-05 10:00" },
	{ .name = "rule 3: a payment 25 h before the window: send at the opening",
	  .balance = "400.00", .paid_at = "2026-03-04 08:00", .now = "2026-03-05 09:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-03-05 09:00" },
	{ .name = "rule 3: a payment exactly 24 h ago is out of the grace",
	  .balance = "400.00", .paid_at = "2026-03-04 09:00", .now = "2026-03-05 09:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-03-05 09:00" },
	/* Paid Friday 18:30: grace ends Saturday 18:30, next opening Monday. */
	{ .name = "rule 3+7: a grace ending on Saturday sends Monday 09:00",
	  .balance = "400.00", .paid_at = "2026-03-06 18:30", .now = "2026-03-06 18:45",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAYMENT_GRACE),
	  .op = WANT(ROW_CREATE), .send_at = "2026-03-09 09:00" },
	{ .name = "rule 3: a recent payment does not make a stage due early",
	  .balance = "400.00", .paid_at = "2026-03-09 12:00", .rows = { J3 },
	  .now = "2026-03-09 13:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_NOT_DUE),
	  .due_day = "2026-03-12", .send_at = "2026-03-12 09:00" },
	/* Approved 14:00 after a payment at 13:00: grace to Thursday 13:00. */
	{ .name = "rule 3+5: an approved j30 waits for the payment grace, still approved",
	  .balance = "6000.00", .paid_at = "2026-04-01 13:00",
	  .rows = { J3, J10, APPROVED("j30", "2026-04-01 09:00", "2026-04-01 14:00") },
	  .now = "2026-04-01 15:00",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_PAYMENT_GRACE),
	  .op = WANT(ROW_UPDATE), .state = WANT(RS_APPROVED), .send_at = "2026-04-02 13:00" },

	/* ---- Rule 4: dispute ---- */
	{ .name = "rule 4: disputed with a planned j3: cancel",
	  .disputed = true, .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 08:00",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_DISPUTED), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 4: disputed with a held j45: cancel",
	  .disputed = true, .rows = { J3, J10, J30, ROW("j45", RS_HELD, "2026-04-16 09:00") },
	  .now = "2026-04-17 10:00",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_DISPUTED), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 4: disputed with an approved j30: cancel",
	  .disputed = true, .balance = "8000.00",
	  .rows = { J3, J10, APPROVED("j30", "2026-04-01 09:00", "2026-04-01 10:00") },
	  .now = "2026-04-01 10:30",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_DISPUTED), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 4: disputed, nothing pending: wait, no stage",
	  .disputed = true, .rows = { J3 }, .now = "2026-03-12 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_DISPUTED), .op = WANT(ROW_KEEP) },
	{ .name = "rule 4: disputed before any reminder: no j3 at J+3",
	  .disputed = true, .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_DISPUTED), .op = WANT(ROW_KEEP) },
	/* j10 was planned for 12 March and cancelled by the dispute; cleared
	 * Friday 13 March: 13 + 5 = Wednesday 18 March. */
	{ .name = "rule 4: dispute cleared on Friday: j10 not before Wednesday (+5 days)",
	  .cleared = "2026-03-13 11:00",
	  .rows = { J3, ROW("j10", RS_CANCELLED, "2026-03-12 09:00") },
	  .now = "2026-03-13 11:05",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_DISPUTE_CLEARED_GAP),
	  .op = WANT(ROW_KEEP), .due_day = "2026-03-18", .send_at = "2026-03-18 09:00" },
	{ .name = "rule 4: dispute cleared on Friday: still waiting Tuesday 17:59",
	  .cleared = "2026-03-13 11:00",
	  .rows = { J3, ROW("j10", RS_CANCELLED, "2026-03-12 09:00") },
	  .now = "2026-03-17 17:59",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_DISPUTE_CLEARED_GAP),
	  .due_day = "2026-03-18" },
	{ .name = "rule 4: dispute cleared on Friday: Wednesday 09:00 the cancelled j10 is revived",
	  .cleared = "2026-03-13 11:00",
	  .rows = { J3, ROW("j10", RS_CANCELLED, "2026-03-12 09:00") },
	  .now = "2026-03-18 09:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE), .op = WANT(ROW_UPDATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-03-18", .send_at = "2026-03-18 09:00" },
	/* Cleared Friday 6 March, before j3 ever left: 6 + 5 = Wednesday 11. */
	{ .name = "rule 4: a j3 cancelled by a dispute is not done: it comes back after clearing",
	  .cleared = "2026-03-06 10:00", .rows = { ROW("j3", RS_CANCELLED, "2026-03-05 09:00") },
	  .now = "2026-03-11 09:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .op = WANT(ROW_UPDATE),
	  .state = WANT(RS_PLANNED), .due_day = "2026-03-11" },
	{ .name = "rule 4: a dispute cleared long before does not delay j3",
	  .cleared = "2026-02-10 10:00", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .due_day = "2026-03-05" },
	/* Cleared Friday 3 April: 3 + 5 = Wednesday 8 April; 8 000.00 >= 5 000.00. */
	{ .name = "rule 4+5: after clearing, a j30 over the threshold is revived as held",
	  .balance = "8000.00", .cleared = "2026-04-03 16:00",
	  .rows = { J3, J10, ROW("j30", RS_CANCELLED, "2026-04-01 09:00") },
	  .now = "2026-04-08 09:30",
	  .action = POLICY_HOLD, .stage = "j30", .reason = WANT(REASON_THRESHOLD),
	  .op = WANT(ROW_UPDATE), .state = WANT(RS_HELD), .due_day = "2026-04-08" },

	/* ---- Rule 5: the human switch ---- */
	{ .name = "rule 5: balance equal to the threshold (5 000.00) at j30: hold",
	  .balance = "5000.00", .rows = { J3, J10 }, .now = "2026-04-01 10:00",
	  .action = POLICY_HOLD, .stage = "j30", .reason = WANT(REASON_THRESHOLD),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-04-01" },
	{ .name = "rule 5: 4 999.99 at j30: send",
	  .balance = "4999.99", .rows = { J3, J10 }, .now = "2026-04-01 10:00",
	  .action = POLICY_SEND, .stage = "j30", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE),
	  .state = WANT(RS_PLANNED) },
	{ .name = "rule 5: 9 000.00 at j3 (before approval_from_stage): send",
	  .balance = "9000.00", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE) },
	{ .name = "rule 5: 9 000.00 at j10: send",
	  .balance = "9000.00", .rows = { J3 }, .now = "2026-03-12 10:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE) },
	{ .name = "rule 5: 9 000.00 at j45: hold",
	  .balance = "9000.00", .rows = { J3, J10, J30 }, .now = "2026-04-16 10:00",
	  .action = POLICY_HOLD, .stage = "j45", .op = WANT(ROW_CREATE), .state = WANT(RS_HELD) },
	{ .name = "rule 5: strategic client: j3 held",
	  .strategic = true, .now = "2026-03-05 10:00",
	  .action = POLICY_HOLD, .stage = "j3", .reason = WANT(REASON_STRATEGIC),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-03-05" },
	{ .name = "rule 5: strategic client: nothing held before j3 is due",
	  .strategic = true, .now = "2026-03-04 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_NOT_DUE), .op = WANT(ROW_KEEP) },
	{ .name = "rule 5: a planned j3 becomes held when the client turns strategic",
	  .strategic = true, .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 08:00",
	  .action = POLICY_HOLD, .stage = "j3", .reason = WANT(REASON_STRATEGIC),
	  .op = WANT(ROW_UPDATE), .state = WANT(RS_HELD) },
	{ .name = "rule 5+7: j45 of 100.00 is held on Saturday; it could leave Monday",
	  .balance = "100.00", .rows = { J3, J10, J30 }, .now = "2026-04-18 11:00",
	  .action = POLICY_HOLD, .stage = "j45", .reason = WANT(REASON_STAGE_APPROVAL),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-04-16",
	  .send_at = "2026-04-20 09:00" },
	{ .name = "rule 5: j45 with requires_approval = false and 100.00: send",
	  .j45_free = true, .balance = "100.00", .rows = { J3, J10, J30 },
	  .now = "2026-04-16 10:00",
	  .action = POLICY_SEND, .stage = "j45", .reason = WANT(REASON_DUE), .op = WANT(ROW_CREATE) },
	{ .name = "rule 5: j45 with requires_approval = false but over the threshold: hold",
	  .j45_free = true, .balance = "6000.00", .rows = { J3, J10, J30 },
	  .now = "2026-04-16 10:00",
	  .action = POLICY_HOLD, .stage = "j45", .reason = WANT(REASON_THRESHOLD) },
	{ .name = "rule 5: USD invoice, no USD threshold: j30 held (safe default)",
	  .currency = "USD", .balance = "100.00", .rows = { J3, J10 },
	  .now = "2026-04-01 10:00",
	  .action = POLICY_HOLD, .stage = "j30", .reason = WANT(REASON_NO_THRESHOLD),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD) },
	{ .name = "rule 5: USD invoice: j3 is sent (the threshold applies from j30)",
	  .currency = "USD", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE) },
	{ .name = "rule 5: USD invoice: j10 is sent",
	  .currency = "USD", .rows = { J3 }, .now = "2026-03-12 10:00",
	  .action = POLICY_SEND, .stage = "j10", .reason = WANT(REASON_DUE) },
	{ .name = "rule 5: a held j30 stays held when the balance falls under the threshold",
	  .balance = "100.00", .rows = { J3, J10, ROW("j30", RS_HELD, "2026-04-01 09:00") },
	  .now = "2026-04-03 10:00",
	  .action = POLICY_HOLD, .stage = "j30", .reason = WANT(REASON_AWAITING_APPROVAL),
	  .op = WANT(ROW_KEEP) },
	{ .name = "rule 5: an approved j30 leaves in the window",
	  .balance = "8000.00",
	  .rows = { J3, J10, APPROVED("j30", "2026-04-01 09:00", "2026-04-02 14:00") },
	  .now = "2026-04-02 14:05",
	  .action = POLICY_SEND, .stage = "j30", .reason = WANT(REASON_APPROVED), .op = WANT(ROW_KEEP),
	  .send_at = "2026-04-02 14:05" },
	{ .name = "rule 5+7: approved at 19:00 Wednesday: waits for Thursday 09:00",
	  .balance = "8000.00",
	  .rows = { J3, J10, APPROVED("j30", "2026-04-01 09:00", "2026-04-01 19:00") },
	  .now = "2026-04-01 19:05",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_SEND_WINDOW),
	  .op = WANT(ROW_UPDATE), .state = WANT(RS_APPROVED), .send_at = "2026-04-02 09:00" },
	{ .name = "rule 5+7: j45 approved Friday 18:30: Monday 09:00",
	  .rows = { J3, J10, J30, APPROVED("j45", "2026-04-16 09:00", "2026-04-17 18:30") },
	  .now = "2026-04-17 18:30",
	  .action = POLICY_WAIT, .stage = "j45", .reason = WANT(REASON_SEND_WINDOW),
	  .op = WANT(ROW_UPDATE), .state = WANT(RS_APPROVED), .send_at = "2026-04-20 09:00" },
	{ .name = "rule 5+3: approved, then paid: cancel",
	  .balance = "0.00",
	  .rows = { J3, J10, APPROVED("j30", "2026-04-01 09:00", "2026-04-01 10:00") },
	  .now = "2026-04-01 10:30",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_PAID), .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "rule 5: strategic client, j3 approved: send",
	  .strategic = true,
	  .rows = { APPROVED("j3", "2026-03-05 09:00", "2026-03-05 10:00") },
	  .now = "2026-03-05 10:30",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_APPROVED) },

	/* ---- Rule 6: pause ---- */
	{ .name = "rule 6: invoice paused until 20 March: j3 waits",
	  .inv_pause = "2026-03-20", .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED), .op = WANT(ROW_KEEP),
	  .due_day = "2026-03-20", .send_at = "2026-03-20 09:00" },
	{ .name = "rule 6: the day before paused_until still waits",
	  .inv_pause = "2026-03-20", .now = "2026-03-19 17:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED) },
	{ .name = "rule 6: on paused_until the message leaves",
	  .inv_pause = "2026-03-20", .now = "2026-03-20 09:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .due_day = "2026-03-20",
	  .send_at = "2026-03-20 09:00" },
	{ .name = "rule 6: a client pause works the same",
	  .cli_pause = "2026-03-20", .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED),
	  .due_day = "2026-03-20" },
	{ .name = "rule 6: invoice and client paused: the later date wins",
	  .inv_pause = "2026-03-20", .cli_pause = "2026-03-25", .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED),
	  .due_day = "2026-03-25", .send_at = "2026-03-25 09:00" },
	{ .name = "rule 6: pauses in the past have no effect",
	  .inv_pause = "2026-03-01", .cli_pause = "2026-03-04", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .due_day = "2026-03-05" },
	{ .name = "rule 6: paused until the stage's own due date: no delay",
	  .inv_pause = "2026-03-05", .now = "2026-03-05 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE), .due_day = "2026-03-05" },
	{ .name = "rule 6+7: a pause ending on Saturday: Monday 09:00",
	  .inv_pause = "2026-03-21", .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED),
	  .due_day = "2026-03-21", .send_at = "2026-03-23 09:00" },
	{ .name = "rule 6: pausing moves a planned j3 to the end of the pause",
	  .inv_pause = "2026-03-20", .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 08:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED), .op = WANT(ROW_UPDATE),
	  .state = WANT(RS_PLANNED), .send_at = "2026-03-20 09:00" },
	{ .name = "rule 6: a held j30 stays held (not rescheduled) during a pause",
	  .balance = "8000.00", .cli_pause = "2026-04-15",
	  .rows = { J3, J10, ROW("j30", RS_HELD, "2026-04-01 09:00") },
	  .now = "2026-04-02 10:00",
	  .action = POLICY_WAIT, .stage = "j30", .reason = WANT(REASON_PAUSED), .op = WANT(ROW_KEEP),
	  .due_day = "2026-04-15" },
	/* j3 left on the pause's end, Friday 20 March: 20 + 5 = Wednesday 25. */
	{ .name = "rule 6+1: after the pause the next stage follows the gap from that send",
	  .inv_pause = "2026-03-20", .rows = { SENT("j3", "2026-03-20 09:00") },
	  .now = "2026-03-21 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_MIN_GAP),
	  .due_day = "2026-03-25", .send_at = "2026-03-25 09:00" },
	{ .name = "rule 6+7: paused until Easter Monday: Tuesday 7 April 09:00 CEST (07:00Z)",
	  .inv_pause = "2026-04-06", .now = "2026-03-05 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_PAUSED),
	  .due_day = "2026-04-06", .send_at = "2026-04-07T07:00:00Z" },

	/* ---- Rule 7: send window ---- */
	{ .name = "rule 7: j3 due Saturday 14 March: Monday 09:00",
	  .due = "2026-03-11", .now = "2026-03-14 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_PLANNED), .due_day = "2026-03-14",
	  .send_at = "2026-03-16 09:00" },
	{ .name = "rule 7: j3 due Sunday 15 March: Monday 09:00",
	  .due = "2026-03-12", .now = "2026-03-15 12:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-03-15", .send_at = "2026-03-16 09:00" },
	{ .name = "rule 7: 18:00 exactly is closed: next day 09:00",
	  .now = "2026-03-05 18:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .op = WANT(ROW_CREATE), .send_at = "2026-03-06 09:00" },
	{ .name = "rule 7: 17:59 is open",
	  .now = "2026-03-05 17:59",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-03-05 17:59" },
	{ .name = "rule 7: 08:59: 09:00 the same day",
	  .now = "2026-03-05 08:59",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .send_at = "2026-03-05 09:00" },
	{ .name = "rule 7: j3 due on Easter Monday 6 April: Tuesday 7 April 09:00",
	  .due = "2026-04-03", .now = "2026-04-06 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-04-06", .send_at = "2026-04-07T07:00:00Z" },
	{ .name = "rule 7: j3 due on Ascension (Thursday 14 May): Friday 09:00",
	  .due = "2026-05-11", .now = "2026-05-14 09:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-05-14", .send_at = "2026-05-15T07:00:00Z" },
	/* Due Friday 15 May: j3 Monday 18 May, j10 = J+10 = Whit Monday 25 May. */
	{ .name = "rule 7: j10 due on Whit Monday 25 May: Tuesday 09:00",
	  .due = "2026-05-15", .rows = { SENT("j3", "2026-05-18 09:00") },
	  .now = "2026-05-25 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-05-25", .send_at = "2026-05-26 09:00" },
	{ .name = "rule 7: j3 due on 14 July (a Tuesday): Wednesday 09:00",
	  .due = "2026-07-11", .now = "2026-07-14 09:30",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .send_at = "2026-07-15 09:00" },
	/* Due Friday 27 March: j3 Monday 30 March, the first day in CEST. */
	{ .name = "rule 7 DST: j3 due Monday 30 March, at 08:30 CEST (06:30Z) waits for 07:00Z",
	  .due = "2026-03-27", .now = "2026-03-30T06:30:00Z",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-03-30", .send_at = "2026-03-30T07:00:00Z" },
	{ .name = "rule 7 DST: j3 due Monday 30 March leaves at 09:00 CEST = 07:00Z",
	  .due = "2026-03-27", .now = "2026-03-30T07:00:00Z",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-03-30T07:00:00Z" },
	{ .name = "rule 7 DST: j3 due Monday 30 March, 16:00Z is 18:00 CEST: closed",
	  .due = "2026-03-27", .now = "2026-03-30T16:00:00Z",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .send_at = "2026-03-31T07:00:00Z" },
	{ .name = "rule 7 DST: j3 due Sunday 29 March (the change day): Monday 07:00Z",
	  .due = "2026-03-26", .now = "2026-03-29T10:00:00Z",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-03-29", .send_at = "2026-03-30T07:00:00Z" },
	/* Due Friday 23 October: j3 Monday 26 October, the first weekday in CET. */
	{ .name = "rule 7 DST: j3 due Monday 26 October, at 08:30 CET (07:30Z) waits for 08:00Z",
	  .due = "2026-10-23", .now = "2026-10-26T07:30:00Z",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-10-26", .send_at = "2026-10-26T08:00:00Z" },
	{ .name = "rule 7 DST: j3 due Monday 26 October leaves at 09:00 CET = 08:00Z",
	  .due = "2026-10-23", .now = "2026-10-26T08:00:00Z",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-10-26T08:00:00Z" },
	{ .name = "rule 7 DST: Friday 23 October 18:00 CEST (16:00Z): Monday 08:00Z",
	  .due = "2026-10-20", .now = "2026-10-23T16:00:00Z",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .due_day = "2026-10-23", .send_at = "2026-10-26T08:00:00Z" },
	{ .name = "rule 7: business_days_only = false: a Saturday stage leaves Saturday",
	  .all_days = true, .due = "2026-03-11", .now = "2026-03-14 10:00",
	  .action = POLICY_SEND, .stage = "j3", .reason = WANT(REASON_DUE),
	  .send_at = "2026-03-14 10:00" },
	{ .name = "rule 7: business_days_only = false: Saturday 18:00: Sunday 09:00",
	  .all_days = true, .due = "2026-03-11", .now = "2026-03-14 18:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .send_at = "2026-03-15 09:00" },
	{ .name = "rule 7: business_days_only = false: Easter Monday 08:00: 09:00 that day",
	  .all_days = true, .due = "2026-04-03", .now = "2026-04-06 08:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_SEND_WINDOW),
	  .send_at = "2026-04-06 09:00" },

	/* ---- Rows only a person or the sender can settle ---- */
	{ .name = "blocked: a failed j3 waits for a lawyer; no j10",
	  .rows = { ROW("j3", RS_FAILED, "2026-03-05 09:00") }, .now = "2026-03-20 10:00",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_FAILED), .op = WANT(ROW_KEEP) },
	{ .name = "blocked: an in_doubt j10 blocks j30 on its due day",
	  .rows = { J3, ROW("j10", RS_IN_DOUBT, "2026-03-12 09:00") },
	  .now = "2026-04-01 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_IN_DOUBT), .op = WANT(ROW_KEEP) },
	{ .name = "blocked: a j3 being sent: wait",
	  .rows = { ROW("j3", RS_SENDING, "2026-03-05 09:00") }, .now = "2026-03-05 09:01",
	  .action = POLICY_WAIT, .stage = "j3", .reason = WANT(REASON_BEING_SENT),
	  .op = WANT(ROW_KEEP) },
	{ .name = "blocked: a paid invoice with a failed row: nothing (paid first)",
	  .balance = "0.00", .rows = { ROW("j3", RS_FAILED, "2026-03-05 09:00") },
	  .now = "2026-03-20 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_PAID), .op = WANT(ROW_KEEP) },
	{ .name = "blocked: a row whose stage the configuration no longer has: wait",
	  .rows = { SENT("j20", "2026-03-22 09:00") }, .now = "2026-03-25 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_UNKNOWN_STAGE), .op = WANT(ROW_KEEP) },
	/* j30 rejected Tuesday 14 April: 14 + 5 = Sunday 19 > J+45 = 16. */
	{ .name = "rejected j30 counts as done: j45 follows min_gap from the rejection",
	  .rows = { J3, J10, REJECTED("j30", "2026-04-01 09:00", "2026-04-14 11:00") },
	  .now = "2026-04-16 10:00",
	  .action = POLICY_WAIT, .stage = "j45", .reason = WANT(REASON_MIN_GAP), .op = WANT(ROW_KEEP),
	  .due_day = "2026-04-19", .send_at = "2026-04-20 09:00" },
	{ .name = "rejected j30: j45 is held on Monday 20 April",
	  .rows = { J3, J10, REJECTED("j30", "2026-04-01 09:00", "2026-04-14 11:00") },
	  .now = "2026-04-20 10:00",
	  .action = POLICY_HOLD, .stage = "j45", .reason = WANT(REASON_STAGE_APPROVAL),
	  .op = WANT(ROW_CREATE), .state = WANT(RS_HELD), .due_day = "2026-04-19" },
	/* j3 rejected Wednesday 11 March: 11 + 5 = Monday 16 > J+10 = 12. */
	{ .name = "rejected j3 (strategic client): j10 next, min_gap from the rejection",
	  .strategic = true,
	  .rows = { REJECTED("j3", "2026-03-05 09:00", "2026-03-11 10:00") },
	  .now = "2026-03-12 10:00",
	  .action = POLICY_WAIT, .stage = "j10", .reason = WANT(REASON_MIN_GAP),
	  .due_day = "2026-03-16" },

	/* ---- After the last stage ---- */
	/* j45 sent Monday 20 April: 20 + 15 = Tuesday 5 May. */
	{ .name = "escalation: j45 sent, 14 days later: wait",
	  .rows = { J3, J10, J30, J45 }, .now = "2026-05-04 17:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_SEQUENCE_DONE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-05-05" },
	{ .name = "escalation: 15 days after j45: escalate (an internal alert, no window)",
	  .rows = { J3, J10, J30, J45 }, .now = "2026-05-05 07:00",
	  .action = POLICY_ESCALATE, .reason = WANT(REASON_ESCALATION_DUE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-05-05" },
	{ .name = "escalation: already escalated: nothing",
	  .escalated = true, .rows = { J3, J10, J30, J45 }, .now = "2026-05-20 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_ESCALATED), .op = WANT(ROW_KEEP) },
	{ .name = "escalation: j45 rejected 21 April: 15 days from the rejection",
	  .rows = { J3, J10, J30, REJECTED("j45", "2026-04-16 09:00", "2026-04-21 10:00") },
	  .now = "2026-05-06 10:00",
	  .action = POLICY_ESCALATE, .reason = WANT(REASON_ESCALATION_DUE), .due_day = "2026-05-06" },
	{ .name = "escalation: a disputed invoice is not handed over",
	  .disputed = true, .rows = { J3, J10, J30, J45 }, .now = "2026-05-10 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_DISPUTED) },
	{ .name = "escalation: paid after j45: nothing",
	  .balance = "0.00", .rows = { J3, J10, J30, J45 }, .now = "2026-05-10 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_PAID) },
	{ .name = "escalation+rule 6: a paused invoice is handed over on paused_until, not before",
	  .inv_pause = "2026-05-15", .rows = { J3, J10, J30, J45 }, .now = "2026-05-06 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_PAUSED), .due_day = "2026-05-15" },
	{ .name = "escalation+rule 6: ...and on paused_until it is",
	  .cli_pause = "2026-05-15", .rows = { J3, J10, J30, J45 }, .now = "2026-05-15 08:00",
	  .action = POLICY_ESCALATE, .reason = WANT(REASON_ESCALATION_DUE), .due_day = "2026-05-15" },
	/* Cleared Monday 4 May: 4 + 5 = Saturday 9 May > 5 May. */
	{ .name = "escalation+rule 4: a dispute cleared after j45 delays the hand-over by min_gap",
	  .cleared = "2026-05-04 10:00", .rows = { J3, J10, J30, J45 },
	  .now = "2026-05-05 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_DISPUTE_CLEARED_GAP), .due_day = "2026-05-09" },

	/* ---- Closed invoices ---- */
	{ .name = "invoice cancelled with a planned j3: cancel pending",
	  .status = INV_CANCELLED, .rows = { ROW("j3", RS_PLANNED, "2026-03-05 09:00") },
	  .now = "2026-03-05 08:00",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_INVOICE_CANCELLED),
	  .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "invoice written off with a held j45: cancel pending",
	  .status = INV_WRITTEN_OFF, .rows = { J3, J10, J30, ROW("j45", RS_HELD, "2026-04-16 09:00") },
	  .now = "2026-04-17 10:00",
	  .action = POLICY_CANCEL, .reason = WANT(REASON_WRITTEN_OFF),
	  .op = WANT(ROW_CANCEL_PENDING) },
	{ .name = "invoice cancelled, nothing pending: nothing",
	  .status = INV_CANCELLED, .rows = { J3 }, .now = "2026-03-12 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_INVOICE_CANCELLED), .op = WANT(ROW_KEEP) },
	{ .name = "invoice written off, nothing pending: nothing",
	  .status = INV_WRITTEN_OFF, .now = "2026-03-05 10:00",
	  .action = POLICY_NOTHING, .reason = WANT(REASON_WRITTEN_OFF), .op = WANT(ROW_KEEP) },
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
	f->dispute_cleared_at = c->cleared ? when(c->cleared) : 0;
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
	else if ((inv = invariant(&cfg, &d, now)) != NULL)
		snprintf(why, sizeof(why), "invariant: %s", inv);
	if (!tap_ok(why[0] == '\0', "%s", c->name)) {
		show(&cfg, &d, got, sizeof(got));
		tap_diag("%s", why);
		tap_diag("got %s", got);
	}
}

/* The names plan --json prints and the reminder states of SPEC §3. */
static void
test_names(void)
{
	static const char *const states[] = { "planned", "held", "approved", "sending", "sent",
		"failed", "cancelled", "in_doubt" };
	int bad = 0;

	tap_ok(strcmp(policy_action_name(POLICY_SEND), "send") == 0 &&
	    strcmp(policy_action_name(POLICY_HOLD), "hold_for_approval") == 0 &&
	    strcmp(policy_action_name(POLICY_WAIT), "wait") == 0 &&
	    strcmp(policy_action_name(POLICY_CANCEL), "cancel") == 0 &&
	    strcmp(policy_action_name(POLICY_ESCALATE), "escalate") == 0,
	    "plan --json action names are those of SPEC §3.3");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		int s = reminder_state_parse(states[i]);

		if (s < 0 || strcmp(reminder_state_name((enum reminder_state)s), states[i]) != 0) {
			bad++;
			tap_diag("state %s: parsed as %d", states[i], s);
		}
	}
	tap_ok(bad == 0, "every reminder state of SPEC §3.1 parses and prints back");
	tap_ok(reminder_state_parse("paid") == -1 && reminder_state_parse("") == -1,
	    "an unknown state name is -1");
}

/* Run the table in Europe/Paris. */
int
main(void)
{
	if (cal_set_timezone("Europe/Paris") < 0) {
		printf("Bail out! Europe/Paris is not installed\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_names();
	return tap_done();
}
