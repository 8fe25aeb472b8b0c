/*
 * ack — the client's acknowledgement of a report made from their page
 * (SPEC §2 rule 12): what it says, in the client's language, and nothing
 * of the client's own words.  Filled by pipeline/acks.c, sent through the
 * daemon's outbox.
 */
#ifndef DUNNING_ACK_H
#define DUNNING_ACK_H

#include <stdint.h>
#include <time.h>

#include "config.h"

/* One acknowledgement to send. */
struct ack {
	int64_t report_id;
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
