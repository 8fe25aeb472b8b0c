/*
 * config_build — the parsed tree copied into a struct config: each key to
 * where its row (config_table.c) says it lands, each titled section into its
 * array; then the checks that span keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* Index of V among the choices of K; a value refused lands as the default. */
static int
choice(const struct config_key *k, const char *v)
{
	for (int pass = 0; pass < 2; pass++, v = k->def)
		for (int i = 0; v != NULL && k->choices[i] != NULL; i++)
			if (strcmp(k->choices[i], v) == 0)
				return i;
	return 0;
}

/* Copy the value of key K, read in SEC, to where it lands in BASE (C
 * itself, or an element of one of its arrays). */
static void
land(struct config_ctx *ctx, cfg_t *sec, const struct config_key *k, char *base,
    const struct config *c)
{
	union {
		char *s;
		bool b;
		int i;
		int64_t cents;
	} v = { 0 };
	size_t size = sizeof(v.i);	/* the enums and the numbers kept as int */
	const char *text;

	switch (k->type) {
	case CONFIG_T_REFUSED:
		return;
	case CONFIG_T_TEXT:
		text = cfg_getstr(sec, k->name);
		snprintf(base + k->at, k->size, "%s", text ? text : "");
		return;
	case CONFIG_T_STR:
		v.s = config_keep(ctx, cfg_getstr(sec, k->name));
		size = sizeof(v.s);
		break;
	case CONFIG_T_BOOL:
		v.b = cfg_getbool(sec, k->name);
		size = sizeof(v.b);
		break;
	case CONFIG_T_CENTS:
		v.cents = cfg_getint(sec, k->name);
		size = sizeof(v.cents);
		break;
	case CONFIG_T_ENUM:
		v.i = choice(k, cfg_getstr(sec, k->name));
		break;
	case CONFIG_T_TIME:
	case CONFIG_T_TIME_END:
		v.i = config_parse_hhmm(cfg_getstr(sec, k->name), k->type == CONFIG_T_TIME_END);
		break;
	case CONFIG_T_STAGE:
		v.i = config_stage_index(c, cfg_getstr(sec, k->name));
		break;
	case CONFIG_T_INT:
	case CONFIG_T_PERCENT:
	case CONFIG_T_FACTOR:
		v.i = (int)cfg_getint(sec, k->name);
		break;
	case CONFIG_T_INT_LIST: {
		/* the checked values, 0-ended (config_parse.c refused the rest) */
		size_t max = k->size / sizeof(int) - 1, n = cfg_size(sec, k->name), o = 0;
		int *to = (int *)(void *)(base + k->at);

		for (size_t i = 0; i < n && o < max; i++) {
			long x = cfg_getnint(sec, k->name, (unsigned)i);

			if (x >= k->min && x <= k->max)
				to[o++] = (int)x;
		}
		to[o] = 0;
		return;
	}
	}
	memcpy(base + k->at, &v, size);
}

/* Copy every key of the titled section SEC (kind NAME) into BASE. */
static void
land_titled(struct config_ctx *ctx, cfg_t *sec, const char *name, void *base)
{
	const struct config_section *s = config_section_find(name);

	for (size_t i = 0; i < s->nkeys; i++)
		land(ctx, sec, &s->keys[i], base, NULL);
}

/* Does a stage wait for approval?  A formal notice (the stage j45, or any
 * letter) does unless the operator wrote requires_approval = false. */
static bool
stage_requires_approval(cfg_t *s, const struct config_stage *st)
{
	cfg_opt_t *o = cfg_getopt(s, "requires_approval");

	if (o != NULL && (o->flags & CFGF_MODIFIED))
		return cfg_opt_getnbool(o, 0);
	return st->channel == CONFIG_CHANNEL_LETTER || strcmp(st->name, "j45") == 0;
}

/* Copy the stages (the first CONFIG_MAX_STAGES: more are refused). */
static void
land_stages(struct config_ctx *ctx, cfg_t *root, struct config *c)
{
	unsigned n = cfg_size(root, "stage");

	for (unsigned i = 0; i < n && i < CONFIG_MAX_STAGES; i++) {
		cfg_t *sec = cfg_getnsec(root, "stage", i);
		struct config_stage *st = &c->stages[c->nstages++];

		snprintf(st->name, sizeof(st->name), "%s", cfg_title(sec) ? cfg_title(sec) : "");
		land_titled(ctx, sec, "stage", st);
		st->requires_approval = stage_requires_approval(sec, st);
	}
}

/* Copy the fee agreements' stages (SPEC §2 rule 13; more than
 * CONFIG_MAX_AGREEMENT_STAGES are refused by config_check.c). */
static void
land_agreement_stages(struct config_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *a = cfg_getsec(root, "agreement");
	unsigned n = a != NULL ? cfg_size(a, "stage") : 0;

	for (unsigned i = 0; i < n && i < CONFIG_MAX_AGREEMENT_STAGES; i++) {
		cfg_t *sec = cfg_getnsec(a, "stage", i);
		struct config_stage *st = &c->agreement.stages[c->agreement.nstages++];

		snprintf(st->name, sizeof(st->name), "%s", cfg_title(sec) ? cfg_title(sec) : "");
		land_titled(ctx, sec, "stage", st);
	}
}

/* Copy the thresholds, each titled with its currency. */
static void
land_thresholds(struct config_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *a = cfg_getsec(root, "approval");
	unsigned n = cfg_size(a, "threshold");

	if ((c->thresholds = calloc(n ? n : 1, sizeof(*c->thresholds))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *t = cfg_getnsec(a, "threshold", i);
		struct config_threshold *th = &c->thresholds[c->nthresholds++];
		const char *cur = cfg_title(t);

		snprintf(th->currency, sizeof(th->currency), "%s", cur ? cur : "");
		land_titled(ctx, t, "threshold", th);
	}
}

/* Copy the plans' automatic-acceptance amounts, each titled with its
 * currency (SPEC §2 rule 11). */
static void
land_auto_accept(struct config_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *p = cfg_getsec(root, "plan");
	unsigned n = cfg_size(p, "auto_accept_max");

	if ((c->plan.auto_accept = calloc(n ? n : 1, sizeof(*c->plan.auto_accept))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *t = cfg_getnsec(p, "auto_accept_max", i);
		struct config_threshold *th = &c->plan.auto_accept[c->plan.nauto_accept++];
		const char *cur = cfg_title(t);

		snprintf(th->currency, sizeof(th->currency), "%s", cur ? cur : "");
		land_titled(ctx, t, "auto_accept_max", th);
	}
}

/* Order of legal-rate rows: by year, then half. */
static int
rate_cmp(const void *a, const void *b)
{
	const struct config_legal_rate *x = a, *y = b;

	if (x->year != y->year)
		return x->year < y->year ? -1 : 1;
	return (x->half > y->half) - (x->half < y->half);
}

/* Show the rates of R as the file writes them: "2.62 / 6.67". */
static const char *
show_rates(const struct config_legal_rate *r, char *buf, size_t n)
{
	snprintf(buf, n, "other_cases = %d.%02d individual_creditor = %d.%02d",
	    r->other_cases_bp / 100, r->other_cases_bp % 100, r->individual_creditor_bp / 100,
	    r->individual_creditor_bp % 100);
	return buf;
}

/*
 * The legal-rate table (SPEC §2.1): the rows shipped with the release,
 * then the file's, sorted.  A file's row adds a half-year, or replaces the
 * shipped row of its half-year: the operator's word wins (a correction
 * must not wait for a release, and a release that ships a half-year the
 * operator had added must not stop the daemon at its upgrade), and a
 * warning says so, with both rates, so that --check-config shows it.
 */
static void
land_rates(struct config_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *in = cfg_getsec(root, "interest");
	unsigned n = cfg_size(in, "legal_rate");
	size_t ns = config_nshipped_rates;
	char was[96], now[96];

	if ((c->interest.rates = calloc(ns + n + 1, sizeof(*c->interest.rates))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return;
	}
	memcpy(c->interest.rates, config_shipped_rates, ns * sizeof(*c->interest.rates));
	c->interest.nrates = ns;
	for (unsigned i = 0; i < n; i++) {
		cfg_t *r = cfg_getnsec(in, "legal_rate", i);
		struct config_legal_rate row = { .line = config_sec_line(ctx, r) }, *at = NULL;

		/* a malformed title is an error of config_check.c */
		if (!config_parse_half(cfg_title(r), &row.year, &row.half))
			continue;
		land_titled(ctx, r, "legal_rate", &row);
		for (size_t j = 0; j < ns; j++)
			if (c->interest.rates[j].year == row.year &&
			    c->interest.rates[j].half == row.half)
				at = &c->interest.rates[j];
		if (at == NULL) {
			c->interest.rates[c->interest.nrates++] = row;
			continue;
		}
		row.replaces = &config_shipped_rates[at - c->interest.rates];
		show_rates(row.replaces, was, sizeof(was));
		show_rates(&row, now, sizeof(now));
		if (strcmp(was, now) == 0)
			config_warning(ctx, row.line, "legal_rate \"%d-H%d\" repeats the rates shipped "
			    "with dunningd (%s): this block can go", row.year, row.half, was);
		else
			config_warning(ctx, row.line, "legal_rate \"%d-H%d\" replaces the rates shipped "
			    "with dunningd (%s) with %s: check them against the arrêté", row.year,
			    row.half, was, now);
		*at = row;
	}
	qsort(c->interest.rates, c->interest.nrates, sizeof(*c->interest.rates), rate_cmp);
}

/* Turn the parsed tree into a struct config, then run the checks that span
 * keys.  NULL when any error was found (all of them recorded). */
struct config *
config_build(struct config_ctx *ctx, cfg_t *root)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return NULL;
	}
	c->path = config_keep(ctx, ctx->path);
	/* the stages first: approval_from_stage lands as an index into them */
	land_stages(ctx, root, c);
	land_thresholds(ctx, root, c);
	land_agreement_stages(ctx, root, c);
	land_auto_accept(ctx, root, c);
	land_rates(ctx, root, c);
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		land(ctx, config_untitled(root, k->section), k, (char *)c, c);
	}
	config_check(ctx, root, c);
	config_web_keys(c);
	if (c->templates_dir != NULL)
		config_check_templates(ctx, root, c);
	if (ctx->nerrors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

