/*
 * context — what a template sees (SPEC §3.4), built here and nowhere
 * else: the client's message, the lawyer's alert and digest, with amounts
 * and dates written for the reader's language.  Only what the rule of
 * secret professionnel allows: names, invoice numbers, amounts, dates, the
 * firm's file reference.
 */
#ifndef DUNNING_CONTEXT_H
#define DUNNING_CONTEXT_H

#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "config.h"
#include "group.h"

/* The context of SPEC §3.4 for G at NOW. */
json_t *context_client(const struct config *cfg, const struct send_group *g, time_t now);

/* Does IT's PDF go with its message (attachments.attach_invoice_pdf
 * and a path)?  The context's "attached" (every invoice's PDF goes with
 * it) and each invoice's say so, so a text says "attached" only then. */
bool context_attached(const struct config *cfg, const struct send_item *it);

/* The name G's client is addressed by (the company, or first and last
 * name), malloc'ed. */
char *context_client_name(const struct send_group *g);

/* A fee agreement's reminder (SPEC §2 rule 13, pipeline/chase.c): what
 * its message may say, and nothing of the matter. */
struct agreement_mail {
	int stage;		/* index into cfg->agreement.stages */
	const char *message_id;	/* "<…>" */
	const char *kind, *first_name, *last_name, *company_name, *email, *language;
	const char *lawyer_name, *lawyer_email;
	const char *signature_url;
	cal_day sent_on;
};

/* The context of A's message at NOW: the client's name and kind, the
 * firm, the lawyer, the day it was sent and the signature link. */
json_t *context_agreement(const struct config *cfg, const struct agreement_mail *a,
    time_t now);

/* The name A's client is addressed by, malloc'ed. */
char *context_agreement_name(const struct agreement_mail *a);

/* The context of alert A (sql/010), composed at NOW. */
json_t *context_alert(const struct config *cfg, const struct lawyer_alert *a, time_t now);

/* The context of a digest of the N ITEMS for LAWYER_NAME at NOW, with the
 * audit chain's head AUDIT_HEAD ("audit head SEQ:HASH", SPEC §3.5). */
json_t *context_digest(const struct config *cfg, const char *lawyer_name,
    const struct digest_item *items, int n, const char *audit_head, time_t now);

/* The context of a payment plan's instalment reminder N at NOW (SPEC §2
 * rule 11), in N's language. */
json_t *context_plan(const struct config *cfg, const struct plan_notice *n, time_t now);

#endif
