/*
 * template — Mustache templates parsed into the tree template_render.c
 * walks.
 *
 * template_parse builds an immutable tree (text, variables, sections,
 * partials); the standalone-line rules are applied at parse time, so the
 * renderer only walks the tree.
 *
 * Where the specification is silent: a tag name must be non-empty and hold
 * no whitespace; sections nest at most TEMPLATE_MAX_NESTING deep (an
 * error, never truncation).
 *
 * Errors are a struct template_error; template_error_text() is the one place
 * that words them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "template_int.h"

struct parser {
	const char		*s;
	size_t			 len;
	const char		*otag, *ctag;
	size_t			 olen, clen;
	size_t			 linepos;	/* line counted up to here */
	unsigned		 line;
	struct template_node	*open[TEMPLATE_MAX_NESTING + 1];
	size_t			 nopen;
	struct template_error	*err;
};

/* Fill ERR, if not NULL, with KIND at LINE about the name S (N bytes). */
void
template_fail(struct template_error *err, enum template_error_kind kind,
    unsigned line, const char *s, size_t n)
{
	if (err == NULL)
		return;
	*err = (struct template_error){ .kind = kind, .line = line };
	/* A long name is cut between characters, never inside one: the
	 * error may end up in the database (reminder.last_error). */
	if (s != NULL && n >= sizeof(err->name))
		for (n = sizeof(err->name) - 1; n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80;)
			n--;
	if (s != NULL)
		snprintf(err->name, sizeof(err->name), "%.*s", (int)n, s);
}

/* ERR's reason without its place, into BUF. */
const char *
template_error_why(const struct template_error *err, char *buf, size_t len)
{
	const char	*name = err->name;

	if (len > 0)
		buf[0] = '\0';
	switch (err->kind) {
	case TEMPLATE_ERR_NONE:
		break;
	case TEMPLATE_ERR_NOMEM:
		snprintf(buf, len, "out of memory");
		break;
	case TEMPLATE_ERR_TOO_LARGE:
		snprintf(buf, len, "output larger than %d MiB",
		    TEMPLATE_MAX_OUTPUT >> 20);
		break;
	case TEMPLATE_ERR_TOO_MUCH_WORK:
		snprintf(buf, len, "too much work: more than %d steps "
		    "(sections over lists nested in each other?)",
		    TEMPLATE_MAX_STEPS);
		break;
	case TEMPLATE_ERR_UNCLOSED_TAG:
		snprintf(buf, len, "unclosed tag");
		break;
	case TEMPLATE_ERR_EMPTY_TAG:
		snprintf(buf, len, "empty tag");
		break;
	case TEMPLATE_ERR_BAD_NAME:
		snprintf(buf, len, "invalid name '%s'", name);
		break;
	case TEMPLATE_ERR_BAD_DELIMITERS:
		snprintf(buf, len, "bad set-delimiter tag");
		break;
	case TEMPLATE_ERR_CLOSE_UNOPENED:
		snprintf(buf, len, "closing tag '%s' without an open section", name);
		break;
	case TEMPLATE_ERR_CLOSE_MISMATCH:
		snprintf(buf, len, "closing tag '%s' does not match section '%s' "
		    "opened on line %u", name, err->section, err->section_line);
		break;
	case TEMPLATE_ERR_UNCLOSED_SECTION:
		snprintf(buf, len, "section '%s' is not closed", name);
		break;
	case TEMPLATE_ERR_SECTION_DEPTH:
		snprintf(buf, len, "sections nested more than %d deep",
		    TEMPLATE_MAX_NESTING);
		break;
	case TEMPLATE_ERR_PARTIAL_DEPTH:
		snprintf(buf, len, "partials nested more than %d deep at '%s'",
		    TEMPLATE_MAX_PARTIAL_DEPTH, name);
		break;
	case TEMPLATE_ERR_UNKNOWN_FIELD:
		snprintf(buf, len, "unknown field '%s'", name);
		break;
	case TEMPLATE_ERR_LIST_NESTING:
		snprintf(buf, len, "section '%s': sections over lists nested more "
		    "than %d deep (each multiplies the work of the others)", name,
		    TEMPLATE_MAX_LIST_NESTING);
		break;
	case TEMPLATE_ERR_EMPTY_SAMPLE_LIST:
		snprintf(buf, len, "sample list '%s' is empty, cannot check its "
		    "section", name);
		break;
	}
	return buf;
}

/* ERR as "line N: why", prefixed by "partial 'NAME': " when it is in a
 * partial's text, into BUF. */
const char *
template_error_text(const struct template_error *err, char *buf, size_t len)
{
	char	 why[256], at[256];

	template_error_why(err, why, sizeof(why));
	if (err->line == 0)
		snprintf(at, sizeof(at), "%s", why);
	else
		snprintf(at, sizeof(at), "line %u: %s", err->line, why);
	if (err->partial[0] != '\0')
		snprintf(buf, len, "partial '%s': %s", err->partial, at);
	else
		snprintf(buf, len, "%s", at);
	return buf;
}

/* Return the array P of SIZE-byte items grown to hold more than N of them,
 * or NULL (P untouched) when out of memory. */
void *
template_grow(void *p, size_t *cap, size_t n, size_t size)
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
node_clear(struct template_node *nd)
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
static struct template_node *
parser_add(struct parser *p, enum template_node_kind kind, unsigned line)
{
	struct template_node	*parent = p->open[p->nopen - 1], *nd;

	if ((nd = template_grow(parent->kids, &parent->capkids, parent->nkids,
	    sizeof(*nd))) == NULL) {
		template_fail(p->err, TEMPLATE_ERR_NOMEM, line, NULL, 0);
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
		template_fail(p->err, TEMPLATE_ERR_EMPTY_TAG, line, NULL, 0);
		return -1;
	}
	for (i = *a; i < *b; i++)
		if (is_space(p->s[i]) || p->s[i] == '\0') {
			template_fail(p->err, TEMPLATE_ERR_BAD_NAME, line,
			    p->s + *a, *b - *a);
			return -1;
		}
	return 0;
}

/* Store the name S (N bytes) in ND: as written, then split on dots. */
static int
node_set_name(struct template_node *nd, const char *s, size_t n)
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
		template_fail(p->err, TEMPLATE_ERR_BAD_DELIMITERS, line, NULL, 0);
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
	struct template_node	*nd, *top;
	enum template_node_kind	 kind;

	if (type == '!')
		return 0;
	if (type == '=')
		return parser_delims(p, a, b, line);
	if (parser_name(p, &a, &b, line) == -1)
		return -1;
	if (type == '/') {
		top = p->open[p->nopen - 1];
		if (p->nopen == 1) {
			template_fail(p->err, TEMPLATE_ERR_CLOSE_UNOPENED, line,
			    p->s + a, b - a);
			return -1;
		}
		if (top->len != b - a || memcmp(top->name, p->s + a, b - a)) {
			template_fail(p->err, TEMPLATE_ERR_CLOSE_MISMATCH, line,
			    p->s + a, b - a);
			if (p->err != NULL) {
				snprintf(p->err->section, sizeof(p->err->section),
				    "%s", top->name);
				p->err->section_line = top->line;
			}
			return -1;
		}
		p->nopen--;
		return 0;
	}
	kind = type == '#' ? TEMPLATE_SECTION : type == '^' ? TEMPLATE_INVERTED :
	    type == '>' ? TEMPLATE_PARTIAL : type == 'v' ? TEMPLATE_VAR :
	    TEMPLATE_RAW;
	if ((kind == TEMPLATE_SECTION || kind == TEMPLATE_INVERTED) &&
	    p->nopen > TEMPLATE_MAX_NESTING) {
		template_fail(p->err, TEMPLATE_ERR_SECTION_DEPTH, line, NULL, 0);
		return -1;
	}
	if ((nd = parser_add(p, kind, line)) == NULL)
		return -1;
	if (node_set_name(nd, p->s + a, b - a) == -1 ||
	    (ia < ib && (nd->indent = strndup(p->s + ia, ib - ia)) == NULL)) {
		template_fail(p->err, TEMPLATE_ERR_NOMEM, line, NULL, 0);
		return -1;
	}
	if (kind == TEMPLATE_SECTION || kind == TEMPLATE_INVERTED)
		p->open[p->nopen++] = nd;
	return 0;
}

/* Append the text [A, B) of the source as a text node. */
static int
parser_text(struct parser *p, struct template *tpl, size_t a, size_t b)
{
	struct template_node	*nd;

	if (a >= b)
		return 0;
	if ((nd = parser_add(p, TEMPLATE_TEXT, parser_line(p, a))) == NULL)
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
			template_fail(p->err, TEMPLATE_ERR_UNCLOSED_TAG, line, NULL, 0);
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
		template_fail(p->err, TEMPLATE_ERR_UNCLOSED_SECTION,
		    p->open[p->nopen - 1]->line, p->open[p->nopen - 1]->name,
		    p->open[p->nopen - 1]->len);
		return -1;
	}
	return 0;
}

/* Parse TEXT into an immutable tree, or NULL with ERR filled. */
struct template *
template_parse(const char *text, size_t len, struct template_error *err)
{
	struct template	*tpl;
	struct parser	 p;

	if ((tpl = calloc(1, sizeof(*tpl))) == NULL ||
	    (tpl->src = malloc(len + 1)) == NULL) {
		free(tpl);
		template_fail(err, TEMPLATE_ERR_NOMEM, 1, NULL, 0);
		return NULL;
	}
	if (len > 0)
		memcpy(tpl->src, text, len);
	tpl->src[len] = '\0';
	p = (struct parser){ .s = tpl->src, .len = len, .otag = "{{",
	    .ctag = "}}", .olen = 2, .clen = 2, .line = 1,
	    .open = { &tpl->root }, .nopen = 1, .err = err };
	if (parser_run(&p, tpl) == -1) {
		template_free(tpl);
		return NULL;
	}
	return tpl;
}
