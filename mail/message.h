/*
 * message — what a reminder says and how it is wrapped: the template
 * context (SPEC §3.4, built here and nowhere else), the rendering, and
 * the MIME message (GMime) or the letter's text.
 */
#ifndef DUNNING_MESSAGE_H
#define DUNNING_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "group.h"

struct message_set;

/* Parse every stage's templates of every language present under the
 * configured directory, and check each against the context's fields
 * (those context_client gives a group with every optional field present).
 * NULL with "DIR/fr/j03.txt:4: no field "x" in the message context" in ERR. */
struct message_set *message_set_load(const struct config *cfg, char *err, size_t errlen);
void message_set_free(struct message_set *ms);

/* A complete RFC 5322 message with CRLF line ends, malloc'ed. */
char *message_compose(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen);
/* The subject and text part of a composed message, as rendered (malloc'ed):
 * the copy kept of what left. */
struct message_copy {
	char *subject, *text;
};
char *message_compose_kept(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    struct message_copy *copy);

/* The letter (channel "letter") as UTF-8 text, malloc'ed. */
char *message_letter(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, char *err, size_t errlen);

/* The address part of the configured From ("relances@cabinet.example"),
 * and its domain, for Message-IDs. */
const char *message_from_domain(const struct config *cfg, char *buf, size_t n);

/*
 * The lawyer's mail: immediate alerts and the daily digest, in the
 * firm's language (firm.language: templates/LANG/lawyer_alert.* and
 * lawyer_digest.*, subject and text).
 * Internal mail, with the same minimisation as the client's: invoice
 * numbers, file references, client names, amounts, stages and dates.
 */
enum message_lawyer {
	MESSAGE_LAWYER_ALERT,
	MESSAGE_LAWYER_DIGEST,
	MESSAGE_LAWYER_KINDS
};

/* Parse and check the lawyer's templates into MS.  -1 with
 * "DIR/fr/lawyer_alert.txt:4: no field "x" in the message context" in ERR. */
int message_lawyer_load(struct message_set *ms, const struct config *cfg, char *err,
    size_t errlen);

/* Render WHICH with CTX into a complete RFC 5322 message to TO_NAME
 * <TO_ADDR> from smtp.from, with MESSAGE_ID ("<...>"), malloc'ed. */
char *message_lawyer_compose(const struct message_set *ms, const struct config *cfg,
    enum message_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen);

#endif
