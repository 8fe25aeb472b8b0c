/*
 * config — the operator's configuration file, read with libconfuse and
 * validated into an immutable struct config (SPEC §3.2).
 *
 * Every key is declared once, in one row of the tables of config_table.c;
 * libconfuse's options are generated here from the rows.  This file is the
 * loader: it calls the steps below in turn, and none of them calls it back.
 * What a loaded struct config answers, and its freeing, are in
 * config_object.c.
 *
 * Every error of a file is reported at once, each naming its line:
 *  - unknown keys: CFGF_KEYSTRVAL makes libconfuse report "no such option"
 *    and keep reading (config_suggest.c);
 *  - values: the callbacks of config_parse.c check each as it is read;
 *  - after the parse, the rules that span keys (config_check.c) and the
 *    template files (config_templates.c).
 * What libconfuse cannot read past (a syntax error, an unknown section)
 * still ends the parse; the after-parse checks are then skipped, as the
 * tree is incomplete.
 *
 * Not thread-safe for loading: libconfuse's lexer has global state and its
 * callbacks carry no user pointer, so the context of the load in progress
 * is one static pointer (config_now).  The struct config returned is
 * immutable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "interest.h"

/* libconfuse's option for the key of row K. */
static int
key_opt(struct config_ctx *ctx, const struct config_key *k, cfg_opt_t *o)
{
	int flags = k->def != NULL ? CFGF_NONE : CFGF_NODEFAULT;
	long long v = 0;
	int b = 0;

	switch (k->type) {
	case CONFIG_T_BOOL:
		if (k->def != NULL && (b = cfg_parse_boolean(k->def)) < 0)
			goto bad;
		*o = (cfg_opt_t)CFG_BOOL_CB(k->name, b ? cfg_true : cfg_false, flags,
		    config_parse_cb(k->type));
		break;
	case CONFIG_T_INT:
	case CONFIG_T_CENTS:
	case CONFIG_T_PERCENT:
	case CONFIG_T_FACTOR:
		if (k->def != NULL && config_parse_number(k->type, k->def, &v) < 0)
			goto bad;
		*o = (cfg_opt_t)CFG_INT_CB(k->name, (long)v, flags, config_parse_cb(k->type));
		break;
	case CONFIG_T_INT_LIST:
		/* each element goes through parse_number, as a whole number */
		*o = (cfg_opt_t)CFG_INT_LIST_CB(k->name, (char *)(uintptr_t)k->def, flags,
		    config_parse_cb(CONFIG_T_INT));
		break;
	default:
		/* libconfuse copies the default: its char * is never written */
		*o = (cfg_opt_t)CFG_STR(k->name, (char *)(uintptr_t)k->def, flags);
		break;
	}
	o->validcb = config_on_key;
	return 0;
bad:
	config_error(ctx, 0, "internal error: the default of %s.%s does not parse", k->section,
	    k->name);
	return -1;
}

/* Free the options made by section_opts(), recursively. */
static void
free_opts(cfg_opt_t *opts)
{
	for (cfg_opt_t *o = opts; o != NULL && o->name != NULL; o++)
		if (o->type == CFGT_SEC)
			free_opts(o->subopts);
	free(opts);
}

/* libconfuse's options of section NAME (NULL: the top level): its keys,
 * then the sections inside it, in file order; NULL on error. */
static cfg_opt_t *
section_opts(struct config_ctx *ctx, const char *name)
{
	const struct config_section *self = name ? config_section_find(name) : NULL;
	const struct config_key *keys = config_keys;
	size_t nkeys = config_nkeys, n = 0;
	cfg_opt_t *opts;

	if (self != NULL && self->keys != NULL) {
		keys = self->keys;
		nkeys = self->nkeys;
	}
	if ((opts = calloc(nkeys + config_nsections + 1, sizeof(*opts))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return NULL;
	}
	for (size_t i = 0; name != NULL && i < nkeys; i++)
		if (strcmp(keys[i].section, name) == 0 && key_opt(ctx, &keys[i], &opts[n++]) < 0)
			goto fail;
	for (size_t i = 0; i < config_nsections; i++) {
		const struct config_section *s = &config_sections[i];
		cfg_opt_t *sub;

		if (name ? s->parent == NULL || strcmp(s->parent, name) != 0 : s->parent != NULL)
			continue;
		if ((sub = section_opts(ctx, s->name)) == NULL)
			goto fail;
		opts[n] = (cfg_opt_t)CFG_SEC(s->name, sub,
		    s->keys != NULL ? CFGF_MULTI | CFGF_TITLE : CFGF_NONE);
		opts[n++].validcb = config_on_section;
	}
	opts[n] = (cfg_opt_t)CFG_END();
	return opts;
fail:
	free_opts(opts);
	return NULL;
}

/* A libconfuse tree of every option, with their defaults and callbacks. */
static cfg_t *
new_cfg(struct config_ctx *ctx)
{
	cfg_opt_t *root = section_opts(ctx, NULL);
	cfg_t *cfg;

	if (root == NULL)
		return NULL;
	/* cfg_init() copies the options, so they are freed at once */
	if ((cfg = cfg_init(root, CFGF_KEYSTRVAL)) != NULL)
		cfg_set_error_function(cfg, config_on_error);
	else
		config_error(ctx, 0, "out of memory");
	free_opts(root);
	return cfg;
}

/* Parse the built-in default blocks TEXT into ROOT. */
static void
parse_defaults(struct config_ctx *ctx, cfg_t *root, const char *text)
{
	ctx->in_defaults = true;
	if (cfg_parse_buf(root, text) != CFG_SUCCESS)
		config_error(ctx, 0, "internal error: the built-in defaults do not parse");
	ctx->in_defaults = false;
}

/* Read, parse and validate PATH: the configuration, or NULL and every error. */
struct config *
config_load(const char *path, struct config_diag *diag)
{
	struct config_ctx ctx = { .path = path, .unknown_msg = SIZE_MAX };
	struct config_diag local = { 0 };
	struct config *c = NULL;
	cfg_t *root;
	char *text;
	int rc;

	if (diag == NULL)
		diag = &local;
	if ((text = config_read(&ctx, path)) == NULL)
		goto out;
	if ((root = new_cfg(&ctx)) == NULL) {
		free(text);
		goto out;
	}
	ctx.root = root;
	config_now = &ctx;
	rc = cfg_parse_buf(root, text);
	free(text);
	config_restore_titles(&ctx, root);
	if (rc != CFG_SUCCESS) {
		if (ctx.nerrors == 0)
			config_error(&ctx, 0, "syntax error");
	} else {
		/* in this order, as the messages of one line keep theirs */
		config_check_repeats(&ctx, root, "stage");
		config_check_repeats(&ctx, cfg_getsec(root, "approval"), "threshold");
		config_check_repeats(&ctx, cfg_getsec(root, "interest"), "legal_rate");
		config_check_repeats(&ctx, cfg_getsec(root, "agreement"), "stage");
		for (size_t i = 0; i < config_nsections; i++) {
			const struct config_section *s = &config_sections[i];
			cfg_t *parent = s->parent ? config_untitled(root, s->parent) : root;

			if (s->defaults != NULL && cfg_size(parent, s->name) == 0)
				parse_defaults(&ctx, root, s->defaults);
		}
		/* errors already found still let config_build() add its own */
		c = config_build(&ctx, root);
	}
	cfg_free(root);
	config_now = NULL;
out:
	config_finish(&ctx, diag);
	if (diag == &local)
		config_diag_free(&local);
	return c;
}

/* Warn when the legal-rate table lacks the half-year of NOW (UTC date). */
void
config_check_date(const struct config *cfg, time_t now, struct config_diag *diag)
{
	const struct config_legal_rate *first = config_shipped_rates,
	    *last = &config_shipped_rates[config_nshipped_rates - 1];
	struct tm tm;
	char *text;
	int year, half;

	if (cfg == NULL || diag == NULL || gmtime_r(&now, &tm) == NULL)
		return;
	/* the half-year of the UTC date: it differs from Paris's only in the
	 * first hour or two of January 1st and July 1st */
	year = tm.tm_year + 1900;
	half = tm.tm_mon < 6 ? 1 : 2;
	if (interest_legal_rate(cfg, year, half) != NULL)
		return;
	if (asprintf(&text, "%s: no legal_rate \"%d-H%d\" in the interest section, nor among the "
	    "rates shipped with dunningd (%d-H%d to %d-H%d): add the rates published for this "
	    "half-year, legal_rate \"%d-H%d\" { other_cases = … individual_creditor = … } "
	    "(until then invoices issued in it show no late interest; dunningctl rates counts "
	    "them)", cfg->path, year, half, first->year, first->half, last->year, last->half,
	    year, half) >= 0)
		config_push(&diag->warnings, &diag->nwarnings, text);
}
/* Release the messages of DIAG and empty it for reuse. */
void
config_diag_free(struct config_diag *diag)
{
	if (diag == NULL)
		return;
	for (size_t i = 0; i < diag->nerrors; i++)
		free(diag->errors[i]);
	for (size_t i = 0; i < diag->nwarnings; i++)
		free(diag->warnings[i]);
	free(diag->errors);
	free(diag->warnings);
	*diag = (struct config_diag){ 0 };
}
