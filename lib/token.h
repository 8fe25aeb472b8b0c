/*
 * token — the signed links of SPEC §2 rule 12 and the forms' anti-forgery
 * tokens: pure, no I/O.  A link token names a client, the invoices of one
 * message, the rights it carries and its expiry, and is signed with
 * HMAC-SHA256 under a key named by its id (two keys during a rotation).
 *
 *   1.KID.CLIENT.INV-INV-….RIGHTS.EXPIRES.MAC
 *
 * KID: 8 lower-case hex digits (the key's id, from its SHA-256); CLIENT,
 * INV, EXPIRES (seconds since the epoch): decimal, no sign, no leading
 * zero; RIGHTS: the sum of enum token_right; MAC: the HMAC of everything
 * before it, base64url without padding (43 characters).  Only characters
 * a URL carries as they are.
 */
#ifndef DUNNING_TOKEN_H
#define DUNNING_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOKEN_MAX_INVOICES 64
#define TOKEN_MAX_LEN 1400	/* 64 invoices of 19 digits, and the rest */
#define TOKEN_KEY_MIN 32	/* bytes: a key shorter than this is refused */
#define TOKEN_KEY_MAX 256
#define TOKEN_FORM_LEN 43	/* an anti-forgery token: base64url of 32 bytes */

enum token_right {
	TOKEN_PAY = 1,
	TOKEN_REPORT = 2,
	TOKEN_PLAN = 4,		/* j10 on (rule 11) */
};
#define TOKEN_RIGHTS_ALL (TOKEN_PAY | TOKEN_REPORT | TOKEN_PLAN)

/* One key: its bytes and its id. */
struct token_key {
	unsigned char key[TOKEN_KEY_MAX];
	size_t len;
	char kid[9];
};

/* What a link names. */
struct token {
	int64_t client_id;
	int64_t invoices[TOKEN_MAX_INVOICES];
	size_t ninvoices;
	unsigned rights;
	int64_t expires;	/* seconds since the epoch */
};

enum token_status {
	TOKEN_OK,
	TOKEN_MALFORMED,	/* not the shape above */
	TOKEN_UNKNOWN_KEY,	/* a key id none of the keys has */
	TOKEN_BAD_MAC,		/* altered, or signed with another key */
	TOKEN_EXPIRED,
};

/* K from the LEN bytes of SECRET: 0, or -1 when LEN is out of
 * [TOKEN_KEY_MIN, TOKEN_KEY_MAX]. */
int token_key_make(struct token_key *k, const void *secret, size_t len);

/* Parse TEXT (one key a line: the current key first, the previous one
 * during a rotation; blank lines and lines starting with '#' skipped; a
 * line's bytes are the key) into KEYS[0..2): how many (1 or 2), or -1 with
 * the reason in ERR. */
int token_keys_parse(const char *text, size_t len, struct token_key keys[2], char *err,
    size_t errlen);

/* T signed with K into OUT (N bytes): its length, or -1 when it does not
 * fit or T is not signable (no invoice, too many, a negative id). */
int token_sign(const struct token *t, const struct token_key *k, char *out, size_t n);

/* TEXT checked against KEYS[0..NKEYS) at NOW: TOKEN_OK with *OUT filled,
 * or why not (OUT then says nothing).  The MAC is compared in constant
 * time; the expiry is checked after the MAC. */
enum token_status token_verify(const char *text, const struct token_key *keys, size_t nkeys,
    time_t now, struct token *out);

/* The anti-forgery token of the page of LINK (a verified link token), under
 * the key that signed it: OUT gets TOKEN_FORM_LEN characters and a NUL. */
void token_form(const char *link, const struct token_key *keys, size_t nkeys,
    char out[TOKEN_FORM_LEN + 1]);
/* Is FORM the anti-forgery token of LINK's page?  Constant time. */
bool token_form_check(const char *link, const struct token_key *keys, size_t nkeys,
    const char *form);

/* The rights a message of a stage OFFSET_DAYS after the due date carries:
 * pay and report, and propose a plan from j10 on (rule 11). */
unsigned token_rights_for_stage(int offset_days);

#endif
