/*
 * reports_sql — the clients' reports (SPEC §2 rule 12, sql/027): read
 * under the caller's row-level security (a lawyer sees their clients'),
 * and handled through dunning.handle_report.
 */
#ifndef DUNNING_REPORTS_SQL_H
#define DUNNING_REPORTS_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* One report as dunningctl reports shows it. */
struct reports_sql_row {
	int64_t id, client_id;
	const char *client_name;
	const char *received_at;	/* local time, "YYYY-MM-DD HH:MI" */
	const char *category;
	const char *state, *outcome;	/* outcome "" while open */
	const char *invoices;		/* their numbers, ", " between */
	const char *message;		/* the client's words */
};

typedef void (*reports_sql_fn)(const struct reports_sql_row *r, void *arg);

/* Call FN for each report (the open ones only unless ALL), oldest first,
 * with times in zone TZ: how many, or -1. */
int reports_sql_each(struct store *s, const char *tz, bool all, reports_sql_fn fn, void *arg);

#endif
