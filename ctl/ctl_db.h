/*
 * ctl_db — dunningctl's statements, errors for the person who typed the
 * command, its session as a lawyer's role, the lawyers' functions by name.
 */
#ifndef DUNNING_CTL_DB_H
#define DUNNING_CTL_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "store.h"

/* CONNINFO (key=value or URI) with its user replaced by USER and its
 * password dropped (it was the configured user's), as a key=value string,
 * malloc'ed.  NULL with the reason in ERR. */
char *ctl_db_conninfo_with_user(const char *conninfo, const char *user, char *err,
    size_t errlen);

/* SELECT dunning.FUNCTION(...) with N text parameters (NULL is SQL NULL).
 * FUNCTION is one of the lawyer's functions, named by the caller in
 * code, never from input. */
int ctl_db_call(struct store *s, const char *function, int n, const char *const *params);

/* dunningctl's statements (ctl_db.c): like store_q and store_cmd, but
 * the error remembered is the server's primary message alone, shown as is
 * to the person who typed the command. */
void ctl_db_fail(struct store *s, const PGresult *res);
PGresult *ctl_db_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
int ctl_db_cmd(struct store *s, const char *sql);

#endif
