/*
 * form — an application/x-www-form-urlencoded body, parsed strictly: pure,
 * no I/O (tests/fuzz/fuzz_form.c drives it).  Each name at most once, each
 * value valid UTF-8 with no control character but CR, LF and TAB, the
 * whole body at most FORM_MAX_BODY bytes.
 */
#ifndef DUNNING_WEB_FORM_H
#define DUNNING_WEB_FORM_H

#include <stddef.h>

#define FORM_MAX_BODY 32768	/* 2 000 characters of 4 bytes, percent-encoded: 24 000 */
#define FORM_MAX_FIELDS 8

enum form_error {
	FORM_OK,
	FORM_TOO_LARGE,		/* longer than FORM_MAX_BODY, or too many fields */
	FORM_MALFORMED,		/* a bad %-escape, a field without '=', a name twice */
	FORM_BAD_TEXT,		/* not UTF-8, or a control character */
};

struct form_field {
	char *name, *value;	/* decoded, NUL-terminated */
};

struct form {
	struct form_field fields[FORM_MAX_FIELDS];
	size_t n;
};

/* Parse the LEN bytes of BODY into F (form_free releases it, whatever the
 * result). */
enum form_error form_parse(const char *body, size_t len, struct form *f);
/* The value of NAME, or NULL. */
const char *form_get(const struct form *f, const char *name);
void form_free(struct form *f);

/* Is the NUL-terminated S valid UTF-8 (no overlong form, no surrogate, at
 * most U+10FFFF) without control characters but CR, LF and TAB? */
int form_text_ok(const char *s, size_t len);
/* The number of characters (code points) of valid UTF-8 S. */
size_t form_chars(const char *s);

#endif
