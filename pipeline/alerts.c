/*
 * alerts — the alert outbox and the digest rows (see alerts.h).
 *
 * Internal mail is delivered at least once: a claim whose lease ran out
 * (the daemon died mid-send) is taken again, with the same Message-ID, so
 * a lawyer's mail reader shows a rare duplicate as one message.  Losing an
 * escalation alert would be worse than seeing it twice.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "reason.h"
#include "money.h"
#include "store_int.h"
#include "alerts.h"


/* Free text may quote an address (a relay's "550 <x@y>: unknown"): blank
 * every word holding an '@', and keep the rest printable, for the audit
 * row and the lawyer's mail alike. */
static void
scrub(const char *in, char *out, size_t n)
{
	size_t o = 0;

	while (*in != '\0' && o + 1 < n) {
		size_t w = strcspn(in, " \t,;()[]\"");
		const char *at = w > 0 ? memchr(in, '@', w) : NULL;

		if (at != NULL) {
			/* "<x@y>:" becomes "(adresse):" */
			const char *mark = "(adresse)", *gt = memchr(at, '>', w - (size_t)(at - in));

			for (size_t k = 0; mark[k] && o + 1 < n; k++)
				out[o++] = mark[k];
			in += gt != NULL ? (size_t)(gt - in) + 1 : w;
			continue;
		}
		if (w == 0)
			w = 1;
		for (size_t k = 0; k < w && o + 1 < n; k++, in++)
			out[o++] = (unsigned char)*in < 0x20 || *in == 0x7f ? ' ' : *in;
	}
	out[o] = '\0';
}

/* Queue an alert inside the caller's transaction. */
int
alerts_add(struct store *s, const char *kind, const char *key, int64_t invoice,
    const int64_t *rems, size_t n, json_t *details)
{
	char ib[24], *arr = rems != NULL && n > 0 ? store_ids_array(&(struct store_ids){ (int64_t *)rems, n, n }) : NULL, *js = NULL;
	const char *p[5];
	PGresult *res;

	const char *why = json_string_value(json_object_get(details, "why"));

	if (why != NULL) {
		char clean[512];

		scrub(why, clean, sizeof(clean));
		json_object_set_new(details, "why", json_string(clean));
	}
	if ((rems != NULL && n > 0 && arr == NULL) ||
	    (details != NULL && (js = json_dumps(details, JSON_COMPACT)) == NULL)) {
		free(arr);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return -1;
	}
	p[0] = kind;
	p[1] = key;
	p[2] = store_id_or_null(ib, invoice);
	p[3] = arr;
	p[4] = js;
	res = store_q(s, "SELECT dunning.lawyer_alert_add($1, $2, $3, $4::bigint[], $5::jsonb)",
	    5, p, PGRES_TUPLES_OK);
	free(arr);
	free(js);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* The count a queueing function returned, or -1 when it failed. */
static int
queued(PGresult *res)
{
	int n;

	if (res == NULL)
		return -1;
	n = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

/* Queue the prescription alerts due now, in one statement. */
int
alerts_prescription(struct store *s, const int *days)
{
	char arr[16 * (CONFIG_MAX_ALERT_DAYS + 1)];
	const char *p[1] = { arr };
	size_t len = 0;

	arr[len++] = '{';
	for (int i = 0; days[i] > 0 && i < CONFIG_MAX_ALERT_DAYS; i++)
		len += (size_t)snprintf(arr + len, sizeof(arr) - len, "%s%d", i ? "," : "",
		    days[i]);
	snprintf(arr + len, sizeof(arr) - len, "}");
	if (strcmp(arr, "{}") == 0)
		return 0;
	return queued(store_q(s, "SELECT dunning.prescription_alerts($1::integer[])", 1, p,
	    PGRES_TUPLES_OK));
}

/* Queue the alerts of the partial legal-aid agreements due at the
 * session's today (SPEC §2 rule 13): one statement for them all, each
 * alert told once.  Returns how many were queued, or -1. */
int
alerts_legal_aid(struct store *s)
{
	return queued(store_q(s, "SELECT dunning.legal_aid_alerts_queue()", 0, NULL,
	    PGRES_TUPLES_OK));
}

/* Queue the alerts of the agreements still unsigned DAYS after they were
 * sent (SPEC §2 rule 13): one statement, each told once (event_key). */
int
alerts_agreement_unsigned(struct store *s, int days)
{
	char db[24];
	const char *p[1] = { store_i64(db, days) };

	return queued(store_q(s, "SELECT dunning.agreement_unsigned_alerts_queue($1::integer)", 1,
	    p, PGRES_TUPLES_OK));
}

/* Claim the alerts due now, lawyer and client read in the same statement. */
int
alerts_claim(struct store *s, int max, struct lawyer_alert **out)
{
	char mb[24];
	const char *p[1] = { store_i64(mb, max) };
	struct lawyer_alert *v;
	PGresult *res;
	int n;

	*out = NULL;
	res = store_q(s, "WITH c AS (UPDATE dunning.lawyer_alert a SET state = 'sending', "
	    "  attempts = a.attempts + 1, lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
	    "  WHERE a.id IN (SELECT id FROM dunning.lawyer_alert "
	    "    WHERE (state = 'pending' AND coalesce(next_try_at, '-infinity') <= dunning.now()) "
	    "       OR (state = 'sending' AND lease_until < dunning.now()) "
	    "    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
	    "  RETURNING a.*) "
	    "SELECT c.id, c.kind, c.lawyer_id, l.full_name, l.email, c.invoice_id, "
	    "  c.reminder_id, dunning.notify_client_name(cl), c.details::text, c.attempts, "
	    "  floor(extract(epoch FROM c.created_at))::bigint "
	    /* an alert names an invoice, or a fee agreement (024) */
	    "FROM c LEFT JOIN dunning.invoice i ON i.id = c.invoice_id "
	    "LEFT JOIN dunning.fee_agreement fa ON fa.id = c.agreement_id "
	    "JOIN dunning.client cl ON cl.id = coalesce(i.client_id, fa.client_id) "
	    "LEFT JOIN dunning.lawyer l ON l.id = c.lawyer_id ORDER BY c.id", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n;
	}
	for (int i = 0; i < n; i++) {
		json_error_t jerr;

		v[i].id = store_col_i64(res, i, 0);
		snprintf(v[i].kind, sizeof(v[i].kind), "%s", PQgetvalue(res, i, 1));
		v[i].lawyer_id = store_col_i64(res, i, 2);
		v[i].lawyer_name = store_col(res, i, 3);
		v[i].lawyer_email = store_col(res, i, 4);
		v[i].invoice_id = store_col_i64(res, i, 5);
		v[i].reminder_id = store_col_i64(res, i, 6);
		v[i].client_name = store_col(res, i, 7);
		v[i].details = json_loads(PQgetvalue(res, i, 8), 0, &jerr);
		if (v[i].details == NULL)
			v[i].details = json_object();
		v[i].attempts = atoi(PQgetvalue(res, i, 9));
		v[i].created_at = (time_t)store_col_i64(res, i, 10);
	}
	PQclear(res);
	*out = v;
	return n;
}

/* Free N claimed alerts. */
void
alerts_free(struct lawyer_alert *a, int n)
{
	for (int i = 0; i < n; i++) {
		free(a[i].lawyer_name);
		free(a[i].lawyer_email);
		free(a[i].client_name);
		json_decref(a[i].details);
	}
	free(a);
}

/* Run SQL (N parameters P), which moves one row of the lawyer's mail out of
 * 'sending' and returns its attempts, and audit ACTION with DET (consumed;
 * its "attempt" the row's unless set) for INVOICE and REMINDER, in one
 * transaction.  A row another daemon settled meanwhile is left alone
 * (WHO, if not NULL, names it in the log).  0 or -1. */
static int
settle(struct store *s, const char *sql, int n, const char *const *p, const char *action,
    int64_t invoice, int64_t reminder, json_t *det, const char *who)
{
	PGresult *res = NULL;
	int rc = -1;

	if (store_cmd(s, "BEGIN", 0, NULL) < 0)
		goto out;
	if ((res = store_q(s, sql, n, p, PGRES_TUPLES_OK)) == NULL) {
		store_rollback(s);
		goto out;
	}
	if (PQntuples(res) == 0 && who != NULL)
		log_warnx("%s was settled by someone else", who);
	if (PQntuples(res) == 1) {
		if (json_object_get(det, "attempt") == NULL)
			json_object_set_new(det, "attempt",
			    json_integer(atoi(PQgetvalue(res, 0, 0))));
		if (store_audit(s, action, invoice, reminder, det) < 0) {
			store_rollback(s);
			goto out;
		}
	}
	rc = store_commit(s);
out:
	PQclear(res);
	json_decref(det);
	return rc;
}

/* Move alert A out of 'sending' with SQL ($1 id, $2 text, $3 text) and
 * audit ACTION (WHY: the detail) with it. */
static int
alert_record(struct store *s, const struct lawyer_alert *a, const char *sql, const char *p2,
    const char *p3, const char *action, const char *why)
{
	char ab[24], who[64];
	const char *p[3] = { store_i64(ab, a->id), p2, p3 };
	json_t *det = json_pack("{s:I, s:s, s:I, s:i}", "alert_id", (json_int_t)a->id, "kind",
	    a->kind, "lawyer_id", (json_int_t)a->lawyer_id, "attempt", a->attempts);

	if (p2 != NULL && strcmp(action, "lawyer_alerted") == 0)
		json_object_set_new(det, "message_id", json_string(p2));
	if (why != NULL)
		json_object_set_new(det, "detail", json_string(why));
	snprintf(who, sizeof(who), "lawyer alert %lld", (long long)a->id);
	return settle(s, sql, 3, p, action, a->invoice_id, a->reminder_id, det, who);
}

/* The relay took alert A. */
int
alerts_sent(struct store *s, const struct lawyer_alert *a, const char *message_id)
{
	return alert_record(s, a, "UPDATE dunning.lawyer_alert SET state = 'sent', "
	    "sent_at = dunning.now(), message_id = $2, lease_until = NULL, last_error = $3 "
	    "WHERE id = $1 AND state = 'sending' RETURNING id", message_id, NULL,
	    "lawyer_alerted", NULL);
}

/* A temporary failure: try alert A again at RETRY_AT. */
int
alerts_retry(struct store *s, const struct lawyer_alert *a, time_t retry_at,
    const char *why)
{
	char at[32], clean[512];

	cal_format_instant(retry_at, at);
	scrub(why, clean, sizeof(clean));
	return alert_record(s, a, "UPDATE dunning.lawyer_alert SET state = 'pending', "
	    "next_try_at = $2::timestamptz, lease_until = NULL, last_error = $3 "
	    "WHERE id = $1 AND state = 'sending' RETURNING id", at, clean,
	    "lawyer_alert_retried", clean);
}

/* Alert A cannot be delivered (no address, 5xx, given up). */
int
alerts_failed(struct store *s, const struct lawyer_alert *a, const char *why)
{
	char clean[512];

	scrub(why, clean, sizeof(clean));
	return alert_record(s, a, "UPDATE dunning.lawyer_alert SET state = 'failed', "
	    "lease_until = NULL, last_error = $3, message_id = coalesce($2, message_id) "
	    "WHERE id = $1 AND state = 'sending' RETURNING id", NULL, clean,
	    "lawyer_alert_failed", clean);
}

/* A digest left over from an earlier day is not sent any more: its
 * content was that day's.  Recorded failed, audited. */
static int
digest_expire(struct store *s, const char *day)
{
	const char *p[1] = { day };
	PGresult *res;

	res = store_q(s, "WITH x AS (UPDATE dunning.lawyer_digest SET state = 'failed', "
	    "  lease_until = NULL, last_error = 'not delivered on its day: ' || "
	    "  coalesce(last_error, 'the daemon stopped') "
	    "  WHERE day < $1::date AND (state = 'pending' OR "
	    "    (state = 'sending' AND lease_until < dunning.now())) "
	    "  RETURNING lawyer_id, day, last_error) "
	    "SELECT dunning.audit('daemon', 'digest_failed', NULL, NULL, jsonb_build_object("
	    "  'lawyer_id', lawyer_id, 'day', day, 'detail', last_error)) FROM x", 1, p,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Lawyers whose digest of DAY is to be looked at now. */
int
alerts_digest_lawyers(struct store *s, cal_day day, struct digest_lawyer **out)
{
	char d[11];
	const char *p[1] = { d };
	struct digest_lawyer *v;
	PGresult *res;
	int n;

	*out = NULL;
	cal_format(day, d);
	if (digest_expire(s, d) < 0)
		return -1;
	res = store_q(s, "SELECT l.id, l.full_name, l.email, coalesce(g.attempts, 0) "
	    "FROM dunning.lawyer l LEFT JOIN dunning.lawyer_digest g "
	    "  ON g.lawyer_id = l.id AND g.day = $1::date "
	    "WHERE g.lawyer_id IS NULL "
	    "   OR (g.state = 'pending' AND coalesce(g.next_try_at, '-infinity') <= dunning.now()) "
	    "   OR (g.state = 'sending' AND g.lease_until < dunning.now()) "
	    "ORDER BY l.id", 1, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n;
	}
	for (int i = 0; i < n; i++) {
		v[i].id = store_col_i64(res, i, 0);
		v[i].name = store_col(res, i, 1);
		v[i].email = store_col(res, i, 2);
		v[i].attempts = atoi(PQgetvalue(res, i, 3));
	}
	PQclear(res);
	*out = v;
	return n;
}

/* Free N lawyers. */
void
alerts_digest_lawyers_free(struct digest_lawyer *l, int n)
{
	for (int i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].email);
	}
	free(l);
}

/* Append to the N items *OUT the partial legal-aid agreements of lawyer
 * P[0] awaiting filing (rule 13).  The new count, or -1 (*OUT freed). */
static int
legal_aid_items(struct store *s, const char *const *p, struct digest_item **out, int n)
{
	PGresult *res = store_q(s, "SELECT agreement_id, matter_ref, client_name, "
	    "  signed_on::text, last_day::text FROM dunning.legal_aid_pending($1)", 1, p,
	    PGRES_TUPLES_OK);
	struct digest_item *v;
	int k;

	if (res == NULL || (k = PQntuples(res)) == 0 ||
	    (v = realloc(*out, (size_t)(n + k) * sizeof(*v))) == NULL) {
		if (res != NULL && PQntuples(res) > 0)
			snprintf(s->err, sizeof(s->err), "out of memory");
		if (res == NULL || PQntuples(res) > 0) {
			alerts_digest_items_free(*out, n);
			*out = NULL;
			n = -1;
		}
		PQclear(res);
		return n;
	}
	memset(v + n, 0, (size_t)k * sizeof(*v));
	for (int i = 0; i < k; i++) {
		struct digest_item *it = &v[n + i];

		it->section = DIGEST_LEGAL_AID;
		it->agreement_id = store_col_i64(res, i, 0);
		it->matter_ref = store_col(res, i, 1);
		it->client_name = store_col(res, i, 2);
		it->signed_on = cal_parse(PQgetvalue(res, i, 3));
		it->last_day = cal_parse(PQgetvalue(res, i, 4));
		snprintf(it->currency, sizeof(it->currency), "EUR");
	}
	PQclear(res);
	*out = v;
	return n + k;
}

/* The items of LAWYER's digest. */
int
alerts_digest_items(struct store *s, int64_t lawyer, int dispute_days, struct digest_item **out)
{
	char lb[24], db[24];
	const char *p[2] = { store_i64(lb, lawyer), store_i64(db, dispute_days) };
	struct digest_item *v;
	PGresult *res;
	int n;

	*out = NULL;
	res = store_q(s, "SELECT section, reminder_id, invoice_number, matter_ref, client_name, "
	    "  balance::text, currency, stage, why, floor(extract(epoch FROM since))::bigint, "
	    "  detail, attempts "
	    "FROM dunning.digest_items($1, $2) "
	    "UNION ALL SELECT section, reminder_id, invoice_number, matter_ref, client_name, "
	    "  balance::text, currency, stage, why, floor(extract(epoch FROM since))::bigint, "
	    "  detail, attempts "
	    "FROM dunning.prescription_digest_items($1) "
	    /* rule 11: the plans waiting for approval (section 9) */
	    "UNION ALL SELECT section, reminder_id, invoice_number, matter_ref, client_name, "
	    "  balance::text, currency, stage, why, floor(extract(epoch FROM since))::bigint, "
	    "  detail, attempts "
	    "FROM dunning.plan_digest_items($1)", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	if ((v = store_rows(s, res, sizeof(*v), &n)) == NULL) {
		PQclear(res);
		return n == 0 ? legal_aid_items(s, p, out, 0) : n;
	}
	for (int i = 0; i < n; i++) {
		int sec = atoi(PQgetvalue(res, i, 0));

		v[i].section = sec > 0 && sec < DIGEST_NSECTIONS ? (enum digest_section)sec :
		    DIGEST_HELD;
		v[i].reminder_id = store_col_i64(res, i, 1);
		v[i].number = store_col(res, i, 2);
		v[i].matter_ref = store_col(res, i, 3);
		v[i].client_name = store_col(res, i, 4);
		money_parse(PQgetvalue(res, i, 5), &v[i].balance_cents);
		snprintf(v[i].currency, sizeof(v[i].currency), "%s", PQgetvalue(res, i, 6));
		v[i].stage = store_col(res, i, 7);
		v[i].why = reason_of(PQgetvalue(res, i, 8));
		if (!PQgetisnull(res, i, 10)) {
			char clean[512];

			scrub(PQgetvalue(res, i, 10), clean, sizeof(clean));
			v[i].detail = strdup(clean);
		}
		v[i].since = (time_t)store_col_i64(res, i, 9);
		v[i].attempts = atoi(PQgetvalue(res, i, 11));
	}
	PQclear(res);
	*out = v;
	return legal_aid_items(s, p, out, n);
}

/* Free N items. */
void
alerts_digest_items_free(struct digest_item *it, int n)
{
	for (int i = 0; i < n; i++) {
		free(it[i].number);
		free(it[i].matter_ref);
		free(it[i].client_name);
		free(it[i].stage);
		free(it[i].detail);
	}
	free(it);
}

/* Take the digest of (L, DAY). */
int
alerts_digest_take(struct store *s, const struct digest_lawyer *l, cal_day day, int nitems)
{
	char lb[24], d[11], nb[24];
	const char *p[3] = { store_i64(lb, l->id), d, store_i64(nb, nitems) };
	PGresult *res;
	int n;

	cal_format(day, d);
	if (l->attempts == 0)
		res = store_q(s, "INSERT INTO dunning.lawyer_digest (lawyer_id, day, state, items, "
		    "  attempts, lease_until) "
		    "SELECT $1, $2::date, CASE WHEN $3::int = 0 THEN 'empty' ELSE 'sending' END, $3, "
		    "  CASE WHEN $3::int = 0 THEN 0 ELSE 1 END, "
		    "  CASE WHEN $3::int = 0 THEN NULL "
		    "  ELSE dunning.now() + interval '" OUTBOX_LEASE "' END "
		    "ON CONFLICT ON CONSTRAINT lawyer_digest_once DO NOTHING RETURNING state", 3, p,
		    PGRES_TUPLES_OK);
	else
		res = store_q(s, "UPDATE dunning.lawyer_digest SET "
		    "  state = CASE WHEN $3::int = 0 THEN 'empty' ELSE 'sending' END, items = $3, "
		    "  attempts = attempts + 1, lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
		    "WHERE (lawyer_id, day) = ($1, $2::date) AND ((state = 'pending' AND "
		    "  coalesce(next_try_at, '-infinity') <= dunning.now()) OR "
		    "  (state = 'sending' AND lease_until < dunning.now())) RETURNING state", 3, p,
		    PGRES_TUPLES_OK);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	PQclear(res);
	return n == 1 && nitems > 0 ? 1 : 0;
}

/* Move (LAWYER, DAY) out of 'sending' with SQL ($1 lawyer, $2 day, $3, $4)
 * and audit ACTION with DET (consumed) in the same transaction. */
static int
digest_record(struct store *s, int64_t lawyer, cal_day day, const char *sql, const char *p3,
    const char *p4, const char *action, json_t *det)
{
	char lb[24], d[11];
	const char *p[4] = { store_i64(lb, lawyer), d, p3, p4 };

	cal_format(day, d);
	json_object_set_new(det, "lawyer_id", json_integer((json_int_t)lawyer));
	json_object_set_new(det, "day", json_string(d));
	return settle(s, sql, 4, p, action, 0, 0, det, NULL);
}

/* The relay took the digest. */
int
alerts_digest_sent(struct store *s, int64_t lawyer, cal_day day, int nitems,
    const char *message_id)
{
	char nb[24];

	return digest_record(s, lawyer, day, "UPDATE dunning.lawyer_digest SET state = 'sent', "
	    "sent_at = dunning.now(), message_id = $3, items = $4, lease_until = NULL "
	    "WHERE (lawyer_id, day) = ($1, $2::date) AND state = 'sending' RETURNING attempts",
	    message_id, store_i64(nb, nitems), "digest_sent",
	    json_pack("{s:s, s:i}", "message_id", message_id, "items", nitems));
}

/* A temporary failure: again at RETRY_AT (the same day only). */
int
alerts_digest_retry(struct store *s, int64_t lawyer, cal_day day, time_t retry_at,
    const char *why)
{
	char at[32], clean[512];

	cal_format_instant(retry_at, at);
	scrub(why, clean, sizeof(clean));
	return digest_record(s, lawyer, day, "UPDATE dunning.lawyer_digest SET state = 'pending', "
	    "next_try_at = $3::timestamptz, last_error = $4, lease_until = NULL "
	    "WHERE (lawyer_id, day) = ($1, $2::date) AND state = 'sending' RETURNING attempts",
	    at, clean, "digest_retried", json_pack("{s:s, s:s}", "detail", clean, "retry_at", at));
}

/* The digest cannot be delivered. */
int
alerts_digest_failed(struct store *s, int64_t lawyer, cal_day day, const char *why)
{
	char clean[512];

	scrub(why, clean, sizeof(clean));
	return digest_record(s, lawyer, day, "UPDATE dunning.lawyer_digest SET state = 'failed', "
	    "last_error = $4, lease_until = NULL, message_id = coalesce($3, message_id) "
	    "WHERE (lawyer_id, day) = ($1, $2::date) AND state = 'sending' RETURNING attempts", NULL, clean, "digest_failed", json_pack("{s:s}", "detail", clean));
}
