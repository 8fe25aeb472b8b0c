/*
 * statement — a bank statement's credit entries, read from ISO 20022
 * camt.053 / camt.054 (camt.c, libxml2) or CFONB 120 (cfonb.c), the
 * format recognised by the content.  No I/O, no database: the entries go
 * to dunningctl import-statement, which matches them to invoices.
 */
#ifndef DUNNING_STATEMENT_H
#define DUNNING_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

/* Nothing bigger is one firm's statement. */
#define STMT_MAX_BYTES (256u << 20)

/* One credit: a transfer received.  Texts are UTF-8 without control
 * characters, malloc'ed, NULL when the statement has none. */
struct stmt_entry {
	char *ref;		/* the bank's reference: unique, never NULL */
	char booked_on[11];	/* ISO date */
	int64_t cents;		/* > 0 */
	char currency[4];
	char *debtor_name;
	char *debtor_iban;	/* upper case, no spaces; NULL unless an IBAN */
	char *remittance;	/* Ustrd lines, Strd references, the label */
	char *end_to_end;
	size_t line;		/* CFONB: the 04 record's line; camt: 0 */
};

struct stmt {
	const char *format;	/* "camt.053", "camt.054", "cfonb120" */
	struct stmt_entry *entries;
	size_t n, cap;
	size_t debits;		/* debit, reversed or pending entries left aside */
	char err[256];
};

/* Read BUF (LEN bytes): 0 with the credits in OUT, or -1 with the reason
 * in OUT->err (not a statement we read, malformed, too big). */
int stmt_parse(const char *buf, size_t len, struct stmt *out);

void stmt_free(struct stmt *st);

/* The camt and CFONB readers (stmt_parse calls the right one). */
int stmt_parse_camt(const char *buf, size_t len, struct stmt *out);
int stmt_parse_cfonb(const char *buf, size_t len, struct stmt *out);

/* Append a copy of E (its texts taken over) to ST; -1 out of memory. */
int stmt_add(struct stmt *st, struct stmt_entry *e);

/* S cleaned for a report: control characters become spaces, runs of
 * blanks one space, trimmed; NULL when nothing is left.  Malloc'ed. */
char *stmt_text(const char *s, size_t len);

/* S is an IBAN (spaces allowed) whose check digits hold: its compact upper
 * case form, malloc'ed; else NULL. */
char *stmt_iban(const char *s);

#endif
