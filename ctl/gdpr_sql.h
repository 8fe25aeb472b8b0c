/*
 * gdpr_sql — the client's data: the export of an access request and the
 * purge after the retention period.
 */
#ifndef DUNNING_GDPR_SQL_H
#define DUNNING_GDPR_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* Every datum held on client ID as one JSON object (see doc/dunningctl.1):
 * the export is audited, then read in one snapshot.  NULL on error ("no
 * client with id N" when the session may not see it). */
json_t *gdpr_sql_export_client(struct store *s, int64_t id);

/* A client the purge anonymises (or would). */
struct gdpr_sql_purged {
	int64_t client_id;
	const char *closed_on;	/* the last of its invoices' closing dates */
	int invoices;
	int copies;		/* kept message copies deleted */
};
typedef void (*gdpr_sql_purged_fn)(const struct gdpr_sql_purged *p, void *arg);
/* Anonymise the clients whose invoices all closed more than YEARS years
 * ago (DRY_RUN: only list them), in one transaction.  Returns how many,
 * or -1. */
int gdpr_sql_purge(struct store *s, int years, bool dry_run, gdpr_sql_purged_fn fn, void *arg);

#endif
