/*
 * token — signed links and anti-forgery tokens (token.h): HMAC-SHA256 from
 * OpenSSL, compared with CRYPTO_memcmp; every field parsed strictly, so a
 * token has one spelling only.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "token.h"

#define MAC_LEN 32
#define MAC_B64 43

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 32 bytes of IN, base64url without padding, into OUT (44 bytes). */
static void
b64_32(const unsigned char in[MAC_LEN], char out[MAC_B64 + 1])
{
	size_t o = 0;

	for (size_t i = 0; i < MAC_LEN; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		size_t left = MAC_LEN - i;

		if (left > 1)
			v |= (unsigned)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (left > 1)
			out[o++] = b64url[(v >> 6) & 63];
		if (left > 2)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
}

/* HMAC-SHA256 of PREFIX and the LEN bytes of DATA under K, base64url,
 * into OUT.  DATA is at most TOKEN_MAX_LEN bytes (a longer one is cut:
 * never a token's). */
static void
mac(const struct token_key *k, const char *prefix, const char *data, size_t len,
    char out[MAC_B64 + 1])
{
	unsigned char md[MAC_LEN];
	unsigned int mdlen = 0;
	char buf[8 + TOKEN_MAX_LEN];
	size_t plen = strlen(prefix);

	if (len > TOKEN_MAX_LEN)
		len = TOKEN_MAX_LEN;
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, data, len);
	if (HMAC(EVP_sha256(), k->key, (int)k->len, (const unsigned char *)buf, plen + len, md,
	    &mdlen) == NULL || mdlen != MAC_LEN)
		memset(md, 0, sizeof(md));	/* never matches a real MAC by chance */
	b64_32(md, out);
	OPENSSL_cleanse(md, sizeof(md));
}

int
token_key_make(struct token_key *k, const void *secret, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[17 + TOKEN_KEY_MAX];
	unsigned int mdlen = 0;

	memset(k, 0, sizeof(*k));
	if (len < TOKEN_KEY_MIN || len > TOKEN_KEY_MAX)
		return -1;
	memcpy(k->key, secret, len);
	k->len = len;
	/* The id says which key signed, and nothing of the key. */
	memcpy(buf, "dunning-link-kid|", 17);
	memcpy(buf + 17, secret, len);
	if (EVP_Digest(buf, 17 + len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 4)
		return -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	snprintf(k->kid, sizeof(k->kid), "%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
	return 0;
}

int
token_keys_parse(const char *text, size_t len, struct token_key keys[2], char *err,
    size_t errlen)
{
	size_t i = 0, n = 0, lineno = 0;

	err[0] = '\0';
	while (i < len) {
		size_t start = i, end;

		while (i < len && text[i] != '\n')
			i++;
		end = i;
		if (i < len)
			i++;
		lineno++;
		if (end > start && text[end - 1] == '\r')
			end--;
		if (end == start || text[start] == '#')
			continue;
		if (n == 2) {
			snprintf(err, errlen, "line %zu: a third key: keep the current key and, "
			    "during a rotation, the previous one", lineno);
			return -1;
		}
		if (memchr(text + start, '\0', end - start) != NULL ||
		    token_key_make(&keys[n], text + start, end - start) != 0) {
			snprintf(err, errlen, "line %zu: a key of %zu bytes: write %d to %d "
			    "(e.g. openssl rand -hex 32)", lineno, end - start, TOKEN_KEY_MIN,
			    TOKEN_KEY_MAX);
			return -1;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no key: write one on the first line (e.g. openssl rand "
		    "-hex 32)");
		return -1;
	}
	if (n == 2 && strcmp(keys[0].kid, keys[1].kid) == 0) {
		snprintf(err, errlen, "the same key twice");
		return -1;
	}
	return (int)n;
}

/* Append the decimal V to OUT at *O (N bytes); -1 when it does not fit. */
static int
put_num(char *out, size_t n, size_t *o, int64_t v, char after)
{
	int w = snprintf(out + *o, n - *o, "%lld%c", (long long)v, after);

	if (w < 0 || (size_t)w >= n - *o)
		return -1;
	*o += (size_t)w;
	return 0;
}

int
token_sign(const struct token *t, const struct token_key *k, char *out, size_t n)
{
	char m[MAC_B64 + 1];
	size_t o = 0;
	int w;

	if (t->ninvoices == 0 || t->ninvoices > TOKEN_MAX_INVOICES || t->client_id < 0 ||
	    t->expires < 0 || t->rights == 0 || (t->rights & ~(unsigned)TOKEN_RIGHTS_ALL))
		return -1;
	w = snprintf(out, n, "1.%s.", k->kid);
	if (w < 0 || (size_t)w >= n)
		return -1;
	o = (size_t)w;
	if (put_num(out, n, &o, t->client_id, '.') != 0)
		return -1;
	for (size_t i = 0; i < t->ninvoices; i++)
		if (t->invoices[i] < 0 || put_num(out, n, &o, t->invoices[i],
		    i + 1 < t->ninvoices ? '-' : '.') != 0)
			return -1;
	if (put_num(out, n, &o, (int64_t)t->rights, '.') != 0 ||
	    put_num(out, n, &o, t->expires, '.') != 0)
		return -1;
	mac(k, "link|", out, o - 1, m);
	if (o + MAC_B64 + 1 > n)
		return -1;
	memcpy(out + o, m, MAC_B64 + 1);
	return (int)(o + MAC_B64);
}

/* A decimal at *P up to the character END: no sign, no leading zero, at
 * most INT64_MAX; *P moved past END.  -1 otherwise. */
static int
get_num(const char **p, char end, int64_t *v)
{
	const char *s = *p;
	size_t d = 0;

	*v = 0;
	while (s[d] >= '0' && s[d] <= '9') {
		if (*v > (INT64_MAX - (s[d] - '0')) / 10)
			return -1;
		*v = *v * 10 + (s[d] - '0');
		d++;
	}
	if (d == 0 || (d > 1 && s[0] == '0') || s[d] != end)
		return -1;
	*p = s + d + 1;
	return 0;
}

/* The key of KEYS[0..NKEYS) whose id is the 8 characters at KID, or NULL. */
static const struct token_key *
key_of(const char *kid, const struct token_key *keys, size_t nkeys)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strncmp(keys[i].kid, kid, 8) == 0)
			return &keys[i];
	return NULL;
}

enum token_status
token_verify(const char *text, const struct token_key *keys, size_t nkeys, time_t now,
    struct token *out)
{
	const struct token_key *k;
	const char *p, *macp;
	char m[MAC_B64 + 1];
	struct token t;
	int64_t v;
	size_t len = strnlen(text, TOKEN_MAX_LEN + 1);

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	if (len > TOKEN_MAX_LEN || len < 2 + 9 + MAC_B64 || strncmp(text, "1.", 2) != 0)
		return TOKEN_MALFORMED;
	for (size_t i = 0; i < 8; i++)
		if (!((text[2 + i] >= '0' && text[2 + i] <= '9') ||
		    (text[2 + i] >= 'a' && text[2 + i] <= 'f')))
			return TOKEN_MALFORMED;
	if (text[10] != '.')
		return TOKEN_MALFORMED;
	p = text + 11;
	if (get_num(&p, '.', &t.client_id) != 0)
		return TOKEN_MALFORMED;
	for (;;) {
		const char *q = p;

		if (t.ninvoices == TOKEN_MAX_INVOICES)
			return TOKEN_MALFORMED;
		if (get_num(&q, '-', &v) == 0) {
			t.invoices[t.ninvoices++] = v;
			p = q;
			continue;
		}
		if (get_num(&p, '.', &v) != 0)
			return TOKEN_MALFORMED;
		t.invoices[t.ninvoices++] = v;
		break;
	}
	if (get_num(&p, '.', &v) != 0 || v == 0 || (v & ~(int64_t)TOKEN_RIGHTS_ALL))
		return TOKEN_MALFORMED;
	t.rights = (unsigned)v;
	if (get_num(&p, '.', &t.expires) != 0)
		return TOKEN_MALFORMED;
	macp = p;
	if (strlen(macp) != MAC_B64)
		return TOKEN_MALFORMED;
	for (size_t i = 0; i < MAC_B64; i++)
		if (strchr(b64url, macp[i]) == NULL || macp[i] == '\0')
			return TOKEN_MALFORMED;
	if ((k = key_of(text + 2, keys, nkeys)) == NULL)
		return TOKEN_UNKNOWN_KEY;
	mac(k, "link|", text, (size_t)(macp - text - 1), m);
	if (CRYPTO_memcmp(m, macp, MAC_B64) != 0)
		return TOKEN_BAD_MAC;
	if ((int64_t)now >= t.expires)
		return TOKEN_EXPIRED;
	*out = t;
	return TOKEN_OK;
}

void
token_form(const char *link, const struct token_key *keys, size_t nkeys,
    char out[TOKEN_FORM_LEN + 1])
{
	const struct token_key *k = strlen(link) > 10 ? key_of(link + 2, keys, nkeys) : NULL;

	if (k == NULL)
		k = &keys[0];
	mac(k, "form|", link, strlen(link), out);
}

bool
token_form_check(const char *link, const struct token_key *keys, size_t nkeys,
    const char *form)
{
	char want[TOKEN_FORM_LEN + 1];
	bool ok;

	if (nkeys == 0 || strlen(form) != TOKEN_FORM_LEN)
		return false;
	token_form(link, keys, nkeys, want);
	ok = CRYPTO_memcmp(want, form, TOKEN_FORM_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}

unsigned
token_rights_for_stage(int offset_days)
{
	return offset_days >= 10 ? TOKEN_RIGHTS_ALL : TOKEN_PAY | TOKEN_REPORT;
}
