/*
 * rates — `dunningctl rates`: the legal-rate table in force (SPEC §2.1),
 * each row with where it comes from, then the half-years it lacks that
 * open invoices were issued in, with how many each (pipeline/rates.c).
 * Exit 1 when a half-year is missing for an open invoice or for today,
 * so that a monitoring job can run it; 0 when the table is complete.
 */
#include <stdio.h>
#include <stdlib.h>

#include "build_config.h"
#include "calendar.h"
#include "ctl.h"
#include "interest.h"
#include "rates.h"

/* "2.62 %" of BP hundredths of a percent, into BUF. */
static const char *
percent(int bp, char *buf, size_t n)
{
	snprintf(buf, n, "%d.%02d %%", bp / 100, bp % 100);
	return buf;
}

/* The table in force, one row per half-year. */
static void
print_table(const struct config *cfg)
{
	char a[16], b[16], was_a[16], was_b[16];

	printf("legal rates in force (the firm's late interest uses OTHER CASES)\n");
	printf("%-9s  %11s  %19s  %s\n", "HALF-YEAR", "OTHER CASES", "INDIVIDUAL CREDITOR",
	    "FROM");
	for (size_t i = 0; i < cfg->interest.nrates; i++) {
		const struct config_legal_rate *r = &cfg->interest.rates[i];

		printf("%d-H%d    %11s  %19s  ", r->year, r->half,
		    percent(r->other_cases_bp, a, sizeof(a)),
		    percent(r->individual_creditor_bp, b, sizeof(b)));
		if (r->line == 0)
			printf("shipped with dunningd %s\n", DUNNING_VERSION);
		else if (r->replaces == NULL)
			printf("%s:%d\n", cfg->path, r->line);
		else
			printf("%s:%d (replaces the shipped %s, %s)\n", cfg->path, r->line,
			    percent(r->replaces->other_cases_bp, was_a, sizeof(was_a)),
			    percent(r->replaces->individual_creditor_bp, was_b, sizeof(was_b)));
	}
}

/* rates: exit 0 when no open invoice and not today lacks its rate, else 1. */
int
cmd_rates(struct ctl *c, int argc, char **argv)
{
	struct rates_gap *g;
	int n, y, m, d, year, half;
	bool today_listed = false, today_missing;
	int missing = 0;

	(void)argv;
	if (argc != 1)
		return ctl_usage(c);
	if ((n = rates_gaps(c->store, c->cfg, &g)) < 0)
		return ctl_refused(c);
	cal_to_ymd(cal_local_day(c->now), &y, &m, &d);
	year = y;
	half = m <= 6 ? 1 : 2;
	today_missing = interest_legal_rate(c->cfg, year, half) == NULL;
	print_table(c->cfg);
	printf("\nhalf-years missing for open invoices\n");
	printf("%-9s  %13s\n", "HALF-YEAR", "OPEN INVOICES");
	/* the rows come per lawyer, sorted by half-year: one line per half-year */
	for (int i = 0; i < n;) {
		int64_t count = 0;
		int j = i;
		bool now;

		for (; j < n && g[j].year == g[i].year && g[j].half == g[i].half; j++)
			count += g[j].invoices;
		now = g[i].year == year && g[i].half == half;
		today_listed |= now;
		printf("%d-H%d    %13lld%s\n", g[i].year, g[i].half, (long long)count,
		    now ? "  (the current half-year)" : "");
		missing++;
		i = j;
	}
	if (today_missing && !today_listed) {
		printf("%d-H%d    %13d  (the current half-year)\n", year, half, 0);
		missing++;
	}
	free(g);
	if (missing == 0) {
		printf("none: every open invoice has the legal rate of its issue date\n");
		return EX_OK;
	}
	printf("invoices issued in these half-years show no late interest until each is added\n"
	    "in the interest section of %s:\n"
	    "  legal_rate \"YYYY-Hn\" { other_cases = … individual_creditor = … }\n",
	    c->cfg->path);
	return EX_FAIL;
}
