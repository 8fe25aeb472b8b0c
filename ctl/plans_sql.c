/*
 * plans_sql — dunningctl's payment-plan statements (see plans_sql.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_db.h"
#include "plans_sql.h"
#include "store_int.h"

/* Each row of dunning.plans. */
int
plans_sql_each(struct store *s, plans_sql_row_fn fn, void *arg)
{
	PGresult *res = ctl_db_q(s, "SELECT plan_id::text, client_name, currency, state, "
	    "  total::text, paid::text, coalesce(next_due_on::text, ''), "
	    "  coalesce(next_amount::text, ''), coalesce(late_amount::text, '') "
	    "FROM dunning.plans ORDER BY plan_id", 0, NULL, PGRES_TUPLES_OK);
	int n;

	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct plans_sql_row r = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
			PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7),
			PQgetvalue(res, i, 8) };

		fn(&r, arg);
	}
	PQclear(res);
	return n;
}

/* Propose, then read back the plan's state and instalments (one
 * transaction: what is printed is what was made). */
int
plans_sql_propose(struct store *s, const char *const *numbers, size_t n,
    const char *instalments, const char *first_due, const char *note, int64_t *id,
    char *state, size_t statelen, plans_sql_instalment_fn fn, void *arg)
{
	char *arr = store_text_array(numbers, n), ib[24];
	const char *p[4] = { arr, instalments, first_due, note };
	PGresult *res;

	if (arr == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	if (ctl_db_cmd(s, "BEGIN") < 0) {
		free(arr);
		return -1;
	}
	res = ctl_db_q(s, "SELECT dunning.propose_plan($1::text[], $2::int, $3::date, $4)", 4, p,
	    PGRES_TUPLES_OK);
	free(arr);
	if (res == NULL)
		goto fail;
	*id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	p[0] = store_i64(ib, *id);
	res = ctl_db_q(s, "SELECT p.state, t.seq::text, t.due_on::text, t.amount::text "
	    "FROM dunning.payment_plan p JOIN dunning.plan_instalment t ON t.plan_id = p.id "
	    "WHERE p.id = $1::bigint ORDER BY t.seq", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto fail;
	if (ctl_db_cmd(s, "COMMIT") < 0) {
		PQclear(res);
		return -1;
	}
	snprintf(state, statelen, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "");
	for (int i = 0; i < PQntuples(res); i++) {
		struct plans_sql_instalment t = { PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			PQgetvalue(res, i, 3) };

		fn(&t, arg);
	}
	PQclear(res);
	return 0;
fail:
	{
		char keep[sizeof(s->err)];

		memcpy(keep, s->err, sizeof(keep));
		ctl_db_cmd(s, "ROLLBACK");
		memcpy(s->err, keep, sizeof(keep));
	}
	return -1;
}
