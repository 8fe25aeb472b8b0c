/*
 * statement_sql — import-statement's statements: see statement_sql.h.
 *
 * The credits go into a temporary table (COPY), each with the words of
 * its remittance information and end-to-end id (tokens) computed here;
 * then, set-based: those already recorded (by the bank's reference) are
 * left alone; an entry whose tokens name exactly one invoice in its
 * currency is that invoice's; else one whose debtor IBAN is a client's and
 * whose amount is exactly the balance of one open invoice of theirs; the
 * rest are recorded unmatched, with why.  Nothing is guessed below that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_db.h"
#include "money.h"
#include "statement_sql.h"
#include "store_int.h"

/* A growing buffer of COPY text. */
struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* One COPY field after a tab (the first without), escaped. */
static void
field(struct buf *b, const char *v, bool first)
{
	if (!first)
		put(b, "\t", 1);
	if (v == NULL) {
		put(b, "\\N", 2);
		return;
	}
	for (; *v; v++) {
		if (*v == '\\')
			put(b, "\\\\", 2);
		else if (*v == '\t')
			put(b, " ", 1);
		else
			put(b, v, 1);
	}
}

/* May C be inside an invoice number as the words are cut? */
static bool
word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '/' || c == '.';
}

/* The words of S as elements of a text[] literal into B (the upper-case
 * form too when it differs), a comma before each but the first. */
static void
words(struct buf *b, const char *s, bool *first)
{
	while (s != NULL && *s) {
		const char *w;
		size_t n;

		while (*s && !word_char(*s))
			s++;
		for (w = s; *s && word_char(*s); s++)
			;
		n = (size_t)(s - w);
		while (n > 0 && (w[n - 1] == '.' || w[n - 1] == '/' || w[n - 1] == '-'))
			n--;
		if (n < 2 || n > 60)
			continue;
		for (int pass = 0; pass < 2; pass++) {
			char up[64];
			bool differs = false;

			for (size_t i = 0; i < n; i++) {
				up[i] = pass && w[i] >= 'a' && w[i] <= 'z' ? w[i] - 32 : w[i];
				differs |= up[i] != w[i];
			}
			if (pass && !differs)
				break;
			if (!*first)
				put(b, ",", 1);
			*first = false;
			put(b, "\"", 1);
			put(b, up, n);
			put(b, "\"", 1);
		}
	}
}

/* The credits of ST as COPY rows. */
static void
copy_text(const struct stmt *st, struct buf *b)
{
	for (size_t i = 0; i < st->n; i++) {
		const struct stmt_entry *e = &st->entries[i];
		char seq[24], amount[32];
		bool first = true;

		snprintf(seq, sizeof(seq), "%zu", i + 1);
		money_to_numeric(amount, sizeof(amount), e->cents);
		field(b, seq, true);
		field(b, e->ref, false);
		field(b, e->booked_on, false);
		field(b, amount, false);
		field(b, e->currency, false);
		field(b, e->debtor_name, false);
		field(b, e->debtor_iban, false);
		field(b, e->remittance, false);
		field(b, e->end_to_end, false);
		put(b, "\t{", 2);
		words(b, e->remittance, &first);
		words(b, e->end_to_end, &first);
		put(b, "}\n", 2);
	}
}

static const char *const steps[] = {
	/* recorded before, or twice in this file: left alone */
	"UPDATE stmt_row t SET already = true FROM dunning.statement_entry e "
	"WHERE e.entry_ref = t.entry_ref",
	"UPDATE stmt_row t SET already = true WHERE EXISTS (SELECT 1 FROM stmt_row u "
	"  WHERE u.entry_ref = t.entry_ref AND u.seq < t.seq)",
	/* the invoice's number in the transfer: exactly one invoice, in the
	 * transfer's currency */
	"UPDATE stmt_row t SET "
	"  invoice_id = CASE WHEN m.n = 1 AND m.cur = t.currency THEN m.id END, "
	"  matched_by = CASE WHEN m.n = 1 AND m.cur = t.currency THEN 'number' END, "
	"  why = CASE WHEN m.n > 1 THEN 'names several invoices: ' || m.numbers "
	"    WHEN m.cur <> t.currency THEN 'names ' || m.numbers || ', an invoice in ' || m.cur "
	"    END "
	"FROM (SELECT c.seq, count(DISTINCT i.id) AS n, min(i.id) AS id, "
	"        min(i.currency) AS cur, string_agg(DISTINCT i.number, ', ') AS numbers "
	"      FROM stmt_row c CROSS JOIN LATERAL unnest(c.tokens) AS tok "
	"      JOIN dunning.invoice i ON i.number = tok "
	"      WHERE NOT c.already GROUP BY c.seq) m "
	"WHERE m.seq = t.seq",
	/* else the amount and the debtor's IBAN: exactly one open invoice of
	 * that client whose balance is the amount */
	"UPDATE stmt_row t SET "
	"  invoice_id = CASE WHEN m.n = 1 THEN m.id END, "
	"  matched_by = CASE WHEN m.n = 1 THEN 'iban_amount' END, "
	"  why = CASE WHEN m.n = 0 THEN 'the IBAN is a client''s, but no open invoice of theirs "
	"      has a balance of ' || t.amount "
	"    WHEN m.n > 1 THEN m.n || ' open invoices of the IBAN''s client have a balance of ' "
	"      || t.amount END "
	"FROM (SELECT u.seq, count(i.id) AS n, min(i.id) AS id "
	"      FROM stmt_row u JOIN dunning.client c ON c.iban = u.debtor_iban "
	"      LEFT JOIN dunning.invoice i ON i.client_id = c.id AND i.status = 'open' "
	"        AND i.currency = u.currency AND i.amount - i.paid_total = u.amount "
	"      WHERE NOT u.already AND u.invoice_id IS NULL AND u.why IS NULL "
	"      GROUP BY u.seq) m "
	"WHERE m.seq = t.seq",
	/* one balance is paid once: a second transfer of it is not guessed
	 * (the rank of each matched entry among those of its invoice) */
	"UPDATE stmt_row t SET invoice_id = NULL, matched_by = NULL, "
	"  why = 'the same amount from the same IBAN as entry ' || d.first_ref "
	"FROM (SELECT seq, first_value(entry_ref) OVER w AS first_ref, "
	"        row_number() OVER w AS rank "
	"      FROM stmt_row WHERE matched_by IS NOT NULL "
	"      WINDOW w AS (PARTITION BY invoice_id ORDER BY seq)) d "
	"WHERE d.seq = t.seq AND d.rank > 1 AND t.matched_by = 'iban_amount'",
	"UPDATE stmt_row SET why = CASE WHEN debtor_iban IS NULL "
	"  THEN 'no invoice number in the transfer, and no IBAN of the payer' "
	"  ELSE 'no invoice number in the transfer, and the IBAN is no client''s' END "
	"WHERE NOT already AND invoice_id IS NULL AND why IS NULL",
};

/* The payments, each entry then naming its own (by the bank's
 * reference, unique in stmt_row by now: an index lookup per payment). */
static const char pay_sql[] =
	"WITH pay AS ("
	"  INSERT INTO dunning.payment (invoice_id, amount, received_at, reference) "
	"  SELECT invoice_id, amount, booked_on::timestamp AT TIME ZONE dunning.firm_tz(), "
	"    entry_ref FROM stmt_row WHERE NOT already AND invoice_id IS NOT NULL ORDER BY seq "
	"  RETURNING id, reference) "
	"UPDATE stmt_row t SET payment_id = pay.id FROM pay "
	"WHERE t.entry_ref = pay.reference AND NOT t.already";

/* The entries, matched or not. */
static const char record_sql[] =
	"INSERT INTO dunning.statement_entry (entry_ref, format, booked_on, amount, currency, "
	"  debtor_name, debtor_iban, remittance, end_to_end_id, invoice_id, payment_id, "
	"  matched_by) "
	"SELECT entry_ref, $1, booked_on, amount, currency, debtor_name, debtor_iban, "
	"  remittance, end_to_end_id, invoice_id, payment_id, matched_by "
	"FROM stmt_row WHERE NOT already ORDER BY seq";

/* Send the COPY data. */
static int
copy_rows(struct store *s, const struct buf *b)
{
	PGresult *res = PQexec(s->conn, "COPY stmt_row (seq, entry_ref, booked_on, amount, "
	    "currency, debtor_name, debtor_iban, remittance, end_to_end_id, tokens) FROM STDIN");
	int ok;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		ctl_db_fail(s, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	ok = 1;
	for (size_t off = 0; ok == 1 && off < b->len; off += 1u << 20)
		ok = PQputCopyData(s->conn, b->p + off,
		    (int)(b->len - off < (1u << 20) ? b->len - off : 1u << 20));
	if (ok != 1 || PQputCopyEnd(s->conn, NULL) != 1) {
		ctl_db_fail(s, NULL);
		return -1;
	}
	ok = 0;
	while ((res = PQgetResult(s->conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && ok == 0) {
			ctl_db_fail(s, res);
			ok = -1;
		}
		PQclear(res);
	}
	return ok;
}

/* A line of the report from row I of RES (columns as in report_sql). */
static void
line_of(const PGresult *res, int i, struct stmt_sql_line *l)
{
	const char **f[] = { &l->entry_ref, &l->booked_on, &l->amount, &l->currency,
	    &l->debtor_name, &l->debtor_iban, &l->remittance, &l->invoice_number,
	    &l->matched_by, &l->why };

	for (int c = 0; c < 10; c++)
		*f[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* Record the credits: see statement_sql.h. */
int
stmt_sql_apply(struct store *s, const struct stmt *st, const char *path, bool dry_run,
    stmt_sql_cb matched, stmt_sql_cb unmatched, void *arg, struct stmt_sql_counts *n)
{
	struct buf b = { 0 };
	PGresult *res;
	const char *params[2];
	char *details;
	json_t *d;

	copy_text(st, &b);
	if (b.oom) {
		free(b.p);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	if (ctl_db_cmd(s, "BEGIN") < 0) {
		free(b.p);
		return -1;
	}
	if (ctl_db_cmd(s, "CREATE TEMP TABLE stmt_row (seq int PRIMARY KEY, entry_ref text, "
	    "booked_on date, amount numeric(12,2), currency text, debtor_name text, "
	    "debtor_iban text, remittance text, end_to_end_id text, tokens text[], "
	    "invoice_id bigint, payment_id bigint, matched_by text, why text, already boolean "
	    "NOT NULL DEFAULT "
	    "false) ON COMMIT DROP") < 0 || copy_rows(s, &b) < 0 ||
	    ctl_db_cmd(s, "CREATE INDEX ON stmt_row (entry_ref)") < 0 ||
	    ctl_db_cmd(s, "ANALYZE stmt_row") < 0) {
		free(b.p);
		goto fail;
	}
	free(b.p);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (ctl_db_cmd(s, steps[i]) < 0)
			goto fail;
	/* the statistics of the matches, for the plans of what follows */
	if (ctl_db_cmd(s, "ANALYZE stmt_row") < 0 || ctl_db_cmd(s, pay_sql) < 0)
		goto fail;
	params[0] = st->format;
	if ((res = ctl_db_q(s, record_sql, 1, params, PGRES_COMMAND_OK)) == NULL)
		goto fail;
	PQclear(res);
	res = ctl_db_q(s, "SELECT t.entry_ref, t.booked_on, t.amount, t.currency, t.debtor_name, "
	    "t.debtor_iban, t.remittance, i.number, t.matched_by, t.why, t.already "
	    "FROM stmt_row t LEFT JOIN dunning.invoice i ON i.id = t.invoice_id ORDER BY t.seq",
	    0, NULL, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	memset(n, 0, sizeof(*n));
	for (int i = 0; i < PQntuples(res); i++) {
		struct stmt_sql_line l;

		line_of(res, i, &l);
		if (PQgetvalue(res, i, 10)[0] == 't') {
			n->already++;
		} else if (l.matched_by != NULL) {
			*(strcmp(l.matched_by, "number") == 0 ? &n->by_number : &n->by_iban) += 1;
			matched(&l, arg);
		} else {
			n->unmatched++;
			unmatched(&l, arg);
		}
	}
	PQclear(res);
	d = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "file", path, "format",
	    st->format, "credits", (json_int_t)st->n, "by_number", (json_int_t)n->by_number,
	    "by_iban_amount", (json_int_t)n->by_iban, "unmatched", (json_int_t)n->unmatched,
	    "already", (json_int_t)n->already, "debits", (json_int_t)st->debits);
	details = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	params[0] = "import_statement";
	params[1] = details;
	res = ctl_db_q(s, "SELECT dunning.import_audit($1, NULL, $2::jsonb)", 2, params,
	    PGRES_TUPLES_OK);
	free(details);
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

/* Every entry still unmatched: see statement_sql.h. */
int
stmt_sql_each_unmatched(struct store *s, stmt_sql_cb cb, void *arg)
{
	PGresult *res = ctl_db_q(s, "SELECT entry_ref, booked_on, amount, currency, debtor_name, "
	    "debtor_iban, remittance, NULL, NULL, NULL FROM dunning.statement_entry "
	    "WHERE payment_id IS NULL ORDER BY booked_on, id", 0, NULL, PGRES_TUPLES_OK);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct stmt_sql_line l;

		line_of(res, i, &l);
		cb(&l, arg);
	}
	PQclear(res);
	return n;
}

/* Place an entry by hand: see statement_sql.h. */
int
stmt_sql_assign(struct store *s, const char *entry_ref, const char *invoice)
{
	const char *params[] = { entry_ref, invoice };

	return ctl_db_call(s, "payment_assign", 2, params);
}
