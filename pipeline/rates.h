/*
 * rates — the half-years the legal-rate table lacks, as the open invoices
 * need them (SPEC §2.1): an invoice issued in a half-year missing from the
 * table gets no interest figure.  Read by `dunningctl rates` and by the
 * lawyers' digest (notify.c), from one statement.
 */
#ifndef DUNNING_RATES_H
#define DUNNING_RATES_H

#include <stdint.h>

#include "config.h"
#include "store.h"

/* A half-year missing from the table, with the open invoices issued in
 * it of one lawyer's clients. */
struct rates_gap {
	int year;
	int half;		/* 1 or 2 */
	int64_t lawyer_id;	/* the client's lawyer; 0: none */
	int64_t invoices;	/* open, a balance due, interest claimed */
};

/* The half-years of the issue dates of the open invoices with a balance
 * due that claim interest (a signed agreement with the clause, no legal
 * aid) and that CFG's table lacks, counted per lawyer of the client, sorted by
 * half-year then lawyer; the invoices the session may read (row-level
 * security).  Returns the count in *OUT (free()), or -1. */
int rates_gaps(struct store *s, const struct config *cfg, struct rates_gap **out);

#endif
