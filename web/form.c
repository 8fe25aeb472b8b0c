/*
 * form — strict parsing of a urlencoded form (form.h).
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"

/* The value of the hexadecimal digit C, or -1. */
static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the LEN bytes at S ('+' a space, %XX a byte) into a new string of
 * *OUTLEN bytes; NULL when an escape is malformed or memory runs out. */
static char *
decode(const char *s, size_t len, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%') {
			int h, l;

			if (i + 2 >= len) {
				free(out);
				return NULL;
			}
			if ((h = hex(s[i + 1])) < 0 || (l = hex(s[i + 2])) < 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

int
form_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		unsigned cp;
		size_t n;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + n >= len)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return 0;
		i += n + 1;
	}
	return 1;
}

size_t
form_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

enum form_error
form_parse(const char *body, size_t len, struct form *f)
{
	size_t i = 0;

	memset(f, 0, sizeof(*f));
	if (len > FORM_MAX_BODY)
		return FORM_TOO_LARGE;
	if (memchr(body, '\0', len) != NULL)
		return FORM_BAD_TEXT;
	while (i < len) {
		const char *field = body + i, *eq;
		size_t flen = 0, nlen, vlen;
		char *name, *value;

		while (i + flen < len && body[i + flen] != '&')
			flen++;
		i += flen + 1;
		if (flen == 0)
			continue;
		if ((eq = memchr(field, '=', flen)) == NULL || eq == field)
			return FORM_MALFORMED;
		if (f->n == FORM_MAX_FIELDS)
			return FORM_TOO_LARGE;
		name = decode(field, (size_t)(eq - field), &nlen);
		value = decode(eq + 1, flen - (size_t)(eq - field) - 1, &vlen);
		if (name == NULL || value == NULL) {
			free(name);
			free(value);
			return FORM_MALFORMED;
		}
		f->fields[f->n].name = name;
		f->fields[f->n].value = value;
		f->n++;
		if (strlen(name) != nlen || strlen(value) != vlen || !form_text_ok(name, nlen) ||
		    !form_text_ok(value, vlen))
			return FORM_BAD_TEXT;
		for (size_t k = 0; k + 1 < f->n; k++)
			if (strcmp(f->fields[k].name, name) == 0)
				return FORM_MALFORMED;
	}
	return FORM_OK;
}

const char *
form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	return NULL;
}

void
form_free(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	memset(f, 0, sizeof(*f));
}
