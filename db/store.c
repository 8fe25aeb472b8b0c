/*
 * store — the connection and its settings: the libpq layer under
 * pipeline/ and ctl/, which holds no rule.  The helpers its files share
 * are in store_int.h; the audit log's row, head and verification are in
 * store_audit.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if ((s->conninfo = strdup(conninfo)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(s);
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
	if (s->conn == NULL) {
		/* Released while idle: a new session (multi-host conninfo: the
		 * read-write host of the moment). */
		s->conn = PQconnectdb(s->conninfo);
		PQsetNoticeProcessor(s->conn, notice, NULL);
		s->read_only = false;
		if (PQstatus(s->conn) != CONNECTION_OK) {
			store_fail(s, NULL, "connecting");
			return -1;
		}
		if (session_settings(s, s->err, sizeof(s->err)) < 0)
			return -1;
	} else if (PQstatus(s->conn) != CONNECTION_OK || s->read_only) {
		/* With several hosts and target_session_attrs=read-write, PQreset
		 * goes through them all again: a failover's new primary. */
		PQreset(s->conn);
		s->read_only = false;
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

/* Has the connection itself failed (not just a statement), or does its
 * server no longer take writes? */
bool
store_broken(struct store *s)
{
	PGresult *res;
	bool ok;

	if (PQstatus(s->conn) != CONNECTION_OK)
		return true;
	/* A server shutting down answers with an error before libpq sees the
	 * socket close: ask once more.  A primary being demoted in a planned
	 * failover (pg_autoctl perform failover: default_transaction_read_only
	 * while it drains) is up but refuses every write: as good as gone, the
	 * next store_ready looks for the read-write host. */
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	res = PQexec(s->conn, "SELECT pg_is_in_recovery() OR "
	    "current_setting('transaction_read_only')::bool");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (ok && strcmp(PQgetvalue(res, 0, 0), "f") != 0) {
		s->read_only = true;
		ok = false;
	}
	PQclear(res);
	return !ok;
}

/* Close an idle session's connection; store_ready opens another.  Its
 * prepared statements go with it (a new session number). */
bool
store_release(struct store *s)
{
	if (s->conn == NULL)
		return false;
	PQfinish(s->conn);
	s->conn = NULL;
	s->read_only = false;
	s->session++;
	return true;
}

/* Close the connection. */
void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	PQfinish(s->conn);
	free(s->conninfo);
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

/* Tell SQL the firm's time zone, so dunning.today() agrees with us, and
 * the plans' settings the lawyers' and dunningweb's functions read (SPEC §2
 * rule 11: plan.max_instalments, plan.interval_months, plan.auto_accept_max
 * as a JSON object currency → amount; sql/functions/plans.sql). */
int
store_publish_settings(struct store *s, const struct config *cfg)
{
	char maxn[16], months[16], *json = NULL;
	size_t len = 0;
	FILE *f;
	const char *p[4];
	int rc;

	if ((f = open_memstream(&json, &len)) == NULL)
		return -1;
	fputc('{', f);
	for (size_t i = 0; i < cfg->plan.nauto_accept; i++) {
		const struct config_threshold *t = &cfg->plan.auto_accept[i];

		fprintf(f, "%s\"%s\": \"%lld.%02lld\"", i ? ", " : "", t->currency,
		    (long long)(t->amount_cents / 100), (long long)(t->amount_cents % 100));
	}
	fputc('}', f);
	if (fclose(f) != 0) {
		free(json);
		return -1;
	}
	snprintf(maxn, sizeof(maxn), "%d", cfg->plan.max_instalments);
	snprintf(months, sizeof(months), "%d", cfg->plan.interval_months);
	p[0] = cfg->schedule.timezone;
	p[1] = maxn;
	p[2] = months;
	p[3] = json;
	rc = store_cmd(s, "UPDATE dunning.setting s SET value = v.value "
	    "FROM (VALUES ('timezone', $1), ('plan.max_instalments', $2), "
	    "  ('plan.interval_months', $3), ('plan.auto_accept_max', $4)) v(key, value) "
	    "WHERE s.key = v.key AND s.value IS DISTINCT FROM v.value", 4, p);
	free(json);
	return rc;
}
