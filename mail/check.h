/*
 * check — what must hold before a group becomes a message: a plain,
 * deliverable-looking address, and names, postal addresses and numbers
 * free of the control characters that would break a header or a letter.
 */
#ifndef DUNNING_CHECK_H
#define DUNNING_CHECK_H

#include <stdbool.h>

#include "config.h"
#include "group.h"
#include "reason.h"

/* Is ADDR a plain, deliverable-looking address (no display name, no
 * control characters, one @, a dotted domain)? */
bool check_address(const char *addr);

/* Does S hold a control character (CR, LF, NUL-adjacent...)? */
bool check_has_control(const char *s);

/* Is S (NULL: none) valid UTF-8? */
bool check_utf8(const char *s);

#define CHECK_URL_MAX 2000
/* Is URL a payment link fit to become an href: "https://" (any case), a
 * host without user-info, at most CHECK_URL_MAX bytes of RFC 3986's
 * printable ASCII, nothing that ends an attribute (quotes, angle
 * brackets, spaces, line breaks)?  No other scheme: javascript:, data:,
 * mailto:, http: are refused. */
bool check_payment_url(const char *url);

/* Why G cannot become a message (missing or invalid e-mail, control
 * characters in a name or a number...), or NULL when it can. */
enum reason check_group(const struct send_group *g, const struct config *cfg);

#endif
