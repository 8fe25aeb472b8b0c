/*
 * no_answer — the digest's no-answer line (no_answer.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "no_answer.h"
#include "store_int.h"
#include "token.h"

/* The stage whose message first offers a plan (token_rights_for_stage),
 * by e-mail: j10 by default; NULL when none, or when the messages carry
 * no link (web.base_url empty): the client then has no page to answer
 * from, and a line that cannot tell an answer from none would be noise. */
static const char *
plan_stage(const struct config *cfg)
{
	if (*cfg->web.base_url == '\0')
		return NULL;
	for (size_t i = 0; i < cfg->nstages; i++)
		if (cfg->stages[i].channel == CONFIG_CHANNEL_EMAIL &&
		    (token_rights_for_stage(cfg->stages[i].offset_days) & TOKEN_PLAN))
			return cfg->stages[i].name;
	return NULL;
}

int
no_answer_items(struct store *s, const struct config *cfg, int64_t lawyer,
    struct digest_item **items, int *n)
{
	char lb[24];
	const char *stage = plan_stage(cfg), *p[2] = { store_i64(lb, lawyer), stage };
	struct digest_item *v;
	PGresult *res;
	int k;

	if (stage == NULL)
		return 0;
	res = store_q(s, "SELECT reminder_id, invoice_number, matter_ref, client_name, "
	    "  balance::text, currency, stage, floor(extract(epoch FROM since))::bigint "
	    "FROM dunning.no_answer_digest_items($1::bigint, $2)", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((k = PQntuples(res)) == 0) {
		PQclear(res);
		return 0;
	}
	if ((v = realloc(*items, (size_t)(*n + k) * sizeof(*v))) == NULL) {
		PQclear(res);
		return -1;
	}
	memset(v + *n, 0, (size_t)k * sizeof(*v));
	for (int i = 0; i < k; i++) {
		struct digest_item *it = &v[*n + i];

		it->section = DIGEST_NO_ANSWER;
		it->reminder_id = store_col_i64(res, i, 0);
		it->number = store_col(res, i, 1);
		it->matter_ref = store_col(res, i, 2);
		it->client_name = store_col(res, i, 3);
		if (money_parse(PQgetvalue(res, i, 4), &it->balance_cents) < 0)
			it->balance_cents = 0;
		snprintf(it->currency, sizeof(it->currency), "%s", PQgetvalue(res, i, 5));
		it->stage = store_col(res, i, 6);
		it->since = (time_t)store_col_i64(res, i, 7);
	}
	PQclear(res);
	*items = v;
	*n += k;
	return 0;
}
