/*
 * test_template — dunningd's own cases for lib/template.c, beyond the
 * official specification: the plain-text mode, template_check, parse and
 * render errors, re-rendering a shared template, and large inputs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "tap.h"
#include "template.h"

/* A sample context shaped like the one lib/message builds. */
static const char *sample_json =
    "{\"client\": {\"name\": \"Dupont & Fils <SARL>\", \"kind\": \"pro\"},"
    " \"firm\": \"Cabinet \\\"Martin\\\"\","
    " \"invoices\": [{\"number\": \"F-2026-001\", \"amount\": \"1 234,56 €\","
    "   \"days\": 12}],"
    " \"interest\": null, \"indemnity\": false, \"empty\": [],"
    " \"rate\": 1.21, \"third\": 0.30000000000000004, \"count\": 0,"
    " \"note\": \"\", \"big\": -9007199254740993}";

/* malloc or die: a test without memory has nothing to say. */
static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL) {
		perror("malloc");
		exit(2);
	}
	return p;
}

/* Give the renderer the partial NAME from the JSON object ARG. */
static const char *
partial_from(const char *name, void *arg)
{
	return json_string_value(json_object_get(arg, name));
}

/* Parse TMPL, render it with the JSON context CTX and the partials PARTIALS
 * (a JSON object text, or NULL); returns the output or NULL, ERR set to the
 * error's text. */
static char *
render(const char *tmpl, const char *ctx, bool html, const char *partials,
    char *err, size_t errlen)
{
	struct template		*tpl;
	struct template_error	 te;
	json_t			*c, *p = NULL;
	char			*out = NULL;

	c = json_loads(ctx, 0, NULL);
	if (partials != NULL)
		p = json_loads(partials, 0, NULL);
	if ((tpl = template_parse(tmpl, strlen(tmpl), &te)) == NULL ||
	    (out = template_render(tpl, c, html, partial_from, p, &te)) == NULL)
		template_error_text(&te, err, errlen);
	template_free(tpl);
	json_decref(c);
	json_decref(p);
	return out;
}

/* Check that rendering TMPL gives EXPECTED; NAME says what is checked. */
static void
expect(const char *name, const char *tmpl, const char *ctx, bool html,
    const char *partials, const char *expected)
{
	char	 err[256] = "", *got;

	got = render(tmpl, ctx, html, partials, err, sizeof(err));
	if (!tap_ok(got != NULL && strcmp(got, expected) == 0, "%s", name)) {
		tap_diag("expected: %s", expected);
		tap_diag("got: %s", got ? got : "(null)");
		tap_diag("error: %s", err);
	}
	free(got);
}

/* Check that TMPL fails to parse or render with an error starting WANT. */
static void
expect_error(const char *name, const char *tmpl, const char *partials,
    const char *want)
{
	char	 err[256] = "", *got;

	got = render(tmpl, "{\"a\": [1], \"b\": true}", true, partials, err,
	    sizeof(err));
	if (!tap_ok(got == NULL && strncmp(err, want, strlen(want)) == 0,
	    "%s", name)) {
		tap_diag("expected error: %s...", want);
		tap_diag("got error: %s", err);
		tap_diag("got output: %s", got ? got : "(null)");
	}
	free(got);
}

/* Run template_check on TMPL against the sample: WANT is NULL when it
 * should pass, else the start of the expected error. */
static void
expect_check(const char *name, const char *tmpl, const char *want)
{
	struct template		*tpl;
	struct template_error	 te;
	json_t			*sample;
	char			 err[256] = "";
	int			 rc = -2, ok;

	sample = json_loads(sample_json, 0, NULL);
	if ((tpl = template_parse(tmpl, strlen(tmpl), &te)) != NULL)
		rc = template_check(tpl, sample, &te);
	if (tpl == NULL || rc != 0)
		template_error_text(&te, err, sizeof(err));
	if (want == NULL)
		ok = rc == 0;
	else
		ok = rc == -1 && strcmp(err, want) == 0;
	if (!tap_ok(ok, "%s", name)) {
		tap_diag("expected: %s", want ? want : "accepted");
		tap_diag("got: rc %d, %s", rc, err);
	}
	template_free(tpl);
	json_decref(sample);
}

/* Plain-text and HTML modes, and how values are written. */
static void
test_modes(void)
{
	expect("plain text leaves & < > \" as is", "{{client.name}} {{firm}}",
	    sample_json, false, NULL, "Dupont & Fils <SARL> Cabinet \"Martin\"");
	expect("html escapes & < > \"", "{{client.name}} {{firm}}",
	    sample_json, true, NULL,
	    "Dupont &amp; Fils &lt;SARL&gt; Cabinet &quot;Martin&quot;");
	expect("html: triple mustache and & stay raw", "{{{firm}}}{{&firm}}",
	    sample_json, true, NULL, "Cabinet \"Martin\"Cabinet \"Martin\"");
	expect("utf-8 passes through", "{{#invoices}}{{amount}}{{/invoices}}",
	    sample_json, true, NULL, "1 234,56 €");
	expect("reals print shortest round trip", "{{rate}} {{third}}",
	    sample_json, false, NULL, "1.21 0.30000000000000004");
	expect("integers print as integers", "{{count}} {{big}}",
	    sample_json, false, NULL, "0 -9007199254740993");
	expect("null renders empty, booleans as words",
	    "[{{interest}}][{{indemnity}}]", sample_json, false, NULL,
	    "[][false]");
	expect("\"\" and 0 are falsey",
	    "{{^note}}no note{{/note}} {{#count}}x{{/count}}{{^count}}zero{{/count}}",
	    sample_json, false, NULL, "no note zero");
	expect("empty object is truthy", "{{#o}}yes{{/o}}", "{\"o\": {}}", false,
	    NULL, "yes");
	expect("objects and lists interpolate as empty", "[{{client}}][{{invoices}}]",
	    sample_json, false, NULL, "[][]");
	expect("empty template", "", "{}", true, NULL, "");
	expect("NULL context", "a{{b}}c{{#d}}x{{/d}}", "null", true, NULL, "ac");
}

/* template_check against a sample context. */
static void
test_check(void)
{
	expect_check("check accepts known names",
	    "Bonjour {{client.name}},\n{{#invoices}}{{number}} {{amount}}\n"
	    "{{/invoices}}{{firm}}\n", NULL);
	expect_check("check rejects a missing field with its line",
	    "Bonjour,\n\n{{clent}}\n", "line 3: unknown field 'clent'");
	expect_check("check catches a typo inside a section over a list",
	    "x\n{{#invoices}}{{numbr}}{{/invoices}}",
	    "line 2: unknown field 'numbr'");
	expect_check("check accepts a name of the list element",
	    "{{#invoices}}{{number}}{{/invoices}}", NULL);
	expect_check("check reports the inner tag's line",
	    "{{#invoices}}\n  {{number}}\n  {{days}}\n  {{dayz}}\n{{/invoices}}\n",
	    "line 4: unknown field 'dayz'");
	/* Issue 17: lists in lists multiply; three deep is the most. */
	expect_check("check accepts lists nested three deep",
	    "{{#invoices}}{{#invoices}}{{#invoices}}{{number}}"
	    "{{/invoices}}{{/invoices}}{{/invoices}}", NULL);
	expect_check("check refuses lists nested four deep, naming the section",
	    "{{#invoices}}{{#invoices}}\n{{#invoices}}{{#client}}{{#invoices}}x"
	    "{{/invoices}}{{/client}}{{/invoices}}{{/invoices}}{{/invoices}}",
	    "line 2: section 'invoices': sections over lists nested more than 3 deep "
	    "(each multiplies the work of the others)");
	expect_check("check accepts dotted names", "{{client.kind}}", NULL);
	expect_check("check rejects a dotted name's missing part",
	    "{{client.kind}}\n{{client.nme}}", "line 2: unknown field 'client.nme'");
	expect_check("check rejects a dotted name's missing head",
	    "{{clients.name}}", "line 1: unknown field 'clients.name'");
	expect_check("check rejects a dotted name through a scalar",
	    "{{firm.name}}", "line 1: unknown field 'firm.name'");
	expect_check("check accepts names from an outer context",
	    "{{#invoices}}{{firm}} {{client.name}} {{number}}{{/invoices}}", NULL);
	expect_check("check accepts an inverted section and its body",
	    "{{^interest}}{{firm}}{{/interest}}", NULL);
	expect_check("check rejects an inverted section's unknown name",
	    "{{^intrest}}x{{/intrest}}", "line 1: unknown field 'intrest'");
	expect_check("check rejects a missing name inside an inverted section",
	    "{{^indemnity}}\n{{frim}}\n{{/indemnity}}",
	    "line 2: unknown field 'frim'");
	expect_check("check walks sections over false and null",
	    "{{#indemnity}}{{firm}}{{/indemnity}}{{#interest}}{{x}}{{/interest}}",
	    "line 1: unknown field 'x'");
	expect_check("check rejects an unknown section name",
	    "{{#invoice}}{{number}}{{/invoice}}",
	    "line 1: unknown field 'invoice'");
	expect_check("check: section over an object",
	    "{{#client}}{{name}}{{kind}}{{firm}}{{/client}}", NULL);
	expect_check("check accepts the implicit iterator", "{{.}}{{#.}}{{/.}}",
	    NULL);
	expect_check("check refuses a section over an empty sample list",
	    "{{#empty}}{{x}}{{/empty}}",
	    "line 1: sample list 'empty' is empty, cannot check its section");
	expect_check("check accepts an inverted section over an empty list",
	    "{{^empty}}none{{/empty}}", NULL);
	expect_check("check skips partials and comments",
	    "{{> footer}}{{! {{nothing}} }}", NULL);
	expect_check("check after set-delimiter", "{{=<% %>=}}\n<% nope %>",
	    "line 2: unknown field 'nope'");
}

/* Parse and render errors. */
static void
test_errors(void)
{
	expect_error("unclosed section", "a\n{{#a}}\nb\n", NULL,
	    "line 2: section 'a' is not closed");
	expect_error("unclosed inner section", "{{#a}}\n{{^b}}\n{{/a}}", NULL,
	    "line 3: closing tag 'a' does not match section 'b' opened on line 2");
	expect_error("mismatched close tag", "x\n\n{{#a}}{{/b}}", NULL,
	    "line 3: closing tag 'b' does not match");
	expect_error("close without open", "{{/a}}", NULL,
	    "line 1: closing tag 'a' without an open section");
	expect_error("unclosed tag", "a\nb {{c\n", NULL, "line 2: unclosed tag");
	expect_error("unclosed triple mustache", "{{{c}}", NULL,
	    "line 1: unclosed tag");
	expect_error("unclosed comment", "\n\n{{! note", NULL,
	    "line 3: unclosed tag");
	expect_error("empty tag", "{{ }}", NULL, "line 1: empty tag");
	expect_error("name with a space", "{{a b}}", NULL,
	    "line 1: invalid name 'a b'");
	expect_error("bad set-delimiter", "{{=<%=}}", NULL,
	    "line 1: bad set-delimiter tag");
	expect_error("infinite partial recursion", "{{>loop}}",
	    "{\"loop\": \"x{{>loop}}\"}", "line 1: partials nested more than 32");
	expect_error("partial parse error", "{{>bad}}",
	    "{\"bad\": \"ok\\n{{#x}}\"}", "partial 'bad': line 2: section 'x'");
	expect("missing partial renders empty", "[{{>nope}}]", "{}", true, "{}",
	    "[]");
}

/* Partials: indentation of nested partials and data-bounded recursion. */
static void
test_partials(void)
{
	expect("standalone partial indents each line of nested partials",
	    "<ul>\n  {{>items}}\n</ul>\n", "{\"l\": [\"a\", \"b\"]}", false,
	    "{\"items\": \"{{#l}}\\n<li>\\n  {{>item}}\\n</li>\\n{{/l}}\\n\","
	    " \"item\": \"{{.}}\\n{{.}}\\n\"}",
	    "<ul>\n  <li>\n    a\n    a\n  </li>\n  <li>\n    b\n    b\n  </li>\n</ul>\n");
	expect("indentation not applied inside interpolated values",
	    "  {{>p}}\n", "{\"v\": \"1\\n2\"}", false, "{\"p\": \"[{{v}}]\\n\"}",
	    "  [1\n2]\n");
	expect("partial without a callback renders empty", "a{{>p}}b", "{}",
	    true, NULL, "ab");
}

/* The same parsed template, rendered twice and in both modes. */
static void
test_reuse(void)
{
	const char	*t = "{{#invoices}}\n  {{>line}}\n{{/invoices}}{{client.name}}";
	struct template	*tpl;
	json_t		*ctx, *parts;
	char		*a, *b, *c;

	ctx = json_loads(sample_json, 0, NULL);
	parts = json_loads("{\"line\": \"{{number}}: {{amount}}\\n\"}", 0, NULL);
	tpl = template_parse(t, strlen(t), NULL);
	a = tpl ? template_render(tpl, ctx, true, partial_from, parts, NULL) : NULL;
	c = tpl ? template_render(tpl, ctx, false, partial_from, parts, NULL) : NULL;
	b = tpl ? template_render(tpl, ctx, true, partial_from, parts, NULL) : NULL;
	tap_ok(a != NULL && b != NULL && strcmp(a, b) == 0 &&
	    strcmp(a, "  F-2026-001: 1 234,56 €\nDupont &amp; Fils &lt;SARL&gt;") == 0,
	    "rendering a parsed template twice gives the same output");
	tap_ok(c != NULL && strcmp(c, "  F-2026-001: 1 234,56 €\nDupont & Fils <SARL>") == 0,
	    "the same template renders in plain-text mode in between");
	free(a);
	free(b);
	free(c);
	template_free(tpl);
	json_decref(ctx);
	json_decref(parts);
}

/* Deep nesting and large inputs fail cleanly or render, never crash. */
static void
test_large(void)
{
	struct template		*tpl;
	struct template_error	 te;
	json_t			*ctx;
	const char		*delims = "{{=<<<<<<<<<<<<<<<< >>>>>>>>>>>>>>>>=}}"
				    "<<<<<<<<<<<<<<<<v>>>>>>>>>>>>>>>>";
	char			*t, *out, err[256] = "";
	size_t		 i, n, len;

	/* 100 levels: the limit, renders. */
	n = 100;
	t = xmalloc(n * 14 + 2);
	len = 0;
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(t + len, "{{#a}}");
	t[len++] = 'x';
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(t + len, "{{/a}}");
	ctx = json_loads("{\"a\": true}", 0, NULL);
	tpl = template_parse(t, len, NULL);
	out = tpl ? template_render(tpl, ctx, true, NULL, NULL, NULL) : NULL;
	tap_ok(out != NULL && strcmp(out, "x") == 0, "100 nested sections render");
	free(out);
	template_free(tpl);
	free(t);

	/* 200 000 levels: a parse error, not a stack overflow. */
	n = 200000;
	t = xmalloc(n * 6 + 1);
	for (i = 0; i < n; i++)
		memcpy(t + i * 6, "{{#a}}", 6);
	if ((tpl = template_parse(t, n * 6, &te)) == NULL)
		template_error_text(&te, err, sizeof(err));
	tap_ok(tpl == NULL && te.kind == TEMPLATE_ERR_SECTION_DEPTH &&
	    te.line == 1 && strncmp(err, "line 1: sections nested more than",
	    33) == 0, "200000 nested sections: error '%s'", err);
	template_free(tpl);
	free(t);

	/* A 4 MB template of 400 000 tags and text. */
	n = 400000;
	t = xmalloc(n * 11 + 1);
	for (i = 0; i < n; i++)
		memcpy(t + i * 11, i % 2 ? "{{/a}}\n    " : "{{#a}}{{.}}", 11);
	tpl = template_parse(t, n * 11, NULL);
	out = tpl ? template_render(tpl, ctx, true, NULL, NULL, NULL) : NULL;
	tap_ok(out != NULL && strlen(out) == n / 2 * 9,
	    "4 MB template with 200000 sections renders (%zu bytes)",
	    out ? strlen(out) : 0);
	free(out);
	template_free(tpl);
	free(t);
	json_decref(ctx);

	/* A long value and a long set of delimiters. */
	n = 1 << 20;
	t = xmalloc(n + 1);
	memset(t, 'v', n);
	t[n] = '\0';
	ctx = json_pack("{s:s}", "v", t);
	tpl = template_parse(delims, strlen(delims), NULL);
	out = tpl ? template_render(tpl, ctx, false, NULL, NULL, NULL) : NULL;
	tap_ok(out != NULL && strcmp(out, t) == 0,
	    "a 1 MB value through long delimiters");
	free(out);
	template_free(tpl);
	json_decref(ctx);
	free(t);
}

/* 10 to the power D. */
static long
pow10i(int d)
{
	long	 v = 1;

	while (d-- > 0)
		v *= 10;
	return v;
}

/* A render that does not end: say so and stop, rather than let the test
 * harness wait for its timeout. */
static void
on_alarm(int sig)
{
	static const char msg[] = "not ok - a render still running after 20 s\n"
	    "Bail out! template_render has no work cap\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* Seconds since T0 on the monotonic clock. */
static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* D sections over the list "l" nested in each other around BODY. */
static char *
nested(int d, const char *body)
{
	char	*t = xmalloc((size_t)d * 12 + strlen(body) + 1);
	size_t	 len = 0;

	for (int i = 0; i < d; i++)
		len += (size_t)sprintf(t + len, "{{#l}}");
	len += (size_t)sprintf(t + len, "%s", body);
	for (int i = 0; i < d; i++)
		len += (size_t)sprintf(t + len, "{{/l}}");
	return t;
}

/* The work of one render is capped (issue 17): sections over a list nested
 * in each other multiply (10 elements, D deep: 10^D bodies); an operator's
 * template that would render for ever, or fill the memory, is refused at
 * render time with an error, after a bounded time. */
static void
test_work_cap(void)
{
	const char	*ten = "{\"l\": [1,2,3,4,5,6,7,8,9,10], \"v\": \"\"}";
	struct template	*tpl;
	struct template_error te;
	struct timespec	 t0;
	json_t		*ctx = json_loads(ten, 0, NULL), *big;
	char		*t, *out, err[256] = "", *mb;
	double		 s;

	signal(SIGALRM, on_alarm);
	alarm(20);
	/* The growth: 10^D bytes out; 6 deep (a million) is still a render. */
	for (int d = 1; d <= 6; d++) {
		t = nested(d, "x");
		tpl = template_parse(t, strlen(t), NULL);
		out = tpl ? template_render(tpl, ctx, false, NULL, NULL, &te) : NULL;
		tap_ok(out != NULL && strlen(out) == (size_t)pow10i(d),
		    "%d list sections nested: %zu bytes", d, out ? strlen(out) : 0);
		free(out);
		template_free(tpl);
		free(t);
	}
	/* 30 deep with an empty body: 10^30 passes, nothing written. */
	t = nested(30, "{{v}}");
	tpl = template_parse(t, strlen(t), NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = tpl ? template_render(tpl, ctx, false, NULL, NULL, &te) : NULL;
	s = since(&t0);
	if (out == NULL)
		template_error_text(&te, err, sizeof(err));
	tap_ok(tpl != NULL && out == NULL && te.kind == TEMPLATE_ERR_TOO_MUCH_WORK &&
	    strstr(err, "too much work") != NULL && s < 5,
	    "30 list sections nested: refused in %.2f s: '%s'", s, err);
	free(out);
	template_free(tpl);
	free(t);

	/* The same through a partial: 4 deep around a partial 4 deep. */
	t = nested(4, "{{>p}}");
	mb = nested(4, "");
	tpl = template_parse(t, strlen(t), NULL);
	big = json_pack("{s:s}", "p", mb);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = tpl ? template_render(tpl, ctx, false, partial_from, big, &te) : NULL;
	s = since(&t0);
	tap_ok(out == NULL && te.kind == TEMPLATE_ERR_TOO_MUCH_WORK && s < 5,
	    "lists nested through a partial: refused in %.2f s", s);
	free(out);
	template_free(tpl);
	json_decref(big);
	free(mb);
	free(t);
	json_decref(ctx);

	/* Few steps, much output: a 1 MB value 40 times. */
	mb = xmalloc((1 << 20) + 1);
	memset(mb, 'v', 1 << 20);
	mb[1 << 20] = '\0';
	ctx = json_pack("{s:s, s:[iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii]}", "v", mb, "l",
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	t = nested(1, "{{v}}");
	tpl = template_parse(t, strlen(t), NULL);
	out = tpl ? template_render(tpl, ctx, false, NULL, NULL, &te) : NULL;
	if (out == NULL)
		template_error_text(&te, err, sizeof(err));
	tap_ok(out == NULL && te.kind == TEMPLATE_ERR_TOO_LARGE &&
	    strstr(err, "output larger than") != NULL, "40 MB of output: refused: '%s'", err);
	free(out);
	template_free(tpl);
	free(t);
	free(mb);
	json_decref(ctx);
	alarm(0);
}

/* Run every group. */
int
main(void)
{
	test_modes();
	test_check();
	test_errors();
	test_partials();
	test_reuse();
	test_large();
	test_work_cap();
	return tap_done();
}
