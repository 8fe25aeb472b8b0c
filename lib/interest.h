/*
 * interest — late interest as SPEC §2.1 has it: simple interest on the
 * remaining balance, from start_after_days after the issue date, at the
 * multiplier times the legal rate ("all other cases") of the half-year of
 * the issue date, actual/365.  Integer arithmetic only: cents, basis
 * points, thousandths of the multiplier.
 */
#ifndef DUNNING_INTEREST_H
#define DUNNING_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"

/* interest_accrued() when the half-year of the issue date is not in the
 * legal-rate table: there is no figure to show, which is not zero. */
#define INTEREST_NO_RATE 1

/* One payment (or credit note) against the invoice, on the firm's local
 * date it was received. */
struct interest_payment {
	cal_day on;
	int64_t cents;
};

/* The row of the legal-rate table in force for half HALF (1 or 2) of
 * YEAR, or NULL when the table lacks it. */
const struct config_legal_rate *interest_legal_rate(const struct config *cfg, int year,
    int half);

/* The terms of an invoice's late interest (SPEC §2 rule 13, §2.1): claimed
 * only under a signed fee agreement with the interest clause. */
struct interest_terms {
	bool claimed;		/* a signed agreement with the clause */
	int multiplier_milli;	/* the agreement's, or the default; the floor applied */
	int start_days;		/* after the issue date */
};

/* The terms of an invoice whose agreement is signed with the clause
 * (CLAUSE), with the agreement's MULT_MILLI and START_DAYS (< 0: the
 * interest defaults), for a PROFESSIONAL client or not (the floor
 * interest.professional_min_multiplier applies to professionals). */
void interest_terms_for(const struct config *cfg, bool clause, int mult_milli,
    int start_days, bool professional, struct interest_terms *t);

/* The annual rate that applies to an invoice issued on ISSUED, in units of
 * 1e-5 % (multiplier_milli × basis points: 1.5 × 2.62 % is 393000).
 * Returns 0, or INTEREST_NO_RATE. */
int interest_rate(const struct config *cfg, cal_day issued, int64_t *rate);

/* Interest accrued by UNTIL (that day excluded) on an invoice of AMOUNT
 * cents issued on ISSUED, with the N payments PAYS (any order).  Returns 0
 * with the figure in *OUT_CENTS, INTEREST_NO_RATE, or -1 on bad input or a
 * figure beyond int64. */
int interest_accrued(const struct config *cfg, cal_day issued, int64_t amount_cents,
    const struct interest_payment *pays, size_t n, cal_day until, int64_t *out_cents);

/* The same under the terms T: its multiplier and start days.  Returns
 * INTEREST_NO_RATE also when T claims no interest. */
int interest_rate_terms(const struct config *cfg, const struct interest_terms *t,
    cal_day issued, int64_t *rate);
int interest_accrued_terms(const struct config *cfg, const struct interest_terms *t,
    cal_day issued, int64_t amount_cents, const struct interest_payment *pays, size_t n,
    cal_day until, int64_t *out_cents);

/* The multiplier MILLI exactly, for LANG: 1250 "1,25", 1500 "1,5", 2000
 * "2" (en "1.25").  Returns the length, or -1. */
int interest_multiplier_format(char *buf, size_t n, int milli, const char *lang);

/* The multiplier as a French text says it: "une fois et demie", "deux
 * fois"; in figures when it has no usual words ("1,25 fois"), and in
 * English "1.5 times".  Returns the length, or -1. */
int interest_times_format(char *buf, size_t n, int milli, const char *lang);

/* RATE (as interest_rate() gives it) for LANG: "3,93 %" / "3.93%", with
 * more decimals only when the rate has them.  Returns the length, or -1. */
int interest_rate_format(char *buf, size_t n, int64_t rate, const char *lang);

#endif
