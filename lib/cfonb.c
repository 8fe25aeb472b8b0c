/*
 * cfonb — the French banks' account statement on 120 characters (CFONB,
 * « relevé de compte sur support informatique »): records 01 (old
 * balance, a statement begins), 04 (an operation), 05 (its complements),
 * 07 (new balance).  Lines end with CR LF or LF, or the records follow one
 * another without line ends; a line cut short of its trailing blanks is
 * padded.  Text in ASCII or Latin-1/Windows-1252 (converted to UTF-8).
 *
 * Positions (from 0) of a 04 record: 2-6 bank, 7-10 internal operation
 * code, 11-15 branch, 16-18 currency, 19 number of decimals, 21-31
 * account, 32-33 interbank operation code, 34-39 booking date DDMMYY,
 * 42-47 value date, 48-79 label, 81-87 entry number, 90-103 amount, its
 * last character carrying the last digit and the sign (« { » and A-I: 0-9
 * credit; « } » and J-R: 0-9 debit), 104-119 reference.  A 05 record:
 * 45-47 the qualifier of its 48-117 text: LIB (a label), NPY (the
 * payer's name), IPY (the payer's identifier: an IBAN when one), RCN (the
 * payer's reference: the end-to-end id, 35 characters), REF.
 *
 * The bank's reference of an operation: « CFONB/ » bank, branch and
 * account, the booking date, the entry number and the reference (and the
 * rank of the operation in the file when both are blank).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "statement.h"

#define REC 120

/* The field of LINE at [FROM, FROM + LEN), cleaned (stmt_text). */
static char *
field(const char *line, int from, int len)
{
	return stmt_text(line + from, (size_t)len);
}

/* Whether LINE[FROM..FROM+LEN) is LEN digits. */
static bool
digits(const char *line, int from, int len)
{
	for (int i = from; i < from + len; i++)
		if (line[i] < '0' || line[i] > '9')
			return false;
	return true;
}

/* The amount at 90-103 with DECIMALS, in cents, signed; -1 malformed. */
static int
amount(const char *line, int64_t *cents)
{
	static const char pos[] = "{ABCDEFGHI", neg[] = "}JKLMNOPQR";
	const char *p;
	int decimals = line[19] - '0', sign;
	int64_t v = 0;

	if (line[19] < '0' || line[19] > '9' || !digits(line, 90, 13))
		return -1;
	for (int i = 90; i < 103; i++)
		v = v * 10 + (line[i] - '0');
	if (line[103] != '\0' && (p = strchr(pos, line[103])) != NULL) {
		sign = 1;
		v = v * 10 + (p - pos);
	} else if (line[103] != '\0' && (p = strchr(neg, line[103])) != NULL) {
		sign = -1;
		v = v * 10 + (p - neg);
	} else {
		return -1;
	}
	for (; decimals < 2; decimals++)
		v *= 10;
	for (; decimals > 2; decimals--) {
		if (v % 10 != 0)
			return -1;	/* a fraction of a cent */
		v /= 10;
	}
	if (v > 999999999999LL)
		return -1;
	*cents = sign * v;
	return 0;
}

/* The date DDMMYY at FROM, as ISO into OUT. */
static int
date(const char *line, int from, char out[11])
{
	char dmy[11];
	int yy;

	if (!digits(line, from, 6))
		return -1;
	yy = (line[from + 4] - '0') * 10 + (line[from + 5] - '0');
	snprintf(dmy, sizeof(dmy), "%.2s/%.2s/%s%.2s", line + from, line + from + 2,
	    yy > 60 ? "19" : "20", line + from + 4);
	return csv_date(dmy, CSV_DATE_DMY, out);
}

/* Append TEXT to *ACC, a space between (TEXT taken over). */
static void
append(char **acc, char *text)
{
	char *both;

	if (text == NULL)
		return;
	if (*acc == NULL) {
		*acc = text;
		return;
	}
	if ((both = malloc(strlen(*acc) + strlen(text) + 2)) != NULL) {
		sprintf(both, "%s %s", *acc, text);
		free(*acc);
		*acc = both;
	}
	free(text);
}

/* A 05 record's complement to the operation E. */
static void
complement(const char *line, struct stmt_entry *e)
{
	char *t = field(line, 48, 70), *iban;

	if (t == NULL)
		return;
	if (strncmp(line + 45, "NPY", 3) == 0 && e->debtor_name == NULL) {
		e->debtor_name = t;
	} else if (strncmp(line + 45, "IPY", 3) == 0) {
		char *id = field(line, 48, 35);

		if (id != NULL && e->debtor_iban == NULL && (iban = stmt_iban(id)) != NULL)
			e->debtor_iban = iban;
		free(id);
		free(t);
	} else if (strncmp(line + 45, "RCN", 3) == 0 && e->end_to_end == NULL) {
		e->end_to_end = field(line, 48, 35);
		append(&e->remittance, t);
	} else if (strncmp(line + 45, "LIB", 3) == 0 || strncmp(line + 45, "REF", 3) == 0) {
		append(&e->remittance, t);
	} else {
		free(t);
	}
}

/* A 04 record at LINENO: the operation into E; 1 a credit, 0 a debit,
 * -1 malformed (ERR says why). */
static int
operation(const char *line, size_t lineno, size_t rank, struct stmt_entry *e, char *err,
    size_t errlen)
{
	char acct[22], *num, *ref;
	int64_t cents;

	memset(e, 0, sizeof(*e));
	e->line = lineno;
	if (amount(line, &cents) < 0) {
		snprintf(err, errlen, "line %zu: the amount (characters 91-104) is not 13 digits "
		    "and a sign character", lineno);
		return -1;
	}
	if (date(line, 34, e->booked_on) < 0) {
		snprintf(err, errlen, "line %zu: the booking date (characters 35-40) is not "
		    "DDMMYY", lineno);
		return -1;
	}
	if (cents <= 0)
		return 0;
	e->cents = cents;
	memcpy(e->currency, line + 16, 3);
	e->currency[3] = '\0';
	if (strspn(e->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
		snprintf(err, errlen, "line %zu: the currency (characters 17-19) is not an ISO "
		    "code", lineno);
		return -1;
	}
	/* the account: bank, branch and account number */
	snprintf(acct, sizeof(acct), "%.5s%.5s%.11s", line + 2, line + 11, line + 21);
	for (char *q = acct; *q; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= 'a' && *q <= 'z')))
			*q = '_';
	num = field(line, 81, 7);
	ref = field(line, 104, 16);
	if ((e->ref = malloc(200)) != NULL) {
		if ((num == NULL || strspn(num, "0") == strlen(num)) && ref == NULL)
			snprintf(e->ref, 200, "CFONB/%s/%s/#%zu", acct, e->booked_on, rank);
		else
			snprintf(e->ref, 200, "CFONB/%s/%s/%s/%s", acct, e->booked_on,
			    num ? num : "", ref ? ref : "");
	}
	free(num);
	e->end_to_end = NULL;
	e->remittance = field(line, 48, 32);
	append(&e->remittance, ref);
	return e->ref != NULL ? 1 : -1;
}

/* Read a CFONB 120 statement: see statement.h. */
int
stmt_parse_cfonb(const char *buf, size_t len, struct stmt *out)
{
	char *conv = NULL, line[REC + 1];
	const char *p, *end;
	size_t lineno = 0, rank = 0;
	bool in_stmt = false, have = false, stream;
	struct stmt_entry cur = { 0 };
	int rc = -1;

	out->format = "cfonb120";
	if (!csv_utf8_valid(buf, len)) {
		size_t n;

		if ((conv = csv_cp1252_to_utf8(buf, len, &n)) == NULL) {
			strcpy(out->err, "out of memory");
			return -1;
		}
		buf = conv;
		len = n;
	}
	/* records without line ends: 120 bytes each */
	stream = memchr(buf, '\n', len < REC + 2 ? len : REC + 2) == NULL && len % REC == 0;
	for (p = buf, end = buf + len; p < end;) {
		const char *nl;
		size_t n;

		if (stream) {
			nl = p + REC;
			n = REC;
		} else {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			n = (size_t)(nl - p);
			if (n > 0 && p[n - 1] == '\r')
				n--;
		}
		lineno++;
		/* a line's UTF-8 may be longer than 120 bytes: count characters */
		{
			size_t chars = 0;

			for (size_t i = 0; i < n; i++)
				chars += ((unsigned char)p[i] & 0xc0) != 0x80;
			if (chars > REC) {
				snprintf(out->err, sizeof(out->err), "line %zu: %zu characters, "
				    "not 120", lineno, chars);
				goto out;
			}
		}
		if (n == 0) {
			p = nl + (nl < end);
			continue;
		}
		/* fields by byte position: non-ASCII only in the texts; the
		 * converted line is cut to 120 bytes, a split character is
		 * cleaned by the text rules */
		memset(line, ' ', REC);
		memcpy(line, p, n < REC ? n : REC);
		line[REC] = '\0';
		for (int i = 0; i < REC; i++)
			if (line[i] == '\0')
				line[i] = ' ';
		p = stream ? nl : nl + (nl < end);
		if (strncmp(line, "01", 2) == 0 || strncmp(line, "07", 2) == 0) {
			if (have && stmt_add(out, &cur) < 0)
				goto oom;
			have = false;
			in_stmt = line[1] == '1';
			continue;
		}
		if (strncmp(line, "05", 2) == 0) {
			if (!in_stmt) {
				snprintf(out->err, sizeof(out->err), "line %zu: record 05 outside a "
				    "statement (no 01 before it)", lineno);
				goto out;
			}
			if (have)
				complement(line, &cur);
			continue;
		}
		if (strncmp(line, "04", 2) != 0) {
			snprintf(out->err, sizeof(out->err), "line %zu: record «%.2s»: a CFONB 120 "
			    "statement has records 01, 04, 05 and 07", lineno, line);
			goto out;
		}
		if (!in_stmt) {
			snprintf(out->err, sizeof(out->err), "line %zu: record 04 outside a statement "
			    "(no 01 before it)", lineno);
			goto out;
		}
		if (have && stmt_add(out, &cur) < 0)
			goto oom;
		have = false;
		switch (operation(line, lineno, ++rank, &cur, out->err, sizeof(out->err))) {
		case 1:
			have = true;
			break;
		case 0:
			out->debits++;
			free(cur.remittance);
			free(cur.ref);
			memset(&cur, 0, sizeof(cur));
			break;
		default:
			free(cur.remittance);
			free(cur.ref);
			memset(&cur, 0, sizeof(cur));
			if (out->err[0] == '\0')
				goto oom;
			goto out;
		}
	}
	if (have && stmt_add(out, &cur) < 0)
		goto oom;
	have = false;
	if (lineno == 0) {
		strcpy(out->err, "empty");
		goto out;
	}
	rc = 0;
	goto out;
oom:
	strcpy(out->err, "out of memory");
out:
	if (have) {
		free(cur.ref);
		free(cur.debtor_name);
		free(cur.debtor_iban);
		free(cur.remittance);
		free(cur.end_to_end);
	}
	if (rc < 0)
		stmt_free(out);
	free(conv);
	return rc;
}
