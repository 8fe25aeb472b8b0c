/*
 * test_token — the signed links of rule 12 (lib/token.c): what a token
 * names comes back exactly; an altered, foreign-key, expired or malformed
 * one is refused; two keys during a rotation; the anti-forgery token is
 * bound to its link.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "token.h"

#define K1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define K2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static struct token_key one, two;

/* A token for client 7, invoices 11 and 12, pay + report, expiring at 2e9. */
static struct token
sample(void)
{
	struct token t = { .client_id = 7, .ninvoices = 2, .rights = TOKEN_PAY | TOKEN_REPORT,
	    .expires = 2000000000 };

	t.invoices[0] = 11;
	t.invoices[1] = 12;
	return t;
}

/* Sign T with K into BUF. */
static void
sign(const struct token *t, const struct token_key *k, char *buf, size_t n)
{
	if (token_sign(t, k, buf, n) < 0)
		buf[0] = '\0';
}

static void
round_trip(void)
{
	struct token t = sample(), got;
	char buf[TOKEN_MAX_LEN + 1];
	enum token_status st;

	sign(&t, &one, buf, sizeof(buf));
	st = token_verify(buf, &one, 1, 1000, &got);
	if (st != TOKEN_OK)
		tap_diag("status %d", (int)st);
	tap_ok(st == TOKEN_OK && got.client_id == 7 && got.ninvoices == 2 &&
	    got.invoices[0] == 11 && got.invoices[1] == 12 && got.rights == 3 &&
	    got.expires == 2000000000, "a token names what it was signed with: %s", buf);
	tap_ok(strspn(buf, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_")
	    == strlen(buf), "only characters a URL carries as they are");
	tap_ok(token_verify(buf, &one, 1, 2000000000, &got) == TOKEN_EXPIRED && got.client_id == 0,
	    "expired at its expiry instant, and says nothing");
	tap_ok(token_verify(buf, &two, 1, 1000, &got) == TOKEN_UNKNOWN_KEY,
	    "another key's id: refused");
}

static void
altered(void)
{
	struct token t = sample(), got;
	char buf[TOKEN_MAX_LEN + 1], alt[TOKEN_MAX_LEN + 1];
	size_t len;
	int refused = 0, n = 0;

	sign(&t, &one, buf, sizeof(buf));
	len = strlen(buf);
	/* Every single character changed: never accepted. */
	for (size_t i = 0; i < len; i++) {
		const char *repl = "0a9.-_Z";

		for (const char *r = repl; *r; r++) {
			if (*r == buf[i])
				continue;
			memcpy(alt, buf, len + 1);
			alt[i] = *r;
			n++;
			if (token_verify(alt, &one, 1, 1000, &got) != TOKEN_OK)
				refused++;
		}
	}
	tap_ok(refused == n, "each of %d one-character changes refused (%d)", n, refused);

	/* Another client's or another invoice's token, re-assembled with the
	 * first token's MAC: refused. */
	snprintf(alt, sizeof(alt), "%.*s", (int)len, buf);
	alt[11] = '8';
	tap_ok(token_verify(alt, &one, 1, 1000, &got) == TOKEN_BAD_MAC, "client 8 for 7: bad MAC");
	memcpy(alt, buf, len + 1);
	alt[len - 1] = alt[len - 1] == 'A' ? 'B' : 'A';
	tap_ok(token_verify(alt, &one, 1, 1000, &got) == TOKEN_BAD_MAC, "the MAC's last character");
	/* Cut short, made longer, empty, noise. */
	memcpy(alt, buf, len + 1);
	alt[len - 1] = '\0';
	tap_ok(token_verify(alt, &one, 1, 1000, &got) == TOKEN_MALFORMED, "cut short");
	snprintf(alt, sizeof(alt), "%sA", buf);
	tap_ok(token_verify(alt, &one, 1, 1000, &got) == TOKEN_MALFORMED, "one more character");
	tap_ok(token_verify("", &one, 1, 1000, &got) == TOKEN_MALFORMED, "empty");
	tap_ok(token_verify("1.zzzzzzzz.7.11.3.2000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    &one, 1, 1000, &got) == TOKEN_MALFORMED, "a key id that is not hex");
}

static void
strict_fields(void)
{
	struct token got;
	char buf[TOKEN_MAX_LEN + 1], body[256];
	struct token t = sample();

	/* A leading zero re-signs to another text: refused as malformed,
	 * before its MAC is even computed. */
	sign(&t, &one, buf, sizeof(buf));
	snprintf(body, sizeof(body), "1.%s.07.11-12.3.2000000000.%s", one.kid, buf + strlen(buf) - 43);
	tap_ok(token_verify(body, &one, 1, 1000, &got) == TOKEN_MALFORMED, "leading zero refused");
	snprintf(body, sizeof(body), "1.%s.7.11-12.8.2000000000.%s", one.kid, buf + strlen(buf) - 43);
	tap_ok(token_verify(body, &one, 1, 1000, &got) == TOKEN_MALFORMED, "an unknown right");
	snprintf(body, sizeof(body), "2.%s", buf + 2);
	tap_ok(token_verify(body, &one, 1, 1000, &got) == TOKEN_MALFORMED, "another version");

	t.ninvoices = 0;
	tap_ok(token_sign(&t, &one, buf, sizeof(buf)) < 0, "no invoice: not signed");
	t = sample();
	t.ninvoices = TOKEN_MAX_INVOICES;
	for (size_t i = 0; i < TOKEN_MAX_INVOICES; i++)
		t.invoices[i] = 999999999999999999LL - (int64_t)i;
	tap_ok(token_sign(&t, &one, buf, sizeof(buf)) > 0 &&
	    token_verify(buf, &one, 1, 1000, &got) == TOKEN_OK && got.ninvoices == TOKEN_MAX_INVOICES,
	    "the most invoices of the largest ids fit in TOKEN_MAX_LEN");
	tap_ok(token_sign(&t, &one, buf, 100) < 0, "a buffer too small: not signed");
	/* Found by fuzz_token: an id of 19 digits was signed, then refused. */
	t.ninvoices = 1;
	t.invoices[0] = INT64_MAX;
	tap_ok(token_sign(&t, &one, buf, sizeof(buf)) > 0 &&
	    token_verify(buf, &one, 1, 1000, &got) == TOKEN_OK && got.invoices[0] == INT64_MAX,
	    "the largest id signs and reads back");
	snprintf(body, sizeof(body), "1.%s.9223372036854775808.1.3.2000000000.%s", one.kid,
	    buf + strlen(buf) - 43);
	tap_ok(token_verify(body, &one, 1, 1000, &got) == TOKEN_MALFORMED, "one past it refused");
}

static void
rotation(void)
{
	struct token_key keys[2];
	struct token t = sample(), got;
	char buf[TOKEN_MAX_LEN + 1], err[200];
	const char *file = "# current, then previous\n" K2 "\n\n" K1 "\r\n";

	tap_ok(token_keys_parse(file, strlen(file), keys, err, sizeof(err)) == 2 &&
	    strcmp(keys[0].kid, two.kid) == 0 && strcmp(keys[1].kid, one.kid) == 0,
	    "a file of two keys: current first");
	sign(&t, &one, buf, sizeof(buf));
	tap_ok(token_verify(buf, keys, 2, 1000, &got) == TOKEN_OK, "a link of the previous key works");
	sign(&t, &keys[0], buf, sizeof(buf));
	tap_ok(token_verify(buf, keys, 2, 1000, &got) == TOKEN_OK, "a link of the current key works");
	tap_ok(token_verify(buf, &one, 1, 1000, &got) == TOKEN_UNKNOWN_KEY,
	    "once the new key is dropped, its links no longer work");
	tap_ok(token_keys_parse("short\n", 6, keys, err, sizeof(err)) < 0 &&
	    strstr(err, "line 1") != NULL, "a short key refused: %s", err);
	tap_ok(token_keys_parse("\n# x\n", 5, keys, err, sizeof(err)) < 0, "no key: %s", err);
	file = K1 "\n" K2 "\n" K1 "\n";
	tap_ok(token_keys_parse(file, strlen(file), keys, err, sizeof(err)) < 0 &&
	    strstr(err, "line 3") != NULL, "a third key refused: %s", err);
	file = K1 "\n" K1 "\n";
	tap_ok(token_keys_parse(file, strlen(file), keys, err, sizeof(err)) < 0,
	    "the same key twice refused");
}

static void
forms(void)
{
	struct token t = sample();
	char a[TOKEN_MAX_LEN + 1], b[TOKEN_MAX_LEN + 1], fa[TOKEN_FORM_LEN + 1],
	    fb[TOKEN_FORM_LEN + 1];
	struct token_key keys[2] = { two, one };

	sign(&t, &one, a, sizeof(a));
	t.client_id = 8;
	sign(&t, &one, b, sizeof(b));
	token_form(a, keys, 2, fa);
	token_form(b, keys, 2, fb);
	tap_ok(strlen(fa) == TOKEN_FORM_LEN && token_form_check(a, keys, 2, fa),
	    "a page's anti-forgery token checks");
	tap_ok(!token_form_check(a, keys, 2, fb), "another link's does not");
	tap_ok(!token_form_check(a, keys, 2, ""), "none does not");
	fa[0] = fa[0] == 'A' ? 'B' : 'A';
	tap_ok(!token_form_check(a, keys, 2, fa), "an altered one does not");
	tap_ok(token_rights_for_stage(3) == (TOKEN_PAY | TOKEN_REPORT) &&
	    token_rights_for_stage(10) == TOKEN_RIGHTS_ALL && token_rights_for_stage(30) == 7,
	    "j3: pay and report; j10 and j30: a plan too");
}

int
main(void)
{
	token_key_make(&one, K1, strlen(K1));
	token_key_make(&two, K2, strlen(K2));
	tap_ok(strlen(one.kid) == 8 && strcmp(one.kid, two.kid) != 0, "key ids %s %s", one.kid,
	    two.kid);
	tap_ok(token_key_make(&two, "short", 5) < 0, "a key of 5 bytes refused");
	token_key_make(&two, K2, strlen(K2));
	round_trip();
	altered();
	strict_fields();
	rotation();
	forms();
	return tap_done();
}
