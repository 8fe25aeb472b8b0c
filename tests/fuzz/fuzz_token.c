/*
 * fuzz_token — the links' parser (lib/token.c): any text as a link token.
 *
 * Checked: no crash or UB; a text accepted is one token_sign writes
 * again byte for byte (one spelling per token), names at least one and at
 * most TOKEN_MAX_INVOICES invoices and known rights; byte 0 of the input,
 * when it is 'S', makes the rest a token signed here first, which must be
 * accepted, and every one-byte change of it refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_token: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

#define KEY "fuzz-key-0123456789abcdef0123456789abcdef"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct token_key k;
	char text[TOKEN_MAX_LEN + 64], again[TOKEN_MAX_LEN + 1];
	struct token t;

	if (k.len == 0)
		token_key_make(&k, KEY, strlen(KEY));
	if (size > TOKEN_MAX_LEN + 32)
		return 0;
	if (size > 1 && data[0] == 'S') {
		/* A token from the input's numbers: each 8 bytes an id. */
		struct token s = { .client_id = data[1], .rights = 1 + data[1] % 7,
		    .expires = 2000000000 };
		char buf[TOKEN_MAX_LEN + 1];
		int n;

		for (size_t i = 2; i + 8 <= size && s.ninvoices < TOKEN_MAX_INVOICES; i += 8) {
			int64_t v;

			memcpy(&v, data + i, 8);
			s.invoices[s.ninvoices++] = v < 0 ? -(v + 1) : v;
		}
		if (s.ninvoices == 0)
			return 0;
		if ((n = token_sign(&s, &k, buf, sizeof(buf))) < 0)
			return 0;
		if (token_verify(buf, &k, 1, 1000, &t) != TOKEN_OK || t.ninvoices != s.ninvoices)
			FAIL("a signed token refused");
		for (int i = 0; i < n; i++) {
			char c = buf[i];

			buf[i] = c == 'A' ? 'B' : 'A';
			if (token_verify(buf, &k, 1, 1000, &t) == TOKEN_OK)
				FAIL("a changed token accepted");
			buf[i] = c;
		}
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	if (token_verify(text, &k, 1, 1000, &t) != TOKEN_OK)
		return 0;
	if (t.ninvoices == 0 || t.ninvoices > TOKEN_MAX_INVOICES || t.rights == 0 ||
	    (t.rights & ~(unsigned)TOKEN_RIGHTS_ALL))
		FAIL("an accepted token names nothing");
	if (token_sign(&t, &k, again, sizeof(again)) < 0 || strcmp(again, text) != 0)
		FAIL("an accepted token is not the one spelling of what it names");
	return 0;
}
