/*
 * template_render — a parsed template walked against a context: rendered,
 * or its names checked against a sample (template_check).
 *
 * Partials are fetched and parsed at render time, cached for the length of
 * one render, and indented there: the indentation of a standalone partial
 * tag is emitted at the start of every line the partial's text produces
 * (not inside interpolated values).
 *
 * Where the specification is silent: false, null, "", 0, 0.0 and [] are
 * falsey (the spec's "!!data"), objects always truthy; true and false
 * interpolate as "true" and "false", objects and arrays as the empty string;
 * partials nest at most TEMPLATE_MAX_PARTIAL_DEPTH deep (an error, never
 * truncation); a partial inside an indented one gets the outer indentation
 * too.  template_check refuses a section over an empty sample list (its body
 * could not be checked) and skips partials (only render time fetches them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "template_int.h"

struct ctxstack {
	const json_t	**v;
	size_t		 n, cap;
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
	size_t		 steps;		/* nodes visited, capped */
	const struct indent *indent;
	bool		 bol;		/* at the start of an output line */
	bool		 failed;
	struct template_error *err;
};

/* Push V on a context stack. */
static int
stack_push(struct ctxstack *st, const json_t *v)
{
	const json_t	**nv;

	if ((nv = template_grow(st->v, &st->cap, st->n, sizeof(*nv))) == NULL)
		return -1;
	st->v = nv;
	st->v[st->n++] = v;
	return 0;
}

/* Resolve ND's name against the stack; NULL when it does not resolve. */
static const json_t *
lookup(const struct ctxstack *st, const struct template_node *nd)
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

/* Record a render failure of KIND at LINE about NAME (the first one
 * only). */
static void
render_fail(struct render *r, enum template_error_kind kind, unsigned line,
    const char *name)
{
	if (!r->failed)
		template_fail(r->err, kind, line, name, name ? strlen(name) : 0);
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
	if (n > TEMPLATE_MAX_OUTPUT - r->outlen) {
		render_fail(r, TEMPLATE_ERR_TOO_LARGE, 0, NULL);
		return;
	}
	if ((need = r->outlen + n + 1) > r->outcap) {
		for (ncap = r->outcap ? r->outcap : 256; ncap < need; ncap *= 2)
			;
		if ((np = realloc(r->out, ncap)) == NULL) {
			render_fail(r, TEMPLATE_ERR_NOMEM, 0, NULL);
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
	size_t		 i;

	for (i = 0; i < r->ncache; i++)
		if (strcmp(r->cache[i].name, name) == 0)
			return r->cache[i].tpl;
	if ((pc = template_grow(r->cache, &r->capcache, r->ncache, sizeof(*pc))) == NULL) {
		render_fail(r, TEMPLATE_ERR_NOMEM, 0, NULL);
		return NULL;
	}
	r->cache = pc;
	pc = &r->cache[r->ncache];
	pc->tpl = NULL;
	if ((pc->name = strdup(name)) == NULL) {
		render_fail(r, TEMPLATE_ERR_NOMEM, 0, NULL);
		return NULL;
	}
	r->ncache++;
	text = r->pfn ? r->pfn(name, r->parg) : NULL;
	if (text != NULL && (pc->tpl = template_parse(text, strlen(text),
	    r->failed ? NULL : r->err)) == NULL) {
		if (!r->failed && r->err != NULL)
			snprintf(r->err->partial, sizeof(r->err->partial), "%s",
			    name);
		r->failed = true;
	}
	return pc->tpl;
}

static void render_nodes(struct render *, const struct template_node *,
    size_t);

/* Render a partial tag: fetch it, indent it, render it in place. */
static void
render_partial(struct render *r, const struct template_node *nd)
{
	const struct template	*tpl;
	struct indent		 in = { nd->indent, r->indent };

	if (r->depth >= TEMPLATE_MAX_PARTIAL_DEPTH) {
		render_fail(r, TEMPLATE_ERR_PARTIAL_DEPTH, nd->line, nd->name);
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
render_body(struct render *r, const struct template_node *nd, const json_t *v)
{
	if (stack_push(&r->st, v) == -1) {
		render_fail(r, TEMPLATE_ERR_NOMEM, 0, NULL);
		return;
	}
	render_nodes(r, nd->kids, nd->nkids);
	r->st.n--;
}

/* Render a list of nodes. */
static void
render_nodes(struct render *r, const struct template_node *kids, size_t n)
{
	const struct template_node	*nd;
	const json_t			*v;
	size_t				 i, j;

	for (i = 0; i < n && !r->failed; i++) {
		nd = &kids[i];
		if (++r->steps > TEMPLATE_MAX_STEPS) {
			render_fail(r, TEMPLATE_ERR_TOO_MUCH_WORK, nd->line, NULL);
			return;
		}
		switch (nd->kind) {
		case TEMPLATE_TEXT:
			render_text(r, nd->text, nd->len);
			break;
		case TEMPLATE_VAR:
		case TEMPLATE_RAW:
			render_value(r, lookup(&r->st, nd),
			    nd->kind == TEMPLATE_VAR && r->html);
			break;
		case TEMPLATE_SECTION:
			v = lookup(&r->st, nd);
			/* An iteration is a step even over an empty body. */
			if (json_is_array(v))
				for (j = 0; j < json_array_size(v) && !r->failed; j++)
					if (++r->steps > TEMPLATE_MAX_STEPS)
						render_fail(r, TEMPLATE_ERR_TOO_MUCH_WORK,
						    nd->line, nd->name);
					else
						render_body(r, nd, json_array_get(v, j));
			else if (!falsey(v))
				render_body(r, nd, v);
			break;
		case TEMPLATE_INVERTED:
			v = lookup(&r->st, nd);
			if (falsey(v))
				render_nodes(r, nd->kids, nd->nkids);
			break;
		case TEMPLATE_PARTIAL:
			render_partial(r, nd);
			break;
		}
	}
}

/* Render TPL with CTX into a malloc'ed string, or NULL with ERR filled. */
char *
template_render(const struct template *tpl, const json_t *ctx, bool html_escape,
    template_partial_fn partial, void *arg, struct template_error *err)
{
	struct render	 r;
	size_t		 i;

	r = (struct render){ .html = html_escape, .pfn = partial, .parg = arg,
	    .err = err };
	if (ctx != NULL && stack_push(&r.st, ctx) == -1)
		render_fail(&r, TEMPLATE_ERR_NOMEM, 0, NULL);
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

/* Check a list of nodes against the sample context stack ST, LISTS sections
 * over lists deep. */
static int
check_nodes(const struct template_node *kids, size_t n, struct ctxstack *st,
    int lists, struct template_error *err)
{
	const struct template_node	*nd;
	const json_t			*v;
	int				 rc;
	size_t				 i;

	for (i = 0; i < n; i++) {
		nd = &kids[i];
		if (nd->kind == TEMPLATE_TEXT || nd->kind == TEMPLATE_PARTIAL)
			continue;
		if ((v = lookup(st, nd)) == NULL) {
			template_fail(err, TEMPLATE_ERR_UNKNOWN_FIELD, nd->line,
			    nd->name, nd->len);
			return -1;
		}
		if (nd->kind == TEMPLATE_INVERTED)
			rc = check_nodes(nd->kids, nd->nkids, st, lists, err);
		else if (nd->kind != TEMPLATE_SECTION)
			continue;
		else if (json_is_array(v) && json_array_size(v) == 0) {
			template_fail(err, TEMPLATE_ERR_EMPTY_SAMPLE_LIST,
			    nd->line, nd->name, nd->len);
			return -1;
		} else if (json_is_array(v) && lists >= TEMPLATE_MAX_LIST_NESTING) {
			template_fail(err, TEMPLATE_ERR_LIST_NESTING, nd->line,
			    nd->name, nd->len);
			return -1;
		} else {
			if (stack_push(st, json_is_array(v) ?
			    json_array_get(v, 0) : v) == -1) {
				template_fail(err, TEMPLATE_ERR_NOMEM, nd->line,
				    NULL, 0);
				return -1;
			}
			rc = check_nodes(nd->kids, nd->nkids, st,
			    lists + json_is_array(v), err);
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
template_check(const struct template *tpl, const json_t *sample,
    struct template_error *err)
{
	struct ctxstack	 st = { NULL, 0, 0 };
	int		 rc;

	if (sample != NULL && stack_push(&st, sample) == -1) {
		template_fail(err, TEMPLATE_ERR_NOMEM, 1, NULL, 0);
		return -1;
	}
	rc = check_nodes(tpl->root.kids, tpl->root.nkids, &st, 0, err);
	free(st.v);
	return rc;
}
