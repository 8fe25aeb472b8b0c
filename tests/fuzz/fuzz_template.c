/*
 * fuzz_template — libFuzzer target for lib/template.c: parse the input as a
 * template and, when it parses, render it in both modes against a small
 * fixed context with a few partials, and run template_check.
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

/* The fixed partials: plain, nested, self-recursive, unparsable. */
static const char *
fuzz_partial(const char *name, void *arg)
{
	(void)arg;
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
	char		 err[128], *out;

	if ((tpl = template_parse((const char *)data, size, err,
	    sizeof(err))) == NULL)
		return 0;
	if ((ctx = json_loads(fuzz_context, 0, NULL)) == NULL)
		abort();
	out = template_render(tpl, ctx, true, fuzz_partial, NULL, err,
	    sizeof(err));
	free(out);
	out = template_render(tpl, ctx, false, fuzz_partial, NULL, err,
	    sizeof(err));
	free(out);
	out = template_render(tpl, NULL, true, NULL, NULL, err, sizeof(err));
	free(out);
	(void)template_check(tpl, ctx, err, sizeof(err));
	json_decref(ctx);
	template_free(tpl);
	return 0;
}
