/*
 * store_audit — the audit log from C: writing a row, reading the chain's
 * head, and verifying the chain (SPEC §2 rule 10, §3.5 last paragraph).
 *
 * The verification trusts nothing the database's owner can replace: it
 * reads the columns as raw values (built-in types' own output, on a
 * session whose formats it sets itself), builds each row's canonical text
 * and its SHA-256 here, never through dunning.audit_canonical() or any
 * other function of the schema.  What the owner can still do — disable
 * the triggers, rewrite the rows and recompute every hash after them,
 * move dunning.audit_head — leaves a chain that verifies on its own; a
 * head published earlier outside the database (`audit head SEQ:HASH`,
 * checked with `dunningctl audit verify --head`) is what shows it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "store_int.h"

/* The columns the verification reads, in this order. */
enum { V_ID, V_SEQ, V_AT, V_ACTOR, V_ACTION, V_INVOICE, V_REMINDER, V_DETAILS, V_PREV,
	V_HASH };

/* One audit row; the trigger numbers, dates, signs (the actor is the
 * session's: sql/base/audit.sql) and chains it. */
int
store_audit(struct store *s, const char *action, int64_t invoice, int64_t reminder,
    json_t *details)
{
	char ib[24], rb[24], *js = NULL;
	const char *p[4];
	int rc;

	if (details != NULL && (js = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	p[0] = action;
	p[1] = store_id_or_null(ib, invoice);
	p[2] = store_id_or_null(rb, reminder);
	p[3] = js != NULL ? js : "{}";
	rc = store_cmd(s, "INSERT INTO dunning.audit_log (action, invoice_id, reminder_id, "
	    "details) VALUES ($1, $2, $3, $4::jsonb)", 4, p);
	free(js);
	return rc;
}

/* 64 hex digits (either case) into 32 bytes; false when malformed. */
static bool
hex32(const char *s, unsigned char out[32])
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	if (s[64] != '\0')
		return false;
	for (int i = 0; i < 32; i++) {
		char two[3] = { s[2 * i], s[2 * i + 1], '\0' };

		out[i] = (unsigned char)strtoul(two, NULL, 16);
	}
	return true;
}

/* bytea's hex output "\x..." into 32 bytes; false when malformed. */
static bool
unhex(const char *s, unsigned char out[32])
{
	return strncmp(s, "\\x", 2) == 0 && hex32(s + 2, out);
}

/* "audit head SEQ:HASH" of H into BUF. */
void
store_audit_head_format(const struct store_audit_head *h, char buf[STORE_AUDIT_HEAD_TEXT])
{
	int k = snprintf(buf, STORE_AUDIT_HEAD_TEXT, "audit head %lld:", (long long)h->seq);

	for (int i = 0; i < 32 && k + 2 < STORE_AUDIT_HEAD_TEXT; i++, k += 2)
		snprintf(buf + k, 3, "%02x", h->hash[i]);
}

/* "SEQ:HASH" (or the whole "audit head SEQ:HASH") into H: SEQ in decimal,
 * HASH 64 hex digits; 0:000…0 is an empty log's head.  -1 when malformed. */
int
store_audit_head_parse(const char *text, struct store_audit_head *h)
{
	static const unsigned char zero[32];
	const char *colon;
	char *end;
	long long v;

	if (strncmp(text, "audit head ", 11) == 0)
		text += 11;
	if (!isdigit((unsigned char)text[0]) || (colon = strchr(text, ':')) == NULL)
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end != colon || v < 0 || !hex32(colon + 1, h->hash))
		return -1;
	h->seq = v;
	if (v == 0 && memcmp(h->hash, zero, 32) != 0)
		return -1;
	return 0;
}

/* The head as dunning.audit_head holds it, into H (one row, one cheap
 * query: for the pass's log line and the lawyers' digest). */
int
store_audit_head(struct store *s, struct store_audit_head *h)
{
	PGresult *res = store_qp(s, "SELECT last_seq, pg_catalog.encode(last_hash, 'hex') "
	    "FROM dunning.audit_head", 0, NULL, PGRES_TUPLES_OK);
	bool ok;

	if (res == NULL)
		return -1;
	memset(h, 0, sizeof(*h));
	ok = PQntuples(res) == 1 && (PQgetisnull(res, 0, 1) ?
	    store_col_i64(res, 0, 0) == 0 : hex32(PQgetvalue(res, 0, 1), h->hash));
	if (ok)
		h->seq = store_col_i64(res, 0, 0);
	else
		snprintf(s->err, sizeof(s->err), "dunning.audit_head: not one row with a "
		    "position and a SHA-256 hash");
	PQclear(res);
	return ok ? 0 : -1;
}

/* A timestamptz as printed with DateStyle ISO and TimeZone UTC
 * ("2026-03-10 11:00:00.5+00", "0044-03-15 12:00:00+00 BC") into the
 * canonical form, to_char(at AT TIME ZONE 'UTC',
 * 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ("2026-03-10T11:00:00.500000Z"; the
 * era is not printed).  *NONE when it is ±infinity (to_char gives NULL,
 * which concat_ws leaves out).  False when the text is none of these. */
static bool
canonical_at(const char *t, char *out, size_t outlen, bool *none)
{
	const char *sp = strchr(t, ' '), *p;
	char frac[7] = "000000";
	size_t datelen;
	int nf = 0;

	*none = strcmp(t, "infinity") == 0 || strcmp(t, "-infinity") == 0;
	if (*none)
		return true;
	if (sp == NULL || (datelen = (size_t)(sp - t)) < 10 || datelen > 16)
		return false;
	p = sp + 1;
	for (int i = 0; i < 8; i++)
		if ((i == 2 || i == 5) ? p[i] != ':' : !isdigit((unsigned char)p[i]))
			return false;
	if (p[8] == '.')
		for (p += 9; isdigit((unsigned char)*p) && nf < 6; p++)
			frac[nf++] = *p;
	else
		p += 8;
	if (strcmp(p, "+00") != 0 && strcmp(p, "+00 BC") != 0)
		return false;
	return snprintf(out, outlen, "%.*sT%.8s.%sZ", (int)datelen, t, sp + 1, frac) <
	    (int)outlen;
}

/* The state of a verification pass. */
struct verify {
	EVP_MD_CTX *md;
	unsigned char prev[32];	/* the last row's hash */
	bool have_prev;
	bool newer_seen;	/* a row verified in 006's form */
	int64_t seq;		/* the last row's chain_seq */
	int64_t n;
	const struct store_audit_head *published;	/* NULL, or --head */
	bool published_seen;
};

/* SHA-256(PREV || the canonical text of row I of RES), into OUT: the
 * fields joined by a newline, chain_seq first when WITH_SEQ (006's form;
 * without it, 002's).  An ±infinite `at` is left out, as concat_ws leaves
 * out to_char's NULL.  False when `at` is in no known form. */
static bool
row_hash(struct verify *v, const PGresult *res, int i, bool with_seq, unsigned char out[32])
{
	static const int cols[] = { V_ID, V_AT, V_ACTOR, V_ACTION, V_INVOICE, V_REMINDER,
		V_DETAILS };
	char at[48];
	bool first = true, none;
	unsigned int len;

	if (!canonical_at(PQgetvalue(res, i, V_AT), at, sizeof(at), &none))
		return false;
	EVP_DigestInit_ex(v->md, EVP_sha256(), NULL);
	if (v->have_prev)
		EVP_DigestUpdate(v->md, v->prev, 32);
	if (with_seq) {
		const char *seq = PQgetvalue(res, i, V_SEQ);

		EVP_DigestUpdate(v->md, seq, strlen(seq));
		first = false;
	}
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
		/* A NULL id is '' (coalesce), a NULL `at` is left out. */
		const char *f = cols[k] == V_AT ? at : PQgetvalue(res, i, cols[k]);

		if (cols[k] == V_AT && none)
			continue;
		if (!first)
			EVP_DigestUpdate(v->md, "\n", 1);
		EVP_DigestUpdate(v->md, f, strlen(f));
		first = false;
	}
	EVP_DigestFinal_ex(v->md, out, &len);
	return true;
}

/* Check row I of RES against the chain so far; false with *BAD (the row's
 * id; 0 when the published head is what fails) and WHY set when it
 * breaks.
 *
 * Which form a row is hashed in: 006 wrote into dunning.audit_canonical()
 * the boundary between 002's form (rows written before it ran, their
 * chain_seq their id) and its own (chain_seq first), and the owner can
 * replace that function.  So the boundary is not read from the database:
 * 002's form is accepted only for a prefix of the chain — once a row
 * verifies in 006's form, every later row must be in it — and only for a
 * row whose chain_seq is its id, as 006 left them.  A row of 006's form
 * comes right after the one before it (chain_seq + 1, as the chain's
 * check at each COMMIT enforces).  Taking a rewritten row for an old one
 * gains nothing: 002's form binds the same fields (chain_seq = id), and
 * the hashes after it change all the same. */
static bool
verify_row(struct verify *v, const PGresult *res, int i, int64_t *bad, char *why,
    size_t whylen)
{
	unsigned char want[32], got[32];
	int64_t seq, id = store_col_i64(res, i, V_ID);

	*bad = id;
	if (PQgetisnull(res, i, V_SEQ) || PQgetisnull(res, i, V_HASH)) {
		snprintf(why, whylen, "the row was never chained (no chain_seq or hash)");
		return false;
	}
	seq = store_col_i64(res, i, V_SEQ);
	if (!PQgetisnull(res, i, V_PREV) != v->have_prev ||
	    (v->have_prev && (!unhex(PQgetvalue(res, i, V_PREV), want) ||
	    memcmp(want, v->prev, 32) != 0))) {
		snprintf(why, whylen, "prev_hash does not match the previous row's hash");
		return false;
	}
	if (!unhex(PQgetvalue(res, i, V_HASH), want)) {
		snprintf(why, whylen, "its hash is not a SHA-256 hash");
		return false;
	}
	if (!row_hash(v, res, i, true, got)) {
		snprintf(why, whylen, "its time stamp is in no known form: %s",
		    PQgetvalue(res, i, V_AT));
		return false;
	}
	if (memcmp(want, got, 32) == 0) {
		if (seq != v->seq + 1) {
			snprintf(why, whylen, "its position follows %lld: a row is missing or "
			    "was moved", (long long)v->seq);
			return false;
		}
		v->newer_seen = true;
	} else if (v->newer_seen || seq != id || seq <= v->seq ||
	    !row_hash(v, res, i, false, got) || memcmp(want, got, 32) != 0) {
		snprintf(why, whylen, "content does not match its hash (row edited)");
		return false;
	}
	/* 0:000…0, the empty log's head, is in every chain. */
	if (v->published != NULL && v->published->seq > 0 && !v->published_seen &&
	    seq >= v->published->seq) {
		if (seq > v->published->seq) {
			*bad = 0;
			snprintf(why, whylen, "the log was cut: row %lld is gone",
			    (long long)v->published->seq);
			return false;
		}
		if (memcmp(want, v->published->hash, 32) != 0) {
			*bad = 0;
			snprintf(why, whylen, "row %lld was rewritten: its hash is not the one "
			    "published", (long long)seq);
			return false;
		}
		v->published_seen = true;
	}
	memcpy(v->prev, want, 32);
	v->have_prev = true;
	v->seq = seq;
	v->n++;
	return true;
}

/* Recompute every row's hash from its content and its predecessor, in
 * chain order, then compare the last row with dunning.audit_head, and,
 * when PUBLISHED is given, check that its row is still in the chain with
 * its hash.  The log and the head are read in one snapshot, through a
 * cursor (memory does not grow with the log).  *HEAD gets the last row's
 * position and hash. */
int64_t
store_audit_verify(struct store *s, const struct store_audit_head *published,
    struct store_audit_head *head, int64_t *bad, char *why, size_t whylen)
{
	static const char *const settings[] = { "SET LOCAL search_path = pg_catalog",
		"SET LOCAL datestyle = 'ISO, YMD'", "SET LOCAL timezone = 'UTC'",
		"SET LOCAL bytea_output = 'hex'" };
	struct verify v = { .md = NULL, .published = published };
	PGresult *res = NULL;
	unsigned char want[32];
	int64_t rc = -1;
	int rows;

	*bad = 0;
	memset(head, 0, sizeof(*head));
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		snprintf(s->err, sizeof(s->err), "audit verify: the session is inside a transaction");
		return -1;
	}
	if ((v.md = EVP_MD_CTX_new()) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	/* The formats the canonical text is built from are set here, whatever
	 * the database's or the role's defaults say; names resolve in
	 * pg_catalog first (no operator or function of the schema's). */
	if (store_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (store_cmd(s, settings[i], 0, NULL) < 0)
			goto fail;
	/* A lawyer sees the rows of their own files only (sql/009): the chain
	 * would look broken to them.  Say so instead of crying wolf. */
	res = store_q(s, "SELECT dunning.is_staff() OR "
	    "pg_has_role(session_user, 'dunning_accountant', 'MEMBER') OR "
	    "NOT row_security_active('dunning.audit_log')", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		snprintf(s->err, sizeof(s->err), "audit verify needs a role that reads the whole "
		    "log (dunning_admin, dunning_accountant or dunning_daemon): row-level security "
		    "shows %s only the rows of their own files", PQuser(s->conn));
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (store_cmd(s, "DECLARE audit_verify NO SCROLL CURSOR FOR "
	    "SELECT id, chain_seq, at, actor, action, invoice_id, reminder_id, details, "
	    "prev_hash, hash FROM dunning.audit_log ORDER BY chain_seq NULLS LAST, id",
	    0, NULL) < 0)
		goto fail;
	do {
		res = store_q(s, "FETCH FORWARD 1000 FROM audit_verify", 0, NULL,
		    PGRES_TUPLES_OK);
		if (res == NULL)
			goto fail;
		rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			if (!verify_row(&v, res, i, bad, why, whylen)) {
				rc = -2;
				goto fail;
			}
		}
		PQclear(res);
		res = NULL;
	} while (rows > 0);
	/* The head must be the last row: rows deleted at the end show here. */
	res = store_q(s, "SELECT last_seq, last_hash FROM dunning.audit_head", 0, NULL,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1) == v.have_prev ||
	    store_col_i64(res, 0, 0) != (v.have_prev ? v.seq : 0) ||
	    (v.have_prev && (!unhex(PQgetvalue(res, 0, 1), want) ||
	    memcmp(want, v.prev, 32) != 0))) {
		*bad = 0;
		snprintf(why, whylen, "the chain's head does not match the last row (rows removed)");
		rc = -2;
		goto fail;
	}
	/* A head published beyond the last row: the end was cut. */
	if (published != NULL && published->seq > 0 && !v.published_seen) {
		*bad = 0;
		snprintf(why, whylen, "the log was cut: row %lld is gone",
		    (long long)published->seq);
		rc = -2;
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (store_cmd(s, "COMMIT", 0, NULL) < 0)
		goto out;
	head->seq = v.have_prev ? v.seq : 0;
	if (v.have_prev)
		memcpy(head->hash, v.prev, 32);
	rc = v.n;
	goto out;
fail:
	store_rollback(s);
out:
	PQclear(res);
	EVP_MD_CTX_free(v.md);
	return rc;
}
