/*
 * import — dunningctl import invoices|clients|payments FILE.csv [--dry-run]
 * (SPEC §3.3): the practice software's CSV export, written as the import
 * section of the configuration says (separator, encoding, decimal mark,
 * date format, the export's names of our columns).
 *
 * Each row is checked here first (dates, amounts, e-mail, IBAN, a line
 * break in a name…); the good ones go to import_sql.c, which refuses what
 * only the database knows (an unknown invoice or client) and applies the
 * rest set-based in one transaction.  A refused row never stops the
 * others: every refusal is reported with its line in the file (the header
 * is line 1).  Exit 0 when every row went in, 1 when some were refused.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "csv.h"
#include "ctl.h"
#include "import_sql.h"
#include "money.h"

/* Nothing bigger is an export of a firm's invoices. */
#define IMPORT_MAX_BYTES (512u << 20)

enum col_type {
	COL_TEXT,	/* one line of text */
	COL_EMAIL,
	COL_DATE,
	COL_AMOUNT,	/* positive */
	COL_KIND,	/* individual | professional */
	COL_LANG,	/* fr | en */
	COL_CURRENCY,
	COL_IBAN,
	COL_COUNTRY,
};

struct col_spec {
	const char *name;
	enum col_type type;
	bool required;		/* the header must have it */
};

/* The columns of each kind, in the order import_sql.c copies them. */
static const struct col_spec invoice_cols[] = {
	{ "number", COL_TEXT, true }, { "client_ref", COL_TEXT, false },
	{ "client_email", COL_EMAIL, false }, { "client_kind", COL_KIND, false },
	{ "client_first_name", COL_TEXT, false }, { "client_last_name", COL_TEXT, false },
	{ "client_company_name", COL_TEXT, false }, { "client_language", COL_LANG, false },
	{ "matter_ref", COL_TEXT, false }, { "issued_on", COL_DATE, true },
	{ "due_on", COL_DATE, true }, { "amount", COL_AMOUNT, true },
	{ "currency", COL_CURRENCY, false },
};
static const struct col_spec client_cols[] = {
	{ "client_ref", COL_TEXT, false }, { "email", COL_EMAIL, false },
	{ "kind", COL_KIND, false }, { "first_name", COL_TEXT, false },
	{ "last_name", COL_TEXT, false }, { "company_name", COL_TEXT, false },
	{ "language", COL_LANG, false }, { "phone", COL_TEXT, false },
	{ "address_line1", COL_TEXT, false }, { "address_line2", COL_TEXT, false },
	{ "postal_code", COL_TEXT, false }, { "city", COL_TEXT, false },
	{ "country", COL_COUNTRY, false }, { "iban", COL_IBAN, false },
};
static const struct col_spec payment_cols[] = {
	{ "invoice_number", COL_TEXT, true }, { "amount", COL_AMOUNT, true },
	{ "received_on", COL_DATE, true }, { "reference", COL_TEXT, false },
};

struct kind_spec {
	const char *name;
	enum import_kind kind;
	const struct col_spec *cols;
	size_t ncols;
};

#define KIND(n, k, c) { n, k, c, sizeof(c) / sizeof(c[0]) }
static const struct kind_spec kinds[] = {
	KIND("invoices", IMPORT_INVOICES, invoice_cols),
	KIND("clients", IMPORT_CLIENTS, client_cols),
	KIND("payments", IMPORT_PAYMENTS, payment_cols),
};

#define MAX_COLS 16

/* What one run gathers. */
struct run {
	const struct kind_spec *k;
	const struct config *cfg;
	int at[MAX_COLS];	/* the file's field of each of our columns, -1 none */
	char *copy;		/* the good rows, COPY text format */
	size_t copylen, copycap;
	struct import_note *notes;	/* the rows refused here */
	size_t nnotes, notecap;
	int64_t rows;
};

/* Read all of PATH; NULL with errno set. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	struct stat st;
	size_t n;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > IMPORT_MAX_BYTES) {
		errno = errno ? errno : EFBIG;
		fclose(f);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Append LEN bytes of S to the COPY buffer. */
static int
put(struct run *r, const char *s, size_t len)
{
	if (r->copylen + len + 1 > r->copycap) {
		size_t cap = r->copycap ? r->copycap * 2 : 65536;
		char *b;

		while (cap < r->copylen + len + 1)
			cap *= 2;
		if ((b = realloc(r->copy, cap)) == NULL)
			return -1;
		r->copy = b;
		r->copycap = cap;
	}
	memcpy(r->copy + r->copylen, s, len);
	r->copylen += len;
	return 0;
}

/* Append V as one COPY text field (NULL: \N), after a tab. */
static int
put_field(struct run *r, const char *v)
{
	if (put(r, "\t", 1) < 0)
		return -1;
	if (v == NULL)
		return put(r, "\\N", 2);
	for (; *v; v++)
		if ((*v == '\\' ? put(r, "\\\\", 2) : put(r, v, 1)) < 0)
			return -1;
	return 0;
}

/* Record that line LINE is refused for WHY. */
__attribute__((format(printf, 3, 4)))
static int
refuse(struct run *r, size_t line, const char *fmt, ...)
{
	va_list ap;
	char why[512];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (r->nnotes == r->notecap) {
		size_t cap = r->notecap ? r->notecap * 2 : 16;
		struct import_note *n = realloc(r->notes, cap * sizeof(*n));

		if (n == NULL)
			return -1;
		r->notes = n;
		r->notecap = cap;
	}
	r->notes[r->nnotes++] = (struct import_note){ line, true, NULL, strdup(why) };
	return 0;
}

/* Is S an e-mail address as a reminder can be sent to (one @, something
 * on each side, a dot in the domain, no blank)? */
static bool
email_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || strchr(at, '.') == NULL ||
	    at[1] == '.' || s[strlen(s) - 1] == '.')
		return false;
	for (; *s; s++)
		if (*s == ' ' || *s == ',' || *s == ';' || *s == '<' || *s == '>')
			return false;
	return true;
}

/* S (spaces taken out, upper case, in place) is an IBAN whose check
 * digits hold (ISO 13616: mod 97 = 1)? */
static bool
iban_ok(char *s)
{
	size_t n = 0, len;
	unsigned rem = 0;

	for (char *p = s; *p; p++)
		if (*p != ' ')
			s[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	s[n] = '\0';
	len = n;
	if (len < 15 || len > 34)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[(i + 4) % len];

		if (ch >= '0' && ch <= '9')
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (ch >= 'A' && ch <= 'Z')
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return false;
	}
	return rem == 1 && s[0] >= 'A' && s[1] >= 'A' && s[2] <= '9' && s[3] <= '9';
}

/* Check the value V of column C on line LINE, normalised into OUT (64
 * bytes for dates, amounts and words; texts are used as they are). */
static const char *
check_value(struct run *r, const struct col_spec *c, char *v, char *out, size_t line,
    bool *bad)
{
	const char *want = r->cfg->import.date_format == CSV_DATE_DMY ? "dd/mm/yyyy" :
	    "yyyy-mm-dd";
	int64_t cents;

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*bad = true;
			refuse(r, line, "a %s in %s", *p == '\n' || *p == '\r' ?
			    "line break" : "control character", c->name);
			return NULL;
		}
	switch (c->type) {
	case COL_TEXT:
		return v;
	case COL_EMAIL:
		if (!email_ok(v)) {
			*bad = true;
			refuse(r, line, "%s «%s» is not an e-mail address", c->name, v);
			return NULL;
		}
		return v;
	case COL_DATE:
		if (csv_date(v, (enum csv_date_format)r->cfg->import.date_format, out) < 0) {
			*bad = true;
			refuse(r, line, "bad date in %s: «%s» (import.date_format wants %s)",
			    c->name, v, want);
			return NULL;
		}
		return out;
	case COL_AMOUNT:
		if (csv_amount(v, r->cfg->import.decimal_mark[0], &cents) < 0) {
			*bad = true;
			refuse(r, line, "bad amount in %s: «%s» (import.decimal_mark is «%s»)",
			    c->name, v, r->cfg->import.decimal_mark);
			return NULL;
		}
		if (cents <= 0) {
			*bad = true;
			refuse(r, line, "%s amount in %s: «%s» (a credit note is a payment "
			    "against the invoice it credits)", cents < 0 ? "negative" : "zero",
			    c->name, v);
			return NULL;
		}
		money_to_numeric(out, 64, cents);
		return out;
	case COL_KIND:
		if (strcasecmp(v, "individual") == 0 || strcasecmp(v, "particulier") == 0)
			return "individual";
		if (strcasecmp(v, "professional") == 0 || strcasecmp(v, "professionnel") == 0)
			return "professional";
		*bad = true;
		refuse(r, line, "%s «%s»: write individual or professional", c->name, v);
		return NULL;
	case COL_LANG:
		if (strcasecmp(v, "fr") == 0 || strcasecmp(v, "en") == 0) {
			snprintf(out, 64, "%c%c", v[0] | 0x20, v[1] | 0x20);
			return out;
		}
		*bad = true;
		refuse(r, line, "%s «%s»: write fr or en", c->name, v);
		return NULL;
	case COL_CURRENCY:
	case COL_COUNTRY:
		if (strlen(v) == (c->type == COL_CURRENCY ? 3u : 2u) &&
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(v))
			return v;
		*bad = true;
		refuse(r, line, "%s «%s»: write %s", c->name, v, c->type == COL_CURRENCY ?
		    "the ISO 4217 code, e.g. EUR" : "the ISO 3166 code, e.g. FR");
		return NULL;
	case COL_IBAN:
		if (strlen(v) < 64) {
			snprintf(out, 64, "%s", v);
			if (iban_ok(out))
				return out;
		}
		*bad = true;
		refuse(r, line, "%s «%s» is not an IBAN (its check digits do not hold)",
		    c->name, v);
		return NULL;
	}
	return NULL;
}

/* Check one row and append it to the COPY buffer, or refuse it. */
static int
take_row(struct run *r, const struct csv_row *row)
{
	char outs[MAX_COLS][64];
	const char *vals[MAX_COLS];
	char line[32];
	bool bad = false;

	r->rows++;
	if (row->error != NULL)
		return refuse(r, row->line, "%s", row->error);
	for (size_t i = 0; i < row->nfields; i++)
		if (!csv_utf8_valid(row->fields[i], row->lengths[i]))
			return refuse(r, row->line, "not UTF-8 text (a NUL byte, or an export "
			    "in Windows-1252: import.encoding = \"windows-1252\")");
	for (size_t i = 0; i < r->k->ncols; i++) {
		char *v = r->at[i] >= 0 && (size_t)r->at[i] < row->nfields ?
		    csv_trim(row->fields[r->at[i]]) : NULL;

		vals[i] = v == NULL || *v == '\0' ? NULL :
		    check_value(r, &r->k->cols[i], v, outs[i], row->line, &bad);
		if (bad)
			return 0;
		if (vals[i] == NULL && r->k->cols[i].required)
			return refuse(r, row->line, "no %s", r->k->cols[i].name);
	}
	switch (r->k->kind) {
	case IMPORT_INVOICES:
		/* number, ref, email, kind, first, last, company, language,
		 * matter, issued, due, amount, currency */
		if (vals[1] == NULL && vals[2] == NULL)
			return refuse(r, row->line, "missing e-mail: the client has neither "
			    "client_email nor client_ref");
		if (strcmp(vals[10], vals[9]) < 0)
			return refuse(r, row->line, "due_on %s is before issued_on %s", vals[10],
			    vals[9]);
		if (vals[3] == NULL)
			vals[3] = vals[6] != NULL ? "professional" : "individual";
		break;
	case IMPORT_CLIENTS:
		/* ref, email, kind, first, last, company, … */
		if (vals[0] == NULL && vals[1] == NULL)
			return refuse(r, row->line, "missing e-mail: the client has neither email "
			    "nor client_ref");
		if (vals[2] == NULL)
			vals[2] = vals[5] != NULL ? "professional" : "individual";
		break;
	case IMPORT_PAYMENTS:
		break;
	}
	snprintf(line, sizeof(line), "%zu", row->line);
	if (put(r, line, strlen(line)) < 0)
		return -1;
	for (size_t i = 0; i < r->k->ncols; i++)
		if (put_field(r, vals[i]) < 0)
			return -1;
	return put(r, "\n", 1);
}

/* S with its line ends and tabs as spaces (a long import.columns may be
 * written over several lines). */
static void
blanks(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

/* The export's name of our column OURS: its rename in import.columns, or
 * OURS itself, into BUF. */
static const char *
their_name(const struct config *cfg, const char *ours, char *buf, size_t n)
{
	const char *p = cfg->import.columns != NULL ? cfg->import.columns : "";
	size_t olen = strlen(ours);

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		char pair[256];

		if (end == NULL)
			end = p + strlen(p);
		snprintf(pair, sizeof(pair), "%.*s", (int)(end - p), p);
		blanks(pair);
		if ((eq = strchr(pair, '=')) != NULL) {
			char *k = pair, *v = (char *)eq + 1;

			*(char *)eq = '\0';
			k = csv_trim(k);
			if (strlen(k) == olen && strcmp(k, ours) == 0) {
				snprintf(buf, n, "%s", csv_trim(v));
				return buf;
			}
		}
		p = *end ? end + 1 : end;
	}
	return ours;
}

/* import.columns names only columns we know, each as "ours = theirs"? */
static bool
columns_ok(const struct config *cfg)
{
	const char *p = cfg->import.columns != NULL ? cfg->import.columns : "";

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		char pair[256], *k;
		bool known = false;

		if (end == NULL)
			end = p + strlen(p);
		snprintf(pair, sizeof(pair), "%.*s", (int)(end - p), p);
		blanks(pair);
		if ((eq = strchr(pair, '=')) == NULL) {
			fprintf(stderr, "dunningctl: import.columns: «%s» is not «ours = theirs»\n",
			    pair);
			return false;
		}
		*(char *)eq = '\0';
		k = csv_trim(pair);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			for (size_t j = 0; j < kinds[i].ncols; j++)
				known |= strcmp(kinds[i].cols[j].name, k) == 0;
		if (!known) {
			fprintf(stderr, "dunningctl: import.columns: «%s» is none of our columns "
			    "(dunningctl(1), IMPORT)\n", k);
			return false;
		}
		p = *end ? end + 1 : end;
	}
	return true;
}

/* Map the header ROW onto our columns; false (said why) when one the
 * kind needs is missing. */
static bool
map_header(struct run *r, const struct csv_row *row, const char *path)
{
	for (size_t i = 0; i < r->k->ncols; i++) {
		char buf[256];
		const char *want = their_name(r->cfg, r->k->cols[i].name, buf, sizeof(buf));

		r->at[i] = -1;
		for (size_t f = 0; f < row->nfields; f++)
			if (strcasecmp(csv_trim(row->fields[f]), want) == 0) {
				r->at[i] = (int)f;
				break;
			}
		if (r->at[i] < 0 && r->k->cols[i].required) {
			fprintf(stderr, "dunningctl: %s:1: no column «%s» (%s; import.columns "
			    "renames ours to the export's, import.separator is «%s»)\n", path,
			    want, r->k->cols[i].name, r->cfg->import.separator);
			return false;
		}
	}
	if (r->k->kind == IMPORT_INVOICES && r->at[1] < 0 && r->at[2] < 0) {
		fprintf(stderr, "dunningctl: %s:1: neither client_ref nor client_email: the "
		    "invoices' clients cannot be found\n", path);
		return false;
	}
	return true;
}

static int
note_cmp(const void *a, const void *b)
{
	const struct import_note *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

/* import invoices|clients|payments FILE [--dry-run] */
int
cmd_import(struct ctl *c, int argc, char **argv)
{
	struct run r = { .cfg = c->cfg };
	struct import_result res = { 0 };
	struct csv rd;
	struct csv_row row;
	const char *path = NULL;
	char *raw, *text, *details;
	size_t len;
	bool dry_run = false;
	int rc = EX_FAIL, got;
	int64_t refused;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (r.k == NULL) {
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
				if (strcmp(argv[i], kinds[k].name) == 0)
					r.k = &kinds[k];
			if (r.k == NULL)
				return ctl_usage(c);
		} else if (path == NULL)
			path = argv[i];
		else
			return ctl_usage(c);
	}
	if (r.k == NULL || path == NULL)
		return ctl_usage(c);
	if (!columns_ok(c->cfg))
		return EX_FAIL;
	if ((raw = slurp(path, &len)) == NULL) {
		fprintf(stderr, "dunningctl: %s: %s\n", path, errno == EFBIG ?
		    "not a regular file of at most 512 MiB" : strerror(errno));
		return EX_FAIL;
	}
	text = raw;
	if (c->cfg->import.encoding == CONFIG_ENCODING_CP1252) {
		if ((text = csv_cp1252_to_utf8(raw, len, &len)) == NULL) {
			free(raw);
			fprintf(stderr, "dunningctl: out of memory\n");
			return EX_FAIL;
		}
		free(raw);
		raw = text;
	}
	csv_init(&rd, text, len, c->cfg->import.separator[0]);
	if ((got = csv_next(&rd, &row)) != 1 || row.error != NULL) {
		fprintf(stderr, "dunningctl: %s: %s\n", path, got == 1 ? row.error :
		    "empty: the first line names the columns");
		goto out;
	}
	if (!map_header(&r, &row, path))
		goto out;
	while ((got = csv_next(&rd, &row)) == 1)
		if (take_row(&r, &row) < 0)
			break;
	if (got < 0 || (got == 1)) {
		fprintf(stderr, "dunningctl: out of memory\n");
		goto out;
	}
	{
		json_t *d = json_pack("{s:s, s:I, s:I}", "file", path, "rows",
		    (json_int_t)r.rows, "refused_before", (json_int_t)r.nnotes);

		details = json_dumps(d, JSON_COMPACT);
		json_decref(d);
	}
	if (import_sql_apply(c->store, r.k->kind, r.copy != NULL ? r.copy : "", r.copylen,
	    dry_run, details, &res) < 0) {
		free(details);
		fprintf(stderr, "dunningctl: %s: nothing imported: %s\n", path,
		    store_error(c->store));
		goto out;
	}
	free(details);
	/* Every line of the report, in the file's order. */
	{
		size_t n = r.nnotes + res.nnotes;
		struct import_note *all = malloc((n ? n : 1) * sizeof(*all));

		if (all == NULL)
			goto out;
		if (r.nnotes > 0)
			memcpy(all, r.notes, r.nnotes * sizeof(*all));
		if (res.nnotes > 0)
			memcpy(all + r.nnotes, res.notes, res.nnotes * sizeof(*all));
		qsort(all, n, sizeof(*all), note_cmp);
		refused = 0;
		for (size_t i = 0; i < n; i++) {
			if (all[i].refused)
				refused++;
			printf("%s:%zu: %s%s%s: %s\n", path, all[i].line,
			    all[i].refused ? "refused" : "updated", all[i].key ? " " : "",
			    all[i].key ? all[i].key : "", all[i].text);
		}
		free(all);
	}
	printf("%s%s: %lld row%s, %lld new, %lld updated, %lld unchanged, %lld refused",
	    dry_run ? "dry run, nothing written: " : "", r.k->name, (long long)r.rows,
	    r.rows == 1 ? "" : "s", (long long)res.inserted, (long long)res.updated,
	    (long long)res.unchanged, (long long)refused);
	if (r.k->kind == IMPORT_INVOICES)
		printf(", %lld client%s created", (long long)res.clients_created,
		    res.clients_created == 1 ? "" : "s");
	printf("\n");
	rc = refused > 0 ? EX_FAIL : EX_OK;
out:
	csv_free(&rd);
	for (size_t i = 0; i < r.nnotes; i++)
		free(r.notes[i].text);
	free(r.notes);
	free(r.copy);
	free(raw);
	import_result_free(&res);
	return rc;
}
