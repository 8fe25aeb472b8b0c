/*
 * rates — the half-years missing from the legal-rate table (see rates.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "rates.h"

/* The table's half-years as an int[] literal of YEAR * 10 + HALF
 * ("{20231,20232}"); malloc'ed, NULL when out of memory. */
static char *
known_halves(const struct config *cfg)
{
	size_t n = cfg->interest.nrates, len = 0;
	char *buf = malloc(n * 8 + 3);

	if (buf == NULL)
		return NULL;
	buf[len++] = '{';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, 9, "%s%d", i ? "," : "",
		    cfg->interest.rates[i].year % 100000 * 10 + cfg->interest.rates[i].half);
	buf[len++] = '}';
	buf[len] = '\0';
	return buf;
}

int
rates_gaps(struct store *s, const struct config *cfg, struct rates_gap **out)
{
	char *known = known_halves(cfg);
	const char *p[1] = { known };
	struct rates_gap *v;
	PGresult *res;
	int n;

	*out = NULL;
	if (known == NULL) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	/* One pass over the open invoices that claim interest (a signed
	 * agreement with the clause, no legal aid: SPEC §2 rule 13, as
	 * load.c reads it; the others need no rate): their issue dates'
	 * half-years, those not in the table counted per lawyer. */
	res = store_qp(s, "SELECT y, h, coalesce(lawyer_id, 0), count(*) "
	    "FROM (SELECT extract(year FROM i.issued_on)::int AS y, "
	    "    CASE WHEN extract(month FROM i.issued_on) <= 6 THEN 1 ELSE 2 END AS h, "
	    "    c.lawyer_id "
	    "  FROM dunning.invoice i JOIN dunning.client c ON c.id = i.client_id "
	    "  JOIN dunning.fee_agreement a ON a.id = i.agreement_id "
	    "  WHERE i.status = 'open' AND i.amount > i.paid_total "
	    "    AND a.signed_on IS NOT NULL AND a.interest_clause AND a.legal_aid = 'none') o "
	    "WHERE y * 10 + h <> ALL ($1::int[]) "
	    "GROUP BY y, h, lawyer_id ORDER BY y, h, 3", 1, p, PGRES_TUPLES_OK);
	free(known);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n;
	}
	for (int i = 0; i < n; i++) {
		v[i].year = atoi(PQgetvalue(res, i, 0));
		v[i].half = atoi(PQgetvalue(res, i, 1));
		v[i].lawyer_id = store_col_i64(res, i, 2);
		v[i].invoices = store_col_i64(res, i, 3);
	}
	PQclear(res);
	*out = v;
	return n;
}
