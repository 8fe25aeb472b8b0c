/*
 * plans_sql — dunningctl's payment-plan statements (SPEC §2 rule 11; the
 * view dunning.plans and the functions of sql/functions/plans.sql), under
 * the caller's row-level security.
 */
#ifndef DUNNING_PLANS_SQL_H
#define DUNNING_PLANS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One row of dunning.plans, as text; "" for SQL NULL. */
struct plans_sql_row {
	const char *id, *client, *currency, *state, *total, *paid, *next_due_on,
	    *next_amount, *late_amount;
};

typedef void (*plans_sql_row_fn)(const struct plans_sql_row *r, void *arg);

/* Each plan the caller may see, by id.  The number of rows, or -1. */
int plans_sql_each(struct store *s, plans_sql_row_fn fn, void *arg);

/* One instalment of a plan. */
struct plans_sql_instalment {
	const char *seq, *due_on, *amount;
};
typedef void (*plans_sql_instalment_fn)(const struct plans_sql_instalment *t, void *arg);

/* dunning.propose_plan for the N invoice NUMBERS; *ID and *STATE (into
 * STATE_BUF of N bytes) the plan's, then FN for each instalment.  0, or -1
 * with the server's words. */
int plans_sql_propose(struct store *s, const char *const *numbers, size_t n,
    const char *instalments, const char *first_due, const char *note, int64_t *id,
    char *state, size_t statelen, plans_sql_instalment_fn fn, void *arg);

#endif
