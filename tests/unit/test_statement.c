/*
 * test_statement — the bank statements' readers (lib/statement.c, camt.c,
 * cfonb.c) on the sample files of tests/data/import (make_samples.py):
 * camt.053.001.02, camt.054.001.08, CFONB 120; and what they refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statement.h"
#include "tap.h"

static const char *dir;

/* The file NAME of the sample directory, read whole. */
static char *
sample(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf = malloc(1 << 20);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (buf == NULL || (f = fopen(path, "rb")) == NULL) {
		tap_diag("cannot read %s", path);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static int
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Entry I of ST is as expected. */
static void
entry(const struct stmt *st, size_t i, const char *ref, const char *booked, long long cents,
    const char *iban, const char *e2e, const char *name, const char *remit)
{
	const struct stmt_entry *e;

	if (!tap_ok(i < st->n, "%s entry %zu exists", st->format, i))
		return;
	e = &st->entries[i];
	if (!tap_ok(same(e->ref, ref) && strcmp(e->booked_on, booked) == 0 && e->cents == cents &&
	    strcmp(e->currency, "EUR") == 0 && same(e->debtor_iban, iban) &&
	    same(e->end_to_end, e2e) && same(e->debtor_name, name) && same(e->remittance, remit),
	    "%s entry %zu: %s", st->format, i, ref))
		tap_diag("got ref %s, %s, %lld, %s, iban %s, e2e %s, name %s, remit %s", e->ref,
		    e->booked_on, (long long)e->cents, e->currency, e->debtor_iban, e->end_to_end,
		    e->debtor_name, e->remittance);
}

/* TEXT is refused with a reason containing WHY. */
static void
refused(const char *name, const char *text, const char *why)
{
	struct stmt st;
	int rc = stmt_parse(text, strlen(text), &st);

	if (!tap_ok(rc < 0 && strstr(st.err, why) != NULL, "refused: %s", name))
		tap_diag("rc %d, err %s", rc, st.err);
	stmt_free(&st);
}

int
main(int argc, char **argv)
{
	struct stmt st;
	size_t len;
	char *buf;

	dir = argc > 1 ? argv[1] : "tests/data/import";

	buf = sample("camt053.xml", &len);
	tap_ok(buf != NULL && stmt_parse(buf, len, &st) == 0, "camt.053 read");
	tap_ok(strcmp(st.format, "camt.053") == 0 && st.n == 6 && st.debits == 1,
	    "camt.053: six credits (a batch of two), one debit left aside");
	entry(&st, 0, "BQ260112-0001", "2026-01-12", 120101, NULL, "CL001-20260110",
	    "SOCIETE ELAN 01", "Reglement facture F-2026-001 merci");
	entry(&st, 1, "BQ260112-0002", "2026-01-12", 120202, NULL, "F-2026-002",
	    "DUPRE-02 HELENE", "VIREMENT");
	entry(&st, 2, "BQ260113-0003", "2026-01-13", 120303, "FR3630006000010000000003103", NULL,
	    "SOCIETE ELAN 03", "HONORAIRES");
	entry(&st, 4, "BQ260114-0006/T1", "2026-01-14", 120404, NULL, "E2E-4", "DUPRE-04 HELENE",
	    "F-2026-004");
	entry(&st, 5, "BQ260114-0006/T2", "2026-01-14", 120505, NULL, "E2E-5", "SOCIETE ELAN 05",
	    "F-2026-005");
	stmt_free(&st);
	free(buf);

	buf = sample("camt054.xml", &len);
	tap_ok(buf != NULL && stmt_parse(buf, len, &st) == 0, "camt.054.001.08 read");
	tap_ok(strcmp(st.format, "camt.054") == 0 && st.n == 1 && st.debits == 1,
	    "camt.054: one booked credit, the pending one left aside");
	entry(&st, 0, "N0001", "2026-01-16", 120808, "FR1410278000010001234567890", NULL,
	    "DUPRE-08 HELENE", "F-2026-008");
	stmt_free(&st);
	free(buf);

	buf = sample("cfonb120.txt", &len);
	tap_ok(buf != NULL && stmt_parse(buf, len, &st) == 0, "CFONB 120 read");
	tap_ok(strcmp(st.format, "cfonb120") == 0 && st.n == 2 && st.debits == 1,
	    "CFONB 120: two credits, the bank's charges left aside");
	entry(&st, 0, "CFONB/300030050100050001234/2026-01-15/0000101/VIR0000101",
	    "2026-01-15", 120606, NULL, "E2E-CL006-01", "SOCIETE ELAN 06",
	    "VIR SEPA ELAN 06 F-2026-006 VIR0000101 E2E-CL006-01");
	entry(&st, 1, "CFONB/300030050100050001234/2026-01-15/0000102/VIR0000102",
	    "2026-01-15", 120707, "FR2530004008280000000007176", NULL, "SOCIETE ELAN 07",
	    "VIR SEPA ELAN 07 VIR0000102 HONORAIRES DECEMBRE");
	stmt_free(&st);
	/* the same records without line ends */
	{
		char *flat = malloc(len), *w = flat;

		for (size_t i = 0; i < len; i++)
			if (buf[i] != '\r' && buf[i] != '\n')
				*w++ = buf[i];
		tap_ok(stmt_parse(flat, (size_t)(w - flat), &st) == 0 && st.n == 2,
		    "CFONB 120 without line ends: records of 120 characters");
		stmt_free(&st);
		free(flat);
	}
	free(buf);

	refused("a DOCTYPE (entities)", "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY e \"x\">]>"
	    "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"/>", "DOCTYPE");
	refused("an external entity", "<?xml version=\"1.0\"?><!DOCTYPE d SYSTEM "
	    "\"file:///etc/passwd\"><Document/>", "DOCTYPE");
	refused("not well-formed", "<Document><BkToCstmrStmt>", "not well-formed");
	refused("pain.001 is not a statement", "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:"
	    "pain.001.001.03\"/>", "only camt.053");
	refused("CSV", "number,amount\n", "neither");
	refused("CFONB: a 04 after the 07 that closed its statement", "01\n07\n04\n",
	    "outside a statement");
	refused("CFONB: an amount without its sign", "0130003    00501EUR2 00050001234  140126\n"
	    "0430003015800501EUR2 0005000123405150126  150126VIR                              "
	    "0000101  00000000120606VIR0000101      \n", "amount");
	refused("CFONB: a line of 121 characters", "01xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	    "not 120");
	return tap_done();
}
