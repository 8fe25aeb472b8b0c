/*
 * rows — the functions that turn a result row's texts into the pipeline's
 * structs (pipeline/plan.c, pipeline/load.c), declared apart so that
 * tests/fuzz/fuzz_rows.c drives them with rows built in memory
 * (PQmakeEmptyPGresult, PQsetvalue), without a database.  Each refuses a
 * row holding a number, a date, a boolean or a word it cannot read
 * exactly, rather than reading something else.
 */
#ifndef DUNNING_ROWS_H
#define DUNNING_ROWS_H

#include <libpq-fe.h>

#include "config.h"
#include "group.h"
#include "policy.h"

/* F from row I of a facts result (plan.c's FACTS_SQL): 0, or -1. */
int plan_parse_facts(const struct config *cfg, const PGresult *res, int i,
    struct policy_facts *f);

/* G's client and lawyer from row R of load.c's CLIENT_SQL: 0, or -1. */
int load_fill_client(const PGresult *res, int r, struct send_group *g);

/* Item IT of G from row R of an items result (load.c's ITEM_COLUMNS):
 * 0, or -1. */
int load_fill_item(const PGresult *res, int r, struct send_group *g, struct send_item *it);

/* The payments of IT among the rows of RES (invoice_id, epoch, amount):
 * 0, or -1. */
int load_item_payments(const PGresult *res, struct send_item *it);

#endif
