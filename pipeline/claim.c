/*
 * claim — the sender's claim (SPEC §3.5), a session's messages at once.
 *
 * One transaction, a fixed number of statements whatever the number of
 * messages (bench/results.md: the round trips, one claim per message,
 * bounded the sending rate):
 *   1. the due heads, in their order (scheduled_for, id);
 *   2. the group of each head, up to MAX groups (rule 8: the client's other
 *      due reminders of the same stage and currency; a retry travels only
 *      with the reminders that share its Message-ID);
 *   3. their invoices, then the reminders, locked FOR UPDATE SKIP LOCKED:
 *      a lawyer's function or a payment holding an invoice makes the claim
 *      pass it by, and no cycle of waits can form;
 *   4. each invoice's send lock, tried: a payment or a dispute being
 *      recorded wins;
 *   5. rules 3–7 again on facts read under the locks: a reminder leaves
 *      only if the policy still says "send this stage now", otherwise its
 *      decision is written (cancelled, held, rescheduled);
 *   6. the survivors claimed: still planned, with the claim's number and a
 *      lease (another daemon's claim passes them by);
 *   7. what the messages say (load_groups);
 * then COMMIT, which releases the send locks (row locks, sql/020).  The
 * per-message protocol follows (outcome.c): right before a message is
 * handed, one statement re-checks its invoices and marks it 'sending' under
 * their send locks, which it then holds until its outcome is recorded; a
 * payment or a dispute cancels or defers a claimed message directly, and
 * waits only for the one being handed.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"
#include "store_int.h"
#include "claim.h"
#include "load.h"
#include "outcome.h"
#include "plan.h"

/* The due heads read at once. */
#define HEADS "64"
/* A reminder no claim holds: none took it, or its lease ran out. */
#define UNCLAIMED "(r.lease_until IS NULL OR r.lease_until < dunning.now())"

/* One message being claimed. */
struct key {
	int64_t client;
	int stage;
	char stage_name[32], currency[4];
	char *mid;			/* the head's Message-ID (a retry), or NULL */
	struct store_ids rems, invs;	/* its reminders and their invoices */
	struct store_ids keep;		/* the invoices that passed the re-check */
};

struct claim {
	struct store *s;
	const struct config *cfg;
	time_t now;
	const char *domain;
	struct key *k;
	size_t nk, max;
	struct store_ids *skip;		/* looked at in this call */
	struct store_ids locked;	/* send locks held */
	struct plan_batch *writes;	/* the re-check's decisions to write */
	int rc;
};

static void
keys_free(struct claim *c)
{
	for (size_t i = 0; i < c->nk; i++) {
		free(c->k[i].mid);
		free(c->k[i].rems.v);
		free(c->k[i].invs.v);
		free(c->k[i].keep.v);
	}
	c->nk = 0;
}

/* The key of invoice ID, or NULL. */
static struct key *
key_of_invoice(struct claim *c, int64_t id)
{
	for (size_t i = 0; i < c->nk; i++)
		if (store_ids_has(&c->k[i].invs, id))
			return &c->k[i];
	return NULL;
}

/* Step 1: the heads, one key per distinct message, at most MAX. */
static int
read_heads(struct claim *c)
{
	char *skip = store_ids_array(c->skip);
	const char *p[1] = { skip };
	PGresult *res;

	if (skip == NULL)
		return -1;
	res = store_qp(c->s, "SELECT r.id, i.client_id, r.stage, i.currency, r.message_id "
	    "FROM dunning.reminder r JOIN dunning.invoice i ON i.id = r.invoice_id "
	    "WHERE r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND " UNCLAIMED " AND r.id <> ALL ($1::bigint[]) "
	    "ORDER BY r.scheduled_for, r.id LIMIT " HEADS, 1, p, PGRES_TUPLES_OK);
	free(skip);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res) && c->nk < c->max; r++) {
		int64_t head = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		int64_t client = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		const char *stage = PQgetvalue(res, r, 2), *cur = PQgetvalue(res, r, 3);
		const char *mid = PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4);
		struct key *k;
		bool seen = false;

		for (size_t i = 0; i < c->nk && !seen; i++) {
			k = &c->k[i];
			seen = k->client == client && strcmp(k->stage_name, stage) == 0 &&
			    strcmp(k->currency, cur) == 0 &&
			    (k->mid == NULL ? mid == NULL : mid != NULL && strcmp(k->mid, mid) == 0);
		}
		if (seen)
			continue;	/* it travels with its group */
		if (config_stage_index(c->cfg, stage) < 0) {
			log_warnx("reminder %lld: stage \"%s\" is not configured; left alone",
			    (long long)head, stage);
			if (store_ids_add(c->skip, head) < 0)
				goto fail;
			continue;
		}
		k = &c->k[c->nk++];
		memset(k, 0, sizeof(*k));
		k->client = client;
		k->stage = config_stage_index(c->cfg, stage);
		snprintf(k->stage_name, sizeof(k->stage_name), "%s", stage);
		snprintf(k->currency, sizeof(k->currency), "%s", cur);
		if (mid != NULL && (k->mid = strdup(mid)) == NULL)
			goto fail;
	}
	PQclear(res);
	return 0;
fail:
	PQclear(res);
	return -1;
}

/* Step 2: every key's due reminders.  An invoice travels in one message
 * of the claim only; its other due reminder waits for the next claim. */
static int
read_groups(struct claim *c)
{
	struct store_ids clients = { 0 };
	const char **stages = calloc(c->nk, sizeof(*stages)), **curs = calloc(c->nk, sizeof(*curs));
	const char **mids = calloc(c->nk, sizeof(*mids));
	char *a[4] = { NULL }, *skip = store_ids_array(c->skip);
	const char *p[5];
	PGresult *res = NULL;
	int rc = -1;

	if (stages == NULL || curs == NULL || mids == NULL || skip == NULL)
		goto out;
	for (size_t i = 0; i < c->nk; i++) {
		if (store_ids_add(&clients, c->k[i].client) < 0)
			goto out;
		stages[i] = c->k[i].stage_name;
		curs[i] = c->k[i].currency;
		mids[i] = c->k[i].mid;
	}
	if ((a[0] = store_ids_array(&clients)) == NULL ||
	    (a[1] = store_text_array(stages, c->nk)) == NULL ||
	    (a[2] = store_text_array(curs, c->nk)) == NULL ||
	    (a[3] = store_text_array(mids, c->nk)) == NULL)
		goto out;
	for (int i = 0; i < 4; i++)
		p[i] = a[i];
	p[4] = skip;
	res = store_qp(c->s, "SELECT k.n, r.id, r.invoice_id "
	    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) "
	    "  WITH ORDINALITY AS k(client, stage, currency, mid, n) "
	    "JOIN dunning.invoice i ON i.client_id = k.client AND i.currency = k.currency "
	    "JOIN dunning.reminder r ON r.invoice_id = i.id AND r.stage = k.stage "
	    "WHERE r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND " UNCLAIMED " AND r.message_id IS NOT DISTINCT FROM k.mid "
	    "  AND r.id <> ALL ($5::bigint[]) "
	    "ORDER BY k.n, r.invoice_id", 5, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto out;
	for (int r = 0; r < PQntuples(res); r++) {
		struct key *k = &c->k[atoi(PQgetvalue(res, r, 0)) - 1];
		int64_t rem = strtoll(PQgetvalue(res, r, 1), NULL, 10);
		int64_t inv = strtoll(PQgetvalue(res, r, 2), NULL, 10);

		if (key_of_invoice(c, inv) != NULL)
			continue;
		if (store_ids_add(&k->rems, rem) < 0 || store_ids_add(&k->invs, inv) < 0 ||
		    store_ids_add(c->skip, rem) < 0)
			goto out;
	}
	rc = 0;
out:
	PQclear(res);
	for (int i = 0; i < 4; i++)
		free(a[i]);
	free(skip);
	free(clients.v);
	free(stages);
	free(curs);
	free(mids);
	return rc;
}

/* Steps 3 and 4: the invoices and reminders locked, then the send locks.
 * What could not be locked leaves its group (it is looked at again by a
 * later claim). */
static int
lock_groups(struct claim *c)
{
	struct store_ids invs = { 0 }, rems = { 0 }, got = { 0 };
	char *ia = NULL, *ra = NULL;
	const char *p[2];
	PGresult *res = NULL;
	int rc = -1;

	for (size_t i = 0; i < c->nk; i++)
		for (size_t j = 0; j < c->k[i].rems.n; j++)
			if (store_ids_add(&invs, c->k[i].invs.v[j]) < 0 ||
			    store_ids_add(&rems, c->k[i].rems.v[j]) < 0)
				goto out;
	if (invs.n == 0) {
		rc = 0;
		goto out;
	}
	if ((ia = store_ids_array(&invs)) == NULL || (ra = store_ids_array(&rems)) == NULL)
		goto out;
	p[0] = ia;
	p[1] = ra;
	res = store_qp(c->s, "SELECT r.invoice_id FROM dunning.reminder r "
	    "WHERE r.id = ANY($2::bigint[]) AND r.invoice_id = ANY($1::bigint[]) "
	    "  AND r.invoice_id IN (SELECT id FROM dunning.invoice WHERE id = ANY($1::bigint[]) "
	    "    ORDER BY id FOR UPDATE SKIP LOCKED) "
	    "  AND r.state IN ('planned', 'approved') AND r.scheduled_for <= dunning.now() "
	    "  AND " UNCLAIMED " "
	    "ORDER BY r.invoice_id FOR UPDATE SKIP LOCKED", 2, p, PGRES_TUPLES_OK);
	if (res == NULL)
		goto out;
	free(invs.v);
	invs = (struct store_ids){ 0 };
	for (int r = 0; r < PQntuples(res); r++)
		if (store_ids_add(&invs, strtoll(PQgetvalue(res, r, 0), NULL, 10)) < 0)
			goto out;
	if (outcome_send_locks(c->s, invs.v, invs.n, &got) < 0)
		goto out;
	for (size_t i = 0; i < got.n; i++)
		if (store_ids_add(&c->locked, got.v[i]) < 0)
			goto out;
	for (size_t i = 0; i < invs.n; i++)
		if (!store_ids_has(&got, invs.v[i]))
			log_info("invoice %lld: a payment or dispute is being recorded; later",
			    (long long)invs.v[i]);
	rc = 0;
out:
	PQclear(res);
	free(ia);
	free(ra);
	free(invs.v);
	free(rems.v);
	free(got.v);
	return rc;
}

/* Step 5, for one invoice read under its locks. */
static void
recheck_one(const struct policy_facts *f, const char *number, void *arg)
{
	struct claim *c = arg;
	struct key *k = key_of_invoice(c, f->invoice_id);
	struct policy_decision d;

	if (k == NULL)
		return;
	policy_decide(f, c->cfg, c->now, &d);
	if (d.action == POLICY_SEND && d.stage == k->stage) {
		if (store_ids_add(&k->keep, f->invoice_id) < 0)
			c->rc = -1;
		return;
	}
	log_info("invoice %s: not sent at claim: %s", number, reason_text(d.reason, true));
	if (plan_batch_add(c->writes, f, &d) < 0)
		c->rc = -1;
}

static int
recheck(struct claim *c)
{
	struct plan_stats st = { 0 };
	char *a;
	const char *p[1];
	int rc = -1;

	if (c->locked.n == 0)
		return 0;
	if ((a = store_ids_array(&c->locked)) == NULL)
		return -1;
	p[0] = a;
	/* The decisions of the invoices that may not leave are written
	 * together, as a planning chunk writes them. */
	if ((c->writes = plan_batch_new(c->cfg, c->now, c->locked.n)) == NULL ||
	    plan_load_facts(c->s, c->cfg, "i.id = ANY($1::bigint[])", 1, p, recheck_one, c) < 0 ||
	    c->rc < 0 || plan_batch_write(c->s, c->writes, &st) < 0)
		goto out;
	/* The invoices that leave (the send locks of the others are held to
	 * the claim's COMMIT, a moment). */
	c->locked.n = 0;
	for (size_t i = 0; i < c->nk; i++)
		for (size_t j = 0; j < c->k[i].keep.n; j++)
			if (store_ids_add(&c->locked, c->k[i].keep.v[j]) < 0)
				goto out;
	rc = 0;
out:
	plan_batch_free(c->writes);
	c->writes = NULL;
	free(a);
	return rc;
}

/* Steps 6 and 7: the survivors claimed (the claim's number and lease,
 * still planned: outcome_mark_sending marks each message 'sending' right
 * before it is handed), and their messages' contents into G[0..*N), each
 * with its Message-ID and the claim. */
static int
mark(struct claim *c, struct send_group *g, size_t *n)
{
	struct store_ids rems = { 0 };
	size_t total = 0, *group_of = NULL, ng = 0;
	char **mids = NULL, *ra = NULL;
	const char *p[1];
	PGresult *res = NULL;
	int rc = -1;

	for (size_t i = 0; i < c->nk; i++)
		total += c->k[i].keep.n;
	if (total == 0)
		return 0;
	if ((mids = calloc(total, sizeof(*mids))) == NULL ||
	    (group_of = calloc(total, sizeof(*group_of))) == NULL)
		goto out;
	for (size_t i = 0; i < c->nk; i++) {
		struct key *k = &c->k[i];
		struct store_ids leave = { 0 };
		char mid[160];

		if (k->keep.n == 0)
			continue;
		/* In invoice order, as the Message-ID is derived from them. */
		for (size_t j = 0; j < k->invs.n; j++)
			if (store_ids_has(&k->keep, k->invs.v[j]) &&
			    store_ids_add(&leave, k->rems.v[j]) < 0) {
				free(leave.v);
				goto out;
			}
		group_message_id(leave.v, leave.n, k->stage_name, c->domain, mid, sizeof(mid));
		for (size_t j = 0; j < leave.n; j++) {
			if (store_ids_add(&rems, leave.v[j]) < 0 ||
			    (mids[rems.n - 1] = strdup(mid)) == NULL) {
				free(leave.v);
				goto out;
			}
			group_of[rems.n - 1] = ng;
		}
		free(leave.v);
		memset(&g[ng], 0, sizeof(g[ng]));
		g[ng].stage = k->stage;
		g[ng].client_id = k->client;
		snprintf(g[ng].currency, sizeof(g[ng].currency), "%s", k->currency);
		ng++;
	}
	if ((ra = store_ids_array(&rems)) == NULL)
		goto out;
	p[0] = ra;
	res = store_qp(c->s, "WITH k AS (SELECT nextval('dunning.reminder_claim_seq') AS claim) "
	    "UPDATE dunning.reminder r SET claim = k.claim, "
	    "  lease_until = dunning.now() + interval '" OUTBOX_LEASE "' "
	    "FROM k WHERE r.id = ANY($1::bigint[]) RETURNING k.claim", 1, p, PGRES_TUPLES_OK);
	if (res == NULL || (size_t)PQntuples(res) != rems.n)
		goto out;
	if (load_groups(c->s, rems.v, group_of, rems.n, g, ng) < 0) {
		for (size_t i = 0; i < ng; i++)
			group_free(&g[i]);
		goto out;
	}
	for (size_t i = 0; i < ng; i++) {
		g[i].claim = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		/* A retry carries its Message-ID already; a first attempt gets
		 * the one derived from its reminders. */
		if (g[i].message_id == NULL) {
			for (size_t j = 0; j < rems.n; j++)
				if (group_of[j] == i) {
					g[i].message_id = strdup(mids[j]);
					break;
				}
			if (g[i].message_id == NULL) {
				for (size_t j = 0; j < ng; j++)
					group_free(&g[j]);
				goto out;
			}
		}
	}
	*n = ng;
	rc = 0;
out:
	PQclear(res);
	for (size_t i = 0; mids != NULL && i < total; i++)
		free(mids[i]);
	free(mids);
	free(group_of);
	free(ra);
	free(rems.v);
	return rc;
}

/* One claim over the next heads: 0 done (*N may be 0: nothing of these
 * heads could leave now), 1 nothing due, -1 error (rolled back, send
 * locks released). */
static int
claim_once(struct claim *c, struct send_group *g, size_t *n)
{
	*n = 0;
	c->rc = 0;
	c->locked.n = 0;
	if (store_cmd(c->s, "BEGIN", 0, NULL) < 0)
		return -1;
	if (read_heads(c) < 0)
		goto fail;
	if (c->nk == 0) {
		/* No head, or only heads of stages not configured. */
		bool none = c->skip->n == 0;

		if (store_cmd(c->s, "COMMIT", 0, NULL) < 0)
			return -1;
		return none ? 1 : 2;
	}
	/* The send locks go at COMMIT: each message takes its invoices' again
	 * as it is marked 'sending' (outcome_mark_sending): until then a
	 * payment or a dispute waits for nothing. */
	if (read_groups(c) < 0 || lock_groups(c) < 0 || recheck(c) < 0 || mark(c, g, n) < 0 ||
	    store_cmd(c->s, "COMMIT", 0, NULL) < 0)
		goto fail;
	keys_free(c);
	return 0;
fail:
	store_rollback(c->s);
	keys_free(c);
	return -1;
}

/* Claim up to MAX messages in one transaction into G[0..*N).  1 with *N
 * ≥ 1, 0 when nothing more can leave now, -1 on error. */
int
claim_batch(struct store *s, const struct config *cfg, time_t now, const char *domain,
    struct send_group *g, size_t max, size_t *n)
{
	struct store_ids skip = { 0 };
	struct key *k = calloc(max > 0 ? max : 1, sizeof(*k));
	struct claim c = { .s = s, .cfg = cfg, .now = now, .domain = domain, .k = k,
	    .max = max > 0 ? max : 1, .skip = &skip };
	int rc = -1;

	*n = 0;
	if (k == NULL)
		return -1;
	for (;;) {
		size_t before = skip.n;

		rc = claim_once(&c, g, n);
		if (rc < 0 || rc == 1 || *n > 0)
			break;
		/* Nothing of these heads could leave: the next ones, unless
		 * nothing new was looked at. */
		if (skip.n == before) {
			rc = 1;
			break;
		}
	}
	free(k);
	free(skip.v);
	free(c.locked.v);
	return rc < 0 ? -1 : *n > 0 ? 1 : 0;
}
