/*
 * fuzz_template — libFuzzer target for lib/template.c: parse the input as a
 * template and, when it parses, render it in both modes against a small
 * fixed context with a few partials, and run template_check.  What follows
 * the first NUL byte of the input, if any, is the text of partial "dyn", so
 * partials parsed at render time (standalone lines, indentation, their own
 * errors) are fuzzed too.
 *
 * The context's lists hold one element and the partials never branch, so
 * the work stays linear in the input (nested sections over longer lists
 * would make the output exponential in the nesting, which is a property of
 * Mustache, not a bug to find).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_context =
    "{\"name\": \"Dupont & <Fils>\", \"n\": 42, \"r\": 1.21, \"t\": true,"
    " \"f\": false, \"z\": null, \"e\": \"\", \"empty\": [],"
    " \"o\": {\"a\": {\"b\": \"\\\"deep\\\"\"}, \"name\": \"inner\"},"
    " \"l\": [{\"name\": \"elem\", \"l\": [\"x\"]}]}";

/* The fixed partials: plain, nested, self-recursive, unparsable; "dyn" is
 * the input's own (ARG). */
static const char *
fuzz_partial(const char *name, void *arg)
{
	if (strcmp(name, "dyn") == 0)
		return arg;
	if (strcmp(name, "p") == 0)
		return "[{{name}}]\n  {{#l}}{{.}}{{/l}}\n";
	if (strcmp(name, "q") == 0)
		return "  {{>p}}\n{{=| |=}}|o.a.b|\n";
	if (strcmp(name, "rec") == 0)
		return "x\n {{>rec}}\n";
	if (strcmp(name, "bad") == 0)
		return "{{#a}}";
	return NULL;
}

/* Parse the input and exercise everything that takes a parsed template. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template	*tpl;
	json_t		*ctx;
	const uint8_t	*cut = memchr(data, '\0', size);
	size_t		 n = cut != NULL ? (size_t)(cut - data) : size;
	struct template_error te;
	char		 err[128], *out, *dyn;

	if ((tpl = template_parse((const char *)data, n, &te)) == NULL) {
		template_error_text(&te, err, sizeof(err));
		return 0;
	}
	if ((ctx = json_loads(fuzz_context, 0, NULL)) == NULL)
		abort();
	/* NUL-terminated: what a partial callback returns.  With two
	 * partial tags "dyn" could call itself twice at each of the 32
	 * levels allowed: no more than one '>' in it keeps the work linear. */
	if ((dyn = strndup(cut != NULL ? (const char *)cut + 1 : "",
	    cut != NULL ? size - n - 1 : 0)) == NULL)
		abort();
	if (strchr(dyn, '>') != NULL && strchr(dyn, '>') != strrchr(dyn, '>'))
		dyn[0] = '\0';
	if ((out = template_render(tpl, ctx, true, fuzz_partial, dyn, &te)) == NULL)
		template_error_text(&te, err, sizeof(err));
	free(out);
	if ((out = template_render(tpl, ctx, false, fuzz_partial, dyn, &te)) == NULL)
		template_error_text(&te, err, sizeof(err));
	free(out);
	free(dyn);
	if ((out = template_render(tpl, NULL, true, NULL, NULL, &te)) == NULL)
		template_error_text(&te, err, sizeof(err));
	free(out);
	if (template_check(tpl, ctx, &te) < 0)
		template_error_text(&te, err, sizeof(err));
	json_decref(ctx);
	template_free(tpl);
	return 0;
}
