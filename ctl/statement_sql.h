/*
 * statement_sql — import-statement's statements: the credits matched to
 * invoices set-based and recorded once (dunning.statement_entry, 028).
 */
#ifndef DUNNING_STATEMENT_SQL_H
#define DUNNING_STATEMENT_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include "statement.h"
#include "store.h"

/* One line of the report (texts valid during the callback). */
struct stmt_sql_line {
	const char *entry_ref, *booked_on, *amount, *currency;
	const char *debtor_name, *debtor_iban, *remittance;
	const char *invoice_number, *matched_by;	/* matched ones */
	const char *why;	/* unmatched: why not, or NULL */
};

struct stmt_sql_counts {
	int64_t by_number, by_iban, unmatched, already;
};

typedef void (*stmt_sql_cb)(const struct stmt_sql_line *l, void *arg);

/* Record the credits of ST (read from PATH) in one transaction: each new
 * one matched (its invoice's number in its remittance information or
 * end-to-end id; else its amount and debtor IBAN against exactly one open
 * invoice's balance) becomes a payment; every new one is recorded in
 * dunning.statement_entry; one audit row.  MATCHED and UNMATCHED are
 * called for the new ones.  DRY_RUN rolls back.  0, or -1 (nothing
 * written, the error in the store). */
int stmt_sql_apply(struct store *s, const struct stmt *st, const char *path, bool dry_run,
    stmt_sql_cb matched, stmt_sql_cb unmatched, void *arg, struct stmt_sql_counts *n);

/* Call CB for every entry still unmatched, oldest first; their number, or
 * -1. */
int stmt_sql_each_unmatched(struct store *s, stmt_sql_cb cb, void *arg);

/* Place the unmatched entry ENTRY_REF on invoice INVOICE by hand. */
int stmt_sql_assign(struct store *s, const char *entry_ref, const char *invoice);

#endif
