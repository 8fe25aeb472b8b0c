/*
 * interest — late interest (SPEC §2.1).  Pure: no I/O, no clock, no
 * floating point.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "interest.h"

/* cent-days × rate (1e-5 %) reach 1e12 cents × 1e5 days × 1e7: beyond
 * int64, well inside 128 bits. */
typedef __int128 i128;

/* rate is in 1e-5 % (1e-7 as a fraction), days are over 365. */
#define RATE_DEN ((i128)10000000 * 365)

const struct config_legal_rate *
interest_legal_rate(const struct config *cfg, int year, int half)
{
	for (size_t i = 0; cfg != NULL && i < cfg->interest.nrates; i++)
		if (cfg->interest.rates[i].year == year && cfg->interest.rates[i].half == half)
			return &cfg->interest.rates[i];
	return NULL;
}

int
interest_rate(const struct config *cfg, cal_day issued, int64_t *rate)
{
	const struct config_legal_rate *r;
	int y, m, d;

	cal_to_ymd(issued, &y, &m, &d);
	if ((r = interest_legal_rate(cfg, y, m <= 6 ? 1 : 2)) == NULL)
		return INTEREST_NO_RATE;
	*rate = (int64_t)cfg->interest.multiplier_milli * r->other_cases_bp;
	return 0;
}

int
interest_accrued_terms(const struct config *cfg, const struct interest_terms *t,
    cal_day issued, int64_t amount_cents, const struct interest_payment *pays, size_t n,
    cal_day until, int64_t *out_cents)
{
	int64_t rate;
	cal_day from, next;
	i128 acc = 0, v;
	int rc;

	if (cfg == NULL || t == NULL || out_cents == NULL || issued == CAL_NONE ||
	    until == CAL_NONE || (n > 0 && pays == NULL))
		return -1;
	if ((rc = interest_rate_terms(cfg, t, issued, &rate)) != 0)
		return rc;
	*out_cents = 0;
	from = issued + t->start_days;

	/*
	 * The balance is constant between two payment dates: walk the periods
	 * in date order (a handful of payments: no need to sort a copy) and
	 * sum balance × days.  A payment received on a day stops the interest
	 * on its amount from that day; payments before the start only lower
	 * the balance the interest starts on.
	 */
	while (from < until) {
		i128 bal = amount_cents;

		next = until;
		for (size_t i = 0; i < n; i++) {
			if (pays[i].on <= from)
				bal -= pays[i].cents;
			else if (pays[i].on < next)
				next = pays[i].on;
		}
		if (bal > 0)	/* paid or overpaid: nothing accrues */
			acc += bal * (next - from);
		from = next;
	}

	/* Rounded half-up to the cent once, on the total over all periods,
	 * not per period: the figure is what the exact interest is. */
	v = (acc * rate + RATE_DEN / 2) / RATE_DEN;
	if (v > INT64_MAX)
		return -1;
	*out_cents = (int64_t)v;
	return 0;
}

int
interest_rate_format(char *buf, size_t n, int64_t rate, const char *lang)
{
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	char frac[8];
	int len, w;

	if (rate < 0)
		return -1;
	/* two decimals as the legal rates are published, more only when
	 * the multiplier makes them (1.25 × 2.62 % = 3,275 %) */
	snprintf(frac, sizeof(frac), "%05lld", (long long)(rate % 100000));
	for (w = 5; w > 2 && frac[w - 1] == '0'; w--)
		;
	frac[w] = '\0';
	len = snprintf(buf, n, "%lld%s%s%s", (long long)(rate / 100000), en ? "." : ",", frac,
	    en ? "%" : "\xc2\xa0%");
	return len < 0 || (size_t)len >= n ? -1 : len;
}

void
interest_terms_for(const struct config *cfg, bool clause, int mult_milli, int start_days,
    bool professional, struct interest_terms *t)
{
	t->claimed = clause;
	t->multiplier_milli = mult_milli > 0 ? mult_milli : cfg->interest.multiplier_milli;
	t->start_days = start_days >= 0 ? start_days : cfg->interest.start_after_days;
	if (professional && cfg->interest.professional_min_milli > t->multiplier_milli)
		t->multiplier_milli = cfg->interest.professional_min_milli;
}

int
interest_rate_terms(const struct config *cfg, const struct interest_terms *t, cal_day issued,
    int64_t *rate)
{
	int64_t r;
	int rc;

	if (t == NULL || !t->claimed || t->multiplier_milli <= 0)
		return INTEREST_NO_RATE;
	if ((rc = interest_rate(cfg, issued, &r)) != 0)
		return rc;
	/* interest_rate() gives the configured multiplier × the legal rate
	 * (config: multiplier >= 0.001): exactly divisible back. */
	*rate = r / cfg->interest.multiplier_milli * t->multiplier_milli;
	return 0;
}

int
interest_accrued(const struct config *cfg, cal_day issued, int64_t amount_cents,
    const struct interest_payment *pays, size_t n, cal_day until, int64_t *out_cents)
{
	struct interest_terms t;

	if (cfg == NULL)
		return -1;
	interest_terms_for(cfg, true, -1, -1, false, &t);
	return interest_accrued_terms(cfg, &t, issued, amount_cents, pays, n, until, out_cents);
}

int
interest_multiplier_format(char *buf, size_t n, int milli, const char *lang)
{
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	char frac[4];
	int len, w;

	if (milli < 0)
		return -1;
	snprintf(frac, sizeof(frac), "%03d", milli % 1000);
	for (w = 3; w > 0 && frac[w - 1] == '0'; w--)
		;
	frac[w] = '\0';
	len = snprintf(buf, n, "%d%s%s", milli / 1000, w > 0 ? (en ? "." : ",") : "", frac);
	return len < 0 || (size_t)len >= n ? -1 : len;
}

int
interest_times_format(char *buf, size_t n, int milli, const char *lang)
{
	static const char *const units[] = { NULL, "une", "deux", "trois", "quatre", "cinq" };
	char fig[32];
	int len;

	if (lang != NULL && strcmp(lang, "en") == 0) {
		if (interest_multiplier_format(fig, sizeof(fig), milli, lang) < 0)
			return -1;
		len = snprintf(buf, n, "%s times", fig);
	} else if (milli >= 1000 && milli < 6000 && (milli % 1000 == 0 || milli % 1000 == 500)) {
		len = snprintf(buf, n, "%s fois%s", units[milli / 1000],
		    milli % 1000 ? " et demie" : "");
	} else {
		if (interest_multiplier_format(fig, sizeof(fig), milli, lang) < 0)
			return -1;
		len = snprintf(buf, n, "%s fois", fig);
	}
	return len < 0 || (size_t)len >= n ? -1 : len;
}
