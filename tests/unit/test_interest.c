/*
 * test_interest — late interest (SPEC §2.1) against figures computed by
 * hand, shown next to each case.  The table: multiplier 1.5, start 30 days
 * after issue; 2025 H1 3.71 %, 2025 H2 2.76 %, 2026 H1 2.62 % (2024 H2
 * missing), so the rates applied are 5.565 %, 4.14 % and 3.93 %.
 */
#include <string.h>

#include "interest.h"
#include "tap.h"

static struct config_legal_rate rates[] = {
	{ .year = 2025, .half = 1, .other_cases_bp = 371, .individual_creditor_bp = 721 },
	{ .year = 2025, .half = 2, .other_cases_bp = 276, .individual_creditor_bp = 665 },
	{ .year = 2026, .half = 1, .other_cases_bp = 262, .individual_creditor_bp = 667 },
};

static struct config cfg = {
	.interest = { .multiplier_milli = 1500, .start_after_days = 30, .rates = rates,
	    .nrates = sizeof(rates) / sizeof(rates[0]) },
};

/* Interest on AMOUNT issued on ISSUED, paid PAYS, at UNTIL is WANT cents
 * (WANT_RC INTEREST_NO_RATE: no figure). */
static void
check(const char *what, cal_day issued, int64_t amount, const struct interest_payment *pays,
    size_t n, cal_day until, int want_rc, int64_t want)
{
	int64_t got = -999;
	int rc = interest_accrued(&cfg, issued, amount, pays, n, until, &got);

	if (!tap_ok(rc == want_rc && (rc != 0 || got == want), "%s", what))
		tap_diag("want rc %d, %lld; got rc %d, %lld", want_rc, (long long)want, rc,
		    (long long)got);
}

/* MILLI for LANG prints as WANT, in figures and as the text says it. */
static void
mult_fmt(int milli, const char *lang, const char *want, const char *times)
{
	char buf[64], tb[64];

	interest_multiplier_format(buf, sizeof(buf), milli, lang);
	interest_times_format(tb, sizeof(tb), milli, lang);
	if (!tap_ok(strcmp(buf, want) == 0 && strcmp(tb, times) == 0,
	    "multiplier %d (%s) prints \"%s\", \"%s\"", milli, lang, want, times))
		tap_diag("got \"%s\", \"%s\"", buf, tb);
}

/* SPEC §2 rule 13, §2.1: the terms of the agreement, its multiplier
 * printed exactly, the floor for professional clients. */
static void
test_terms(cal_day jan15)
{
	struct interest_terms t;
	struct config floor3 = cfg;
	int64_t got = -1, rate = -1;

	/* Finding 7: 1.25 printed « 1,25 », never « 1,2 ». */
	mult_fmt(1250, "fr", "1,25", "1,25 fois");
	mult_fmt(1500, "fr", "1,5", "une fois et demie");
	mult_fmt(2000, "fr", "2", "deux fois");
	mult_fmt(1250, "en", "1.25", "1.25 times");
	mult_fmt(3000, "en", "3", "3 times");
	mult_fmt(1125, "fr", "1,125", "1,125 fois");

	/* No clause: no rate, no figure. */
	interest_terms_for(&cfg, false, -1, -1, false, &t);
	tap_ok(interest_accrued_terms(&cfg, &t, jan15, 100000, NULL, 0, jan15 + 60, &got) ==
	    INTEREST_NO_RATE, "no signed clause: no interest figure");

	/* The agreement's own terms: 1.25 × 2.62 % = 3.275 %, from 45 days:
	 * 1 000,00 € from 1 March to 31 March (30 days):
	 * 100 000 × 30 × 0.03275 / 365 = 269.18 c → 2,69 €. */
	interest_terms_for(&cfg, true, 1250, 45, false, &t);
	tap_ok(t.claimed && t.multiplier_milli == 1250 && t.start_days == 45,
	    "the agreement's multiplier and start days replace the defaults");
	tap_ok(interest_rate_terms(&cfg, &t, jan15, &rate) == 0 && rate == 327500,
	    "1.25 × 2.62 %% = 3.275 %%");
	tap_ok(interest_accrued_terms(&cfg, &t, jan15, 100000, NULL, 0, jan15 + 75, &got) == 0 &&
	    got == 269, "1 000,00 EUR at 3.275 %% over 30 days from day 45: 2,69 EUR (got %lld)",
	    (long long)got);

	/* NULL terms: the defaults (1.5, 30 days). */
	interest_terms_for(&cfg, true, -1, -1, true, &t);
	tap_ok(t.multiplier_milli == 1500 && t.start_days == 30,
	    "an agreement without terms: the interest defaults");

	/* Finding 3: the floor, professional clients only. */
	floor3.interest.professional_min_milli = 3000;
	interest_terms_for(&floor3, true, 1500, -1, true, &t);
	tap_ok(t.multiplier_milli == 3000, "professional: the higher of 1.5 and the floor 3");
	interest_terms_for(&floor3, true, 4000, -1, true, &t);
	tap_ok(t.multiplier_milli == 4000, "professional: the agreement's 4 above the floor 3");
	interest_terms_for(&floor3, true, 1500, -1, false, &t);
	tap_ok(t.multiplier_milli == 1500, "individual: no floor");
	interest_terms_for(&cfg, true, 1500, -1, true, &t);
	tap_ok(t.multiplier_milli == 1500, "floor 0: off");
}

/* RATE for LANG prints as WANT. */
static void
rate_fmt(int64_t rate, const char *lang, const char *want)
{
	char buf[32];
	int n = interest_rate_format(buf, sizeof(buf), rate, lang);

	if (!tap_ok(n > 0 && strcmp(buf, want) == 0, "interest_rate_format(%lld, %s)",
	    (long long)rate, lang))
		tap_diag("want \"%s\", got \"%s\"", want, buf);
}

int
main(void)
{
	cal_day jan15 = cal_from_ymd(2026, 1, 15);
	struct interest_payment half_way[] = { { cal_from_ymd(2026, 3, 16), 400000 } };
	struct interest_payment before[] = { { cal_from_ymd(2026, 2, 1), 1000000 } };
	struct interest_payment at_start[] = { { cal_from_ymd(2026, 2, 14), 1000000 } };
	struct interest_payment two[] = {	/* unsorted on purpose */
		{ cal_from_ymd(2026, 3, 16), 300000 },
		{ cal_from_ymd(2026, 2, 1), 100000 },
		{ cal_from_ymd(2026, 3, 16), 100000 },
	};
	struct interest_payment over[] = { { cal_from_ymd(2026, 3, 16), 1200000 } };
	int64_t rate = 0;
	char small[4];

	/*
	 * Plain: 10 000,00 € issued 15 Jan 2026 (2026 H1: 1.5 × 2.62 = 3.93 %),
	 * interest from 14 Feb; on 15 Apr that is 14 + 31 + 15 = 60 days:
	 * 1 000 000 × 60 × 0.0393 / 365 = 2 358 000 / 365 = 6 460.27 → 64,60 €.
	 */
	check("plain: 10 000 € over 60 days at 3.93 %", jan15, 1000000, NULL, 0,
	    cal_from_ymd(2026, 4, 15), 0, 6460);
	/* Not started yet: 14 Feb is day 0 of the interest, 15 Feb day 1:
	 * 1 000 000 × 1 × 0.0393 / 365 = 107.67 → 1,08 €. */
	check("before the start: nothing", jan15, 1000000, NULL, 0, cal_from_ymd(2026, 2, 1),
	    0, 0);
	check("the start day itself: nothing yet", jan15, 1000000, NULL, 0,
	    cal_from_ymd(2026, 2, 14), 0, 0);
	check("one day after the start", jan15, 1000000, NULL, 0, cal_from_ymd(2026, 2, 15),
	    0, 108);

	/*
	 * Issued 1 Dec 2025 (2025 H2: 1.5 × 2.76 = 4.14 %), accruing into
	 * 2026: the rate of the issue date applies throughout, not 2026 H1's.
	 * 5 000,00 € from 31 Dec 2025 to 1 Mar 2026 = 31 + 28 + 1 = 60 days:
	 * 500 000 × 60 × 0.0414 / 365 = 1 242 000 / 365 = 3 402.74 → 34,03 €
	 * (3.93 % would give 1 179 000 / 365 = 3 230.14 → 32,30 €).
	 */
	check("issued 2025 H2, accruing into 2026 at 4.14 %", cal_from_ymd(2025, 12, 1), 500000,
	    NULL, 0, cal_from_ymd(2026, 3, 1), 0, 3403);

	/*
	 * The half-year boundary, 10 000,00 € over 100 days of interest:
	 * issued 30 June 2025 (H1, 1.5 × 3.71 = 5.565 %):
	 *   1 000 000 × 100 × 0.05565 / 365 = 5 565 000 / 365 = 15 246.58 → 152,47 €;
	 * issued 1 July 2025 (H2, 4.14 %):
	 *   1 000 000 × 100 × 0.0414 / 365 = 4 140 000 / 365 = 11 342.47 → 113,42 €.
	 */
	check("issued 30 June 2025: 5.565 %", cal_from_ymd(2025, 6, 30), 1000000, NULL, 0,
	    cal_from_ymd(2025, 6, 30) + 130, 0, 15247);
	check("issued 1 July 2025: 4.14 %", cal_from_ymd(2025, 7, 1), 1000000, NULL, 0,
	    cal_from_ymd(2025, 7, 1) + 130, 0, 11342);

	/*
	 * A partial payment midway: 10 000,00 € issued 15 Jan 2026, 4 000,00 €
	 * paid on 16 Mar (30 days after 14 Feb), until 15 Apr (30 more days):
	 * (1 000 000 × 30 + 600 000 × 30) × 0.0393 / 365
	 *   = 48 000 000 × 0.0393 / 365 = 1 886 400 / 365 = 5 168.22 → 51,68 €.
	 */
	check("partial payment midway: two periods", jan15, 1000000, half_way, 1,
	    cal_from_ymd(2026, 4, 15), 0, 5168);
	/* The same with 1 000 € paid before the start and 4 000 € in two
	 * payments on 16 Mar, in no order: (900 000 × 30 + 500 000 × 30)
	 * × 0.0393 / 365 = 1 650 600 / 365 = 4 522.19 → 45,22 €. */
	check("payments in any order, one before the start", jan15, 1000000, two, 3,
	    cal_from_ymd(2026, 4, 15), 0, 4522);
	/* Overpaid on 16 Mar: only the first 30 days, 1 179 000 / 365
	 * = 3 230.14 → 32,30 €; the negative balance earns nothing. */
	check("overpayment: no negative interest", jan15, 1000000, over, 1,
	    cal_from_ymd(2026, 4, 15), 0, 3230);

	/* Paid in full before (or on) the first day of interest: zero. */
	check("paid in full before the start: zero", jan15, 1000000, before, 1,
	    cal_from_ymd(2026, 4, 15), 0, 0);
	check("paid in full on the start day: zero", jan15, 1000000, at_start, 1,
	    cal_from_ymd(2026, 4, 15), 0, 0);

	/* Issued in 2024 H2, a half-year the table lacks: no figure. */
	check("missing half-year: no figure", cal_from_ymd(2024, 10, 1), 1000000, NULL, 0,
	    cal_from_ymd(2026, 4, 15), INTEREST_NO_RATE, 0);
	tap_ok(interest_rate(&cfg, cal_from_ymd(2024, 12, 31), &rate) == INTEREST_NO_RATE,
	    "interest_rate: 2024 H2 missing");

	/*
	 * Exactly half a cent: 182,50 € over 100 days at 3.93 %:
	 * 18 250 × 100 × 0.0393 / 365 = 71 722.5 / 365 = 196.5 → 197 (1,97 €);
	 * 182,49 €: 71 718.57 / 365 = 196.49 → 196.
	 */
	check("half a cent rounds up", jan15, 18250, NULL, 0, jan15 + 130, 0, 197);
	check("just under half a cent rounds down", jan15, 18249, NULL, 0, jan15 + 130, 0, 196);

	/*
	 * The largest numeric(12,2), 9 999 999 999,99 €, over 3 650 days:
	 * 999 999 999 999 × 3 650 × 0.0393 / 365 = 999 999 999 999 × 0.393
	 *   = 392 999 999 999.607 → 393 000 000 000 cents.  The product
	 * cent-days × rate is about 1.4e21: beyond int64.
	 */
	check("very large amount: no overflow", jan15, 999999999999, NULL, 0,
	    jan15 + 30 + 3650, 0, 393000000000);

	check("no date: refused", CAL_NONE, 1000, NULL, 0, jan15, -1, 0);

	tap_ok(interest_rate(&cfg, jan15, &rate) == 0 && rate == 393000,
	    "interest_rate: 1.5 × 2.62 %% = 393000 (1e-5 %%)");
	rate_fmt(393000, "fr", "3,93\xc2\xa0%");
	rate_fmt(393000, "en", "3.93%");
	rate_fmt(327500, "fr", "3,275\xc2\xa0%");	/* 1.25 × 2.62 % */
	rate_fmt(1200000, "en", "12.00%");
	tap_ok(interest_rate_format(small, sizeof(small), 393000, "fr") < 0,
	    "interest_rate_format: too small a buffer");
	test_terms(jan15);
	return tap_done();
}
