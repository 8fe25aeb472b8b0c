/*
 * store_int — how a job writes its SQL: parameterised statements (prepared
 * once per session for literals), transactions, columns, arrays.  For the
 * files that own SQL (db/, pipeline/, the _sql.c files of ctl/), not for
 * the rest.
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
	PGconn *conn;		/* NULL once store_release closed it */
	char *conninfo;		/* to open it again (store_ready) */
	char err[512];
	unsigned int session;	/* counts reconnections: session locks die with one */
	bool read_only;		/* the server stopped taking writes (a primary being
				 * demoted, a standby): store_ready looks again */
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

int store_ids_add(struct store_ids *l, int64_t id);
bool store_ids_has(const struct store_ids *l, int64_t id);
char *store_ids_array(const struct store_ids *l);
/* A text[] literal of the N strings V (NULL elements are SQL NULL). */
char *store_text_array(const char *const *v, size_t n);
/* A column's text read back exactly as PostgreSQL writes it, 0; or -1
 * for anything else (blanks, a sign "+", trailing bytes, out of range):
 * a bigint; an epoch in seconds within timestamptz's range (4713 BC to
 * 294276 AD); a boolean, "t" or "f". */
int store_parse_i64(const char *s, int64_t *v);
int store_parse_epoch(const char *s, time_t *t);
int store_parse_bool(const char *s, bool *b);
/* The balance of the invoice aliased i, in SQL. */
#define STORE_BALANCE \
	"(i.amount - coalesce((SELECT sum(p.amount) FROM dunning.payment p " \
	"  WHERE p.invoice_id = i.id), 0))"

#endif

