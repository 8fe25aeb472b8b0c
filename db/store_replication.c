/*
 * store_replication — is the primary's replication synchronous?  Read
 * from the server's own views, for dunningd --check-config and dunningctl
 * status (doc/operations.md).  With asynchronous replication a failover
 * may lose the last commits of the old primary: a reminder's 'sending'
 * mark lost with it, the new primary sends that reminder again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* R: the replication of the server S is connected to.  0, or -1 with the
 * store's error. */
int
store_replication(struct store *s, struct store_replication *r)
{
	/* sync_state is NULL for a role without pg_read_all_stats: then
	 * whether a standby is synchronous is not known (unknown > 0). */
	PGresult *res = store_q(s, "SELECT count(*), "
	    "  count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')), "
	    "  count(*) FILTER (WHERE sync_state IS NULL), "
	    "  current_setting('synchronous_standby_names') <> '', "
	    "  current_setting('synchronous_commit') IN ('off', 'local'), "
	    "  pg_is_in_recovery() "
	    "FROM pg_stat_replication", 0, NULL, PGRES_TUPLES_OK);

	memset(r, 0, sizeof(*r));
	if (res == NULL)
		return -1;
	r->replicas = (int)store_col_i64(res, 0, 0);
	r->sync = (int)store_col_i64(res, 0, 1);
	r->unknown = (int)store_col_i64(res, 0, 2);
	r->names_set = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	r->commit_local = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	r->standby = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
	PQclear(res);
	return 0;
}

/* The warning R calls for, into BUF (LEN bytes): 1 when there is one — a
 * primary with replicas none of which is synchronous, or whose sessions
 * do not wait for them —, else 0 (no replica, a synchronous one, or one
 * this role cannot tell). */
int
store_replication_warning(const struct store_replication *r, char *buf, size_t len)
{
	const char *why;

	buf[0] = '\0';
	if (r->standby || r->replicas == 0)
		return 0;
	if (!r->names_set)
		why = "synchronous_standby_names is empty";
	else if (r->sync == 0 && r->unknown == 0)
		why = "no standby is synchronous (pg_stat_replication.sync_state)";
	else if (r->commit_local)
		why = "synchronous_commit is off or local for this session";
	else
		return 0;
	snprintf(buf, len, "the database is a primary with %d replica(s) but no synchronous "
	    "standby (%s): a failover may lose its last commits, a reminder's 'sending' mark "
	    "among them, and the new primary would send that reminder again "
	    "(doc/operations.md)", r->replicas, why);
	return 1;
}
