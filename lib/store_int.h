/*
 * store_int — what the store's files share and nobody else sees.
 */
#ifndef DUNNING_STORE_INT_H
#define DUNNING_STORE_INT_H

#include <libpq-fe.h>

#include "store.h"

struct store {
	PGconn *conn;
	char err[512];
	unsigned int session;	/* counts reconnections: session locks die with one */
};

void store_fail(struct store *s, const PGresult *res, const char *what);
PGresult *store_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
int store_cmd(struct store *s, const char *sql, int n, const char *const *params);
void store_rollback(struct store *s);
const char *store_i64(char *buf, int64_t v);
const char *store_id_or_null(char *buf, int64_t v);

/* The facts query, for candidates or for given invoices (store_plan.c). */
int store_load_facts(struct store *s, const struct config *cfg, const char *where,
    int n, const char *const *params, store_facts_fn fn, void *arg);
/* Load the client, lawyer and invoices of the reminders REM_ARRAY ("{1,2}")
 * of CLIENT into G (store_group.c; the sender's claim and preview). */
int store_load_group(struct store *s, const char *rem_array, int64_t client,
    struct send_group *g);
/* The same for invoices INV_ARRAY that no reminder names yet (preview). */
int store_load_group_invoices(struct store *s, const char *inv_array, int64_t client,
    struct send_group *g);
/* Free the strings and items of G (a claim's or a preview's group). */
void store_group_free(struct send_group *g);
/* The Message-ID of the message carrying the reminders IDS (sorted). */
void store_message_id(const int64_t *ids, size_t n, const char *stage, const char *domain,
    char *buf, size_t len);
/* dunningctl's statements (store_ctl.c): like store_q and store_cmd, but
 * the error remembered is the server's primary message alone, shown as is
 * to the person who typed the command. */
void store_ctl_fail(struct store *s, const PGresult *res);
PGresult *store_ctl_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
int store_ctl_cmd(struct store *s, const char *sql);
/* The balance of the invoice aliased i, in SQL. */
#define STORE_BALANCE \
	"(i.amount - coalesce((SELECT sum(p.amount) FROM dunning.payment p " \
	"  WHERE p.invoice_id = i.id), 0))"
/* Write decision D for facts F (inside the caller's transaction). */
int store_write_decision(struct store *s, const struct config *cfg,
    const struct policy_facts *f, const struct policy_decision *d, struct plan_stats *st);

#endif
