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
	char closed_on[16];	/* the last of its invoices' closing dates */
	int invoices;
	int copies;		/* kept message copies deleted */
	int texts;		/* the audit log's free texts forgotten (dunning.audit_text) */
};

/* A letter in the spool of an anonymised client (or of one the dry run
 * lists): what the caller did with its file. */
struct gdpr_sql_letter {
	int64_t client_id, reminder_id;
	char *path;		/* as recorded (reminder.letter_path) */
	int fate;		/* enum gdpr_spool_fate, set by the caller */
	char why[256];		/* why it was kept */
};

/* One purge in progress: its transaction is open from gdpr_sql_purge to
 * gdpr_sql_purge_end. */
struct gdpr_sql_purge {
	struct gdpr_sql_purged *clients;
	size_t nclients;
	struct gdpr_sql_letter *letters;
	size_t nletters;
	bool dry_run;
};

/* Open the purge's transaction, anonymise the clients whose invoices all
 * closed more than YEARS years ago (DRY_RUN: only list them), and list the
 * letters to remove: every anonymised client's (and the listed clients',
 * in a dry run).  0, or -1 (nothing changed). */
int gdpr_sql_purge(struct store *s, int years, bool dry_run, struct gdpr_sql_purge *p);

/* Record what became of P's letters (their fates), then COMMIT (a dry
 * run: ROLLBACK).  0 or -1 (nothing changed). */
int gdpr_sql_purge_end(struct store *s, struct gdpr_sql_purge *p);

void gdpr_sql_purge_free(struct gdpr_sql_purge *p);

#endif
