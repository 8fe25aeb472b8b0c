/*
 * gdpr_sql — the client's data: the export of an access request, the
 * purge after the retention period, and the kept copies of the messages
 * that left (which both of them see).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl_db.h"
#include "gdpr_spool.h"
#include "gdpr_sql.h"
#include "store_int.h"

/* "2026-03-05 09:00:00.123+00" (ISO datestyle, UTC session) as
 * "2026-03-05T09:00:00.123Z". */
static json_t *
instant_json(const char *v)
{
	char buf[64];
	size_t n = strlen(v);

	if (n >= sizeof(buf) || n < 20 || strcmp(v + n - 3, "+00") != 0)
		return json_string(v);
	memcpy(buf, v, n - 3);
	buf[10] = 'T';
	strcpy(buf + n - 3, "Z");
	return json_string(buf);
}

/* "{1,2,3}" as a JSON array of integers. */
static json_t *
int_array_json(const char *v)
{
	json_t *a = json_array();
	char *end;

	for (const char *p = v + 1; *p && *p != '}';) {
		json_array_append_new(a, json_integer(strtoll(p, &end, 10)));
		p = *end == ',' ? end + 1 : end;
		if (end == p && *p != '}')
			break;
	}
	return a;
}

/* Column C of row I as JSON, by its type: integers and booleans as such,
 * json as json, integer arrays as arrays, instants in ISO 8601 UTC, and
 * everything else (numeric amounts included, exact) as text. */
static json_t *
value_json(const PGresult *res, int i, int c)
{
	const char *v = PQgetvalue(res, i, c);

	if (PQgetisnull(res, i, c))
		return json_null();
	switch (PQftype(res, c)) {
	case 16:	/* bool */
		return json_boolean(v[0] == 't');
	case 20: case 21: case 23:	/* int8, int2, int4 */
		return json_integer(strtoll(v, NULL, 10));
	case 114: case 3802: {	/* json, jsonb */
		json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);

		return j != NULL ? j : json_string(v);
	}
	case 1005: case 1007: case 1016:	/* int2[], int4[], int8[] */
		return int_array_json(v);
	case 1184:	/* timestamptz */
		return instant_json(v);
	default:
		return json_string(v);
	}
}

/* Row I of RES as an object named by its columns. */
static json_t *
row_json(const PGresult *res, int i)
{
	json_t *o = json_object();

	for (int c = 0; c < PQnfields(res); c++)
		json_object_set_new(o, PQfname(res, c), value_json(res, i, c));
	return o;
}

/* Every row of SQL (one parameter: the client id) as an array under KEY
 * of OUT. */
static int
export_rows(struct store *s, json_t *out, const char *key, const char *sql, const char *id)
{
	const char *p[1] = { id };
	PGresult *res = ctl_db_q(s, sql, 1, p, PGRES_TUPLES_OK);
	json_t *a;

	if (res == NULL)
		return -1;
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, row_json(res, i));
	json_object_set_new(out, key, a);
	PQclear(res);
	return 0;
}

/* The export's reads, in one snapshot. */
static json_t *
export_read(struct store *s, int64_t id)
{
	char ib[24];
	const char *p[1] = { store_i64(ib, id) };
	json_t *out = json_object(), *about = json_object();
	PGresult *res;

	res = ctl_db_q(s, "SELECT to_char(dunning.now() AT TIME ZONE 'UTC', "
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), session_user::text, "
	    "  (SELECT max(version) FROM dunning.schema_migration)", 0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	json_object_set_new(about, "client_id", json_integer(id));
	json_object_set_new(about, "exported_at", json_string(PQgetvalue(res, 0, 0)));
	json_object_set_new(about, "exported_by", json_string(PQgetvalue(res, 0, 1)));
	json_object_set_new(about, "schema_version", json_integer(atoi(PQgetvalue(res, 0, 2))));
	json_object_set_new(out, "export", about);
	PQclear(res);

	res = ctl_db_q(s, "SELECT c.* FROM dunning.client c WHERE c.id = $1", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) != 1) {
		snprintf(s->err, sizeof(s->err), "no client with id %lld", (long long)id);
		PQclear(res);
		goto fail;
	}
	json_object_set_new(out, "client", row_json(res, 0));
	PQclear(res);
	res = ctl_db_q(s, "SELECT l.id, l.full_name, l.email FROM dunning.lawyer l "
	    "JOIN dunning.client c ON c.lawyer_id = l.id WHERE c.id = $1", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	json_object_set_new(out, "lawyer", PQntuples(res) == 1 ? row_json(res, 0) : json_null());
	PQclear(res);

	if (export_rows(s, out, "invoices", "SELECT i.*, " STORE_BALANCE " AS balance "
	    "FROM dunning.invoice i WHERE i.client_id = $1 ORDER BY i.issued_on, i.id", p[0]) < 0 ||
	    export_rows(s, out, "payments", "SELECT p.*, i.number AS invoice_number "
	    "FROM dunning.payment p JOIN dunning.invoice i ON i.id = p.invoice_id "
	    "WHERE i.client_id = $1 ORDER BY p.received_at, p.id", p[0]) < 0 ||
	    export_rows(s, out, "reminders", "SELECT r.*, i.number AS invoice_number "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE i.client_id = $1 ORDER BY r.created_at, r.id", p[0]) < 0 ||
	    export_rows(s, out, "messages", "SELECT m.* FROM dunning.message_copy m "
	    "WHERE m.client_id = $1 ORDER BY m.kept_at, m.message_id", p[0]) < 0 ||
	    /* payment plans (SPEC §2 rule 11, 026): each with its invoices,
	     * instalments and instalment reminders */
	    export_rows(s, out, "payment_plans", "SELECT pl.*, "
	    "  (SELECT json_agg(i.number ORDER BY i.number) FROM dunning.plan_invoice pi "
	    "   JOIN dunning.invoice i ON i.id = pi.invoice_id WHERE pi.plan_id = pl.id) "
	    "    AS invoices, "
	    "  (SELECT json_agg(json_build_object('seq', t.seq, 'due_on', t.due_on, "
	    "     'amount', t.amount::text) ORDER BY t.seq) FROM dunning.plan_instalment t "
	    "   WHERE t.plan_id = pl.id) AS instalments, "
	    "  (SELECT json_agg(m ORDER BY m.id) FROM dunning.plan_message m "
	    "   WHERE m.plan_id = pl.id) AS reminders "
	    "FROM dunning.payment_plan pl WHERE pl.client_id = $1 ORDER BY pl.id", p[0]) < 0 ||
	    /* the problems reported from their page (rule 12, 027), with
	     * their words and the invoices each names */
	    export_rows(s, out, "reports", "SELECT r.*, "
	    "  (SELECT json_agg(i.number ORDER BY i.number) FROM dunning.client_report_invoice ri "
	    "   JOIN dunning.invoice i ON i.id = ri.invoice_id WHERE ri.report_id = r.id) "
	    "    AS invoices "
	    "FROM dunning.client_report r WHERE r.client_id = $1 ORDER BY r.received_at, r.id",
	    p[0]) < 0 ||
	    export_rows(s, out, "audit", "SELECT a.id, a.at, a.actor, a.action, a.invoice_id, "
	    "  a.reminder_id, dunning.audit_details(a.id, a.details) AS details "
	    "FROM dunning.audit_log a "
	    "WHERE a.invoice_id IN (SELECT i.id FROM dunning.invoice i "
	    "    WHERE i.client_id = $1::bigint) "
	    "  OR (a.details ->> 'client_id') = $1::text ORDER BY a.at, a.id", p[0]) < 0)
		goto fail;
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* Audit the export (its own transaction: a REPEATABLE READ writer of the
 * audit log could fail at COMMIT), then read everything in one snapshot. */
json_t *
gdpr_sql_export_client(struct store *s, int64_t id)
{
	char ib[24];
	const char *p[1] = { store_i64(ib, id) };
	json_t *out;

	if (ctl_db_call(s, "record_export", 1, p) < 0)
		return NULL;
	if (ctl_db_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0)
		return NULL;
	if ((out = export_read(s, id)) == NULL) {
		store_rollback(s);
		return NULL;
	}
	if (ctl_db_cmd(s, "COMMIT") < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------ purge -- */

/* The purge's clients, from dunning.purge. */
static int
purge_clients(struct store *s, int years, struct gdpr_sql_purge *pu)
{
	char yb[24];
	const char *p[2] = { store_i64(yb, years), pu->dry_run ? "true" : "false" };
	PGresult *res;
	int n;

	res = ctl_db_q(s, "SELECT client_id, closed_on::text, invoices, message_copies, "
	    "audit_texts FROM dunning.purge($1::integer, $2::boolean)", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (pu->clients = calloc((size_t)n, sizeof(*pu->clients))) == NULL) {
		PQclear(res);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct gdpr_sql_purged *c = &pu->clients[i];

		c->client_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(c->closed_on, sizeof(c->closed_on), "%s", PQgetvalue(res, i, 1));
		c->invoices = atoi(PQgetvalue(res, i, 2));
		c->copies = atoi(PQgetvalue(res, i, 3));
		c->texts = atoi(PQgetvalue(res, i, 4));
	}
	pu->nclients = (size_t)n;
	PQclear(res);
	return 0;
}

/* The letters to remove, from dunning.purge_letters. */
static int
purge_letters(struct store *s, struct gdpr_sql_purge *pu)
{
	struct store_ids ids = { 0 };
	const char *p[1];
	char *arr;
	PGresult *res;
	int n;

	for (size_t i = 0; i < pu->nclients; i++)
		if (store_ids_add(&ids, pu->clients[i].client_id) < 0) {
			free(ids.v);
			snprintf(s->err, sizeof(s->err), "out of memory");
			return -1;
		}
	arr = store_ids_array(&ids);
	free(ids.v);
	if ((p[0] = arr) == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	res = ctl_db_q(s, "SELECT client_id, reminder_id, letter_path "
	    "FROM dunning.purge_letters($1::bigint[])", 1, p, PGRES_TUPLES_OK);
	free(arr);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n > 0 && (pu->letters = calloc((size_t)n, sizeof(*pu->letters))) == NULL) {
		PQclear(res);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct gdpr_sql_letter *l = &pu->letters[i];

		l->client_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		l->reminder_id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		if ((l->path = strdup(PQgetvalue(res, i, 2))) == NULL) {
			PQclear(res);
			pu->nletters = (size_t)i;
			snprintf(s->err, sizeof(s->err), "out of memory");
			return -1;
		}
	}
	pu->nletters = (size_t)n;
	PQclear(res);
	return 0;
}

/* dunning.purge and dunning.purge_letters, in the transaction the letters'
 * record will COMMIT (a dry run's is read-only). */
int
gdpr_sql_purge(struct store *s, int years, bool dry_run, struct gdpr_sql_purge *pu)
{
	memset(pu, 0, sizeof(*pu));
	pu->dry_run = dry_run;
	if (ctl_db_cmd(s, dry_run ? "BEGIN READ ONLY" : "BEGIN") < 0)
		return -1;
	if (purge_clients(s, years, pu) < 0 || purge_letters(s, pu) < 0) {
		store_rollback(s);
		gdpr_sql_purge_free(pu);
		return -1;
	}
	return 0;
}

/* The letters of PU whose fate is FATE, as an array literal. */
static char *
letters_with(const struct gdpr_sql_purge *pu, int fate)
{
	struct store_ids ids = { 0 };
	char *arr;

	for (size_t i = 0; i < pu->nletters; i++)
		if (pu->letters[i].fate == fate &&
		    store_ids_add(&ids, pu->letters[i].reminder_id) < 0) {
			free(ids.v);
			return NULL;
		}
	arr = store_ids_array(&ids);
	free(ids.v);
	return arr;
}

int
gdpr_sql_purge_end(struct store *s, struct gdpr_sql_purge *pu)
{
	char *a[3] = { NULL, NULL, NULL };
	PGresult *res = NULL;
	int rc = -1;

	if (pu->dry_run) {
		store_rollback(s);
		return 0;
	}
	if (pu->nletters > 0) {
		/* In the order of the function's arguments: removed, missing,
		 * kept. */
		for (int f = GDPR_SPOOL_REMOVED; f <= GDPR_SPOOL_KEPT; f++)
			if ((a[f] = letters_with(pu, f)) == NULL) {
				snprintf(s->err, sizeof(s->err), "out of memory");
				goto fail;
			}
		res = ctl_db_q(s, "SELECT dunning.purge_letters_done($1::bigint[], $2::bigint[], "
		    "$3::bigint[])", 3, (const char *const *)a, PGRES_TUPLES_OK);
		if (res == NULL)
			goto fail;
	}
	rc = ctl_db_cmd(s, "COMMIT");
	goto out;
fail:
	store_rollback(s);
out:
	PQclear(res);
	for (int f = 0; f < 3; f++)
		free(a[f]);
	return rc;
}

void
gdpr_sql_purge_free(struct gdpr_sql_purge *pu)
{
	for (size_t i = 0; i < pu->nletters; i++)
		free(pu->letters[i].path);
	free(pu->letters);
	free(pu->clients);
	memset(pu, 0, sizeof(*pu));
}
