/*
 * template — Mustache templates over jansson values.
 *
 * template_parse builds an immutable tree (text, variables, sections,
 * partials); the standalone-line rules are applied at parse time, so the
 * renderer only walks the tree.  Partials are fetched and parsed at render
 * time, cached for the length of one render, and indented there: the
 * indentation of a standalone partial tag is emitted at the start of every
 * line the partial's text produces (not inside interpolated values).
 *
 * Where the specification is silent: false, null, "", 0, 0.0 and [] are
 * falsey (the spec's "!!data"), objects always truthy; true and false
 * interpolate as "true" and "false", objects and arrays as the empty string;
 * a tag name must be non-empty and hold no whitespace; sections nest at most
 * MAX_NESTING deep and partials MAX_PARTIAL_DEPTH deep (both errors, never
 * truncation); a partial inside an indented one gets the outer indentation
 * too.  template_check refuses a section over an empty sample list (its body
 * could not be checked) and skips partials (only render time fetches them).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define MAX_NESTING		100
#define MAX_PARTIAL_DEPTH	32

enum node_kind {
	N_TEXT,
	N_VAR,		/* {{name}}: escaped in HTML mode */
	N_RAW,		/* {{{name}}} and {{&name}} */
	N_SECTION,
	N_INVERTED,
	N_PARTIAL
};

struct node {
	enum node_kind	 kind;
	unsigned	 line;
	const char	*text;		/* N_TEXT: into template->src */
	size_t		 len;		/* N_TEXT: bytes; else name length */
	char		*name;		/* as written, then the dot-split parts */
	size_t		 nparts;	/* 0 for the implicit iterator "." */
	char		*indent;	/* N_PARTIAL standalone: its indentation */
	struct node	*kids;		/* sections: the body */
	size_t		 nkids, capkids;
};

struct template {
	char		*src;
	struct node	 root;
};

struct ctxstack {
	const json_t	**v;
	size_t		 n, cap;
};

struct parser {
	const char	*s;
	size_t		 len;
	const char	*otag, *ctag;
	size_t		 olen, clen;
	size_t		 linepos;	/* line counted up to here */
	unsigned	 line;
	struct node	*open[MAX_NESTING + 1];
	size_t		 nopen;
	char		*err;
	size_t		 errlen;
};

struct pcache {
	char		*name;
	struct template	*tpl;		/* NULL: no such partial */
};

struct indent {				/* one standalone partial's */
	const char		*s;
	const struct indent	*up;		/* the enclosing partial's */
};

struct render {
	char		*out;
	size_t		 outlen, outcap;
	struct ctxstack	 st;
	bool		 html;
	template_partial_fn pfn;
	void		*parg;
	struct pcache	*cache;
	size_t		 ncache, capcache;
	int		 depth;
	const struct indent *indent;
	bool		 bol;		/* at the start of an output line */
	bool		 failed;
	char		*err;
	size_t		 errlen;
};

/* Write a formatted message into the caller's error buffer, if any. */
__attribute__((format(printf, 3, 4)))
static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Return the array P of SIZE-byte items grown to hold more than N of them,
 * or NULL (P untouched) when out of memory. */
static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	void	*np;
	size_t	 ncap;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 8;
	if (ncap < *cap || ncap > SIZE_MAX / size)
		return NULL;
	if ((np = realloc(p, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

/* Free the contents of a node and of its descendants. */
static void
node_clear(struct node *nd)
{
	size_t	 i;

	for (i = 0; i < nd->nkids; i++)
		node_clear(&nd->kids[i]);
	free(nd->kids);
	free(nd->name);
	free(nd->indent);
}

/* Free a parsed template (NULL is fine). */
void
template_free(struct template *tpl)
{
	if (tpl == NULL)
		return;
	node_clear(&tpl->root);
	free(tpl->src);
	free(tpl);
}

/* Whether C is white space inside a tag. */
static bool
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Find PAT (M bytes) in S (N bytes), as memmem does; built on memchr so
 * that sanitizers check only the bytes read, not the whole rest each time. */
static const char *
find(const char *s, size_t n, const char *pat, size_t m)
{
	const char	*q;

	while (n >= m && (q = memchr(s, pat[0], n - m + 1)) != NULL) {
		if (memcmp(q, pat, m) == 0)
			return q;
		n -= (size_t)(q - s) + 1;
		s = q + 1;
	}
	return NULL;
}

/* The line number of source offset POS (called with growing offsets). */
static unsigned
parser_line(struct parser *p, size_t pos)
{
	for (; p->linepos < pos; p->linepos++)
		if (p->s[p->linepos] == '\n')
			p->line++;
	return p->line;
}

/* Append a node of KIND to the innermost open section; NULL if no memory. */
static struct node *
parser_add(struct parser *p, enum node_kind kind, unsigned line)
{
	struct node	*parent = p->open[p->nopen - 1], *nd;

	if ((nd = grow(parent->kids, &parent->capkids, parent->nkids,
	    sizeof(*nd))) == NULL) {
		seterr(p->err, p->errlen, "line %u: out of memory", line);
		return NULL;
	}
	parent->kids = nd;
	nd = &parent->kids[parent->nkids++];
	memset(nd, 0, sizeof(*nd));
	nd->kind = kind;
	nd->line = line;
	return nd;
}

/* Trim the tag content [*A, *B) and check that it is a usable name. */
static int
parser_name(struct parser *p, size_t *a, size_t *b, unsigned line)
{
	size_t	 i;

	while (*a < *b && is_space(p->s[*a]))
		(*a)++;
	while (*b > *a && is_space(p->s[*b - 1]))
		(*b)--;
	if (*a == *b) {
		seterr(p->err, p->errlen, "line %u: empty tag", line);
		return -1;
	}
	for (i = *a; i < *b; i++)
		if (is_space(p->s[i]) || p->s[i] == '\0') {
			seterr(p->err, p->errlen, "line %u: invalid name '%.*s'",
			    line, (int)(*b - *a), p->s + *a);
			return -1;
		}
	return 0;
}

/* Store the name S (N bytes) in ND: as written, then split on dots. */
static int
node_set_name(struct node *nd, const char *s, size_t n)
{
	char	*parts;
	size_t	 i;

	if ((nd->name = malloc(2 * n + 2)) == NULL)
		return -1;
	memcpy(nd->name, s, n);
	nd->name[n] = '\0';
	nd->len = n;
	parts = nd->name + n + 1;
	memcpy(parts, s, n);
	parts[n] = '\0';
	if (n == 1 && s[0] == '.')
		return 0;
	nd->nparts = 1;
	for (i = 0; i < n; i++)
		if (parts[i] == '.') {
			parts[i] = '\0';
			nd->nparts++;
		}
	return 0;
}

/* Find the end of a tag's content from FROM: PREFIX (or 0) then the close
 * delimiter.  Returns the offset of the content's end, or len when none. */
static size_t
parser_find_close(const struct parser *p, size_t from, char prefix)
{
	const char	*q;
	size_t		 at = from;

	while (at < p->len &&
	    (q = find(p->s + at, p->len - at, p->ctag, p->clen)) != NULL) {
		at = (size_t)(q - p->s);
		if (prefix == 0)
			return at;
		if (at > from && p->s[at - 1] == prefix)
			return at - 1;
		at++;
	}
	return p->len;
}

/* The first offset from I before B where being white space is not SPACE. */
static size_t
parser_span(const struct parser *p, size_t i, size_t b, bool space)
{
	while (i < b && is_space(p->s[i]) == space)
		i++;
	return i;
}

/* Handle a set-delimiter tag whose content is [A, B): "open close". */
static int
parser_delims(struct parser *p, size_t a, size_t b, unsigned line)
{
	size_t	 o0, o1, c0, c1;

	o0 = parser_span(p, a, b, true);
	o1 = parser_span(p, o0, b, false);
	c0 = parser_span(p, o1, b, true);
	c1 = parser_span(p, c0, b, false);
	if (o0 == o1 || c0 == c1 || parser_span(p, c1, b, true) != b) {
		seterr(p->err, p->errlen, "line %u: bad set-delimiter tag", line);
		return -1;
	}
	p->otag = p->s + o0;
	p->olen = o1 - o0;
	p->ctag = p->s + c0;
	p->clen = c1 - c0;
	return 0;
}

/* Handle the tag of TYPE with content [A, B) at LINE; INDENT is the
 * standalone indentation [IA, IB) for partials. */
static int
parser_tag(struct parser *p, char type, size_t a, size_t b, unsigned line,
    size_t ia, size_t ib)
{
	struct node	*nd, *top;
	enum node_kind	 kind;

	if (type == '!')
		return 0;
	if (type == '=')
		return parser_delims(p, a, b, line);
	if (parser_name(p, &a, &b, line) == -1)
		return -1;
	if (type == '/') {
		top = p->open[p->nopen - 1];
		if (p->nopen == 1) {
			seterr(p->err, p->errlen, "line %u: closing tag '%.*s' "
			    "without an open section", line, (int)(b - a), p->s + a);
			return -1;
		}
		if (top->len != b - a || memcmp(top->name, p->s + a, b - a)) {
			seterr(p->err, p->errlen, "line %u: closing tag '%.*s' does "
			    "not match section '%s' opened on line %u", line,
			    (int)(b - a), p->s + a, top->name, top->line);
			return -1;
		}
		p->nopen--;
		return 0;
	}
	kind = type == '#' ? N_SECTION : type == '^' ? N_INVERTED :
	    type == '>' ? N_PARTIAL : type == 'v' ? N_VAR : N_RAW;
	if ((kind == N_SECTION || kind == N_INVERTED) &&
	    p->nopen > MAX_NESTING) {
		seterr(p->err, p->errlen, "line %u: sections nested more than "
		    "%d deep", line, MAX_NESTING);
		return -1;
	}
	if ((nd = parser_add(p, kind, line)) == NULL)
		return -1;
	if (node_set_name(nd, p->s + a, b - a) == -1 ||
	    (ia < ib && (nd->indent = strndup(p->s + ia, ib - ia)) == NULL)) {
		seterr(p->err, p->errlen, "line %u: out of memory", line);
		return -1;
	}
	if (kind == N_SECTION || kind == N_INVERTED)
		p->open[p->nopen++] = nd;
	return 0;
}

/* Append the text [A, B) of the source as a text node. */
static int
parser_text(struct parser *p, struct template *tpl, size_t a, size_t b)
{
	struct node	*nd;

	if (a >= b)
		return 0;
	if ((nd = parser_add(p, N_TEXT, parser_line(p, a))) == NULL)
		return -1;
	nd->text = tpl->src + a;
	nd->len = b - a;
	return 0;
}

/* Whether the tag [TAG, AFTER) stands alone on its line; if so, set the
 * range the line's text occupies [*LS, *LE), newline included. */
static bool
parser_standalone(const struct parser *p, size_t textstart, size_t tag,
    size_t after, size_t *ls, size_t *le)
{
	size_t	 a = tag, b = after;

	while (a > textstart && (p->s[a - 1] == ' ' || p->s[a - 1] == '\t'))
		a--;
	if (a != 0 && p->s[a - 1] != '\n')
		return false;
	while (b < p->len && (p->s[b] == ' ' || p->s[b] == '\t'))
		b++;
	if (b < p->len && p->s[b] == '\n')
		b++;
	else if (b + 1 < p->len && p->s[b] == '\r' && p->s[b + 1] == '\n')
		b += 2;
	else if (b != p->len)
		return false;
	*ls = a;
	*le = b;
	return true;
}

/* Parse the whole source into TPL's tree. */
static int
parser_run(struct parser *p, struct template *tpl)
{
	const char	*q;
	size_t		 pos = 0, textstart = 0, tag, a, b, after, ls = 0, le = 0;
	unsigned	 line;
	char		 type;
	bool		 alone;

	for (;;) {
		q = find(p->s + pos, p->len - pos, p->otag, p->olen);
		if (q == NULL)
			break;
		tag = (size_t)(q - p->s);
		line = parser_line(p, tag);
		a = tag + p->olen;
		type = a < p->len ? p->s[a] : '\0';
		if (strchr("#^/>!={&", type) != NULL && type != '\0')
			a++;
		else
			type = 'v';
		b = parser_find_close(p, a, type == '{' ? '}' :
		    type == '=' ? '=' : 0);
		if (b == p->len) {
			seterr(p->err, p->errlen, "line %u: unclosed tag", line);
			return -1;
		}
		after = b + p->clen + (type == '{' || type == '=');
		alone = strchr("#^/>!=", type) != NULL &&
		    parser_standalone(p, textstart, tag, after, &ls, &le);
		if (!alone) {
			ls = tag;
			le = after;
		}
		if (parser_text(p, tpl, textstart, ls) == -1 ||
		    parser_tag(p, type, a, b, line, ls, alone ? tag : ls) == -1)
			return -1;
		pos = textstart = le;
	}
	if (parser_text(p, tpl, textstart, p->len) == -1)
		return -1;
	if (p->nopen > 1) {
		seterr(p->err, p->errlen, "line %u: section '%s' is not closed",
		    p->open[p->nopen - 1]->line, p->open[p->nopen - 1]->name);
		return -1;
	}
	return 0;
}

/* Parse TEXT into an immutable tree, or NULL with "line N: why" in ERR. */
struct template *
template_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct template	*tpl;
	struct parser	 p;

	if ((tpl = calloc(1, sizeof(*tpl))) == NULL ||
	    (tpl->src = malloc(len + 1)) == NULL) {
		free(tpl);
		seterr(err, errlen, "line 1: out of memory");
		return NULL;
	}
	if (len > 0)
		memcpy(tpl->src, text, len);
	tpl->src[len] = '\0';
	p = (struct parser){ .s = tpl->src, .len = len, .otag = "{{",
	    .ctag = "}}", .olen = 2, .clen = 2, .line = 1,
	    .open = { &tpl->root }, .nopen = 1, .err = err, .errlen = errlen };
	if (parser_run(&p, tpl) == -1) {
		template_free(tpl);
		return NULL;
	}
	return tpl;
}

/* Push V on a context stack. */
static int
stack_push(struct ctxstack *st, const json_t *v)
{
	const json_t	**nv;

	if ((nv = grow(st->v, &st->cap, st->n, sizeof(*nv))) == NULL)
		return -1;
	st->v = nv;
	st->v[st->n++] = v;
	return 0;
}

/* Resolve ND's name against the stack; NULL when it does not resolve. */
static const json_t *
lookup(const struct ctxstack *st, const struct node *nd)
{
	const json_t	*v = NULL;
	const char	*part = nd->name + nd->len + 1;
	size_t		 i;

	if (nd->nparts == 0)
		return st->n ? st->v[st->n - 1] : NULL;
	for (i = st->n; i-- > 0 && v == NULL;)
		if (json_is_object(st->v[i]))
			v = json_object_get(st->v[i], part);
	for (i = 1; i < nd->nparts && v != NULL; i++) {
		part += strlen(part) + 1;
		v = json_is_object(v) ? json_object_get(v, part) : NULL;
	}
	return v;
}

/* Whether a section over V (NULL: unresolved) would render nothing. */
static bool
falsey(const json_t *v)
{
	return v == NULL || json_is_false(v) || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_number(v) && json_number_value(v) == 0.0) ||
	    (json_is_array(v) && json_array_size(v) == 0);
}

/* Record a render failure (the first one only). */
__attribute__((format(printf, 2, 3)))
static void
render_fail(struct render *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->failed && r->err != NULL && r->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	r->failed = true;
}

/* Append N bytes to the output, which stays NUL-terminated. */
static void
render_add(struct render *r, const char *s, size_t n)
{
	size_t	 need, ncap;
	char	*np;

	if (r->failed)
		return;
	if (n > SIZE_MAX / 2 - r->outlen) {
		render_fail(r, "output too large");
		return;
	}
	if ((need = r->outlen + n + 1) > r->outcap) {
		for (ncap = r->outcap ? r->outcap : 256; ncap < need; ncap *= 2)
			;
		if ((np = realloc(r->out, ncap)) == NULL) {
			render_fail(r, "out of memory");
			return;
		}
		r->out = np;
		r->outcap = ncap;
	}
	memcpy(r->out + r->outlen, s, n);
	r->outlen += n;
	r->out[r->outlen] = '\0';
}

/* Emit the indentation IN, outermost partial's first. */
static void
render_indent_chain(struct render *r, const struct indent *in)
{
	if (in == NULL)
		return;
	render_indent_chain(r, in->up);
	render_add(r, in->s, strlen(in->s));
}

/* Emit the pending partial indentation if at the start of a line. */
static void
render_indent(struct render *r)
{
	if (r->bol)
		render_indent_chain(r, r->indent);
	r->bol = false;
}

/* Emit template text, indenting each line inside an indented partial. */
static void
render_text(struct render *r, const char *s, size_t n)
{
	const char	*nl;
	size_t		 k;

	while (n > 0) {
		render_indent(r);
		nl = memchr(s, '\n', n);
		k = nl ? (size_t)(nl - s) + 1 : n;
		render_add(r, s, k);
		r->bol = nl != NULL;
		s += k;
		n -= k;
	}
}

/* Emit a value's text, HTML-escaped when ESCAPE. */
static void
render_value(struct render *r, const json_t *v, bool escape)
{
	char		 num[40];
	const char	*s, *rep;
	size_t		 n, i, from;
	double		 d;

	render_indent(r);
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = num;
		break;
	case JSON_REAL:
		d = json_real_value(v);
		snprintf(num, sizeof(num), "%.15g", d);
		if (strtod(num, NULL) != d)
			snprintf(num, sizeof(num), "%.17g", d);
		s = num;
		n = strlen(num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
		break;
	default:
		return;
	}
	for (i = from = 0; escape && i < n; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		default: continue;
		}
		render_add(r, s + from, i - from);
		render_add(r, rep, strlen(rep));
		from = i + 1;
	}
	render_add(r, s + (escape ? from : 0), n - (escape ? from : 0));
}

/* The parsed partial NAME, fetched and parsed on first use; NULL when there
 * is none (sets r->failed on error). */
static const struct template *
render_partial_get(struct render *r, const char *name)
{
	struct pcache	*pc;
	const char	*text;
	char		 perr[256];
	size_t		 i;

	for (i = 0; i < r->ncache; i++)
		if (strcmp(r->cache[i].name, name) == 0)
			return r->cache[i].tpl;
	if ((pc = grow(r->cache, &r->capcache, r->ncache, sizeof(*pc))) == NULL) {
		render_fail(r, "out of memory");
		return NULL;
	}
	r->cache = pc;
	pc = &r->cache[r->ncache];
	pc->tpl = NULL;
	if ((pc->name = strdup(name)) == NULL) {
		render_fail(r, "out of memory");
		return NULL;
	}
	r->ncache++;
	text = r->pfn ? r->pfn(name, r->parg) : NULL;
	if (text != NULL && (pc->tpl = template_parse(text, strlen(text),
	    perr, sizeof(perr))) == NULL)
		render_fail(r, "partial '%s': %s", name, perr);
	return pc->tpl;
}

static void render_nodes(struct render *, const struct node *, size_t);

/* Render a partial tag: fetch it, indent it, render it in place. */
static void
render_partial(struct render *r, const struct node *nd)
{
	const struct template	*tpl;
	struct indent		 in = { nd->indent, r->indent };

	if (r->depth >= MAX_PARTIAL_DEPTH) {
		render_fail(r, "line %u: partials nested more than %d deep "
		    "at '%s'", nd->line, MAX_PARTIAL_DEPTH, nd->name);
		return;
	}
	if ((tpl = render_partial_get(r, nd->name)) == NULL)
		return;
	if (nd->indent != NULL) {
		r->indent = &in;
		r->bol = true;
	}
	r->depth++;
	render_nodes(r, tpl->root.kids, tpl->root.nkids);
	r->depth--;
	r->indent = in.up;
}

/* Render the body of ND once with V pushed on the context stack. */
static void
render_body(struct render *r, const struct node *nd, const json_t *v)
{
	if (stack_push(&r->st, v) == -1) {
		render_fail(r, "out of memory");
		return;
	}
	render_nodes(r, nd->kids, nd->nkids);
	r->st.n--;
}

/* Render a list of nodes. */
static void
render_nodes(struct render *r, const struct node *kids, size_t n)
{
	const struct node	*nd;
	const json_t		*v;
	size_t			 i, j;

	for (i = 0; i < n && !r->failed; i++) {
		nd = &kids[i];
		switch (nd->kind) {
		case N_TEXT:
			render_text(r, nd->text, nd->len);
			break;
		case N_VAR:
		case N_RAW:
			render_value(r, lookup(&r->st, nd),
			    nd->kind == N_VAR && r->html);
			break;
		case N_SECTION:
			v = lookup(&r->st, nd);
			if (json_is_array(v))
				for (j = 0; j < json_array_size(v); j++)
					render_body(r, nd, json_array_get(v, j));
			else if (!falsey(v))
				render_body(r, nd, v);
			break;
		case N_INVERTED:
			v = lookup(&r->st, nd);
			if (falsey(v))
				render_nodes(r, nd->kids, nd->nkids);
			break;
		case N_PARTIAL:
			render_partial(r, nd);
			break;
		}
	}
}

/* Render TPL with CTX into a malloc'ed string, or NULL with ERR set. */
char *
template_render(const struct template *tpl, const json_t *ctx, bool html_escape,
    template_partial_fn partial, void *arg, char *err, size_t errlen)
{
	struct render	 r;
	size_t		 i;

	r = (struct render){ .html = html_escape, .pfn = partial, .parg = arg,
	    .err = err, .errlen = errlen };
	if (ctx != NULL && stack_push(&r.st, ctx) == -1)
		render_fail(&r, "out of memory");
	render_add(&r, "", 0);
	if (!r.failed)
		render_nodes(&r, tpl->root.kids, tpl->root.nkids);
	for (i = 0; i < r.ncache; i++) {
		free(r.cache[i].name);
		template_free(r.cache[i].tpl);
	}
	free(r.cache);
	free(r.st.v);
	if (r.failed) {
		free(r.out);
		return NULL;
	}
	return r.out;
}

/* Check a list of nodes against the sample context stack ST. */
static int
check_nodes(const struct node *kids, size_t n, struct ctxstack *st, char *err,
    size_t errlen)
{
	const struct node	*nd;
	const json_t		*v;
	int			 rc;
	size_t			 i;

	for (i = 0; i < n; i++) {
		nd = &kids[i];
		if (nd->kind == N_TEXT || nd->kind == N_PARTIAL)
			continue;
		if ((v = lookup(st, nd)) == NULL) {
			seterr(err, errlen, "line %u: unknown field '%s'",
			    nd->line, nd->name);
			return -1;
		}
		if (nd->kind == N_INVERTED)
			rc = check_nodes(nd->kids, nd->nkids, st, err, errlen);
		else if (nd->kind != N_SECTION)
			continue;
		else if (json_is_array(v) && json_array_size(v) == 0) {
			seterr(err, errlen, "line %u: sample list '%s' is empty, "
			    "cannot check its section", nd->line, nd->name);
			return -1;
		} else {
			if (stack_push(st, json_is_array(v) ?
			    json_array_get(v, 0) : v) == -1) {
				seterr(err, errlen, "line %u: out of memory",
				    nd->line);
				return -1;
			}
			rc = check_nodes(nd->kids, nd->nkids, st, err, errlen);
			st->n--;
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Check the names TPL uses against SAMPLE; partials, fetched only at render
 * time, are not checked. */
int
template_check(const struct template *tpl, const json_t *sample, char *err,
    size_t errlen)
{
	struct ctxstack	 st = { NULL, 0, 0 };
	int		 rc;

	if (sample != NULL && stack_push(&st, sample) == -1) {
		seterr(err, errlen, "line 1: out of memory");
		return -1;
	}
	rc = check_nodes(tpl->root.kids, tpl->root.nkids, &st, err, errlen);
	free(st.v);
	return rc;
}
