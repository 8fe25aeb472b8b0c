/*
 * test_config_checks — every validation rule of config_load(), on the
 * fixtures of tests/unit/config/ and on inline texts: the refusal and the
 * line it must name.
 *
 * Usage: test_config_checks FIXTURES_DIR
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_test.h"
#include "tap.h"

/* Is there an error on LINE (0: without a line) containing TEXT? */
static bool
has_error(const struct config_diag *d, int line, const char *text)
{
	char tag[32];

	snprintf(tag, sizeof(tag), ".conf:%d: ", line);
	for (size_t i = 0; i < d->nerrors; i++) {
		const char *e = d->errors[i];

		if (line > 0 && strstr(e, tag) == NULL)
			continue;
		if (line == 0 && strstr(e, ".conf: ") == NULL)
			continue;
		if (strstr(e, text) != NULL)
			return true;
	}
	return false;
}

/* One TAP case: an error on LINE mentioning TEXT. */
static void
expect(const struct config_diag *d, int line, const char *text)
{
	if (!tap_ok(has_error(d, line, text), "line %d: %s", line, text))
		dump(d);
}

/* One TAP case: exactly N errors, and the load failed. */
static void
expect_count(const struct config *c, const struct config_diag *d, size_t n, const char *name)
{
	if (!tap_ok(c == NULL && d->nerrors == n, "%s: refused with %zu errors", name, n)) {
		tap_diag("got %zu errors, config %p", d->nerrors, (const void *)c);
		dump(d);
	}
}

/* Are the errors in line order? */
static bool
sorted_by_line(const struct config_diag *d)
{
	int prev = 0;

	for (size_t i = 0; i < d->nerrors; i++) {
		const char *p = strstr(d->errors[i], ".conf:");
		int line = p ? atoi(p + 6) : 0;

		if (line < prev)
			return false;
		prev = line;
	}
	return true;
}

/* Per-value errors, all reported at once, each on its line. */
static void
test_errors(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("errors.conf", &d);

	expect_count(c, &d, 25, "errors.conf");
	tap_ok(sorted_by_line(&d), "errors.conf: errors sorted by line");
	expect(&d, 3, "port 70000 is too large: write a port from 1 to 65535");
	expect(&d, 4, "tls \"ssl\" is unknown");
	expect(&d, 5, "passwords do not belong in this file: use password_file or the "
	    "systemd credential smtp_password");
	expect(&d, 6, "from is empty");
	expect(&d, 7, "reply_to \"not an address\" is not an address");
	expect(&d, 11, "window_start \"9h\" is not a time: write HH:MM");
	expect(&d, 12, "poll_interval 0 is too small");
	expect(&d, 13, "min_gap_days -1 is negative");
	expect(&d, 14, "payment_grace_hours -2 is negative");
	expect(&d, 15, "business_days_only \"maybe\" is not a boolean");
	expect(&d, 19, "threshold \"eur\": write the currency as three upper-case letters");
	expect(&d, 20, "amount -5 is negative");
	expect(&d, 21, "amount \"1e3\" is not an amount");
	expect(&d, 23, "offset_days 0 is too small");
	expect(&d, 23, "channel \"sms\" is unknown: write \"email\" or \"letter\"");
	expect(&d, 24, "stage \"J10\" has an invalid name");
	expect(&d, 25, "template \"../j30\" is not a template name");
	expect(&d, 27, "after_days -1 is negative");
	expect(&d, 27, "dispute_reminder_days 4000 is too large");
	expect(&d, 29, "multiplier 0 is too small");
	expect(&d, 30, "legal_rate \"2026-S1\": write the half-year as YYYY-H1 or YYYY-H2");
	expect(&d, 31, "other_cases -1 is negative");
	expect(&d, 31, "individual_creditor 101 is too large");
	expect(&d, 34, "years 0 is too small");
	expect(&d, 35, "name contains a line break");
	config_diag_free(&d);
}

/* The smtp retry keys: each out-of-range value on its line, the bounds
 * themselves accepted, and a cap below the first wait refused. */
static void
test_retry(void)
{
	static const struct {
		const char *key;
		long value;
		const char *error;	/* NULL: accepted */
	} cases[] = {
		{ "retry_base", 0, "retry_base 0 is too small: write 1 to 86400 (seconds)" },
		{ "retry_base", 1, NULL },
		{ "retry_base", 86400, "retry_max 7200 is less than retry_base 86400" },
		{ "retry_base", 86401, "retry_base 86401 is too large: write 1 to 86400" },
		{ "retry_max", 0, "retry_max 0 is too small" },
		{ "retry_max", 300, NULL },
		{ "retry_max", 299, "retry_max 299 is less than retry_base 300" },
		{ "retry_max", 604800, NULL },
		{ "retry_max", 604801, "retry_max 604801 is too large: write 1 to 604800" },
		{ "max_attempts", -1, "max_attempts -1 is negative: write 0 to 1000" },
		{ "max_attempts", 0, NULL },
		{ "max_attempts", 1000, NULL },
		{ "max_attempts", 1001, "max_attempts 1001 is too large" },
		{ "messages_per_session", 0, "messages_per_session 0 is too small: write 1 to 1000" },
		{ "messages_per_session", 1, NULL },
		{ "messages_per_session", 1000, NULL },
		{ "messages_per_session", 1001, "messages_per_session 1001 is too large" },
	};
	struct config_diag d = { 0 };
	struct config *c = load_fixture("retry.conf", &d);

	expect_count(c, &d, 4, "retry.conf");
	expect(&d, 3, "retry_base 0 is too small: write 1 to 86400 (seconds)");
	expect(&d, 4, "retry_max 604801 is too large: write 1 to 604800 (seconds), at least "
	    "retry_base");
	expect(&d, 5, "max_attempts -1 is negative: write 0 to 1000 (0: never give up)");
	expect(&d, 6, "messages_per_session 1001 is too large: write 1 to 1000");
	config_diag_free(&d);

	c = load_fixture("retry_cross.conf", &d);
	expect_count(c, &d, 1, "retry_cross.conf");
	expect(&d, 5, "retry_max 600 is less than retry_base 900");
	config_diag_free(&d);

	/* a value refused for its range is not compared with the other key */
	c = load_text("smtp {\n  retry_base = 300\n  retry_max = 0\n}\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	expect_count(c, &d, 1, "retry_max 0");
	expect(&d, 3, "retry_max 0 is too small");
	config_diag_free(&d);
	c = load_text("smtp {\n  retry_base = 600\n  retry_max = 600\n}\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	if (!tap_ok(c != NULL && c->smtp.retry_base == 600 && c->smtp.retry_max == 600,
	    "retry_max equal to retry_base is accepted"))
		dump(&d);
	config_free(c);
	config_diag_free(&d);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "\nsmtp {\n  %s = %ld\n}\n"
		    "templates { dir = \"@TPL@\" }\n", cases[i].key, cases[i].value);
		c = load_text(text, &d);
		if (cases[i].error == NULL) {
			if (!tap_ok(c != NULL && d.nerrors == 0, "%s = %ld: accepted", cases[i].key,
			    cases[i].value))
				dump(&d);
		} else if (!tap_ok(c == NULL && d.nerrors == 1 && has_error(&d, 3, cases[i].error),
		    "%s = %ld: refused on line 3", cases[i].key, cases[i].value)) {
			dump(&d);
		}
		config_free(c);
		config_diag_free(&d);
	}
}

/* Problems that span keys name the later key, or its section. */
static void
test_cross(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("cross.conf", &d);

	expect_count(c, &d, 6, "cross.conf");
	expect(&d, 4, "tls = \"none\" would send mail in clear to \"mail.example.com\"");
	expect(&d, 8, "window_end \"08:00\" is not after window_start \"09:00\"");
	expect(&d, 9, "timezone \"Europe/Nowhere\" is unknown");
	expect(&d, 11, "approval_from_stage \"j31\" names no stage: write one of a, b, c");
	expect(&d, 15, "stage \"b\": offset_days 5 is not after the previous stage's 10");
	expect(&d, 17, "stage \"c\": offset_days 5 is not after the previous stage's 5");
	config_diag_free(&d);
}

/* A syntax error stops the parse; errors before it are kept. */
static void
test_syntax(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("syntax.conf", &d);

	expect_count(c, &d, 2, "syntax.conf");
	expect(&d, 2, "port 0 is too small");
	expect(&d, 5, "unexpected token '='");
	config_diag_free(&d);
}

/* Unknown keys go on; an unknown section stops; both suggest a key. */
static void
test_unknown(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("unknown.conf", &d);

	expect_count(c, &d, 4, "unknown.conf");
	expect(&d, 3, "unknown key \"hots\" in smtp: did you mean \"host\"?");
	expect(&d, 4, "port 0 is too small");
	expect(&d, 6, "unknown key \"colour\" in stage \"j3\"");
	expect(&d, 7, "unknown section \"smpt\" at top level: did you mean \"smtp\"? "
	    "(reading stopped here)");
	config_diag_free(&d);
}

/* A key, a section or a title given twice. */
static void
test_dups(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("dups.conf", &d);

	expect_count(c, &d, 3, "dups.conf");
	expect(&d, 4, "port is set twice (first on line 3): keep one");
	expect(&d, 8, "stage \"j3\" appears twice (first on line 6): merge the two blocks");
	expect(&d, 13, "section firm appears twice");
	config_diag_free(&d);
	/* libconfuse moves a level's options when it adds unknown keys to it */
	c = load_text("firm { name = \"a\" }\n"
	    "k0 = 1\nk1 = 1\nk2 = 1\nk3 = 1\nk4 = 1\nk5 = 1\nk6 = 1\nk7 = 1\nk8 = 1\nk9 = 1\n"
	    "k10 = 1\nk11 = 1\nk12 = 1\nk13 = 1\nk14 = 1\nk15 = 1\nk16 = 1\nk17 = 1\n"
	    "k18 = 1\nk19 = 1\nk20 = 1\nk21 = 1\nk22 = 1\nk23 = 1\nk24 = 1\nk25 = 1\n"
	    "firm { phone = \"b\" }\ntemplates { dir = \"@TPL@\" }\n", &d);
	tap_ok(c == NULL && d.nerrors == 27, "unknown keys and a section twice: 27 errors");
	expect(&d, 28, "section firm appears twice");
	config_diag_free(&d);
}

/* More than CONFIG_MAX_STAGES stages. */
static void
test_too_many(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("too_many.conf", &d);

	expect_count(c, &d, 1, "too_many.conf");
	expect(&d, 10, "too many stages (9): at most 8");
	config_diag_free(&d);
}

/* Missing template files, in fr/ and in an existing en/. */
static void
test_templates(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("templates.conf", &d);

	expect_count(c, &d, 4, "templates.conf");
	expect(&d, 3, "/en/j10.subject is missing");
	expect(&d, 6, "/fr/nosubj.subject is missing");
	expect(&d, 8, "/fr/gone.txt is missing");
	expect(&d, 8, "/en/gone.txt is missing");
	config_diag_free(&d);
}

/* Keys without a default must be written. */
static void
test_required(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("required.conf", &d);

	expect_count(c, &d, 5, "required.conf");
	expect(&d, 2, "threshold \"USD\" has no amount");
	expect(&d, 2, "approval_from_stage \"j30\" names no stage: write one of j3");
	expect(&d, 3, "stage \"j3\" has no offset_days");
	expect(&d, 3, "stage \"j3\" has no template");
	expect(&d, 4, "legal_rate \"2026-H1\" has no individual_creditor");
	config_diag_free(&d);
}

/* Header injection, empty host, '|' paths, 24:00 as a start, no fr/. */
static void
test_misc(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("misc.conf", &d);

	expect_count(c, &d, 5, "misc.conf");
	expect(&d, 3, "from contains a line break");
	expect(&d, 4, "host is empty");
	expect(&d, 6, "port must be written inside its own section");
	expect(&d, 7, "window_start \"24:00\" is not a time");
	expect(&d, 8, "has no fr/ folder");
	config_diag_free(&d);
}

/* Comments do not shift line numbers; comment marks in strings stay. */
static void
test_comments(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("comments.conf", &d);

	expect_count(c, &d, 3, "comments.conf");
	expect(&d, 5, "port 0 is too small");
	expect(&d, 7, "poll_interval 0 is too small");
	expect(&d, 9, "years 0 is too small");
	config_diag_free(&d);
	c = load_text("# comment\nfirm { name = \"A # b // c /* d */\" } // e\n"
	    "templates { dir = \"@TPL@\" } /* f */\n", &d);
	tap_ok(c != NULL && strcmp(c->firm.name, "A # b // c /* d */") == 0,
	    "comment marks inside a string are kept");
	config_free(c);
	config_diag_free(&d);
	c = load_text("firm {\n  name = \"never closed\\\n}\n", &d);
	tap_ok(c == NULL && d.nerrors == 1, "unterminated string: one error");
	expect(&d, 2, "string opened with \" is never closed");
	config_diag_free(&d);
	c = load_text("firm { }\n\n/* never closed\n", &d);
	tap_ok(c == NULL && d.nerrors == 1, "unterminated comment: one error");
	expect(&d, 3, "comment opened with /* is never closed");
	config_diag_free(&d);
	c = load_text("templates { dir = \"@TPL@\" }\nfirm {\n  language = \"en\"\n}\n", &d);
	tap_ok(c != NULL && strcmp(c->firm.language, "en") == 0, "firm.language en accepted");
	config_free(c);
	config_diag_free(&d);
	c = load_text("firm {\n  name = \"X\"\n  language = \"de\"\n}\n", &d);
	tap_ok(c == NULL, "firm.language de refused");
	expect(&d, 3, "language \"de\" is unknown: write \"fr\" or \"en\"");
	config_diag_free(&d);
}

/* Inputs made to trip the parser: a title mimicking a hidden one, NUL. */
static void
test_hostile(void)
{
	struct config_diag d = { 0 };
	struct config *c;
	char path[400];
	FILE *f;

	c = load_text("stage \"j3\" { offset_days = 3 template = \"j03\" }\n"
	    "stage \"\\x010\" { offset_days = 4 template = \"j03\" }\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	tap_ok(c == NULL && has_error(&d, 2, "a title cannot hold control characters"),
	    "a title mimicking the parser's hidden ones is refused");
	config_diag_free(&d);
	snprintf(path, sizeof(path), "%s/nul.conf", tmp);
	if ((f = fopen(path, "w")) == NULL)
		bail(path);
	fwrite("firm { name = \"a\0b\" }\n", 1, 23, f);
	fclose(f);
	c = config_load(path, &d);
	tap_ok(c == NULL && d.nerrors == 1 && has_error(&d, 0, "contains a NUL byte"),
	    "a NUL byte: refused as not a text file");
	config_diag_free(&d);
}

/* Which hosts count as loopback for tls = "none". */
static void
test_loopback(void)
{
	static const struct {
		const char *host;
		bool ok;
	} cases[] = {
		{ "localhost", true }, { "LOCALHOST", true }, { "127.0.0.1", true },
		{ "127.255.3.4", true }, { "::1", true }, { "[::1]", true },
		{ "128.0.0.1", false }, { "localhost.example.com", false }, { "::2", false },
		{ "10.0.0.1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_diag d = { 0 };
		char text[256];
		struct config *c;

		snprintf(text, sizeof(text), "smtp { tls = \"none\" host = \"%s\" }\n"
		    "templates { dir = \"@TPL@\" }\n", cases[i].host);
		c = load_text(text, &d);
		if (!tap_ok((c != NULL) == cases[i].ok, "tls none with host %s: %s", cases[i].host,
		    cases[i].ok ? "accepted" : "refused"))
			dump(&d);
		if (!cases[i].ok)
			expect(&d, 1, "would send mail in clear");
		config_free(c);
		config_diag_free(&d);
	}
}

/* Which from addresses parse. */
static void
test_from(void)
{
	static const struct {
		const char *from;
		bool ok;
	} cases[] = {
		{ "relances@cabinet.example", true }, { "Cabinet <relances@cabinet.example>", true },
		{ "<a@b>", true }, { "Cabinet relances@cabinet.example", false },
		{ "Cabinet <relances>", false }, { "a@@b", false }, { "a@b..c", false },
		{ ".a@b", false }, { "Cabinet <a@b", false }, { "a b@c", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_diag d = { 0 };
		char text[256];
		struct config *c;

		snprintf(text, sizeof(text), "smtp { from = \"%s\" }\n"
		    "templates { dir = \"@TPL@\" }\n", cases[i].from);
		c = load_text(text, &d);
		if (!tap_ok((c != NULL) == cases[i].ok, "from \"%s\": %s", cases[i].from,
		    cases[i].ok ? "accepted" : "refused"))
			dump(&d);
		config_free(c);
		config_diag_free(&d);
	}
}

/* smtp.auth = "xoauth2" and the smtp.oauth section: each refusal on its
 * line; which token endpoints are accepted; a systemd credential counts
 * as a secret. */
static void
test_oauth(void)
{
	static const struct {
		const char *url;
		bool ok;
	} urls[] = {
		{ "https://login.microsoftonline.com/cabinet.example/oauth2/v2.0/token", true },
		{ "https://oauth2.googleapis.com/token", true }, { "HTTPS://LOGIN.EXAMPLE/T", true },
		{ "http://127.0.0.1:8080/token", true }, { "http://localhost/token", true },
		{ "http://[::1]:8080/token", true }, { "http://login.example/token", false },
		{ "http://127.0.0.1.example/token", false }, { "https://u:pw@login.example/t", false },
		{ "ftp://login.example/t", false }, { "login.example/token", false },
		{ "https:///token", false }, { "https://login.example/a token", false },
	};
	struct config_diag d = { 0 };
	struct config *c;
	char text[512], creds[400];

	unsetenv("CREDENTIALS_DIRECTORY");
	c = load_fixture("oauth.conf", &d);
	expect_count(c, &d, 6, "oauth.conf");
	expect(&d, 5, "auth = \"xoauth2\" needs oauth.client_id");
	expect(&d, 5, "auth = \"xoauth2\" needs username: write the mailbox");
	expect(&d, 6, "token_url \"http://login.example/token\" is not https://");
	expect(&d, 7, "secrets do not belong in this file: use client_secret_file or the "
	    "systemd credential oauth_client_secret");
	expect(&d, 8, "secrets do not belong in this file: use refresh_token_file or the "
	    "systemd credential oauth_refresh_token");
	expect(&d, 9, "refresh_token_file \"");
	tap_ok(!has_error(&d, 7, "s3cret") && !has_error(&d, 8, "1//x"),
	    "oauth.conf: the secrets written in the file are not repeated");
	config_diag_free(&d);

	c = load_text("smtp {\n  auth = \"xoauth2\"\n}\ntemplates { dir = \"@TPL@\" }\n", &d);
	expect_count(c, &d, 4, "xoauth2 and nothing else");
	expect(&d, 2, "needs oauth.token_url");
	expect(&d, 2, "needs oauth.client_id");
	expect(&d, 2, "needs username");
	expect(&d, 2, "needs a client secret or a refresh token: set oauth.client_secret_file or "
	    "oauth.refresh_token_file, or pass the systemd credential oauth_client_secret or "
	    "oauth_refresh_token");
	config_diag_free(&d);

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(text, sizeof(text), "smtp {\n  auth = \"xoauth2\" username = \"a@b.fr\"\n"
		    "  oauth {\n    token_url = \"%s\"\n    client_id = \"c\"\n"
		    "    client_secret_file = \"@TMP@/oauth_client_secret\"\n  }\n}\n"
		    "templates { dir = \"@TPL@\" }\n", urls[i].url);
		c = load_text(text, &d);
		if (!tap_ok((c != NULL) == urls[i].ok, "token_url %s: %s", urls[i].url,
		    urls[i].ok ? "accepted" : "refused"))
			dump(&d);
		if (!urls[i].ok)
			expect(&d, 4, "token_url \"");
		config_free(c);
		config_diag_free(&d);
	}

	/* the refresh token as a systemd credential: no file key needed */
	snprintf(text, sizeof(text), "smtp {\n  auth = \"xoauth2\" username = \"a@b.fr\"\n"
	    "  oauth { token_url = \"https://oauth2.googleapis.com/token\" client_id = \"c\" }\n"
	    "}\ntemplates { dir = \"@TPL@\" }\n");
	snprintf(creds, sizeof(creds), "%s/credentials", tmp);
	mkdir_or_bail(creds);
	setenv("CREDENTIALS_DIRECTORY", creds, 1);
	c = load_text(text, &d);
	tap_ok(c == NULL && has_error(&d, 3, "needs a client secret or a refresh token"),
	    "xoauth2: an empty credentials directory holds no secret");
	config_free(c);
	config_diag_free(&d);
	touch(creds, "oauth_refresh_token");
	c = load_text(text, &d);
	if (!tap_ok(c != NULL && c->smtp.auth == CONFIG_AUTH_XOAUTH2,
	    "xoauth2: the credential oauth_refresh_token is a secret"))
		dump(&d);
	config_free(c);
	config_diag_free(&d);
	unsetenv("CREDENTIALS_DIRECTORY");

	/* the other ways of signing in need none of it */
	c = load_text("smtp { auth = \"none\" username = \"relances\" }\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	tap_ok(c != NULL && c->smtp.auth == CONFIG_AUTH_NONE, "auth none accepted");
	config_free(c);
	config_diag_free(&d);
	c = load_text("smtp {\n  auth = \"oauth\"\n}\ntemplates { dir = \"@TPL@\" }\n", &d);
	expect_count(c, &d, 1, "auth oauth");
	expect(&d, 2, "auth \"oauth\" is unknown: write \"password\", \"xoauth2\" or \"none\"");
	config_diag_free(&d);
	c = load_text("smtp {\n  oauth { scope = \"a\" }\n  oauth { client_id = \"b\" }\n}\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	expect_count(c, &d, 1, "oauth twice");
	expect(&d, 3, "section oauth appears twice");
	config_diag_free(&d);
}

/* attach_invoice_pdf = true needs an absolute attachments.dir, named on
 * the later of the two keys; off, dir may be anything. */
static void
test_attachments(void)
{
	static const struct {
		const char *text, *error;
		int line;
	} cases[] = {
		{ "attachments {\n  attach_invoice_pdf = true\n}\n",
		  "attach_invoice_pdf = true needs attachments.dir", 2 },
		{ "attachments {\n  attach_invoice_pdf = true\n  dir = \"\"\n}\n",
		  "attach_invoice_pdf = true needs attachments.dir", 3 },
		{ "attachments {\n  dir = \"factures\"\n  attach_invoice_pdf = true\n}\n",
		  "attach_invoice_pdf = true needs an absolute attachments.dir, not \"factures\"", 3 },
		{ "attachments {\n  dir = \"./f\" attach_invoice_pdf = yes\n}\n",
		  "needs an absolute attachments.dir", 2 },
		{ "attachments { dir = \"factures\" }\n", NULL, 0 },
		{ "attachments { dir = \"\" attach_invoice_pdf = false }\n", NULL, 0 },
		{ "attachments { dir = \"/srv/factures\" attach_invoice_pdf = true }\n", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_diag d = { 0 };
		char text[512];
		struct config *c;

		snprintf(text, sizeof(text), "%stemplates { dir = \"@TPL@\" }\n", cases[i].text);
		c = load_text(text, &d);
		if (cases[i].error == NULL) {
			if (!tap_ok(c != NULL && d.nerrors == 0, "attachments case %zu: accepted", i))
				dump(&d);
		} else {
			expect_count(c, &d, 1, "attachments");
			expect(&d, cases[i].line, cases[i].error);
		}
		config_free(c);
		config_diag_free(&d);
	}
}

/* plan { … } (SPEC §2 rule 11): the defaults, a currency written right,
 * the late reminder before the breach, the ranges. */
static void
test_plan(void)
{
	static const struct {
		const char *text, *error;
		int line;
	} cases[] = {
		{ "plan {\n  auto_accept_max \"eur\" { amount = 100 }\n}\n",
		  "auto_accept_max \"eur\": write the currency as three upper-case letters", 2 },
		{ "plan {\n  late_days = 10\n  breach_after_days = 10\n}\n",
		  "breach_after_days (10) must be more than late_days (10)", 3 },
		{ "plan {\n  max_instalments = 1\n}\n", "write 2 to 12", 2 },
		{ "plan {\n  auto_accept_max \"USD\" { }\n}\n", "has no amount", 2 },
		{ "plan { max_instalments = 2 auto_accept_max \"USD\" { amount = 900.50 } }\n",
		  NULL, 0 },
		{ "", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config_diag d = { 0 };
		char text[512];
		struct config *c;

		snprintf(text, sizeof(text), "%stemplates { dir = \"@TPL@\" }\n", cases[i].text);
		c = load_text(text, &d);
		if (cases[i].error == NULL) {
			if (!tap_ok(c != NULL && d.nerrors == 0, "plan case %zu: accepted", i))
				dump(&d);
		} else {
			expect_count(c, &d, 1, "plan");
			expect(&d, cases[i].line, cases[i].error);
		}
		if (c != NULL && i == 4)
			tap_ok(c->plan.max_instalments == 2 && c->plan.nauto_accept == 1 &&
			    strcmp(c->plan.auto_accept[0].currency, "USD") == 0 &&
			    c->plan.auto_accept[0].amount_cents == 90050 && c->plan.late_days == 3,
			    "plan: written values land");
		if (c != NULL && i == 5)
			tap_ok(c->plan.max_instalments == 3 && c->plan.interval_months == 1 &&
			    c->plan.nauto_accept == 1 &&
			    strcmp(c->plan.auto_accept[0].currency, "EUR") == 0 &&
			    c->plan.auto_accept[0].amount_cents == 150000 &&
			    c->plan.reminder_days_before == 3 && c->plan.late_days == 3 &&
			    c->plan.breach_after_days == 10, "plan: the defaults of SPEC §3.2");
		config_free(c);
		config_diag_free(&d);
	}
}

/* Files that cannot be read as a configuration. */
static void
test_unreadable(void)
{
	struct config_diag d = { 0 };
	struct config *c;
	char path[400];

	snprintf(path, sizeof(path), "%s/absent.conf", tmp);
	c = config_load(path, &d);
	tap_ok(c == NULL && d.nerrors == 1 && strstr(d.errors[0], "absent.conf: cannot read: ") != NULL,
	    "missing file: one error naming the file");
	config_diag_free(&d);
	c = config_load(tmp, &d);
	tap_ok(c == NULL && d.nerrors == 1 && strstr(d.errors[0], "is a directory") != NULL,
	    "a directory: refused without reading it");
	config_diag_free(&d);
	c = load_text("smtp { password_file = \"@TMP@/nope\" ca_file = \"@TMP@/nope.pem\" }\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	tap_ok(c == NULL && d.nerrors == 2 && has_error(&d, 1, "password_file") &&
	    has_error(&d, 1, "ca_file"), "password_file and ca_file must exist");
	config_diag_free(&d);
	c = config_load(path, NULL);
	tap_ok(c == NULL, "a NULL diag is allowed");
}

/* Run every case; the TAP plan comes last. */
int
main(int argc, char **argv)
{
	start(argc, argv, "FIXTURES_DIR");
	test_errors();
	test_retry();
	test_cross();
	test_syntax();
	test_unknown();
	test_dups();
	test_too_many();
	test_templates();
	test_required();
	test_misc();
	test_comments();
	test_hostile();
	test_loopback();
	test_from();
	test_oauth();
	test_attachments();
	test_plan();
	test_unreadable();
	remove_tree();
	return tap_done();
}
