/*
 * store_int — what the store's files share and nobody else sees.
 */
#ifndef DUNNING_STORE_INT_H
#define DUNNING_STORE_INT_H

#include <libpq-fe.h>

#include "store.h"

/* A statement prepared in this session (db/store_prep.c). */
struct store_prep {
	const char *sql;	/* the literal: its address is the key */
	unsigned int gen;	/* its name's generation: prepared again after a change */
	bool ready;
};
#define STORE_PREP 32

struct store {
	PGconn *conn;
	char err[512];
	unsigned int session;	/* counts reconnections: session locks die with one */
	struct store_prep prep[STORE_PREP];
	size_t nprep;
	unsigned int prep_session;	/* the session PREP belongs to */
};

void store_fail(struct store *s, const PGresult *res, const char *what);
PGresult *store_q(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
int store_cmd(struct store *s, const char *sql, int n, const char *const *params);
/* store_q for SQL given as a string literal, prepared once per session. */
PGresult *store_qp(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want);
void store_rollback(struct store *s);
/* Column C of ROW: a malloc'ed string (NULL for SQL NULL), or a bigint
 * (0 for SQL NULL). */
char *store_col(const PGresult *res, int row, int c);
int64_t store_col_i64(const PGresult *res, int row, int c);
/* An array of one SIZE-byte element per row of RES (see store.c). */
void *store_rows(struct store *s, const PGresult *res, size_t size, int *n);
/* COMMIT, or ROLLBACK when it fails: 0 or -1. */
int store_commit(struct store *s);
const char *store_i64(char *buf, int64_t v);
const char *store_id_or_null(char *buf, int64_t v);

/* A growable list of ids (store_array.c), printed as a PostgreSQL array. */
struct store_ids {
	int64_t *v;
	size_t n, cap;
};
int store_ids_add(struct store_ids *l, int64_t id);
bool store_ids_has(const struct store_ids *l, int64_t id);
char *store_ids_array(const struct store_ids *l);
/* A text[] literal of the N strings V (NULL elements are SQL NULL). */
char *store_text_array(const char *const *v, size_t n);
/* Take (try) or release the send locks of the N invoices IDS, one
 * statement: how many were taken or released; TAKEN (may be NULL) gets
 * the ids whose lock was taken. */
int store_send_locks(struct store *s, const int64_t *ids, size_t n, bool take,
    struct store_ids *taken);

/* The facts query, for candidates or for given invoices (pipeline/plan.c). */
int store_load_facts(struct store *s, const struct config *cfg, const char *where,
    int n, const char *const *params, store_facts_fn fn, void *arg);
/* Load the client, lawyer and invoices of the reminders REM_ARRAY ("{1,2}")
 * of CLIENT into G (pipeline/group.c; the claim and the preview). */
int store_load_group(struct store *s, const char *rem_array, int64_t client,
    struct send_group *g);
/* Load N groups at once: G[k] has client_id set; the NREMS reminders
 * REMS are the claimed ones, REMS[j] belonging to G[GROUP_OF[j]]. */
int store_load_groups(struct store *s, const int64_t *rems, const size_t *group_of,
    size_t nrems, struct send_group *g, size_t n);
/* The same for invoices INV_ARRAY that no reminder names yet (preview). */
int store_load_group_invoices(struct store *s, const char *inv_array, int64_t client,
    struct send_group *g);
/* Free the strings and items of G (a claim's or a preview's group). */
void store_group_free(struct send_group *g);
/* The Message-ID of the message carrying the reminders IDS (sorted). */
void store_message_id(const int64_t *ids, size_t n, const char *stage, const char *domain,
    char *buf, size_t len);
/* dunningctl's statements (ctl/lawyer_sql.c): like store_q and store_cmd, but
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
