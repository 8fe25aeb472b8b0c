/*
 * group — the data of the messages: a client's message (one client, one
 * stage, its invoices), a lawyer's alert and the lines of a digest.  Plain
 * structs filled by the pipeline from the database and read by the mail
 * modules, so that mail/ never depends on db/.
 */
#ifndef DUNNING_GROUP_H
#define DUNNING_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "interest.h"
#include "reason.h"

/* One invoice of a message. */
struct send_item {
	int64_t reminder_id;
	int64_t invoice_id;
	char *number;
	char *matter_ref;
	char *payment_url;
	char *pdf_path;		/* the invoice as a PDF to attach, or NULL (sql/012) */
	cal_day issued_on;
	cal_day due_on;
	int64_t amount_cents;
	int64_t balance_cents;
	int attempts;		/* including this one */
	bool approved;		/* was approved: a retry goes back to approved */
	struct interest_payment *payments;	/* the invoice's, oldest first: late interest */
	size_t npayments;
	/* Its fee agreement (SPEC §2 rule 13): signed, with the interest
	 * clause, no legal aid; its multiplier (thousandths) and start days,
	 * -1 when the agreement leaves them to the interest defaults. */
	bool interest_clause;
	int agreement_multiplier_milli;
	int agreement_start_days;
};

/* What one message needs: the client, the lawyer, the invoices. */
struct send_group {
	int stage;
	char currency[4];
	char *message_id;
	int64_t client_id;
	char *kind, *first_name, *last_name, *company_name, *email, *language;
	char *address_line1, *address_line2, *postal_code, *city, *country;
	char *lawyer_name, *lawyer_email;
	struct send_item *items;
	size_t nitems;
	bool locked;		/* its invoices' send locks are held... */
	unsigned int session;	/* ...by this session of the store */
	int64_t claim;		/* the sender's claim holding its reminders (sql/018) */
};

/* The digest's sections, in the order the mail lists them. */
enum digest_section {
	DIGEST_HELD = 1,	/* waiting for the lawyer's approval */
	DIGEST_FAILED,		/* could not be delivered; the invoice waits */
	DIGEST_IN_DOUBT,	/* outcome unknown; for the operator */
	DIGEST_ESCALATED,	/* handed over since the previous digest */
	DIGEST_DISPUTED,	/* disputes open for escalation.dispute_reminder_days */
	DIGEST_NO_RATE,		/* a half-year the legal-rate table lacks (SPEC §2.1) */
	DIGEST_PRESCRIPTION,	/* a prescription alert since the previous digest (rule 14) */
	DIGEST_LEGAL_AID,	/* partial legal aid: agreements to file (rule 13) */
	DIGEST_PLAN,		/* payment plans waiting for approval (rule 11) */
	DIGEST_NO_ANSWER,	/* no payment, report nor plan 48 business hours after j10 (rule 12) */
	DIGEST_NSECTIONS
};

/* One line of a digest. */
struct digest_item {
	enum digest_section section;
	int64_t reminder_id;	/* 0 for an invoice-wide item */
	char *number;
	char *matter_ref;	/* NULL when none */
	char *client_name;
	int64_t balance_cents;
	char currency[4];
	char *stage;		/* NULL when none */
	enum reason why;	/* why it is held or failed; REASON_NONE when neither */
	char *detail;		/* a failure's relay answer or error; NULL when none */
	int attempts;		/* of a failed reminder */
	time_t since;		/* scheduled, failed, escalated or disputed at */
	int year, half;		/* DIGEST_NO_RATE: the half-year missing... */
	int64_t invoices;	/* ...and the lawyer's open invoices issued in it */
	int64_t agreement_id;	/* DIGEST_LEGAL_AID: the agreement to file, its... */
	cal_day signed_on, last_day;	/* ...signature and last filing day */
};

/* An alert claimed for sending.  DETAILS is the row's jsonb (stage,
 * invoices, and per kind: path; reason, attempts and why (the detail) of a
 * failure; after_days). */
struct lawyer_alert {
	int64_t id;
	char kind[24];		/* stage_sent, letter_ready, failed, escalated, prescription,
				 * legal_aid, agreement_unsigned */
	int64_t lawyer_id;	/* 0: the client has no lawyer */
	char *lawyer_name, *lawyer_email;
	int64_t invoice_id, reminder_id;
	char *client_name;
	json_t *details;
	int attempts;		/* including this one */
	time_t created_at;
};

/* A payment plan's instalment reminder (SPEC §2 rule 11, dunning.plan_message):
 * to the client, in their language, before an instalment ('due') or after
 * a missed one ('late').  Only what the plan asks now: THIS instalment's
 * amount still due and what the whole plan still asks, never the invoices'
 * original amounts nor any matter detail.  Filled by pipeline/plans.c. */
struct plan_notice {
	int64_t id;		/* the plan_message row */
	int64_t plan_id;
	int seq, ninstalments;	/* this instalment, of how many */
	bool late;		/* 'late', else 'due' */
	char *client_name, *email, *language;
	char *lawyer_name, *lawyer_email;
	char *invoices;		/* the plan's invoice numbers, ", " between */
	bool several;		/* more than one invoice */
	char currency[4];
	int64_t amount_cents;	/* this instalment, still due */
	int64_t remaining_cents;	/* the whole plan, still due */
	cal_day due_on;
	int attempts;		/* including this one */
	char message_id[200];
};

/* Free what a claim (or a preview) allocated in G. */
void group_free(struct send_group *g);
/* The Message-ID of the message carrying the N reminders IDS (sorted),
 * of STAGE, at DOMAIN, into BUF. */
void group_message_id(const int64_t *ids, size_t n, const char *stage, const char *domain,
    char *buf, size_t len);

#endif
