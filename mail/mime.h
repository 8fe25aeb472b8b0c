/*
 * mime — the wire message (RFC 5322, GMime): headers written so that no
 * name or subject can break them, encoded words, the text and HTML
 * parts, the invoices' PDFs; for the client's reminders and the lawyer's
 * mail.
 */
#ifndef DUNNING_MIME_H
#define DUNNING_MIME_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "context.h"
#include "group.h"
#include "reason.h"
#include "templates.h"

/* A complete RFC 5322 message with CRLF line ends, malloc'ed.  An
 * invoice's pdf_path is attached only with attachments.attach_invoice_pdf,
 * read only from inside attachments.dir (SPEC rule 9); one that cannot be
 * fails the whole message. */
char *mime_compose(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen);
/* The subject and text part of a composed message, as rendered (malloc'ed):
 * the copy kept of what left. */
struct mime_copy {
	char *subject, *text;
};
/* WHY (may be NULL): REASON_ATTACHMENT_REFUSED when a PDF could not be
 * attached, else REASON_NOT_COMPOSED when NULL is returned. */
char *mime_compose_kept(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    enum reason *why, struct mime_copy *copy);

/* The address part of the configured From ("relances@cabinet.example"),
 * and its domain, for Message-IDs. */
const char *mime_from_domain(const struct config *cfg, char *buf, size_t n);

/* A fee agreement's reminder A (SPEC §2 rule 13) at NOW: its stage's
 * templates in the client's language, from smtp.from to the client,
 * Reply-To as a reminder's; COPY (may be NULL) gets the subject and text.
 * NULL with the reason in ERR. */
char *mime_agreement_compose(const struct templates *ts, const struct config *cfg,
    const struct agreement_mail *a, time_t now, size_t *len, char *err, size_t errlen,
    struct mime_copy *copy);

/* Render WHICH with CTX into a complete RFC 5322 message to TO_NAME
 * <TO_ADDR> from smtp.from, with MESSAGE_ID ("<...>"), malloc'ed. */
/* A plain-text message that no template makes (mail/ack.c): to TO_NAME
 * <TO_ADDR>, Reply-To REPLY_TO (may be NULL); NULL with the reason in ERR. */
char *mime_plain_compose(const struct config *cfg, const char *to_name, const char *to_addr,
    const char *reply_to, const char *subject, const char *text, const char *message_id,
    time_t now, size_t *len, char *err, size_t errlen);

char *mime_lawyer_compose(const struct templates *ts, const struct config *cfg,
    enum templates_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen);

/* A payment plan's instalment reminder N to the client (SPEC §2 rule 11),
 * with N's Message-ID, text only, in N's language; COPY (may be NULL) gets
 * the subject and text as rendered.  NULL with the reason in ERR. */
char *mime_plan_compose(const struct templates *ts, const struct config *cfg,
    const struct plan_notice *n, time_t now, size_t *len, char *err, size_t errlen,
    struct mime_copy *copy);

#endif
