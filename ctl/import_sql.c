/*
 * import_sql — dunningctl import's statements: see import_sql.h.
 *
 * One transaction per file: the checked rows are copied into a temporary
 * table (COPY), then each refusal the database knows of marks its row
 * (refused), and the rest go in with a few set-based statements (INSERT …
 * ON CONFLICT for the invoices), so 100 000 rows take seconds.  A refused
 * row never aborts the others; a failure of the server does abort the
 * whole file, and then nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_db.h"
#include "import_sql.h"
#include "store_int.h"

/* The temporary table of each kind: the line, the file's columns in the
 * order of import.c's tables, then the state the statements fill. */
static const char *const create_sql[] = {
	[IMPORT_INVOICES] =
	"CREATE TEMP TABLE import_row (line int, number text, client_ref text, "
	"client_email text, client_kind text, client_first_name text, client_last_name text, "
	"client_company_name text, client_language text, matter_ref text, issued_on date, "
	"due_on date, amount numeric(12,2), currency text, "
	"client_id bigint, key text, refused text, changed text) ON COMMIT DROP",
	[IMPORT_CLIENTS] =
	"CREATE TEMP TABLE import_row (line int, client_ref text, email text, kind text, "
	"first_name text, last_name text, company_name text, language text, phone text, "
	"address_line1 text, address_line2 text, postal_code text, city text, country text, "
	"iban text, client_id bigint, key text, refused text, changed text) ON COMMIT DROP",
	[IMPORT_PAYMENTS] =
	"CREATE TEMP TABLE import_row (line int, invoice_number text, amount numeric(12,2), "
	"received_on date, reference text, invoice_id bigint, key text, refused text, "
	"changed text) ON COMMIT DROP",
};

static const char *const copy_sql[] = {
	[IMPORT_INVOICES] = "COPY import_row (line, number, client_ref, client_email, "
	"client_kind, client_first_name, client_last_name, client_company_name, "
	"client_language, matter_ref, issued_on, due_on, amount, currency) FROM STDIN",
	[IMPORT_CLIENTS] = "COPY import_row (line, client_ref, email, kind, first_name, "
	"last_name, company_name, language, phone, address_line1, address_line2, "
	"postal_code, city, country, iban) FROM STDIN",
	[IMPORT_PAYMENTS] = "COPY import_row (line, invoice_number, amount, received_on, "
	"reference) FROM STDIN",
};

/* Finding the clients of the rows (invoices: client_*, clients: the
 * bare names): by client_ref when the row has one, else by e-mail when
 * exactly one client has it; two with it are refused. */
#define FIND_CLIENTS(REF, EMAIL) \
	"UPDATE import_row t SET client_id = c.id FROM dunning.client c " \
	"WHERE t.refused IS NULL AND t.client_id IS NULL AND t." REF " IS NOT NULL " \
	"  AND c.client_ref = t." REF, \
	"UPDATE import_row t SET client_id = CASE WHEN m.n = 1 THEN m.id END, " \
	"  refused = CASE WHEN m.n > 1 THEN 'several clients have the e-mail ' || t." EMAIL \
	"    || ': give the client''s client_ref' END " \
	"FROM (SELECT lower(c.email) AS e, min(c.id) AS id, count(*) AS n " \
	"      FROM dunning.client c WHERE lower(c.email) IN " \
	"        (SELECT lower(" EMAIL ") FROM import_row WHERE " REF " IS NULL) " \
	"      GROUP BY 1) m " \
	"WHERE t.refused IS NULL AND t.client_id IS NULL AND t." REF " IS NULL " \
	"  AND lower(t." EMAIL ") = m.e"

/* The statements of each kind after the COPY, in order. */
static const char *const invoice_steps[] = {
	"UPDATE import_row SET key = number",
	/* a number twice in the file: the later lines refused */
	"UPDATE import_row t SET refused = 'invoice number also on line ' || f.first "
	"FROM (SELECT number, min(line) AS first FROM import_row GROUP BY number "
	"      HAVING count(*) > 1) f WHERE t.number = f.number AND t.line > f.first",
	FIND_CLIENTS("client_ref", "client_email"),
	/* a new client needs an e-mail and a name */
	"UPDATE import_row SET refused = CASE "
	"  WHEN client_email IS NULL THEN 'missing e-mail: unknown client ' || client_ref "
	"    || ' and no client_email to create it' "
	"  WHEN client_kind = 'professional' AND client_company_name IS NULL "
	"    THEN 'new professional client without client_company_name' "
	"  WHEN client_kind = 'individual' AND client_last_name IS NULL "
	"    THEN 'new individual client without client_last_name' END "
	"WHERE refused IS NULL AND client_id IS NULL",
	/* one new client per client_ref (else e-mail), from its first line */
	"INSERT INTO dunning.client (kind, first_name, last_name, company_name, email, "
	"  language, client_ref) "
	"SELECT DISTINCT ON (coalesce(client_ref, lower(client_email))) client_kind, "
	"  client_first_name, client_last_name, client_company_name, client_email, "
	"  coalesce(client_language, 'fr'), client_ref "
	"FROM import_row WHERE refused IS NULL AND client_id IS NULL "
	"ORDER BY coalesce(client_ref, lower(client_email)), line",
	FIND_CLIENTS("client_ref", "client_email"),
	/* an invoice under a fee agreement stays with that agreement's client */
	"UPDATE import_row t SET refused = 'the invoice''s fee agreement is another "
	"client''s: its client is not changed by an import' "
	"FROM dunning.invoice i WHERE i.number = t.number AND t.refused IS NULL "
	"  AND i.agreement_id IS NOT NULL AND i.client_id <> t.client_id",
	/* what changes on an invoice seen before (an empty cell keeps it) */
	"UPDATE import_row t SET changed = concat_ws(', ', "
	"  CASE WHEN i.client_id <> t.client_id THEN 'client' END, "
	"  CASE WHEN t.matter_ref IS NOT NULL AND i.matter_ref IS DISTINCT FROM t.matter_ref "
	"    THEN 'matter_ref' END, "
	"  CASE WHEN i.issued_on <> t.issued_on THEN 'issued_on' END, "
	"  CASE WHEN i.due_on <> t.due_on THEN 'due_on' END, "
	"  CASE WHEN i.amount <> t.amount THEN 'amount ' || i.amount || ' → ' || t.amount END, "
	"  CASE WHEN t.currency IS NOT NULL AND i.currency <> t.currency THEN 'currency' END) "
	"FROM dunning.invoice i WHERE i.number = t.number AND t.refused IS NULL",
	"INSERT INTO dunning.invoice (number, client_id, matter_ref, issued_on, due_on, amount, "
	"  currency) "
	"SELECT t.number, t.client_id, coalesce(t.matter_ref, i.matter_ref), t.issued_on, "
	"  t.due_on, t.amount, coalesce(t.currency, i.currency, 'EUR') "
	"FROM import_row t LEFT JOIN dunning.invoice i ON i.number = t.number "
	"WHERE t.refused IS NULL AND (t.changed IS NULL OR t.changed <> '') ORDER BY t.line "
	"ON CONFLICT (number) DO UPDATE SET client_id = EXCLUDED.client_id, "
	"  matter_ref = EXCLUDED.matter_ref, "
	"  issued_on = EXCLUDED.issued_on, due_on = EXCLUDED.due_on, "
	"  amount = EXCLUDED.amount, currency = EXCLUDED.currency",
	NULL,
};

static const char *const client_steps[] = {
	"UPDATE import_row SET key = coalesce(client_ref, email)",
	"UPDATE import_row t SET refused = 'client also on line ' || f.first "
	"FROM (SELECT coalesce(client_ref, lower(email)) AS k, min(line) AS first "
	"      FROM import_row GROUP BY 1 HAVING count(*) > 1) f "
	"WHERE coalesce(t.client_ref, lower(t.email)) = f.k AND t.line > f.first",
	FIND_CLIENTS("client_ref", "email"),
	"UPDATE import_row SET refused = CASE "
	"  WHEN email IS NULL THEN 'missing e-mail: unknown client ' || client_ref "
	"    || ' and no email to create it' "
	"  WHEN kind = 'professional' AND company_name IS NULL "
	"    THEN 'new professional client without company_name' "
	"  WHEN kind = 'individual' AND last_name IS NULL "
	"    THEN 'new individual client without last_name' END "
	"WHERE refused IS NULL AND client_id IS NULL",
	/* the same IBAN on two clients would make a transfer ambiguous */
	"UPDATE import_row t SET refused = 'IBAN already another client''s' "
	"FROM dunning.client c WHERE t.refused IS NULL AND t.iban IS NOT NULL "
	"  AND c.iban = t.iban AND c.id IS DISTINCT FROM t.client_id",
	"UPDATE import_row t SET changed = concat_ws(', ', "
	"  CASE WHEN t.email IS NOT NULL AND c.email IS DISTINCT FROM t.email THEN 'email' END, "
	"  CASE WHEN t.client_ref IS NOT NULL AND c.client_ref IS DISTINCT FROM t.client_ref "
	"    THEN 'client_ref' END, "
	"  CASE WHEN t.first_name IS NOT NULL AND c.first_name IS DISTINCT FROM t.first_name "
	"    THEN 'first_name' END, "
	"  CASE WHEN t.last_name IS NOT NULL AND c.last_name IS DISTINCT FROM t.last_name "
	"    THEN 'last_name' END, "
	"  CASE WHEN t.company_name IS NOT NULL AND c.company_name IS DISTINCT FROM "
	"    t.company_name THEN 'company_name' END, "
	"  CASE WHEN t.language IS NOT NULL AND c.language <> t.language THEN 'language' END, "
	"  CASE WHEN t.phone IS NOT NULL AND c.phone IS DISTINCT FROM t.phone THEN 'phone' END, "
	"  CASE WHEN (t.address_line1, t.address_line2, t.postal_code, t.city) IS DISTINCT FROM "
	"    (NULL, NULL, NULL, NULL) AND (c.address_line1, c.address_line2, c.postal_code, "
	"    c.city) IS DISTINCT FROM (coalesce(t.address_line1, c.address_line1), "
	"    coalesce(t.address_line2, c.address_line2), coalesce(t.postal_code, c.postal_code), "
	"    coalesce(t.city, c.city)) THEN 'address' END, "
	"  CASE WHEN t.country IS NOT NULL AND c.country <> t.country THEN 'country' END, "
	"  CASE WHEN t.iban IS NOT NULL AND c.iban IS DISTINCT FROM t.iban THEN 'iban' END) "
	"FROM dunning.client c WHERE c.id = t.client_id AND t.refused IS NULL",
	"UPDATE dunning.client c SET email = coalesce(t.email, c.email), "
	"  client_ref = coalesce(t.client_ref, c.client_ref), "
	"  first_name = coalesce(t.first_name, c.first_name), "
	"  last_name = coalesce(t.last_name, c.last_name), "
	"  company_name = coalesce(t.company_name, c.company_name), "
	"  language = coalesce(t.language, c.language), phone = coalesce(t.phone, c.phone), "
	"  address_line1 = coalesce(t.address_line1, c.address_line1), "
	"  address_line2 = coalesce(t.address_line2, c.address_line2), "
	"  postal_code = coalesce(t.postal_code, c.postal_code), "
	"  city = coalesce(t.city, c.city), country = coalesce(t.country, c.country), "
	"  iban = coalesce(t.iban, c.iban) "
	"FROM import_row t WHERE c.id = t.client_id AND t.refused IS NULL AND t.changed <> ''",
	"INSERT INTO dunning.client (kind, first_name, last_name, company_name, email, "
	"  language, phone, address_line1, address_line2, postal_code, city, country, iban, "
	"  client_ref) "
	"SELECT kind, first_name, last_name, company_name, email, coalesce(language, 'fr'), "
	"  phone, address_line1, address_line2, postal_code, city, coalesce(country, 'FR'), "
	"  iban, client_ref FROM import_row WHERE refused IS NULL AND client_id IS NULL "
	"ORDER BY line",
	NULL,
};

static const char *const payment_steps[] = {
	"UPDATE import_row SET key = invoice_number",
	"UPDATE import_row t SET invoice_id = i.id FROM dunning.invoice i "
	"WHERE i.number = t.invoice_number",
	"UPDATE import_row SET refused = 'unknown invoice ' || invoice_number "
	"WHERE invoice_id IS NULL",
	/* a payment already recorded (same invoice, amount, day, reference):
	 * the same file imported twice records nothing new */
	"UPDATE import_row t SET changed = '' WHERE t.refused IS NULL AND EXISTS ("
	"  SELECT 1 FROM dunning.payment p WHERE p.invoice_id = t.invoice_id "
	"    AND p.amount = t.amount AND p.reference IS NOT DISTINCT FROM t.reference "
	"    AND (p.received_at AT TIME ZONE dunning.firm_tz())::date = t.received_on)",
	"INSERT INTO dunning.payment (invoice_id, amount, received_at, reference) "
	"SELECT invoice_id, amount, received_on::timestamp AT TIME ZONE dunning.firm_tz(), "
	"  reference FROM import_row WHERE refused IS NULL AND changed IS NULL ORDER BY line",
	NULL,
};

static const char *const *const steps[] = {
	[IMPORT_INVOICES] = invoice_steps,
	[IMPORT_CLIENTS] = client_steps,
	[IMPORT_PAYMENTS] = payment_steps,
};

static const char *const audit_action[] = {
	[IMPORT_INVOICES] = "import_invoices",
	[IMPORT_CLIENTS] = "import_clients",
	[IMPORT_PAYMENTS] = "import_payments",
};

/* Send the COPY data ROWS (LEN bytes). */
static int
copy_rows(struct store *s, const char *sql, const char *rows, size_t len)
{
	PGresult *res = PQexec(s->conn, sql);

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		ctl_db_fail(s, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	/* in pieces: libpq takes at most INT_MAX bytes a call */
	for (size_t off = 0; off < len; off += 1u << 20) {
		size_t n = len - off < (1u << 20) ? len - off : 1u << 20;

		if (PQputCopyData(s->conn, rows + off, (int)n) != 1) {
			ctl_db_fail(s, NULL);
			return -1;
		}
	}
	if (PQputCopyEnd(s->conn, NULL) != 1) {
		ctl_db_fail(s, NULL);
		return -1;
	}
	res = PQgetResult(s->conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		ctl_db_fail(s, res);
		PQclear(res);
		while ((res = PQgetResult(s->conn)) != NULL)
			PQclear(res);
		return -1;
	}
	PQclear(res);
	while ((res = PQgetResult(s->conn)) != NULL)
		PQclear(res);
	return 0;
}

/* The report's lines and the counts, read from the temporary table. */
static int
read_result(struct store *s, enum import_kind kind, struct import_result *r)
{
	PGresult *res;
	int n;

	res = ctl_db_q(s, "SELECT line, key, coalesce(refused, changed), refused IS NOT NULL "
	    "FROM import_row WHERE refused IS NOT NULL OR changed <> '' ORDER BY line", 0, NULL,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if ((r->notes = calloc((size_t)(n ? n : 1), sizeof(*r->notes))) == NULL) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		struct import_note *o = &r->notes[r->nnotes++];

		o->line = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
		o->key = store_col(res, i, 1);
		o->text = store_col(res, i, 2);
		o->refused = PQgetvalue(res, i, 3)[0] == 't';
	}
	PQclear(res);
	res = ctl_db_q(s, kind == IMPORT_PAYMENTS ?
	    "SELECT count(*) FILTER (WHERE refused IS NULL AND changed IS NULL), 0, "
	    "  count(*) FILTER (WHERE refused IS NULL AND changed = '') FROM import_row" :
	    "SELECT count(*) FILTER (WHERE refused IS NULL AND changed IS NULL), "
	    "  count(*) FILTER (WHERE refused IS NULL AND changed <> ''), "
	    "  count(*) FILTER (WHERE refused IS NULL AND changed = '') FROM import_row",
	    0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	r->inserted = store_col_i64(res, 0, 0);
	r->updated = store_col_i64(res, 0, 1);
	r->unchanged = store_col_i64(res, 0, 2);
	PQclear(res);
	return 0;
}

/* Apply the rows: see import_sql.h. */
int
import_sql_apply(struct store *s, enum import_kind kind, const char *rows, size_t len,
    bool dry_run, const char *details, struct import_result *r)
{
	PGresult *res;
	char n[32];
	const char *params[3];

	if (ctl_db_cmd(s, "BEGIN") < 0)
		return -1;
	if (ctl_db_cmd(s, create_sql[kind]) < 0 || copy_rows(s, copy_sql[kind], rows, len) < 0 ||
	    ctl_db_cmd(s, "ANALYZE import_row") < 0)
		goto fail;
	for (const char *const *q = steps[kind]; *q != NULL; q++) {
		if ((res = ctl_db_q(s, *q, 0, NULL, PGRES_COMMAND_OK)) == NULL)
			goto fail;
		/* the new clients: the invoices' INSERT INTO dunning.client */
		if (kind == IMPORT_INVOICES && strncmp(*q, "INSERT INTO dunning.client", 26) == 0)
			r->clients_created = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	if (read_result(s, kind, r) < 0)
		goto fail;
	snprintf(n, sizeof(n), "%lld", (long long)r->clients_created);
	params[0] = audit_action[kind];
	params[1] = details;
	params[2] = n;
	res = ctl_db_q(s, "SELECT dunning.import_audit($1, NULL, $2::jsonb || jsonb_build_object("
	    "'inserted', (SELECT count(*) FROM import_row WHERE refused IS NULL AND changed IS NULL), "
	    "'updated', (SELECT count(*) FROM import_row WHERE refused IS NULL AND changed <> ''), "
	    "'refused', ($2::jsonb->>'refused_before')::bigint "
	    "  + (SELECT count(*) FROM import_row WHERE refused IS NOT NULL), "
	    "'clients_created', $3::bigint))", 3, params, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	PQclear(res);
	if (ctl_db_cmd(s, dry_run ? "ROLLBACK" : "COMMIT") < 0)
		goto fail;
	return 0;
fail:
	{
		char keep[sizeof(s->err)];

		memcpy(keep, s->err, sizeof(keep));
		store_rollback(s);
		memcpy(s->err, keep, sizeof(keep));
	}
	return -1;
}

void
import_result_free(struct import_result *r)
{
	for (size_t i = 0; i < r->nnotes; i++) {
		free(r->notes[i].key);
		free(r->notes[i].text);
	}
	free(r->notes);
	memset(r, 0, sizeof(*r));
}
