/*
 * store — a session with the database, over libpq: connecting and
 * reconnecting, the one clock (dunning.now) of its program, the settings
 * SQL must know, the migrations, the audit row and the chain's
 * verification.  It holds no rule: the jobs that decide (pipeline/) and
 * dunningctl's commands (ctl/) write their own SQL with store_int.h.
 */
#ifndef DUNNING_STORE_H
#define DUNNING_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "config.h"

struct store;

/* A growable list of ids (store_array.c), printed as a PostgreSQL array. */
struct store_ids {
	int64_t *v;
	size_t n, cap;
};

/* Connect with CONNINFO; NULL with the reason in ERR. */
struct store *store_connect(const char *conninfo, char *err, size_t errlen);
void store_close(struct store *s);
/* The last error, for logs. */
const char *store_error(const struct store *s);

/* Before a cycle: roll back a transaction an error left open, reconnect a
 * dropped connection, open again one store_release closed.  0 when the
 * session is usable. */
int store_ready(struct store *s);
/* Close the connection of an idle session (no transaction, nothing in
 * hand); the next store_ready opens a new one.  True when one was open. */
bool store_release(struct store *s);

/* True when the connection failed (the server went away) or its server no
 * longer takes writes (demoted, a standby), as opposed to one statement
 * failing; asks the server when libpq does not know yet. */
bool store_broken(struct store *s);

/* The one clock on this session: SET dunning.now (0: the real clock). */
int store_set_now(struct store *s, time_t now);

/* Highest migration applied, 0 when none, -1 on error. */
int store_schema_version(struct store *s);
/* The highest migration this program carries. */
int store_known_version(void);
/* Apply the pending numbered migrations and the repeatable files of
 * functions and views whose text changed (store_migrate.c), printing each
 * to OUT.  Returns how many numbered migrations were applied, or -1;
 * *REPEATABLE gets how many repeatable files ran. */
int store_migrate(struct store *s, FILE *out, int *repeatable);
/* 1 when the repeatable files recorded in the database are those this
 * program carries (names and checksums), 0 when not, -1 on error. */
int store_repeatables_current(struct store *s);

/* The replication of the server (store_replication.c). */
struct store_replication {
	int replicas;		/* rows of pg_stat_replication */
	int sync;		/* of them, sync_state sync or quorum */
	int unknown;		/* of them, sync_state not visible to this role */
	bool names_set;		/* synchronous_standby_names not empty */
	bool commit_local;	/* synchronous_commit off or local */
	bool standby;		/* the server is itself in recovery */
};
int store_replication(struct store *s, struct store_replication *r);
/* 1 with a warning in BUF when R is a primary whose replicas are not
 * synchronous (a failover may lose its last commits), else 0. */
int store_replication_warning(const struct store_replication *r, char *buf, size_t len);

/* Publish what SQL must know of the configuration (the time zone). */
int store_publish_settings(struct store *s, const struct config *cfg);

/* Write one audit row.  Its actor is the session's role ("daemon" for a
 * member of dunning_daemon): sql/base/audit.sql sets it, no caller does.
 * DETAILS may be NULL. */
int store_audit(struct store *s, const char *action, int64_t invoice, int64_t reminder,
    json_t *details);

/* The head of the audit chain: the last row's chain_seq and hash (an
 * empty log: 0 and 32 zero bytes), published outside the database as
 * "audit head SEQ:HASH" (SPEC §3.5: the pass's log line, the lawyers'
 * digest, dunningctl audit verify). */
struct store_audit_head {
	int64_t seq;
	unsigned char hash[32];
};
/* "audit head " + 19 digits + ':' + 64 hex digits + NUL. */
#define STORE_AUDIT_HEAD_TEXT 96

/* Read dunning.audit_head (one row) into H.  0 or -1. */
int store_audit_head(struct store *s, struct store_audit_head *h);
/* "audit head SEQ:HASH" (64 lower-case hex digits) into BUF. */
void store_audit_head_format(const struct store_audit_head *h, char buf[STORE_AUDIT_HEAD_TEXT]);
/* Parse "SEQ:HASH" (or "audit head SEQ:HASH") into H; -1 when malformed. */
int store_audit_head_parse(const char *text, struct store_audit_head *h);

/* Recompute the audit chain in C (the canonical text and SHA-256, no
 * function of the database), check dunning.audit_head against the last
 * row and, when PUBLISHED is not NULL, that its row is still in the
 * chain with its hash.  Returns the number of rows checked when all
 * holds, with the last row's position and hash in *HEAD; -1 on error; on
 * a break, -2 with the row's id in *BAD (0: not one row) and WHY. */
int64_t store_audit_verify(struct store *s, const struct store_audit_head *published,
    struct store_audit_head *head, int64_t *bad, char *why, size_t whylen);

#endif
