/*
 * reason — why a reminder is in its state, or why the policy decided what
 * it did: one enum, and one table mapping each reason to the code stored
 * in dunning.reminder.reason (and in audit details) and to its text in
 * French and English.  Modules exchange the enum, never the text: the
 * lawyer's mail, dunningctl in-doubt and plan --json print the table's
 * words; dunningctl pending and the JSON outputs give the codes.
 */
#ifndef DUNNING_REASON_H
#define DUNNING_REASON_H

#include <stdbool.h>

enum reason {
	REASON_NONE,
	/* The policy's (lib/policy.c). */
	REASON_DUE,
	REASON_NOT_DUE,
	REASON_MIN_GAP,
	REASON_DISPUTE_CLEARED_GAP,
	REASON_PAUSED,
	REASON_PAYMENT_GRACE,
	REASON_SEND_WINDOW,
	REASON_STRATEGIC,
	REASON_THRESHOLD,
	REASON_STAGE_APPROVAL,
	REASON_NO_THRESHOLD,
	REASON_AWAITING_APPROVAL,
	REASON_APPROVED,
	REASON_PAID,
	REASON_DISPUTED,
	REASON_INVOICE_CANCELLED,
	REASON_WRITTEN_OFF,
	REASON_BEING_SENT,
	REASON_IN_DOUBT,
	REASON_FAILED,
	REASON_UNKNOWN_STAGE,
	REASON_SEQUENCE_DONE,
	REASON_ESCALATION_DUE,
	REASON_ESCALATED,
	REASON_RETRY_BACKOFF,
	REASON_REPORTED,	/* the client reported a problem (rule 12) */
	/* A lawyer's or the operator's (sql/functions/lawyer_actions.sql). */
	REASON_REJECTED,
	REASON_RESEND_REQUESTED,
	REASON_MARKED_SENT,
	/* Delivery (pipeline/send.c, pipeline/outcome.c, mail/check.c). */
	REASON_NO_EMAIL,
	REASON_INVALID_EMAIL,
	REASON_NO_POSTAL_ADDRESS,
	REASON_CONTROL_IN_NAME,
	REASON_CONTROL_IN_ADDRESS,
	REASON_CONTROL_IN_NUMBER,
	REASON_INVALID_TEXT,
	REASON_PAYMENT_URL_REFUSED,
	REASON_NOT_COMPOSED,
	REASON_ATTACHMENT_REFUSED,
	REASON_NO_CHANNEL,
	REASON_RELAY_REFUSED,
	REASON_SESSION_REFUSED,
	REASON_GAVE_UP,
	REASON_NO_ANSWER_AFTER_DATA,
	REASON_LEASE_EXPIRED,
	/* A fee agreement's chase (SPEC §2 rule 13, pipeline/chase.c). */
	REASON_SIGNATURE_URL_REFUSED,
	REASON_AGREEMENT_SIGNED,
	REASON_STAGE_SKIPPED,
	/* Payment plans (SPEC §2 rule 11: lib/policy.c, sql/functions/plans.sql). */
	REASON_PLAN_ACTIVE,
	REASON_PLAN_ENDED_GAP,
	REASON_COUNT
};

/* The code stored in the database ("" for REASON_NONE). */
const char *reason_code(enum reason r);
/* The reason of CODE, or REASON_NONE when it is not one of ours. */
enum reason reason_of(const char *code);
/* The text for a person, in English (EN) or French. */
const char *reason_text(enum reason r, bool en);
/* The text of R with what the code alone cannot say: the relay's answer
 * or the error (DETAIL, may be NULL) and, for REASON_GAVE_UP, the number
 * of ATTEMPTS — e.g. "gave up after 12 attempts: 451 4.3.0 try later".
 * Malloc'ed; NULL when out of memory. */
char *reason_say(enum reason r, bool en, int attempts, const char *detail);

#endif
