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
#include "templates.h"

/* A complete RFC 5322 message with CRLF line ends, malloc'ed. */
char *message_compose(const struct templates *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen);
/* The subject and text part of a composed message, as rendered (malloc'ed):
 * the copy kept of what left. */
struct message_copy {
	char *subject, *text;
};
char *message_compose_kept(const struct templates *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    struct message_copy *copy);

/* The address part of the configured From ("relances@cabinet.example"),
 * and its domain, for Message-IDs. */
const char *message_from_domain(const struct config *cfg, char *buf, size_t n);

/* Render WHICH with CTX into a complete RFC 5322 message to TO_NAME
 * <TO_ADDR> from smtp.from, with MESSAGE_ID ("<...>"), malloc'ed. */
char *message_lawyer_compose(const struct templates *ms, const struct config *cfg,
    enum templates_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen);

#endif
