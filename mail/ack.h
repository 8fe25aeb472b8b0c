/*
 * ack — the client's acknowledgement of a report or a payment plan made
 * from their page (SPEC §2 rules 11-12): what it says, in the client's language, and nothing
 * of the client's own words.  Filled by pipeline/acks.c, sent through the
 * daemon's outbox.
 */
#ifndef DUNNING_ACK_H
#define DUNNING_ACK_H

#include <stdint.h>
#include <time.h>

#include "config.h"

/* One acknowledgement to send: of a report, or of a payment plan the
 * client proposed (PLAN_ID not 0; issue 19, rule 11). */
struct ack {
	int64_t report_id;
	int64_t plan_id;	/* 0: a report's */
	char *plan_state;	/* 'active' (accepted) or 'proposed' (the lawyer decides) */
	char *schedule;		/* "YYYY-MM-DD=AMOUNT;…", in order */
	char currency[4];
	char *email, *client_name, *language, *kind, *category;
	char *invoices;		/* the numbers, ", " between */
	int ninvoices;
	char *lawyer_name, *lawyer_email;
	time_t received_at;
	int attempts;		/* including this one */
};

/* The subject and text of A (malloc'ed, both or neither): 0, or -1 when
 * memory runs out.  French texts get their no-break spaces (lib/typo.c). */
int ack_text(const struct config *cfg, const struct ack *a, char **subject, char **text);

#endif
