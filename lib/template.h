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

/* Returns the text of the partial called NAME (NUL-terminated, owned by the
 * caller of template_render), or NULL when there is none: a missing partial
 * renders as the empty string, as the specification requires. */
typedef const char *(*template_partial_fn)(const char *name, void *arg);

/* Parse TEXT (LEN bytes).  On error returns NULL and writes "line N: why"
 * into ERR. */
struct template *template_parse(const char *text, size_t len, char *err, size_t errlen);

/* Render TPL with CTX.  HTML_ESCAPE chooses whether {{name}} escapes & < > "
 * (the HTML part) or not (the plain-text part).  Returns a malloc'ed string,
 * or NULL with the reason in ERR. */
char *template_render(const struct template *tpl, const json_t *ctx, bool html_escape,
    template_partial_fn partial, void *arg, char *err, size_t errlen);

/* Check that every name the template uses (variables and sections, dotted
 * names, inside sections against the section's context as well) resolves in
 * the sample context SAMPLE, where lists hold one representative element.
 * Returns 0, or -1 with "line N: unknown field 'x.y'" in ERR. */
int template_check(const struct template *tpl, const json_t *sample, char *err, size_t errlen);

void template_free(struct template *tpl);

#endif
