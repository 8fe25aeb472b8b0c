/*
 * reports_sql — the clients' reports' SQL (reports_sql.h).
 */
#include <stdlib.h>

#include "ctl_db.h"
#include "reports_sql.h"

int
reports_sql_each(struct store *s, const char *tz, bool all, reports_sql_fn fn, void *arg)
{
	const char *p[2] = { tz, all ? "t" : "f" };
	PGresult *res;
	int n;

	res = ctl_db_q(s, "SELECT r.id, r.client_id, dunning.notify_client_name(c), "
	    "  to_char(r.received_at AT TIME ZONE $1, 'YYYY-MM-DD HH24:MI'), r.category, r.state, "
	    "  coalesce(r.outcome, ''), "
	    "  (SELECT string_agg(i.number, ', ' ORDER BY i.due_on, i.number) "
	    "   FROM dunning.client_report_invoice ri JOIN dunning.invoice i ON i.id = ri.invoice_id "
	    "   WHERE ri.report_id = r.id), r.message "
	    "FROM dunning.client_report r JOIN dunning.client c ON c.id = r.client_id "
	    "WHERE $2::boolean OR r.state = 'open' "
	    "ORDER BY r.state = 'open' DESC, r.received_at, r.id", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct reports_sql_row r = {
			.id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
			.client_id = strtoll(PQgetvalue(res, i, 1), NULL, 10),
			.client_name = PQgetvalue(res, i, 2),
			.received_at = PQgetvalue(res, i, 3),
			.category = PQgetvalue(res, i, 4),
			.state = PQgetvalue(res, i, 5),
			.outcome = PQgetvalue(res, i, 6),
			.invoices = PQgetvalue(res, i, 7),
			.message = PQgetvalue(res, i, 8),
		};

		fn(&r, arg);
	}
	PQclear(res);
	return n;
}
