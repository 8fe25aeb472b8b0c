/*
 * import_sql — the statements of dunningctl import and import-statement:
 * the checked rows copied into a temporary table, then refused, matched,
 * inserted and updated set-based, all in one transaction per file.
 */
#ifndef DUNNING_IMPORT_SQL_H
#define DUNNING_IMPORT_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum import_kind { IMPORT_INVOICES, IMPORT_CLIENTS, IMPORT_PAYMENTS };

/* One line of the report: a refused row (why), or an updated one (what
 * changed), by its line in the file. */
struct import_note {
	size_t line;
	bool refused;
	char *key;		/* the invoice number, client ref or e-mail */
	char *text;		/* the reason, or the columns that changed */
};

struct import_result {
	int64_t inserted, updated, unchanged, clients_created;
	struct import_note *notes;
	size_t nnotes;
};

/* Copy ROWS (COPY text format: the line number, then the kind's columns,
 * tab-separated, one row a line; LEN bytes) into the database and apply
 * them: the refusals the database knows of (unknown client or invoice,
 * a number twice in the file, a new client without an e-mail or a name),
 * the inserts and the updates, and the audit row (ACTION, DETAILS a JSON
 * object the counts are added to).  DRY_RUN rolls it all back.  0, or -1
 * with the error in the store (nothing was written). */
int import_sql_apply(struct store *s, enum import_kind kind, const char *rows, size_t len,
    bool dry_run, const char *details, struct import_result *r);

void import_result_free(struct import_result *r);

#endif
