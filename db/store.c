/*
 * store — the connection, settings, audit rows and the audit
 * chain's verification: the libpq layer under pipeline/ and ctl/, which
 * holds no rule.  The helpers its files share are in store_int.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "store_int.h"

/* Make the session's text formats the ones we parse. */
static int
session_settings(struct store *s, char *err, size_t errlen)
{
	/* jit = off: compiling a planning pass's queries cost 0.3-0.5 s a pass,
	 * more than running them (they are short). */
	PGresult *res = PQexec(s->conn, "SET datestyle = ISO; SET timezone = 'UTC'; "
	    "SET client_encoding = 'UTF8'; SET client_min_messages = warning; "
	    "SET application_name = 'dunning'; SET jit = off");
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok) {
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(res);
	return ok ? 0 : -1;
}

/* The server's notices and warnings, into our log. */
static void
notice(void *arg, const char *message)
{
	(void)arg;
	log_warnx("postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

/* Connect with CONNINFO. */
struct store *
store_connect(const char *conninfo, char *err, size_t errlen)
{
	struct store *s;
	const char *enc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conn = PQconnectdb(conninfo);
	PQsetNoticeProcessor(s->conn, notice, NULL);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(s->conn));
		err[strcspn(err, "\n")] = '\0';
		store_close(s);
		return NULL;
	}
	/* An SQL_ASCII database checks and converts no text: what the billing
	 * software wrote may not be UTF-8, and client_encoding = UTF8 cannot
	 * make it so.  Any other encoding PostgreSQL converts, or refuses. */
	enc = PQparameterStatus(s->conn, "server_encoding");
	if (enc != NULL && strcmp(enc, "SQL_ASCII") == 0) {
		snprintf(err, errlen, "database %s is in SQL_ASCII: PostgreSQL checks none of its "
		    "text; dunningd needs a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8' "
		    "TEMPLATE template0)", PQdb(s->conn));
		store_close(s);
		return NULL;
	}
	if (session_settings(s, err, errlen) < 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

/* Before a cycle: leave any transaction an error left open, and reconnect
 * a dropped connection (its session locks died with it, so nothing is held
 * in a dead session).  Returns 0 when the session is usable. */
int
store_ready(struct store *s)
{
	if (PQstatus(s->conn) != CONNECTION_OK) {
		PQreset(s->conn);
		s->session++;
		if (PQstatus(s->conn) != CONNECTION_OK) {
			store_fail(s, NULL, "reconnecting");
			return -1;
		}
		if (session_settings(s, s->err, sizeof(s->err)) < 0)
			return -1;
	}
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		store_rollback(s);
	return 0;
}

/* Has the connection itself failed (not just a statement)? */
bool
store_broken(struct store *s)
{
	PGresult *res;
	bool ok;

	if (PQstatus(s->conn) != CONNECTION_OK)
		return true;
	/* A server shutting down answers with an error before libpq sees the
	 * socket close: ask once more. */
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	res = PQexec(s->conn, "SELECT 1");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	return !ok;
}

/* Close the connection. */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s);
}

/* The last error. */
const char *
store_error(const struct store *s)
{
	return s->err;
}

/* Remember the error of RES (or of the connection) for store_error(). */
void
store_fail(struct store *s, const PGresult *res, const char *what)
{
	const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);

	snprintf(s->err, sizeof(s->err), "%s: %s", what, msg != NULL && *msg ? msg : "failed");
	s->err[strcspn(s->err, "\n")] = '\0';
}

/* Run SQL with N text parameters; NULL (error remembered) unless the
 * result has status WANT. */
PGresult *
store_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want)
{
	PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != want) {
		store_fail(s, res, sql);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Run a statement that returns no rows. */
int
store_cmd(struct store *s, const char *sql, int n, const char *const *params)
{
	PGresult *res = store_q(s, sql, n, params, PGRES_COMMAND_OK);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Roll back after an error, keeping the first error's message. */
void
store_rollback(struct store *s)
{
	PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* End the transaction: COMMIT, or, when it fails, ROLLBACK.  0 or -1. */
int
store_commit(struct store *s)
{
	if (store_cmd(s, "COMMIT", 0, NULL) == 0)
		return 0;
	store_rollback(s);
	return -1;
}

/* Column C of ROW as a malloc'ed string, NULL for SQL NULL. */
char *
store_col(const PGresult *res, int row, int c)
{
	return PQgetisnull(res, row, c) ? NULL : strdup(PQgetvalue(res, row, c));
}

/* Column C of ROW as a bigint, 0 for SQL NULL. */
int64_t
store_col_i64(const PGresult *res, int row, int c)
{
	return PQgetisnull(res, row, c) ? 0 : strtoll(PQgetvalue(res, row, c), NULL, 10);
}

/* An array of one SIZE-byte element per row of RES, zeroed, for the
 * caller to fill (NULL, with *N = 0, when RES has no row); *N = -1 and
 * the store's error when out of memory.  RES is left to the caller. */
void *
store_rows(struct store *s, const PGresult *res, size_t size, int *n)
{
	void *v;

	if ((*n = PQntuples(res)) == 0)
		return NULL;
	if ((v = calloc((size_t)*n, size)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		*n = -1;
	}
	return v;
}

/* Decimal text of V into BUF. */
const char *
store_i64(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

/* SQL NULL for 0, else the decimal text. */
const char *
store_id_or_null(char *buf, int64_t v)
{
	return v == 0 ? NULL : store_i64(buf, v);
}

/* Set dunning.now for this session (0 clears it: the real clock). */
int
store_set_now(struct store *s, time_t now)
{
	char buf[32];
	const char *p[1] = { "" };
	PGresult *res;

	if (now != 0) {
		cal_format_instant(now, buf);
		p[0] = buf;
	}
	res = store_q(s, "SELECT set_config('dunning.now', $1, false)", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Tell SQL the firm's time zone, so dunning.today() agrees with us. */
int
store_publish_settings(struct store *s, const struct config *cfg)
{
	const char *p[1] = { cfg->schedule.timezone };

	return store_cmd(s, "UPDATE dunning.setting SET value = $1 "
	    "WHERE key = 'timezone' AND value IS DISTINCT FROM $1", 1, p);
}

/* One audit row; the trigger numbers, dates and chains it. */
int
store_audit(struct store *s, const char *actor, const char *action, int64_t invoice,
    int64_t reminder, json_t *details)
{
	char ib[24], rb[24], *js = NULL;
	const char *p[5];
	int rc;

	if (details != NULL && (js = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	p[0] = actor;
	p[1] = action;
	p[2] = store_id_or_null(ib, invoice);
	p[3] = store_id_or_null(rb, reminder);
	p[4] = js != NULL ? js : "{}";
	rc = store_cmd(s, "INSERT INTO dunning.audit_log (actor, action, invoice_id, "
	    "reminder_id, details) VALUES ($1, $2, $3, $4, $5::jsonb)", 5, p);
	free(js);
	return rc;
}

/* Hex text "\x..." (bytea output) into 32 bytes; false when malformed. */
static bool
unhex(const char *s, unsigned char out[32])
{
	if (strncmp(s, "\\x", 2) != 0 || strlen(s) != 66)
		return false;
	for (int i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(s + 2 + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (unsigned char)v;
	}
	return true;
}

/* The state of a verification pass: the previous row's hash, if any. */
struct verify {
	EVP_MD_CTX *md;
	unsigned char prev[32];
	bool have_prev;
	int64_t seq;		/* the last row's chain_seq */
	int64_t n;
};

/* Check row I of RES (id, chain_seq, canonical text, prev_hash, hash)
 * against the chain so far; false with *BAD and WHY set when it breaks. */
static bool
verify_row(struct verify *v, const PGresult *res, int i, int64_t *bad, char *why,
    size_t whylen)
{
	const char *canon = PQgetvalue(res, i, 2);
	unsigned char want[32], got[32];
	unsigned int len;

	*bad = strtoll(PQgetvalue(res, i, 0), NULL, 10);
	if (PQgetisnull(res, i, 1) || PQgetisnull(res, i, 4)) {
		snprintf(why, whylen, "the row was never chained (no chain_seq or hash)");
		return false;
	}
	if (!PQgetisnull(res, i, 3) != v->have_prev ||
	    (v->have_prev && (!unhex(PQgetvalue(res, i, 3), want) ||
	    memcmp(want, v->prev, 32) != 0))) {
		snprintf(why, whylen, "prev_hash does not match the previous row's hash");
		return false;
	}
	EVP_DigestInit_ex(v->md, EVP_sha256(), NULL);
	if (v->have_prev)
		EVP_DigestUpdate(v->md, v->prev, 32);
	EVP_DigestUpdate(v->md, canon, strlen(canon));
	EVP_DigestFinal_ex(v->md, got, &len);
	if (!unhex(PQgetvalue(res, i, 4), want) || memcmp(want, got, 32) != 0) {
		snprintf(why, whylen, "content does not match its hash (row edited)");
		return false;
	}
	memcpy(v->prev, got, 32);
	v->have_prev = true;
	v->seq = strtoll(PQgetvalue(res, i, 1), NULL, 10);
	v->n++;
	return true;
}

/* Recompute every row's hash from its content and its predecessor, with
 * our own SHA-256, in chain order (chain_seq), then compare the last row
 * with the head; the log and the head are read in one snapshot, through a
 * cursor.  An edited, deleted or re-ordered row breaks the chain from
 * there on. */
int64_t
store_audit_verify(struct store *s, int64_t *bad, char *why, size_t whylen)
{
	struct verify v = { .md = NULL };
	PGresult *res = NULL;
	unsigned char want[32];
	int64_t rc = -1;
	int rows;

	*bad = 0;
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
		snprintf(s->err, sizeof(s->err), "audit verify: the session is inside a transaction");
		return -1;
	}
	if ((v.md = EVP_MD_CTX_new()) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	if (store_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) < 0)
		goto out;
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
		PQclear(res);
		res = NULL;
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (store_cmd(s, "DECLARE audit_verify NO SCROLL CURSOR FOR "
	    "SELECT id, chain_seq, dunning.audit_canonical(a), prev_hash, hash "
	    "FROM dunning.audit_log a ORDER BY chain_seq NULLS LAST, id", 0, NULL) < 0)
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
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10) != (v.have_prev ? v.seq : 0) ||
	    (v.have_prev && (!unhex(PQgetvalue(res, 0, 1), want) ||
	    memcmp(want, v.prev, 32) != 0))) {
		*bad = 0;
		snprintf(why, whylen, "the chain's head does not match the last row (rows removed)");
		rc = -2;
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (store_cmd(s, "COMMIT", 0, NULL) < 0)
		goto out;
	rc = v.n;
	goto out;
fail:
	store_rollback(s);
out:
	PQclear(res);
	EVP_MD_CTX_free(v.md);
	return rc;
}
