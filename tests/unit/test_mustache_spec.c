/*
 * test_mustache_spec — runs the official Mustache specification (the core
 * modules vendored in tests/data/mustache-spec/, from mustache/spec commit
 * 9cb20c3d6ed32f4b800fd9db36b0706aec485b6a) against lib/template.c.
 *
 * Usage: test_mustache_spec DIR.  Every *.json file of DIR is a module; every
 * test in it is one TAP case named "module: test name".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tap.h"
#include "template.h"

/* Give the renderer the partial NAME from the test's "partials" object. */
static const char *
spec_partial(const char *name, void *arg)
{
	return json_string_value(json_object_get(arg, name));
}

/* Print S on one diagnostic line, with its control characters escaped. */
static void
diag_string(const char *label, const char *s)
{
	char	*line;
	size_t	 n = 0;

	if (s == NULL) {
		tap_diag("%s: (null)", label);
		return;
	}
	if ((line = malloc(strlen(s) * 4 + 3)) == NULL)
		return;
	line[n++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t' || *s == '"' ||
		    *s == '\\') {
			line[n++] = '\\';
			line[n++] = *s == '\n' ? 'n' : *s == '\r' ? 'r' :
			    *s == '\t' ? 't' : *s;
		} else
			line[n++] = *s;
	}
	line[n++] = '"';
	line[n] = '\0';
	tap_diag("%s: %s", label, line);
	free(line);
}

/* Run one test of MODULE and report it. */
static void
run_test(const char *module, json_t *test)
{
	const char		*name, *tmpl, *expected;
	struct template		*tpl;
	struct template_error	 te = { 0 };
	json_t			*partials;
	char			 err[256], *got = NULL;
	int			 ok;

	name = json_string_value(json_object_get(test, "name"));
	tmpl = json_string_value(json_object_get(test, "template"));
	expected = json_string_value(json_object_get(test, "expected"));
	partials = json_object_get(test, "partials");
	if (name == NULL || tmpl == NULL || expected == NULL) {
		tap_ok(0, "%s: malformed test %s", module, name ? name : "?");
		return;
	}
	tpl = template_parse(tmpl, strlen(tmpl), &te);
	if (tpl != NULL)
		got = template_render(tpl, json_object_get(test, "data"), true,
		    spec_partial, partials, &te);
	ok = got != NULL && strcmp(got, expected) == 0;
	if (!tap_ok(ok, "%s: %s", module, name)) {
		diag_string("template", tmpl);
		diag_string("expected", expected);
		diag_string("got", got);
		if (got == NULL)
			tap_diag("error: %s", template_error_text(&te, err,
			    sizeof(err)));
	}
	free(got);
	template_free(tpl);
}

/* Select the *.json entries of the spec directory. */
static int
is_json(const struct dirent *de)
{
	size_t	 n = strlen(de->d_name);

	return n > 5 && strcmp(de->d_name + n - 5, ".json") == 0;
}

/* Run every test of every module found in argv[1]. */
int
main(int argc, char *argv[])
{
	struct dirent	**ents;
	json_error_t	  jerr;
	json_t		 *root, *tests;
	char		 *path, module[256];
	size_t		  i;
	int		  n, k;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SPEC-DIR\n", argv[0]);
		return 2;
	}
	if ((n = scandir(argv[1], &ents, is_json, alphasort)) <= 0) {
		tap_ok(0, "spec files found in %s", argv[1]);
		return tap_done();
	}
	for (k = 0; k < n; k++) {
		snprintf(module, sizeof(module), "%.*s",
		    (int)(strlen(ents[k]->d_name) - 5), ents[k]->d_name);
		if (asprintf(&path, "%s/%s", argv[1], ents[k]->d_name) == -1) {
			tap_ok(0, "%s: out of memory", module);
			free(ents[k]);
			continue;
		}
		root = json_load_file(path, 0, &jerr);
		tests = json_object_get(root, "tests");
		if (!json_is_array(tests))
			tap_ok(0, "%s: load %s: %s", module, path, root ?
			    "no tests array" : jerr.text);
		for (i = 0; i < json_array_size(tests); i++)
			run_test(module, json_array_get(tests, i));
		json_decref(root);
		free(path);
		free(ents[k]);
	}
	free(ents);
	return tap_done();
}
