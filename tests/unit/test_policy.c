/*
 * test_policy — when each stage of SPEC §2 is due: rule 1 (order and due
 * dates), rule 2 (once) and rule 7 (the send window), as a table of
 * invoices, instants and the decision policy_decide must take; and the
 * names plan --json prints.  What stops, holds or ends the reminders is in
 * test_policy_stop.c; the default configuration and invoice every case
 * starts from are described in policy_case.h.
 */
#include <string.h>

#include "policy.h"
#include "policy_case.h"
#include "tap.h"

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
	/* ---- SPEC §2.1: escalation from the formal notice's posting ---- */
	/* j45 written Monday 20 April, posted (letter_sent) Thursday 30 April:
	 * its eight days run from the posting, so the hand-over is 30 April +
	 * 15 = 15 May, not 20 April + 15 = 5 May. */
	{ .name = "escalation: j45 posted ten days after it was written: no hand-over 15 days after writing",
	  .rows = { J3, J10, J30, POSTED("j45", "2026-04-20 10:00", "2026-04-30 11:00") },
	  .now = "2026-05-05 10:00",
	  .action = POLICY_WAIT, .reason = WANT(REASON_SEQUENCE_DONE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-05-15" },
	{ .name = "escalation: ...handed over 15 days after its posting",
	  .rows = { J3, J10, J30, POSTED("j45", "2026-04-20 10:00", "2026-04-30 11:00") },
	  .now = "2026-05-15 07:00",
	  .action = POLICY_ESCALATE, .reason = WANT(REASON_ESCALATION_DUE), .op = WANT(ROW_KEEP),
	  .due_day = "2026-05-15" },
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
};

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

/* Run the table, then the names. */
int
main(void)
{
	run_table(cases, sizeof(cases) / sizeof(cases[0]));
	test_names();
	return tap_done();
}
