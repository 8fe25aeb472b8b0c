/*
 * ctl_db — how dunningctl talks to the database: its statements keep the
 * server's primary message alone as the error ("no invoice numbered
 * \"F-9\""), for the person who typed the command, not the statement and
 * its context as the daemon's log wants them; its session may run as a
 * lawyer's role; the lawyers' functions are called by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_db.h"
#include "store_int.h"

/* Remember the primary message of RES's error (or the connection's). */
void
ctl_db_fail(struct store *s, const PGresult *res)
{
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (msg == NULL)
		msg = PQerrorMessage(s->conn);
	snprintf(s->err, sizeof(s->err), "%s", msg != NULL && *msg ? msg : "failed");
	s->err[strcspn(s->err, "\n")] = '\0';
}

/* Run SQL with N text parameters; NULL (primary message remembered)
 * unless the result has status WANT. */
PGresult *
ctl_db_q(struct store *s, const char *sql, int n, const char *const *params, ExecStatusType want)
{
	PGresult *res = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != want) {
		ctl_db_fail(s, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Run a statement without rows. */
int
ctl_db_cmd(struct store *s, const char *sql)
{
	PGresult *res = ctl_db_q(s, sql, 0, NULL, PGRES_COMMAND_OK);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/* Append to the malloc'ed *BUF of length *LEN "KEY='VALUE' ", quoted as
 * libpq's conninfo parser reads it back. */
static int
append_opt(char **buf, size_t *len, const char *key, const char *value)
{
	size_t need = *len + strlen(key) + 2 * strlen(value) + 5;
	char *b = realloc(*buf, need), *w;

	if (b == NULL)
		return -1;
	*buf = b;
	w = b + *len;
	w += sprintf(w, "%s%s='", *len ? " " : "", key);
	for (const char *r = value; *r; r++) {
		if (*r == '\'' || *r == '\\')
			*w++ = '\\';
		*w++ = *r;
	}
	*w++ = '\'';
	*w = '\0';
	*len = (size_t)(w - b);
	return 0;
}

/* The configured conninfo for another login: the same server and
 * database, as USER.  The configured password is the configured user's:
 * it is dropped, and USER authenticates its own way (peer, .pgpass,
 * PGPASSWORD, Kerberos). */
char *
ctl_db_conninfo_with_user(const char *conninfo, const char *user, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	char *msg = NULL, *out = NULL;
	size_t len = 0;

	if ((opts = PQconninfoParse(conninfo, &msg)) == NULL) {
		snprintf(err, errlen, "database.conninfo: %s", msg != NULL ? msg : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfreemem(msg);
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || strcmp(o->keyword, "user") == 0 ||
		    strcmp(o->keyword, "password") == 0)
			continue;
		if (append_opt(&out, &len, o->keyword, o->val) < 0)
			goto oom;
	}
	if (append_opt(&out, &len, "user", user) < 0)
		goto oom;
	PQconninfoFree(opts);
	return out;
oom:
	snprintf(err, errlen, "out of memory");
	PQconninfoFree(opts);
	free(out);
	return NULL;
}

/* One of the lawyers' functions, with its audit row and its NOTIFY. */
int
ctl_db_call(struct store *s, const char *function, int n, const char *const *params)
{
	char sql[128];
	size_t len;
	PGresult *res;

	len = (size_t)snprintf(sql, sizeof(sql), "SELECT dunning.%s(", function);
	for (int i = 0; i < n && len < sizeof(sql); i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%d", i ? ", " : "",
		    i + 1);
	if (len >= sizeof(sql) - 2) {
		snprintf(s->err, sizeof(s->err), "%s: too many parameters", function);
		return -1;
	}
	strcat(sql, ")");
	if ((res = ctl_db_q(s, sql, n, params, PGRES_TUPLES_OK)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}
