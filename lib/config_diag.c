/*
 * config_diag — the messages of a load in progress, each naming its line:
 * errors kept as found and sorted by line at the end, and the marks that
 * say on which line each key and section was read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

struct config_ctx *config_now;

/* Format "FILE:LINE: message" (no LINE when 0) into a new string, with
 * every control byte escaped: one message is always one log line. */
char *
config_msg_text(const struct config_ctx *ctx, int line, const char *msg)
{
	char *text, *out;
	size_t o = 0;
	int r;

	if (line > 0)
		r = asprintf(&text, "%s:%d: %s", ctx->path, line, msg);
	else
		r = asprintf(&text, "%s: %s", ctx->path, msg);
	if (r < 0)
		return NULL;
	if ((out = malloc((size_t)r * 4 + 1)) == NULL) {
		free(text);
		return NULL;
	}
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	free(text);
	return out;
}

/* Record an error at LINE (0: the file as a whole). */
__attribute__((format(printf, 3, 4)))
void
config_error(struct config_ctx *ctx, int line, const char *fmt, ...)
{
	char buf[1024], *text;
	struct config_msg *m;
	va_list ap;

	ctx->nerrors++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((text = config_msg_text(ctx, line, buf)) == NULL)
		return;
	if ((m = realloc(ctx->msgs, (ctx->nmsgs + 1) * sizeof(*m))) == NULL) {
		free(text);
		return;
	}
	ctx->msgs = m;
	m[ctx->nmsgs] = (struct config_msg){ .line = line, .seq = ctx->nmsgs, .text = text };
	ctx->nmsgs++;
}

/* Record a warning at LINE: the file loads, but says something the
 * operator should read (--check-config prints it). */
__attribute__((format(printf, 3, 4)))
void
config_warning(struct config_ctx *ctx, int line, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	config_push(&ctx->warnings, &ctx->nwarnings, config_msg_text(ctx, line, buf));
}

/* Quote S for a message. */
const char *
config_show(struct config_shown *b, const char *s)
{
	size_t o = 0;

	if (s == NULL)
		s = "";
	for (; *s != '\0' && o + 8 < sizeof(b->s); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "\\x%02x", c);
		else
			b->s[o++] = (char)c;
	}
	if (*s != '\0')
		memcpy(b->s + o, "...", 4);
	else
		b->s[o] = '\0';
	return b->s;
}

/* strdup that records running out of memory. */
char *
config_keep(struct config_ctx *ctx, const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		config_error(ctx, 0, "out of memory");
	return d;
}

/* Order of messages: by line (file-wide ones first), then as found. */
static int
msg_cmp(const void *a, const void *b)
{
	const struct config_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Append TEXT (taken over) to the list *V of *N strings. */
void
config_push(char ***v, size_t *n, char *text)
{
	char **nv;

	if (text == NULL)
		return;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(text);
		return;
	}
	nv[(*n)++] = text;
	*v = nv;
}

/* Hand the sorted errors over to DIAG and release the context. */
void
config_finish(struct config_ctx *ctx, struct config_diag *diag)
{
	if (ctx->nmsgs > 0)
		qsort(ctx->msgs, ctx->nmsgs, sizeof(*ctx->msgs), msg_cmp);
	for (size_t i = 0; i < ctx->nmsgs; i++)
		config_push(&diag->errors, &diag->nerrors, ctx->msgs[i].text);
	if (ctx->nerrors > ctx->nmsgs)
		config_push(&diag->errors, &diag->nerrors,
		    config_msg_text(ctx, 0, "out of memory"));
	for (size_t i = 0; i < ctx->nwarnings; i++)
		config_push(&diag->warnings, &diag->nwarnings, ctx->warnings[i]);
	free(ctx->warnings);
	for (size_t i = 0; i < ctx->ntitles; i++)
		free(ctx->titles[i]);
	free(ctx->titles);
	free(ctx->msgs);
	free(ctx->marks);
}

/* Index of OPT in SEC's options, or -1. */
int
config_opt_index(const cfg_t *sec, const cfg_opt_t *opt)
{
	for (int i = 0; sec->opts[i].name != NULL; i++)
		if (&sec->opts[i] == opt)
			return i;
	return -1;
}

/* Index of the option called KEY in SEC, or -1. */
static int
key_index(const cfg_t *sec, const char *key)
{
	for (int i = 0; sec->opts[i].name != NULL; i++)
		if (strcmp(sec->opts[i].name, key) == 0)
			return i;
	return -1;
}

/* The latest mark of option IDX of SEC (-1: SEC itself), or NULL. */
struct config_mark *
config_mark_find(struct config_ctx *ctx, const cfg_t *sec, int idx)
{
	for (size_t i = ctx->nmarks; i-- > 0;)
		if (ctx->marks[i].sec == sec && ctx->marks[i].idx == idx)
			return &ctx->marks[i];
	return NULL;
}

/* Remember that option IDX of SEC (-1: SEC itself) was read on LINE;
 * returns the mark's index, or -1. */
long
config_mark_add(struct config_ctx *ctx, const cfg_t *sec, int idx, int line)
{
	struct config_mark *m;

	if ((m = realloc(ctx->marks, (ctx->nmarks + 1) * sizeof(*m))) == NULL) {
		config_error(ctx, 0, "out of memory");
		return -1;
	}
	ctx->marks = m;
	m[ctx->nmarks] = (struct config_mark){ .sec = sec, .idx = idx, .line = line };
	return (long)ctx->nmarks++;
}

/* Line of section SEC in the file, or 0 (built-in or never marked). */
int
config_sec_line(struct config_ctx *ctx, const cfg_t *sec)
{
	struct config_mark *m = sec ? config_mark_find(ctx, sec, -1) : NULL;

	return m ? m->line : 0;
}

/* Line of KEY in SEC, or 0 when it was not in the file. */
int
config_key_line(struct config_ctx *ctx, const cfg_t *sec, const char *key)
{
	struct config_mark *m = sec ? config_mark_find(ctx, sec, key_index(sec, key)) : NULL;

	return m ? m->line : 0;
}

/* Line of KEY in SEC, else of SEC itself. */
int
config_where(struct config_ctx *ctx, const cfg_t *sec, const char *key)
{
	int line = config_key_line(ctx, sec, key);

	return line ? line : config_sec_line(ctx, sec);
}

/* Was KEY of SEC accepted (or left at its default)? */
bool
config_usable(struct config_ctx *ctx, const cfg_t *sec, const char *key)
{
	struct config_mark *m = config_mark_find(ctx, sec, key_index(sec, key));

	return m == NULL || !m->bad;
}

/* The section holding SEC, searched from FROM down; NULL if none. */
static cfg_t *
parent_of(cfg_t *from, const cfg_t *sec)
{
	for (cfg_opt_t *o = from->opts; o->name != NULL; o++) {
		if (o->type != CFGT_SEC)
			continue;
		for (unsigned i = 0; i < cfg_opt_size(o); i++) {
			cfg_t *s = cfg_opt_getnsec(o, i), *p;

			if (s == sec)
				return from;
			if (s != NULL && (p = parent_of(s, sec)) != NULL)
				return p;
		}
	}
	return NULL;
}

/* Mark the opening line of SEC and of the sections around it, when a key
 * inside is first read: while a section is parsed, its parent's line
 * still points at the section's opening brace. */
void
config_note_open(struct config_ctx *ctx, cfg_t *sec)
{
	cfg_t *parent;

	while (sec != ctx->root && config_mark_find(ctx, sec, -1) == NULL &&
	    (parent = parent_of(ctx->root, sec)) != NULL) {
		if (config_mark_add(ctx, sec, -1, parent->line) < 0)
			return;
		sec = parent;
	}
}
