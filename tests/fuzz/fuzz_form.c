/*
 * fuzz_form — dunningweb's form parser (web/form.c): any body, any bytes.
 *
 * Checked: no crash, leak or UB; a body longer than FORM_MAX_BODY is
 * refused; a form read has at most FORM_MAX_FIELDS fields, each name and
 * value NUL-free valid UTF-8 without control characters but CR, LF and
 * TAB (form_text_ok, checked again here by a decoder written apart), no
 * name twice, and its first field's value is what form_get returns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_form: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

/* Valid UTF-8 by a second reading: each sequence decoded whole. */
static int
utf8_ok(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s, cp, n;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f)
				return 0;
			s++;
			continue;
		}
		n = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (n == 9)
			return 0;
		cp = c & (0x3f >> n);
		for (unsigned k = 1; k <= n; k++) {
			if ((s[k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return 0;
		s += n + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;
	enum form_error e = form_parse((const char *)data, size, &f);

	if (size > FORM_MAX_BODY && e != FORM_TOO_LARGE)
		FAIL("an oversize body read");
	if (e == FORM_OK) {
		if (f.n > FORM_MAX_FIELDS)
			FAIL("too many fields");
		for (size_t i = 0; i < f.n; i++) {
			if (!utf8_ok((const unsigned char *)f.fields[i].name) ||
			    !utf8_ok((const unsigned char *)f.fields[i].value))
				FAIL("a field that is not clean UTF-8");
			if (f.fields[i].name[0] == '\0')
				FAIL("an empty name");
			for (size_t k = 0; k < i; k++)
				if (strcmp(f.fields[k].name, f.fields[i].name) == 0)
					FAIL("a name twice");
		}
		if (f.n > 0 && form_get(&f, f.fields[0].name) != f.fields[0].value)
			FAIL("form_get");
	}
	form_free(&f);
	return 0;
}
