/*
 * config_suggest — libconfuse's error callback: an unknown key or section
 * is named with where it was found and the declared name closest to it
 * ("did you mean"); any other error is a syntax error in libconfuse's words.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* "at top level", "in smtp", "in stage \"j3\"": where a key was found. */
static void
describe(cfg_t *sec, char *buf, size_t n)
{
	struct config_shown t;

	if (sec == NULL || strcmp(sec->name, "root") == 0)
		snprintf(buf, n, "at top level");
	else if (sec->title != NULL)
		snprintf(buf, n, "in %s \"%s\"", sec->name, config_show(&t, sec->title));
	else
		snprintf(buf, n, "in %s", sec->name);
}

/* Edit distance between A and B (both under 64 bytes), for suggestions. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* Is OPT of SEC a key declared only to be refused (never suggested)? */
static bool
refused(const cfg_t *sec, const cfg_opt_t *opt)
{
	const struct config_key *k = config_key_find(sec->name, opt->name);

	return k != NULL && k->type == CONFIG_T_REFUSED;
}

/* The declared key of SEC closest to NAME, or NULL if none is close. */
static const char *
suggest(cfg_t *sec, const char *name)
{
	const char *best = NULL;
	size_t bestd = 3, len = strlen(name);

	if (sec == NULL || len >= 64)
		return NULL;
	for (cfg_opt_t *o = sec->opts; o->name != NULL; o++) {
		size_t d;

		/* keys libconfuse added for unknown names have no callback */
		if ((o->validcb != config_on_key && o->validcb != config_on_section) ||
		    refused(sec, o) || strlen(o->name) >= 64)
			continue;
		if ((d = distance(name, o->name)) < bestd && d < len) {
			best = o->name;
			bestd = d;
		}
	}
	return best;
}

/* Compose the message for an unknown key or section NAME of SEC. */
static void
unknown_text(char *buf, size_t n, cfg_t *sec, const char *name, bool section)
{
	char in[128];
	const char *near = suggest(sec, name);
	struct config_shown s;

	describe(sec, in, sizeof(in));
	snprintf(buf, n, "unknown %s \"%s\" %s%s%s%s%s", section ? "section" : "key",
	    config_show(&s, name), in, near ? ": did you mean \"" : "", near ? near : "",
	    near ? "\"?" : "", section ? " (reading stopped here)" : "");
}

/*
 * libconfuse's error callback.  "no such option" (after which
 * CFGF_KEYSTRVAL lets the parse go on) becomes an "unknown key" message;
 * an unknown section then fails on its brace, and that follow-up error
 * turns the message into "unknown section".  Everything else is a syntax
 * error, reported in libconfuse's words.
 */
__attribute__((format(printf, 2, 0)))
void
config_on_error(cfg_t *sec, const char *fmt, va_list ap)
{
	struct config_ctx *ctx = config_now;
	int line = sec ? sec->line : 0;
	char buf[512];
	const char *name;
	va_list aq;
	size_t n;

	if (ctx == NULL)
		return;
	if (strcmp(fmt, "no such option '%s'") == 0) {
		va_copy(aq, ap);
		name = va_arg(aq, const char *);
		va_end(aq);
		unknown_text(buf, sizeof(buf), sec, name, false);
		n = ctx->nmsgs;
		config_error(ctx, line, "%s", buf);
		ctx->unknown_msg = ctx->nmsgs > n ? n : SIZE_MAX;
		ctx->unknown_line = line;
		snprintf(ctx->unknown_name, sizeof(ctx->unknown_name), "%s", name);
		return;
	}
	if (strcmp(fmt, "missing equal sign after option '%s'") == 0 &&
	    ctx->unknown_msg < ctx->nmsgs && ctx->unknown_line == line) {
		va_copy(aq, ap);
		name = va_arg(aq, const char *);
		va_end(aq);
		if (strcmp(name, ctx->unknown_name) == 0) {
			char *text;

			unknown_text(buf, sizeof(buf), sec, name, true);
			if ((text = config_msg_text(ctx, line, buf)) != NULL) {
				free(ctx->msgs[ctx->unknown_msg].text);
				ctx->msgs[ctx->unknown_msg].text = text;
			}
			return;
		}
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	config_error(ctx, line, "%s", buf);
}
