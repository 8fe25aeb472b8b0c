/*
 * config_parse — the callbacks hooked onto every option libconfuse reads.
 * None fails the parse (libconfuse would stop at the first): each records
 * its problem and lets the parse go on to the next error.
 *  - Numbers and booleans: parse callbacks that report a malformed value
 *    and store the default.
 *  - One validate callback on every key remembers the line it was set on
 *    and checks the value against the key's row (config_table.c): its choices,
 *    its syntax, its range.
 *  - One on every section spots an untitled section given twice, and hides
 *    the titles of titled ones until the parse ends (see hide_title()).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* The section whose options hold OPT, searched from FROM down; NULL if
 * none.  A key named through a "section|key" path is parsed in another. */
static cfg_t *
owner_of(cfg_t *from, const cfg_opt_t *opt)
{
	cfg_t *found;

	if (config_opt_index(from, opt) >= 0)
		return from;
	for (cfg_opt_t *o = from->opts; o->name != NULL; o++) {
		if (o->type != CFGT_SEC)
			continue;
		for (unsigned i = 0; i < cfg_opt_size(o); i++) {
			cfg_t *s = cfg_opt_getnsec(o, i);

			if (s != NULL && (found = owner_of(s, opt)) != NULL)
				return found;
		}
	}
	return NULL;
}

/*
 * libconfuse parse callback of every number: its row says which kind
 * (whole, amount, percentage, factor) and so how many decimals are kept.
 * A malformed value is reported and the default stored: the parse goes on.
 */
static int
parse_number(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	struct config_ctx *ctx = config_now;
	cfg_t *owner = config_opt_index(sec, opt) >= 0 ? sec : NULL;
	const struct config_key *k;
	enum config_type type;
	struct config_shown s;
	long long v;

	if (owner == NULL && ctx != NULL)
		owner = owner_of(ctx->root, opt);
	k = owner != NULL ? config_key_find(owner->name, opt->name) : NULL;
	type = k != NULL ? k->type : CONFIG_T_INT;
	if (type == CONFIG_T_INT_LIST)	/* each of its values */
		type = CONFIG_T_INT;

	if (ctx != NULL)
		snprintf(ctx->raw, sizeof(ctx->raw), "%s", value);
	if (config_parse_number(type, value, &v) == 0) {
		*(long *)result = (long)v;
		return 0;
	}
	*(long *)result = opt->def.number;
	if (ctx != NULL) {
		ctx->rejected = opt;
		config_error(ctx, sec->line, "%s \"%s\" is not %s", opt->name,
		    config_show(&s, value), config_number_hint(type));
	}
	return 0;
}

/* libconfuse parse callback: a boolean; never fails the parse. */
static int
parse_bool(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	struct config_ctx *ctx = config_now;
	struct config_shown s;
	int b;

	if ((b = cfg_parse_boolean(value)) >= 0) {
		*(int *)result = b;
		return 0;
	}
	*(int *)result = opt->def.boolean == cfg_true;
	if (ctx != NULL) {
		ctx->rejected = opt;
		config_error(ctx, sec->line, "%s \"%s\" is not a boolean: write true or false",
		    opt->name, config_show(&s, value));
	}
	return 0;
}

/* The parse callback of a key of TYPE; NULL: libconfuse's own (text). */
cfg_callback_t
config_parse_cb(enum config_type type)
{
	switch (type) {
	case CONFIG_T_BOOL:
		return parse_bool;
	case CONFIG_T_INT:
	case CONFIG_T_CENTS:
	case CONFIG_T_PERCENT:
	case CONFIG_T_FACTOR:
		return parse_number;
	default:
		return NULL;
	}
}

/* Check the number OPT against the range of its row K. */
static bool
check_range(struct config_ctx *ctx, const struct config_key *k, cfg_opt_t *opt, int line)
{
	struct config_shown s;
	long v;

	if (k == NULL || k->hint == NULL)	/* a number without a range */
		return true;
	v = cfg_opt_getnint(opt, 0);
	if (v >= k->min && v <= k->max)
		return true;
	config_error(ctx, line, "%s %s is %s: %s", opt->name, config_show(&s, ctx->raw),
	    v < 0 ? "negative" : v < k->min ? "too small" : "too large", k->hint);
	return false;
}

/* Is V one of the choices of K? */
static bool
is_choice(const struct config_key *k, const char *v)
{
	for (const char *const *c = k->choices; *c != NULL; c++)
		if (strcmp(*c, v) == 0)
			return true;
	return false;
}

/* Check the text V of the key of row K against its row. */
static bool
check_text(struct config_ctx *ctx, const struct config_key *k, const char *v, int line)
{
	struct config_shown s;
	const char *what = NULL;

	if (k == NULL)
		return true;
	if (k->type == CONFIG_T_REFUSED) {
		config_error(ctx, line, "%s", k->hint);
		return false;
	}
	if (k->nonempty && *v == '\0') {
		config_error(ctx, line, "%s is empty: %s", k->name, k->hint);
		return false;
	}
	if (k->choices != NULL && !is_choice(k, v)) {
		config_error(ctx, line, "%s \"%s\" is unknown: %s", k->name, config_show(&s, v),
		    k->hint);
		return false;
	}
	if ((k->type == CONFIG_T_TIME || k->type == CONFIG_T_TIME_END) &&
	    config_parse_hhmm(v, k->type == CONFIG_T_TIME_END) < 0)
		what = "a time";
	else if (k->format != NULL && !k->format->ok(v))
		what = k->format->what;
	if (what != NULL) {
		config_error(ctx, line, "%s \"%s\" is not %s: %s", k->name, config_show(&s, v),
		    what, k->hint);
		return false;
	}
	return true;
}

/*
 * libconfuse validate callback of every key: remembers its line, refuses a
 * key set twice or through a "section|key" path, then checks its value.
 * Always returns 0 so that the parse goes on to the next error.
 */
int
config_on_key(cfg_t *sec, cfg_opt_t *opt)
{
	struct config_ctx *ctx = config_now;
	struct config_mark *prev;
	int line = sec->line, idx;
	const struct config_key *k = config_key_find(sec->name, opt->name);
	const char *v;
	long m;
	bool ok;

	if (ctx == NULL || ctx->in_defaults) {
		if (ctx != NULL)
			ctx->rejected = NULL;
		return 0;
	}
	if ((idx = config_opt_index(sec, opt)) < 0) {
		config_error(ctx, line, "%s must be written inside its own section, without a "
		    "'|' path", opt->name);
		ctx->rejected = NULL;
		return 0;
	}
	config_note_open(ctx, sec);
	/* A list: libconfuse calls this once per value and once more at its
	 * end; its line is kept, its values checked once, by config_check(). */
	if (k != NULL && k->type == CONFIG_T_INT_LIST) {
		if (config_mark_find(ctx, sec, idx) == NULL)
			(void)config_mark_add(ctx, sec, idx, line);
		ctx->rejected = NULL;
		return 0;
	}
	if ((prev = config_mark_find(ctx, sec, idx)) != NULL)
		config_error(ctx, line, "%s is set twice (first on line %d): keep one", opt->name,
		    prev->line);
	if ((m = config_mark_add(ctx, sec, idx, line)) < 0)
		return 0;
	if (ctx->rejected == opt) {
		ctx->rejected = NULL;
		ctx->marks[m].bad = true;
		return 0;
	}
	if (opt->type == CFGT_STR) {
		v = cfg_opt_getnstr(opt, 0);
		if (v == NULL)
			v = "";
		if (strpbrk(v, "\r\n") != NULL) {
			config_error(ctx, line, "%s contains a line break: write it on one line",
			    opt->name);
			ok = false;
		} else {
			ok = check_text(ctx, k, v, line);
		}
	} else if (opt->type == CFGT_INT) {
		ok = check_range(ctx, k, opt, line);
	} else {
		ok = true;
	}
	ctx->marks[m].bad = !ok;
	return 0;
}

/* Find (or start) the block count of the section kind at index IDX of
 * PARENT's options: an index, as libconfuse may move the options. */
static struct config_blocks *
blocks_of(struct config_ctx *ctx, const cfg_t *parent, int idx)
{
	for (size_t i = 0; i < ctx->nblocks; i++)
		if (ctx->blocks[i].parent == parent && ctx->blocks[i].idx == idx)
			return &ctx->blocks[i];
	if (ctx->nblocks == sizeof(ctx->blocks) / sizeof(ctx->blocks[0]))
		return NULL;
	ctx->blocks[ctx->nblocks] = (struct config_blocks){ .parent = parent, .idx = idx };
	return &ctx->blocks[ctx->nblocks++];
}

/*
 * Give the titled section SEC, just closed, a private title ("\1" and a
 * serial) until the parse ends, keeping its own in ctx->titles.  libconfuse
 * replaces (and frees) an earlier section whose title a new block repeats;
 * with every closed title hidden, a repeat is appended instead, so no
 * section is freed while parsing and repeats are found after the parse.
 */
static void
hide_title(struct config_ctx *ctx, cfg_t *sec)
{
	char **t, hidden[32], *h;

	snprintf(hidden, sizeof(hidden), "\1%zu", ctx->ntitles);
	if ((t = realloc(ctx->titles, (ctx->ntitles + 1) * sizeof(*t))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return;
	}
	ctx->titles = t;
	if ((h = strdup(hidden)) == NULL) {
		config_error(ctx, 0, "out of memory");
		return;
	}
	t[ctx->ntitles++] = sec->title;
	sec->title = h;
}

/* Give back the titles hidden under FROM, recursively. */
void
config_restore_titles(struct config_ctx *ctx, cfg_t *from)
{
	for (cfg_opt_t *o = from->opts; o->name != NULL; o++) {
		if (o->type != CFGT_SEC)
			continue;
		for (unsigned i = 0; i < cfg_opt_size(o); i++) {
			cfg_t *sec = cfg_opt_getnsec(o, i);
			char *end;
			unsigned long k;

			if (sec == NULL)
				continue;
			config_restore_titles(ctx, sec);
			if (sec->title == NULL || sec->title[0] != '\1')
				continue;
			k = strtoul(sec->title + 1, &end, 10);
			if (*end != '\0' || k >= ctx->ntitles || ctx->titles[k] == NULL)
				continue;
			free(sec->title);
			sec->title = ctx->titles[k];
			ctx->titles[k] = NULL;
		}
	}
}

/*
 * libconfuse validate callback of every section, called at its closing
 * brace with PARENT->line on that brace: marks an empty section's line,
 * hides a titled section's title (see hide_title()), and refuses an
 * untitled section given twice.
 */
int
config_on_section(cfg_t *parent, cfg_opt_t *opt)
{
	struct config_ctx *ctx = config_now;
	int line = parent->line, idx;
	unsigned n = cfg_opt_size(opt);
	struct config_blocks *b;
	struct config_shown s;
	cfg_t *sec = NULL;

	if (ctx == NULL || ctx->in_defaults || n == 0)
		return 0;
	if ((idx = config_opt_index(parent, opt)) < 0) {
		config_error(ctx, line, "section %s must be written inside its own section, "
		    "without a '|' path", opt->name);
		return 0;
	}
	if (!(opt->flags & CFGF_TITLE)) {
		sec = cfg_opt_getnsec(opt, 0);
		if ((b = blocks_of(ctx, parent, idx)) != NULL && ++b->nblocks > 1)
			config_error(ctx, line, "section %s appears twice: merge the two blocks",
			    opt->name);
	} else {
		/* the block just closed is the one whose title is not hidden yet */
		for (unsigned i = 0; i < n; i++) {
			cfg_t *x = cfg_opt_getnsec(opt, i);

			if (x != NULL && x->title != NULL && x->title[0] != '\1')
				sec = x;
		}
		/* unless its title mimics a hidden one: then find it by line */
		for (unsigned i = 0; sec == NULL && i < n; i++) {
			cfg_t *x = cfg_opt_getnsec(opt, n - 1 - i);

			if (x != NULL && x->line == line) {
				sec = x;
				config_error(ctx, line, "%s \"%s\": a title cannot hold control "
				    "characters", opt->name, config_show(&s, x->title));
			}
		}
		if (sec != NULL)
			hide_title(ctx, sec);
	}
	/* a section with no key inside is marked on its closing brace */
	if (sec != NULL && config_mark_find(ctx, sec, -1) == NULL)
		config_mark_add(ctx, sec, -1, line);
	return 0;
}

/* Refuse a title given to two sections of kind NAME under PARENT. */
void
config_check_repeats(struct config_ctx *ctx, cfg_t *parent, const char *name)
{
	unsigned n = cfg_size(parent, name);
	struct config_shown s;

	for (unsigned j = 1; j < n; j++) {
		cfg_t *b = cfg_getnsec(parent, name, j);

		for (unsigned i = 0; i < j; i++) {
			cfg_t *a = cfg_getnsec(parent, name, i);

			if (strcmp(cfg_title(a), cfg_title(b)) == 0) {
				config_error(ctx, config_sec_line(ctx, b), "%s \"%s\" appears twice "
				    "(first on line %d): merge the two blocks", name,
				    config_show(&s, cfg_title(b)), config_sec_line(ctx, a));
				break;
			}
		}
	}
}
