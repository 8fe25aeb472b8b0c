/*
 * load — the contents of one message, read from the database: the client,
 * its lawyer, the invoices with their balances and payments.  The sender loads it for the
 * reminders it claimed; dunningctl preview loads it the same way, for a
 * reminder or for an invoice at a stage not planned yet.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "load.h"
#include "rows.h"
#include "store_int.h"

/* The payments of invoice IT among the rows of RES (rows.h). */
int
load_item_payments(const PGresult *res, struct send_item *it)
{
	int n = 0, r;
	int64_t inv;

	for (r = 0; r < PQntuples(res); r++) {
		if (store_parse_i64(PQgetvalue(res, r, 0), &inv) < 0)
			return -1;
		n += inv == it->invoice_id;
	}
	if (n == 0)
		return 0;
	if ((it->payments = calloc((size_t)n, sizeof(*it->payments))) == NULL)
		return -1;
	for (r = 0; r < PQntuples(res); r++) {
		struct interest_payment *p = &it->payments[it->npayments];
		time_t at;

		if (store_parse_i64(PQgetvalue(res, r, 0), &inv) < 0 || inv != it->invoice_id)
			continue;
		/* A payment read as another amount or day would change the
		 * interest claimed: refused instead. */
		if (store_parse_epoch(PQgetvalue(res, r, 1), &at) < 0 ||
		    money_parse(PQgetvalue(res, r, 2), &p->cents) < 0)
			return -1;
		p->on = cal_local_day(at);
		it->npayments++;
	}
	return 0;
}

/* The payments of the invoices of groups G[0..NG), for the late interest:
 * the balance it runs on changes at each one (SPEC §2.1).  Dated in the
 * firm's zone. */
static int
load_payments(struct store *s, const char *array, bool by_invoice, struct send_group *g,
    size_t ng)
{
	const char *pr[1] = { array };
	PGresult *res;
	int rc = 0;

	res = store_qp(s, by_invoice ?
	    "SELECT p.invoice_id, extract(epoch FROM p.received_at)::bigint, p.amount::text "
	    "FROM dunning.payment p WHERE p.invoice_id = ANY($1::bigint[]) "
	    "ORDER BY p.invoice_id, p.received_at" :
	    "SELECT p.invoice_id, extract(epoch FROM p.received_at)::bigint, "
	    "  p.amount::text FROM dunning.payment p WHERE p.invoice_id IN "
	    "  (SELECT invoice_id FROM dunning.reminder WHERE id = ANY($1::bigint[])) "
	    "ORDER BY p.invoice_id, p.received_at", 1, pr, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (size_t k = 0; k < ng && rc == 0; k++)
		for (size_t i = 0; i < g[k].nitems && rc == 0; i++)
			rc = load_item_payments(res, &g[k].items[i]);
	PQclear(res);
	return rc;
}

/* The fee agreements of the invoices of groups G[0..NG) (SPEC §2 rule 13):
 * an invoice claims interest only when its agreement is signed, has the
 * clause and no legal aid, at the agreement's own multiplier and start. */
static int
load_agreements(struct store *s, const char *array, bool by_invoice, struct send_group *g,
    size_t ng)
{
	const char *pr[1] = { array };
	PGresult *res;

	for (size_t k = 0; k < ng; k++)
		for (size_t i = 0; i < g[k].nitems; i++) {
			g[k].items[i].interest_clause = false;
			g[k].items[i].agreement_multiplier_milli = -1;
			g[k].items[i].agreement_start_days = -1;
		}
	res = store_qp(s, by_invoice ?
	    "SELECT i.id, a.signed_on IS NOT NULL AND a.interest_clause AND a.legal_aid = 'none', "
	    "  (a.interest_multiplier * 1000)::bigint, a.interest_start_days "
	    "FROM dunning.invoice i JOIN dunning.fee_agreement a ON a.id = i.agreement_id "
	    "WHERE i.id = ANY($1::bigint[])" :
	    "SELECT i.id, a.signed_on IS NOT NULL AND a.interest_clause AND a.legal_aid = 'none', "
	    "  (a.interest_multiplier * 1000)::bigint, a.interest_start_days "
	    "FROM dunning.invoice i JOIN dunning.fee_agreement a ON a.id = i.agreement_id "
	    "WHERE i.id IN (SELECT invoice_id FROM dunning.reminder WHERE id = ANY($1::bigint[]))",
	    1, pr, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t inv, mult = -1, start = -1;
		bool clause;

		/* A term read as another would change the interest claimed:
		 * the message is refused instead. */
		if (store_parse_i64(PQgetvalue(res, r, 0), &inv) < 0 ||
		    store_parse_bool(PQgetvalue(res, r, 1), &clause) < 0 ||
		    (!PQgetisnull(res, r, 2) && (store_parse_i64(PQgetvalue(res, r, 2), &mult) < 0 ||
		    mult <= 0 || mult > INT_MAX)) ||
		    (!PQgetisnull(res, r, 3) && (store_parse_i64(PQgetvalue(res, r, 3), &start) < 0 ||
		    start < 0 || start > INT_MAX))) {
			snprintf(s->err, sizeof(s->err), "a fee agreement's column cannot be read");
			PQclear(res);
			return -1;
		}
		for (size_t k = 0; k < ng; k++)
			for (size_t i = 0; i < g[k].nitems; i++)
				if (g[k].items[i].invoice_id == inv) {
					g[k].items[i].interest_clause = clause;
					g[k].items[i].agreement_multiplier_milli = (int)mult;
					g[k].items[i].agreement_start_days = (int)start;
				}
	}
	PQclear(res);
	return 0;
}

/* The client and lawyer: columns of CLIENT_SQL from the second on. */
#define CLIENT_SQL \
	"SELECT c.id, c.kind, c.first_name, c.last_name, c.company_name, c.email, " \
	"c.language, c.address_line1, c.address_line2, c.postal_code, c.city, c.country, " \
	"l.full_name, l.email FROM dunning.client c " \
	"LEFT JOIN dunning.lawyer l ON l.id = c.lawyer_id "

/* G's client from row R of a CLIENT_SQL result (rows.h). */
int
load_fill_client(const PGresult *res, int r, struct send_group *g)
{
	if (store_parse_i64(PQgetvalue(res, r, 0), &g->client_id) < 0)
		return -1;
	g->kind = store_col(res, r, 1);
	g->first_name = store_col(res, r, 2);
	g->last_name = store_col(res, r, 3);
	g->company_name = store_col(res, r, 4);
	g->email = store_col(res, r, 5);
	g->language = store_col(res, r, 6);
	g->address_line1 = store_col(res, r, 7);
	g->address_line2 = store_col(res, r, 8);
	g->postal_code = store_col(res, r, 9);
	g->city = store_col(res, r, 10);
	g->country = store_col(res, r, 11);
	g->lawyer_name = store_col(res, r, 12);
	g->lawyer_email = store_col(res, r, 13);
	return 0;
}

/* The invoices of ARRAY: reminders' ids, or BY_INVOICE invoices' ids (no
 * reminder: reminder_id 0, no attempt, no Message-ID). */
#define ITEM_COLUMNS \
	"i.id, i.number, i.matter_ref, i.payment_url, i.issued_on, i.due_on, i.amount::text, " \
	"(i.amount - coalesce((SELECT sum(amount) FROM dunning.payment " \
	"  WHERE invoice_id = i.id), 0))::text, "
#define ITEMS_BY_REMINDER \
	"SELECT r.id, " ITEM_COLUMNS "r.attempts, r.decided_at IS NOT NULL, r.message_id, " \
	"  i.pdf_path FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id " \
	"WHERE r.id = ANY($1::bigint[]) ORDER BY i.due_on, i.number"

/* Item IT from row R of an items result; the first item of G gives its
 * Message-ID. */
int
load_fill_item(const PGresult *res, int r, struct send_group *g, struct send_item *it)
{
	int64_t attempts;

	/* Every number, date and amount read exactly, or the row refused:
	 * an amount that is not money (12.345) was left at 0 in the letter. */
	if (store_parse_i64(PQgetvalue(res, r, 0), &it->reminder_id) < 0 ||
	    store_parse_i64(PQgetvalue(res, r, 1), &it->invoice_id) < 0 ||
	    (it->issued_on = cal_parse(PQgetvalue(res, r, 5))) == CAL_NONE ||
	    (it->due_on = cal_parse(PQgetvalue(res, r, 6))) == CAL_NONE ||
	    money_parse(PQgetvalue(res, r, 7), &it->amount_cents) < 0 ||
	    money_parse(PQgetvalue(res, r, 8), &it->balance_cents) < 0 ||
	    store_parse_i64(PQgetvalue(res, r, 9), &attempts) < 0 || attempts < 0 ||
	    attempts > INT_MAX || store_parse_bool(PQgetvalue(res, r, 10), &it->approved) < 0)
		return -1;
	it->attempts = (int)attempts;
	it->number = store_col(res, r, 2);
	it->matter_ref = store_col(res, r, 3);
	it->payment_url = store_col(res, r, 4);
	if (it == g->items)
		g->message_id = store_col(res, r, 11);
	if (!PQgetisnull(res, r, 12) && *PQgetvalue(res, r, 12))
		it->pdf_path = store_col(res, r, 12);
	return 0;
}

/* Load the client, lawyer and invoices of ARRAY (see ITEM_COLUMNS). */
static int
load_one(struct store *s, const char *array, bool by_invoice, int64_t client,
    struct send_group *g)
{
	char cb[24];
	const char *pc[1] = { store_i64(cb, client) };
	const char *pr[1] = { array };
	PGresult *res;

	res = store_q(s, CLIENT_SQL "WHERE c.id = $1", 1, pc, PGRES_TUPLES_OK);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	if (load_fill_client(res, 0, g) < 0) {
		snprintf(s->err, sizeof(s->err), "client %lld: a column cannot be read",
		    (long long)client);
		PQclear(res);
		return -1;
	}
	PQclear(res);

	res = store_q(s, by_invoice ?
	    "SELECT 0, " ITEM_COLUMNS "0, false, NULL, i.pdf_path FROM dunning.invoice i "
	    "WHERE i.id = ANY($1::bigint[]) ORDER BY i.due_on, i.number" : ITEMS_BY_REMINDER,
	    1, pr, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	g->nitems = (size_t)PQntuples(res);
	if ((g->items = calloc(g->nitems, sizeof(*g->items))) == NULL) {
		PQclear(res);
		return -1;
	}
	for (size_t i = 0; i < g->nitems; i++)
		if (load_fill_item(res, (int)i, g, &g->items[i]) < 0) {
			snprintf(s->err, sizeof(s->err), "client %lld: an invoice's column cannot "
			    "be read", (long long)client);
			PQclear(res);
			return -1;
		}
	PQclear(res);
	if (load_agreements(s, array, by_invoice, g, 1) < 0)
		return -1;
	return load_payments(s, array, by_invoice, g, 1);
}

/* Load N claimed groups at once, in three statements: REMS[j] belongs to
 * G[GROUP_OF[j]], whose client_id is set. */
int
load_groups(struct store *s, const int64_t *rems, const size_t *group_of,
    size_t nrems, struct send_group *g, size_t n)
{
	struct store_ids clients = { 0 }, all = { (int64_t *)rems, nrems, nrems };
	size_t *want = calloc(n ? n : 1, sizeof(*want));
	char *ca = NULL, *ra = store_ids_array(&all);
	const char *p[1];
	PGresult *res = NULL;
	int rc = -1;

	if (want == NULL || ra == NULL)
		goto out;
	for (size_t k = 0; k < n; k++)
		if (!store_ids_has(&clients, g[k].client_id) &&
		    store_ids_add(&clients, g[k].client_id) < 0)
			goto out;
	if ((ca = store_ids_array(&clients)) == NULL)
		goto out;
	p[0] = ca;
	if ((res = store_qp(s, CLIENT_SQL "WHERE c.id = ANY($1::bigint[])", 1, p,
	    PGRES_TUPLES_OK)) == NULL)
		goto out;
	for (int r = 0; r < PQntuples(res); r++)
		for (size_t k = 0; k < n; k++)
			if (g[k].client_id == strtoll(PQgetvalue(res, r, 0), NULL, 10) &&
			    load_fill_client(res, r, &g[k]) < 0) {
				snprintf(s->err, sizeof(s->err), "client %lld: a column cannot be "
				    "read", (long long)g[k].client_id);
				goto out;
			}
	PQclear(res);
	for (size_t k = 0; k < n; k++)
		if (g[k].kind == NULL) {
			snprintf(s->err, sizeof(s->err), "client %lld: not found",
			    (long long)g[k].client_id);
			res = NULL;
			goto out;
		}

	for (size_t j = 0; j < nrems; j++)
		want[group_of[j]]++;
	for (size_t k = 0; k < n; k++)
		if ((g[k].items = calloc(want[k], sizeof(*g[k].items))) == NULL) {
			res = NULL;
			goto out;
		}
	p[0] = ra;
	if ((res = store_qp(s, ITEMS_BY_REMINDER, 1, p, PGRES_TUPLES_OK)) == NULL)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);

		for (size_t j = 0; j < nrems; j++) {
			struct send_group *gk = &g[group_of[j]];

			if (rems[j] != id || gk->nitems == want[group_of[j]])
				continue;
			if (load_fill_item(res, r, gk, &gk->items[gk->nitems++]) < 0) {
				snprintf(s->err, sizeof(s->err), "client %lld: an invoice's column "
				    "cannot be read", (long long)gk->client_id);
				goto out;
			}
			break;
		}
	}
	for (size_t k = 0; k < n; k++)
		if (g[k].nitems != want[k]) {
			snprintf(s->err, sizeof(s->err), "client %lld: %zu of %zu reminders read",
			    (long long)g[k].client_id, g[k].nitems, want[k]);
			goto out;
		}
	if (load_agreements(s, ra, false, g, n) < 0)
		goto out;
	rc = load_payments(s, ra, false, g, n);
out:
	PQclear(res);
	free(want);
	free(ca);
	free(ra);
	free(clients.v);
	return rc;
}

/* Load the client, lawyer and invoices of the claimed reminders. */
int
load_group(struct store *s, const char *rem_array, int64_t client, struct send_group *g)
{
	return load_one(s, rem_array, false, client, g);
}

/* The same for invoices INV_ARRAY ("{1,2}") that have no reminder yet. */
int
load_group_invoices(struct store *s, const char *inv_array, int64_t client,
    struct send_group *g)
{
	return load_one(s, inv_array, true, client, g);
}
