/*
 * template — Mustache templates over jansson values.
 *
 * A template is parsed once into an immutable tree and rendered many times.
 * Variables ({{name}} escaped, {{{name}}} and {{&name}} raw), dotted names,
 * the implicit iterator, sections over lists, objects and booleans, inverted
 * sections, comments, set-delimiter and partials with the standalone-line and
 * indentation rules of the official specification.
 */
#ifndef DUNNING_TEMPLATE_H
#define DUNNING_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct template;

/* What went wrong in template_parse, template_render or template_check. */
enum template_error_kind {
	TEMPLATE_ERR_NONE,
	TEMPLATE_ERR_NOMEM,
	TEMPLATE_ERR_TOO_LARGE,		/* the rendered output, over
					 * TEMPLATE_MAX_OUTPUT */
	TEMPLATE_ERR_TOO_MUCH_WORK,	/* a render over TEMPLATE_MAX_STEPS */
	TEMPLATE_ERR_UNCLOSED_TAG,
	TEMPLATE_ERR_EMPTY_TAG,
	TEMPLATE_ERR_BAD_NAME,		/* name: the tag's content */
	TEMPLATE_ERR_BAD_DELIMITERS,	/* a set-delimiter tag */
	TEMPLATE_ERR_CLOSE_UNOPENED,	/* name: the closing tag's */
	TEMPLATE_ERR_CLOSE_MISMATCH,	/* name: the closing tag's; section */
	TEMPLATE_ERR_UNCLOSED_SECTION,	/* name: the section's */
	TEMPLATE_ERR_SECTION_DEPTH,	/* sections nested too deep */
	TEMPLATE_ERR_PARTIAL_DEPTH,	/* partials nested too deep; name: the
					 * partial tag's */
	TEMPLATE_ERR_UNKNOWN_FIELD,	/* name: the dotted name, as written */
	TEMPLATE_ERR_EMPTY_SAMPLE_LIST,	/* name: the section's */
	TEMPLATE_ERR_LIST_NESTING	/* template_check: sections over lists
					 * nested more than TEMPLATE_MAX_LIST_NESTING
					 * deep; name: the innermost's */
};

/* An error, filled by the function that fails and left alone on success.
 * Names longer than the fields are cut. */
struct template_error {
	enum template_error_kind kind;
	unsigned	 line;		/* from 1; 0: none (NOMEM or TOO_LARGE
					 * while rendering) */
	char		 name[128];	/* see the kind; "" when none */
	char		 section[128];	/* CLOSE_MISMATCH: the open section */
	unsigned	 section_line;	/* and the line it opened on */
	char		 partial[128];	/* "": in the template itself; else in
					 * this partial's text (line: there) */
};

/* Returns the text of the partial called NAME (NUL-terminated, owned by the
 * caller of template_render), or NULL when there is none: a missing partial
 * renders as the empty string, as the specification requires. */
typedef const char *(*template_partial_fn)(const char *name, void *arg);

/* Parse TEXT (LEN bytes).  On error returns NULL and fills ERR (if not
 * NULL). */
struct template *template_parse(const char *text, size_t len,
    struct template_error *err);

/* Render TPL with CTX.  HTML_ESCAPE chooses whether {{name}} escapes & < > "
 * (the HTML part) or not (the plain-text part).  Returns a malloc'ed string,
 * or NULL with ERR filled (if not NULL). */
char *template_render(const struct template *tpl, const json_t *ctx, bool html_escape,
    template_partial_fn partial, void *arg, struct template_error *err);

/* Check that every name the template uses (variables and sections, dotted
 * names, inside sections against the section's context as well) resolves in
 * the sample context SAMPLE, where lists hold one representative element,
 * and that sections over lists nest at most TEMPLATE_MAX_LIST_NESTING deep
 * (their work multiplies: TEMPLATE_ERR_LIST_NESTING).
 * Returns 0, or -1 with ERR filled (if not NULL): TEMPLATE_ERR_UNKNOWN_FIELD
 * names the first field that does not resolve. */
int template_check(const struct template *tpl, const json_t *sample,
    struct template_error *err);

/* ERR as "why" alone ("unknown field 'x.y'"), into BUF; returns BUF. */
const char *template_error_why(const struct template_error *err, char *buf,
    size_t len);

/* ERR as one line of text, into BUF: "line N: why", "why" when it has no
 * line, "partial 'NAME': line N: why" when it is in a partial.  Returns
 * BUF. */
const char *template_error_text(const struct template_error *err, char *buf,
    size_t len);

void template_free(struct template *tpl);

#endif
