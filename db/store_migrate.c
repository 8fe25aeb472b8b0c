/*
 * store_migrate — the schema's migrations (sql/README.md): the numbered
 * files, applied once each and recorded in dunning.schema_migration, and
 * the repeatable files of functions and views, run again whenever their
 * text changes and recorded with its SHA-256 in dunning.schema_repeatable.
 */
#include <stdlib.h>
#include <string.h>

#include "migrations.h"
#include "store_int.h"

/* The key of the migrations' advisory lock: a class of its own, apart
 * from the invoices' send locks (1685417582, invoice). */
#define MIGRATION_LOCK "1685417583, 0"

/* What the database holds of a repeatable file. */
enum recorded {
	RECORDED_NONE,		/* never applied */
	RECORDED_OTHER,		/* applied with another text */
	RECORDED_SAME,
};

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

/* Are the repeatable files recorded in the database exactly those compiled
 * in (same names, same checksums)?  1 yes, 0 no, -1 on error. */
int
store_repeatables_current(struct store *s)
{
	const char *names[64], *sums[64];
	char *a[2] = { NULL, NULL };
	PGresult *res;
	int rc = -1;

	if (repeatables_count > 64) {
		snprintf(s->err, sizeof(s->err), "too many repeatable files");
		return -1;
	}
	res = store_q(s, "SELECT to_regclass('dunning.schema_repeatable') IS NOT NULL", 0, NULL,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	rc = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (rc == 0)
		return 0;
	for (int i = 0; i < repeatables_count; i++) {
		names[i] = repeatables[i].name;
		sums[i] = repeatables[i].checksum;
	}
	if ((a[0] = store_text_array(names, (size_t)repeatables_count)) == NULL ||
	    (a[1] = store_text_array(sums, (size_t)repeatables_count)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		rc = -1;
		goto out;
	}
	res = store_q(s, "SELECT count(*) FROM dunning.schema_repeatable r "
	    "FULL JOIN unnest($1::text[], $2::text[]) AS c(name, checksum) ON c.name = r.name "
	    "WHERE r.checksum IS DISTINCT FROM c.checksum", 2, (const char *const *)a,
	    PGRES_TUPLES_OK);
	if (res == NULL) {
		rc = -1;
		goto out;
	}
	rc = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	PQclear(res);
out:
	free(a[0]);
	free(a[1]);
	return rc;
}

/* Run SQL, one or several statements, inside the caller's transaction;
 * WHAT names it in the error. */
static int
run_sql(struct store *s, const char *sql, const char *what)
{
	PGresult *res = PQexec(s->conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		store_fail(s, res, what);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* What the database holds of R, into *REC. */
static int
recorded(struct store *s, const struct repeatable *r, enum recorded *rec)
{
	const char *p[1] = { r->name };
	PGresult *res;

	res = store_q(s, "SELECT checksum FROM dunning.schema_repeatable WHERE name = $1", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0)
		*rec = RECORDED_NONE;
	else if (strcmp(PQgetvalue(res, 0, 0), r->checksum) != 0)
		*rec = RECORDED_OTHER;
	else
		*rec = RECORDED_SAME;
	PQclear(res);
	return 0;
}

/* Drop every view of the repeatable files, the last file's first: a view
 * may be built on an earlier one.  No CASCADE: a view of the operator's
 * own built on ours stops the migration with PostgreSQL's message rather
 * than vanishing without a word. */
static int
drop_views(struct store *s)
{
	char sql[256];

	for (int i = repeatables_count - 1; i >= 0; i--) {
		const char *const *v = repeatables[i].views;
		int n = 0;

		while (v[n] != NULL)
			n++;
		while (n-- > 0) {
			snprintf(sql, sizeof(sql), "DROP VIEW IF EXISTS %s", v[n]);
			if (run_sql(s, sql, sql) < 0)
				return -1;
		}
	}
	return 0;
}

/* Forget the records of files this program does not carry (renamed or
 * removed): what they created is for a numbered migration to drop. */
static int
forget_others(struct store *s, FILE *out)
{
	const char *names[64];
	PGresult *res;
	char *a;

	for (int i = 0; i < repeatables_count; i++)
		names[i] = repeatables[i].name;
	if ((a = store_text_array(names, (size_t)repeatables_count)) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	res = store_q(s, "DELETE FROM dunning.schema_repeatable WHERE name <> ALL ($1::text[]) "
	    "RETURNING name", 1, (const char *const *)&a, PGRES_TUPLES_OK);
	free(a);
	if (res == NULL)
		return -1;
	for (int i = 0; out != NULL && i < PQntuples(res); i++)
		fprintf(out, "forgot %s (not a file of this program)\n", PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

/* Apply the repeatable files whose text the database does not hold, in
 * their order, in one transaction; *COUNT gets how many ran.
 *
 * EARLY (before the pending numbered migrations): only base/, the
 * functions the tables need (column defaults, triggers), with the bodies
 * unchecked as pg_dump does, since they may name tables and columns that
 * the numbered migrations are about to create.  Otherwise (after them):
 * every file; when any changed, every view of the set is dropped first
 * and every file that creates views runs again, so that a view may change
 * its columns and a function under a view may be replaced. */
static int
apply_repeatables(struct store *s, bool early, FILE *out, int *count)
{
	enum recorded rec[64];
	bool any = false;

	*count = 0;
	if (repeatables_count > 64) {
		snprintf(s->err, sizeof(s->err), "too many repeatable files");
		return -1;
	}
	if (store_cmd(s, "BEGIN", 0, NULL) < 0)
		return -1;
	if (early && store_cmd(s, "SET LOCAL check_function_bodies = off", 0, NULL) < 0)
		goto fail;
	for (int i = 0; i < repeatables_count; i++) {
		rec[i] = RECORDED_SAME;
		if (early && repeatables[i].phase != REPEATABLE_EARLY)
			continue;
		if (recorded(s, &repeatables[i], &rec[i]) < 0)
			goto fail;
		any |= rec[i] != RECORDED_SAME;
	}
	if (!early && forget_others(s, out) < 0)
		goto fail;
	if (!any)
		return store_cmd(s, "COMMIT", 0, NULL);
	/* The daemon reads the record at start (store_repeatables_current). */
	if (!early && (store_cmd(s, "GRANT SELECT ON dunning.schema_repeatable TO dunning_daemon, "
	    "dunning_lawyer, dunning_accountant, dunning_admin", 0, NULL) < 0 || drop_views(s) < 0))
		goto fail;
	for (int i = 0; i < repeatables_count; i++) {
		const struct repeatable *r = &repeatables[i];
		const char *p[2] = { r->name, r->checksum };
		bool views = !early && r->views[0] != NULL;

		if (rec[i] == RECORDED_SAME && !views)
			continue;
		if (run_sql(s, r->sql, r->name) < 0 ||
		    store_cmd(s, "INSERT INTO dunning.schema_repeatable (name, checksum) "
			"VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
			"SET checksum = EXCLUDED.checksum, applied_at = now()", 2, p) < 0)
			goto fail;
		if (out != NULL)
			fprintf(out, "%s %s (%s)\n", rec[i] == RECORDED_SAME ? "re-created" :
			    "applied", r->name, rec[i] == RECORDED_NONE ? "new" :
			    rec[i] == RECORDED_OTHER ? "changed" : "its views were dropped");
		(*count)++;
	}
	return store_cmd(s, "COMMIT", 0, NULL);
fail:
	store_rollback(s);
	return -1;
}

/* Apply the pending numbered migration M in its own transaction. */
static int
apply_migration(struct store *s, const struct migration *m)
{
	char vbuf[24];
	const char *p[2] = { store_i64(vbuf, m->version), m->name };

	if (store_cmd(s, "BEGIN", 0, NULL) < 0)
		return -1;
	if (run_sql(s, m->sql, m->name) < 0 ||
	    store_cmd(s, "INSERT INTO dunning.schema_migration (version, name) "
		"VALUES ($1, $2)", 2, p) < 0 || store_cmd(s, "COMMIT", 0, NULL) < 0) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

/* Apply the pending migrations, each in its own transaction, then the
 * repeatable files whose text changed, in one, all under an advisory lock
 * so that two migrate commands cannot interleave.
 *
 * Order: a numbered migration may create a trigger or a column default
 * that names a function, and functions and views name tables.  So base/
 * (the functions the tables need; their signatures name no table) is
 * applied first when a numbered migration is pending, then the numbered
 * migrations, then every repeatable file (base/ again only if it changed
 * since).  On a new database base/ thus runs on an empty schema, before
 * 001. */
int
store_migrate(struct store *s, FILE *out, int *repeatable)
{
	int current, applied = 0, early = 0;
	PGresult *lock;

	*repeatable = 0;
	lock = store_q(s, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", 0, NULL, PGRES_TUPLES_OK);
	if (lock == NULL)
		return -1;
	PQclear(lock);
	if (store_cmd(s, "CREATE SCHEMA IF NOT EXISTS dunning", 0, NULL) < 0 ||
	    store_cmd(s, "CREATE TABLE IF NOT EXISTS dunning.schema_migration ("
		"version integer PRIMARY KEY, name text NOT NULL, "
		"applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) < 0 ||
	    store_cmd(s, "CREATE TABLE IF NOT EXISTS dunning.schema_repeatable ("
		"name text PRIMARY KEY, checksum text NOT NULL, "
		"applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) < 0)
		goto fail;
	if ((current = store_schema_version(s)) < 0)
		goto fail;
	if (current > store_known_version()) {
		snprintf(s->err, sizeof(s->err), "the database is at schema version %d, newer than "
		    "this program knows (%d): upgrade dunningd", current, store_known_version());
		goto fail;
	}
	if (current < store_known_version() && apply_repeatables(s, true, out, &early) < 0)
		goto fail;
	for (int i = 0; i < migrations_count; i++) {
		if (migrations[i].version <= current)
			continue;
		if (apply_migration(s, &migrations[i]) < 0)
			goto fail;
		if (out != NULL)
			fprintf(out, "applied %s\n", migrations[i].name);
		applied++;
	}
	if (apply_repeatables(s, false, out, repeatable) < 0)
		goto fail;
	*repeatable += early;
	PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	return applied;
fail:
	PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")"));
	return -1;
}
