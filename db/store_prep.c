/*
 * store_prep — the sender's statements, prepared once per session.
 *
 * Parsing and planning each statement again was most of the server's work
 * per message (bench/results.md, the profile of the sending benchmark).
 * store_qp is store_q for a statement given as a string literal: prepared
 * on its first use in a session, then executed by name.  The literal's
 * address is the key; a reconnection (a new session) forgets them all.  A
 * statement whose result type a schema change altered ("cached plan must
 * not change result type") is prepared again under a new name.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

PGresult *
store_qp(struct store *s, const char *sql, int n, const char *const *params,
    ExecStatusType want)
{
	struct store_prep *e = NULL;
	const char *state;
	char name[40];
	PGresult *res;

	if (s->prep_session != s->session) {
		s->nprep = 0;
		s->prep_session = s->session;
	}
	for (size_t i = 0; i < s->nprep && e == NULL; i++)
		if (s->prep[i].sql == sql)
			e = &s->prep[i];
	if (e == NULL) {
		if (s->nprep == STORE_PREP)
			return store_q(s, sql, n, params, want);
		e = &s->prep[s->nprep++];
		*e = (struct store_prep){ sql, 0, false };
	}
	snprintf(name, sizeof(name), "dunning_%zu_%u", (size_t)(e - s->prep), e->gen);
	if (!e->ready) {
		res = PQprepare(s->conn, name, sql, n, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			store_fail(s, res, sql);
			PQclear(res);
			return NULL;
		}
		PQclear(res);
		e->ready = true;
	}
	res = PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
	if (PQresultStatus(res) != want) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "0A000") == 0) {
			e->ready = false;
			e->gen++;
		}
		store_fail(s, res, sql);
		PQclear(res);
		return NULL;
	}
	return res;
}
