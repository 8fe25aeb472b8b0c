/*
 * store_migrate — the schema's migrations: the numbered files of sql/,
 * applied once each and recorded in dunning.schema_migration.
 */
#include <stdlib.h>

#include "migrations.h"
#include "store_int.h"

/* The key of the migrations' advisory lock: a class of its own, apart
 * from the invoices' send locks (1685417582, invoice). */
#define MIGRATION_LOCK "1685417583, 0"

/* Highest applied migration. */
int
store_schema_version(struct store *s)
{
	PGresult *res;
	int v;

	res = store_q(s, "SELECT to_regclass('dunning.schema_migration') IS NOT NULL", 0, NULL,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	v = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (!v)
		return 0;
	res = store_q(s, "SELECT coalesce(max(version), 0) FROM dunning.schema_migration", 0,
	    NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* The last migration compiled in. */
int
store_known_version(void)
{
	return migrations[migrations_count - 1].version;
}

/* Apply the pending migrations, each in its own transaction, under an
 * advisory lock so that two migrate commands cannot interleave. */
int
store_migrate(struct store *s, FILE *out)
{
	int current, applied = 0;
	char vbuf[24];

	PGresult *lock;

	lock = store_q(s, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", 0, NULL, PGRES_TUPLES_OK);
	if (lock == NULL)
		return -1;
	PQclear(lock);
	if (store_cmd(s, "CREATE SCHEMA IF NOT EXISTS dunning", 0, NULL) < 0 ||
	    store_cmd(s, "CREATE TABLE IF NOT EXISTS dunning.schema_migration ("
		"version integer PRIMARY KEY, name text NOT NULL, "
		"applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) < 0)
		goto fail;
	if ((current = store_schema_version(s)) < 0)
		goto fail;
	if (current > store_known_version()) {
		snprintf(s->err, sizeof(s->err), "the database is at schema version %d, newer than "
		    "this program knows (%d): upgrade dunningd", current, store_known_version());
		goto fail;
	}
	for (int i = 0; i < migrations_count; i++) {
		const struct migration *m = &migrations[i];
		const char *p[2] = { store_i64(vbuf, m->version), m->name };
		PGresult *res;

		if (m->version <= current)
			continue;
		if (store_cmd(s, "BEGIN", 0, NULL) < 0)
			goto fail;
		res = PQexec(s->conn, m->sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		    PQresultStatus(res) != PGRES_TUPLES_OK) {
			store_fail(s, res, m->name);
			PQclear(res);
			store_rollback(s);
			goto fail;
		}
		PQclear(res);
		if (store_cmd(s, "INSERT INTO dunning.schema_migration (version, name) "
			"VALUES ($1, $2)", 2, p) < 0 || store_cmd(s, "COMMIT", 0, NULL) < 0) {
			store_rollback(s);
			goto fail;
		}
		if (out != NULL)
			fprintf(out, "applied %s\n", m->name);
		applied++;
	}
	PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	return applied;
fail:
	PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	return -1;
}
