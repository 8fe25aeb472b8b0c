/*
 * test_config — config_load() on the fixtures of tests/unit/config/ and on
 * the shipped etc/dunningd.conf: defaults, a full valid file, and every
 * validation rule with the line it must name.
 *
 * Usage: test_config FIXTURES_DIR [SHIPPED_CONF]
 * (SHIPPED_CONF defaults to FIXTURES_DIR/../../../etc/dunningd.conf.)
 * Fixtures name their directories @TPL@, @TPL_PARTIAL@ and @TMP@; the test
 * builds those under a mkdtemp() directory and substitutes them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "tap.h"

static const char *fixtures;
static char tmp[256], tpl[300], tpl_partial[300];

/* Stop the test: the environment is broken, not the code under test. */
static void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Create the file DIR/NAME with a line of text. */
static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		bail(path);
	fputs("x\n", f);
	fclose(f);
}

/* Create directory PATH. */
static void
mkdir_or_bail(const char *path)
{
	if (mkdir(path, 0755) != 0)
		bail(path);
}

/* Build the template directories the fixtures point at. */
static void
make_tree(void)
{
	static const char *const names[] = { "j03", "j10", "j30", "j45" };
	char d[400];

	snprintf(tmp, sizeof(tmp), "%s/test_config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		bail("mkdtemp");
	snprintf(tpl, sizeof(tpl), "%s/tpl", tmp);
	snprintf(tpl_partial, sizeof(tpl_partial), "%s/tpl_partial", tmp);
	mkdir_or_bail(tpl);
	mkdir_or_bail(tpl_partial);
	for (int lang = 0; lang < 2; lang++) {
		snprintf(d, sizeof(d), "%s/%s", tpl, lang ? "en" : "fr");
		mkdir_or_bail(d);
		for (size_t i = 0; i < 4; i++) {
			char f[64];

			snprintf(f, sizeof(f), "%s.txt", names[i]);
			touch(d, f);
			snprintf(f, sizeof(f), "%s.subject", names[i]);
			touch(d, f);
		}
	}
	/* fr complete but for nosubj.subject and gone.*; en lacks j10.subject */
	snprintf(d, sizeof(d), "%s/fr", tpl_partial);
	mkdir_or_bail(d);
	touch(d, "j03.txt");
	touch(d, "j03.subject");
	touch(d, "j10.txt");
	touch(d, "j10.subject");
	touch(d, "nosubj.txt");
	snprintf(d, sizeof(d), "%s/en", tpl_partial);
	mkdir_or_bail(d);
	touch(d, "j03.txt");
	touch(d, "j03.subject");
	touch(d, "j10.txt");
	touch(d, "nosubj.txt");
	touch(d, "nosubj.subject");
	touch(tmp, "smtp_password");
}

/* Remove what make_tree() and the cases wrote. */
static void
remove_tree(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmp);
}

/* Append S to the growing buffer *B of length *N. */
static void
append(char **b, size_t *n, const char *s, size_t len)
{
	char *nb = realloc(*b, *n + len + 1);

	if (nb == NULL)
		bail("realloc");
	memcpy(nb + *n, s, len);
	*n += len;
	nb[*n] = '\0';
	*b = nb;
}

/* TEXT with @TPL@, @TPL_PARTIAL@ and @TMP@ replaced; caller frees. */
static char *
substitute(const char *text)
{
	static const struct {
		const char *from;
		const char *to;
	} subs[] = {
		{ "@TPL_PARTIAL@", tpl_partial }, { "@TPL@", tpl }, { "@TMP@", tmp },
	};
	char *out = NULL;
	size_t n = 0;

	append(&out, &n, "", 0);
	while (*text) {
		size_t i;

		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			size_t l = strlen(subs[i].from);

			if (strncmp(text, subs[i].from, l) == 0) {
				append(&out, &n, subs[i].to, strlen(subs[i].to));
				text += l;
				break;
			}
		}
		if (i == sizeof(subs) / sizeof(subs[0]))
			append(&out, &n, text++, 1);
	}
	return out;
}

/* Write TEXT (substituted) to tmp/NAME; returns the path (static). */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[512];
	char *body = substitute(text);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if ((f = fopen(path, "w")) == NULL)
		bail(path);
	fputs(body, f);
	fclose(f);
	free(body);
	return path;
}

/* The whole content of PATH; caller frees. */
static char *
slurp(const char *path)
{
	char *b = NULL, chunk[4096];
	size_t n = 0, r;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		bail(path);
	append(&b, &n, "", 0);
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		append(&b, &n, chunk, r);
	fclose(f);
	return b;
}

/* Load the fixture NAME (substituted) into *DIAG. */
static struct config *
load_fixture(const char *name, struct config_diag *diag)
{
	char path[512], *text;
	struct config *c;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	text = slurp(path);
	c = config_load(write_conf(name, text), diag);
	free(text);
	return c;
}

/* Load inline configuration TEXT into *DIAG. */
static struct config *
load_text(const char *text, struct config_diag *diag)
{
	return config_load(write_conf("inline.conf", text), diag);
}

/* Show every error and warning, to explain a failing case. */
static void
dump(const struct config_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		tap_diag("error: %s", d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		tap_diag("warning: %s", d->warnings[i]);
}

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

/* An empty file but for templates.dir: every SPEC §3.2 default. */
static void
test_defaults(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("defaults.conf", &d);
	static const char *const names[] = { "j3", "j10", "j30", "j45" };
	static const char *const tmpl[] = { "j03", "j10", "j30", "j45" };
	static const int offs[] = { 3, 10, 30, 45 };
	bool ok;

	if (!tap_ok(c != NULL && d.nerrors == 0, "defaults: loads")) {
		dump(&d);
		config_diag_free(&d);
		return;
	}
	tap_ok(strcmp(c->conninfo, "dbname=dunning user=dunning_daemon") == 0 &&
	    strcmp(c->smtp.host, "localhost") == 0 && c->smtp.port == 587 &&
	    c->smtp.tls == CONFIG_TLS_STARTTLS && strcmp(c->smtp.ca_file, "") == 0 &&
	    strcmp(c->smtp.username, "") == 0 && strcmp(c->smtp.password_file, "") == 0 &&
	    strcmp(c->smtp.from, "Cabinet <relances@cabinet.example>") == 0 &&
	    strcmp(c->smtp.reply_to, "") == 0, "defaults: database and smtp");
	tap_ok(c->smtp.retry_base == 300 && c->smtp.retry_max == 7200 &&
	    c->smtp.max_attempts == 12 && c->smtp.messages_per_session == 20,
	    "defaults: smtp retry_base 300, retry_max 7200, max_attempts 12, "
	    "messages_per_session 20");
	tap_ok(strcmp(c->firm.name, "") == 0 && strcmp(c->firm.signature, "") == 0 &&
	    strcmp(c->firm.language, "fr") == 0,
	    "defaults: firm strings empty, lawyers' mail in French");
	tap_ok(strcmp(c->schedule.timezone, "Europe/Paris") == 0 &&
	    c->schedule.window_start_min == 540 && c->schedule.window_end_min == 1080 &&
	    c->schedule.business_days_only && c->schedule.poll_interval == 60 &&
	    c->schedule.min_gap_days == 5 && c->schedule.payment_grace_hours == 24,
	    "defaults: schedule (09:00 = 540 min, 18:00 = 1080 min)");
	ok = c->nstages == 4;
	for (size_t i = 0; ok && i < 4; i++)
		ok = strcmp(c->stages[i].name, names[i]) == 0 && c->stages[i].offset_days == offs[i] &&
		    strcmp(c->stages[i].template_name, tmpl[i]) == 0 &&
		    c->stages[i].channel == (i == 3 ? CONFIG_CHANNEL_LETTER : CONFIG_CHANNEL_EMAIL) &&
		    c->stages[i].notify_lawyer == (i >= 2) && c->stages[i].requires_approval == (i == 3);
	tap_ok(ok, "defaults: stages j3/j10/j30/j45 with offsets, templates, channels, flags");
	tap_ok(c->approval_from_stage == 2 && config_stage_index(c, "j30") == 2,
	    "defaults: approval_from_stage j30");
	tap_ok(c->nthresholds == 1 && config_threshold(c, "EUR") == 500000 &&
	    config_threshold(c, "USD") == -1, "defaults: threshold EUR 5000.00, none for USD");
	tap_ok(c->escalation_after_days == 15 && c->escalation_dispute_reminder_days == 14 &&
	    c->interest.multiplier_milli == 1500 &&
	    c->interest.start_after_days == 30 && strcmp(c->spool_dir, "/var/spool/dunningd") == 0 &&
	    c->retention_years == 3, "defaults: escalation, interest, spool, retention");
	ok = c->interest.nrates == 7 && c->interest.rates[0].year == 2023 &&
	    c->interest.rates[0].half == 1 && c->interest.rates[0].other_cases_bp == 206 &&
	    c->interest.rates[0].individual_creditor_bp == 447 &&
	    c->interest.rates[6].year == 2026 && c->interest.rates[6].half == 1 &&
	    c->interest.rates[6].other_cases_bp == 262 &&
	    c->interest.rates[6].individual_creditor_bp == 667 &&
	    c->interest.rates[2].other_cases_bp == 507 && c->interest.rates[3].individual_creditor_bp == 816;
	tap_ok(ok, "defaults: the legal-rate table 2023-H1 … 2026-H1");
	config_free(c);
	config_diag_free(&d);
}

/* Every key set to something else than its default. */
static void
test_full(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("full.conf", &d);
	char pw[400];

	if (!tap_ok(c != NULL && d.nerrors == 0, "full: loads")) {
		dump(&d);
		config_diag_free(&d);
		return;
	}
	snprintf(pw, sizeof(pw), "%s/smtp_password", tmp);
	tap_ok(strcmp(c->conninfo, "host=/run/postgresql dbname=firm") == 0 &&
	    strcmp(c->smtp.host, "127.0.0.2") == 0 && c->smtp.port == 2525 &&
	    c->smtp.tls == CONFIG_TLS_NONE && strcmp(c->smtp.username, "relances") == 0 &&
	    strcmp(c->smtp.password_file, pw) == 0 &&
	    strcmp(c->smtp.from, "\"Cabinet Martin & Associés\" <relances@martin-avocats.fr>") == 0 &&
	    strcmp(c->smtp.reply_to, "compta@martin-avocats.fr") == 0,
	    "full: smtp, tls none accepted on 127.0.0.2");
	tap_ok(c->smtp.retry_base == 60 && c->smtp.retry_max == 86400 &&
	    c->smtp.max_attempts == 0 && c->smtp.messages_per_session == 1,
	    "full: smtp retries 60 s to 86400 s, max_attempts 0, one message a session");
	tap_ok(strcmp(c->firm.name, "Cabinet Martin") == 0 &&
	    strcmp(c->firm.signature, "Maître Martin") == 0, "full: firm");
	tap_ok(strcmp(c->schedule.timezone, "America/New_York") == 0 &&
	    c->schedule.window_start_min == 510 && c->schedule.window_end_min == 1440 &&
	    !c->schedule.business_days_only && c->schedule.poll_interval == 30 &&
	    c->schedule.min_gap_days == 0 && c->schedule.payment_grace_hours == 48,
	    "full: schedule, window 08:30–24:00");
	tap_ok(c->nthresholds == 2 && config_threshold(c, "EUR") == 500050 &&
	    config_threshold(c, "CHF") == 1000000, "full: amounts 5000.50 and \"10000\" in cents");
	tap_ok(c->nstages == 3 && c->stages[0].offset_days == 10 && c->stages[1].notify_lawyer &&
	    !c->stages[0].requires_approval && c->stages[2].channel == CONFIG_CHANNEL_LETTER &&
	    c->stages[2].requires_approval && c->approval_from_stage == 1,
	    "full: stages replace the defaults; 010 is ten; a letter waits for approval");
	tap_ok(c->interest.multiplier_milli == 1250 && c->interest.start_after_days == 0 &&
	    c->interest.nrates == 2 && c->interest.rates[0].year == 2025 &&
	    c->interest.rates[0].half == 2 && c->interest.rates[1].other_cases_bp == 263 &&
	    c->interest.rates[1].individual_creditor_bp == 667,
	    "full: rates sorted, 2.625 rounds half-up to 263, 6.674 to 667");
	tap_ok(c->escalation_after_days == 0 && c->escalation_dispute_reminder_days == 30 &&
	    c->retention_years == 10 &&
	    strcmp(c->templates_dir, tpl) == 0, "full: escalation, retention, templates");
	config_free(c);
	config_diag_free(&d);
}

/* The shipped etc/dunningd.conf with templates.dir set to DIR. */
static struct config *
load_shipped(const char *path, const char *dir, struct config_diag *d)
{
	static const char key[] = "dir = \"/usr/share/dunningd/templates\"";
	char *text = slurp(path), *p, *edited = NULL;
	struct config *c = NULL;
	size_t n = 0;

	if (tap_ok((p = strstr(text, key)) != NULL, "shipped: has %s", key)) {
		append(&edited, &n, text, (size_t)(p - text));
		append(&edited, &n, "dir = \"", 7);
		append(&edited, &n, dir, strlen(dir));
		append(&edited, &n, "\"", 1);
		append(&edited, &n, p + strlen(key), strlen(p + strlen(key)));
		c = config_load(write_conf("dunningd.conf", edited), d);
	}
	free(edited);
	free(text);
	return c;
}

/* The shipped etc/dunningd.conf, against the test tree and against the
 * repository's own templates/ (next to etc/). */
static void
test_shipped(const char *path)
{
	struct config_diag d = { 0 };
	struct config *c;
	char repo_tpl[700], *slash;

	c = load_shipped(path, "@TPL@", &d);
	if (tap_ok(c != NULL && d.nerrors == 0, "shipped: etc/dunningd.conf loads cleanly")) {
		tap_ok(c->nstages == 4 && c->stages[3].requires_approval &&
		    c->interest.nrates == 7 && c->interest.multiplier_milli == 1500 &&
		    config_threshold(c, "EUR") == 500000 && c->approval_from_stage == 2 &&
		    c->smtp.retry_base == 300 && c->smtp.retry_max == 7200 &&
		    c->smtp.max_attempts == 12 && c->smtp.messages_per_session == 20,
		    "shipped: same values as the built-in defaults");
	} else {
		dump(&d);
	}
	config_free(c);
	config_diag_free(&d);
	/* PATH is ROOT/etc/dunningd.conf: the templates are in ROOT/templates */
	snprintf(repo_tpl, sizeof(repo_tpl), "%s", path);
	if ((slash = strrchr(repo_tpl, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(repo_tpl, sizeof(repo_tpl), ".");
	strncat(repo_tpl, "/../templates", sizeof(repo_tpl) - strlen(repo_tpl) - 1);
	c = load_shipped(path, repo_tpl, &d);
	if (!tap_ok(c != NULL && d.nerrors == 0, "shipped: the repository's templates/ "
	    "has every file the default stages need"))
		dump(&d);
	config_free(c);
	config_diag_free(&d);
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

/* Which changed keys a reload cannot apply. */
static void
test_restart_keys(void)
{
	struct config_diag d = { 0 };
	struct config *a, *b, *moved, *other;
	char buf[128], small[8];

	a = load_fixture("defaults.conf", &d);
	b = load_fixture("defaults.conf", &d);
	moved = load_text("database { conninfo = \"host=db.example dbname=dunning\" }\n"
	    "templates { dir = \"@TPL@\" }\n", &d);
	other = load_text("smtp { port = 25 retry_base = 60 }\nschedule { poll_interval = 5 }\n"
	    "templates { dir = \"@TMP@/tpl/.\" }\n", &d);
	if (!tap_ok(a != NULL && b != NULL && moved != NULL && other != NULL && d.nerrors == 0,
	    "restart keys: the four configurations load")) {
		dump(&d);
		goto out;
	}
	memset(buf, 'x', sizeof(buf));
	tap_ok(config_restart_keys(a, b, buf, sizeof(buf)) == 0 && buf[0] == '\0',
	    "restart keys: identical configurations: none, empty list");
	memset(buf, 'x', sizeof(buf));
	tap_ok(config_restart_keys(a, moved, buf, sizeof(buf)) == 1 &&
	    strcmp(buf, "database.conninfo") == 0,
	    "restart keys: conninfo changed: 1, \"database.conninfo\"");
	tap_ok(config_restart_keys(moved, a, buf, sizeof(buf)) == 1 &&
	    strcmp(buf, "database.conninfo") == 0, "restart keys: changed back: same");
	memset(buf, 'x', sizeof(buf));
	tap_ok(config_restart_keys(a, other, buf, sizeof(buf)) == 0 && buf[0] == '\0',
	    "restart keys: smtp, schedule and templates.dir changes apply on reload");
	tap_ok(config_restart_keys(a, moved, small, sizeof(small)) == 1 &&
	    strcmp(small, "databas") == 0, "restart keys: a short buffer is cut and terminated");
	tap_ok(config_restart_keys(a, moved, NULL, 0) == 1, "restart keys: counts without a buffer");
out:
	config_free(a);
	config_free(b);
	config_free(moved);
	config_free(other);
	config_diag_free(&d);
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

/* The legal-rate row of the current half-year, and the lookups. */
static void
test_date(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("defaults.conf", &d);

	if (!tap_ok(c != NULL, "date: defaults load")) {
		config_diag_free(&d);
		return;
	}
	config_check_date(c, 1773140400, &d);	/* 2026-03-10 11:00Z */
	tap_ok(d.nwarnings == 0, "date: 2026-03-10 has its legal rate");
	config_check_date(c, 1782864000, &d);	/* 2026-07-01 00:00Z */
	tap_ok(d.nwarnings == 1 && strstr(d.warnings[0], "no legal_rate \"2026-H2\"") != NULL,
	    "date: 2026-07-01 warns that 2026-H2 is missing");
	config_check_date(c, 1672531199, &d);	/* 2022-12-31 23:59:59Z */
	tap_ok(d.nwarnings == 2 && strstr(d.warnings[1], "\"2022-H2\"") != NULL,
	    "date: 2022-12-31 warns that 2022-H2 is missing");
	tap_ok(d.nerrors == 0, "date: warnings are not errors");
	tap_ok(config_stage_index(c, "j45") == 3 && config_stage_index(c, "j5") == -1 &&
	    config_stage_index(c, NULL) == -1, "config_stage_index");
	tap_ok(config_threshold(c, "eur") == -1 && config_threshold(NULL, "EUR") == -1,
	    "config_threshold is exact and NULL-safe");
	config_free(c);
	config_diag_free(&d);
}

/* Does row K's landing size fit its type? */
static bool
size_fits(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_T_STR:
		return k->size == sizeof(char *);
	case CONFIG_T_TEXT:
		return k->size > 1;
	case CONFIG_T_BOOL:
		return k->size == sizeof(bool);
	case CONFIG_T_CENTS:
		return k->size == sizeof(int64_t);
	case CONFIG_T_REFUSED:
		return k->size == 0 && k->hint != NULL;
	default:
		return k->size == sizeof(int);
	}
}

/* Is row K well formed: a size for its type, a range and a hint for a
 * number, a hint for choices, a default or a need (or refused)? */
static bool
row_ok(const struct config_key *k)
{
	bool number = k->type == CONFIG_T_INT || k->type == CONFIG_T_CENTS ||
	    k->type == CONFIG_T_PERCENT || k->type == CONFIG_T_FACTOR;

	return size_fits(k) && (!number || (k->hint != NULL && k->min <= k->max)) &&
	    (k->choices == NULL || k->hint != NULL) && (k->format == NULL || k->hint != NULL) &&
	    ((k->def != NULL) != (k->need != NULL) || k->type == CONFIG_T_REFUSED);
}

/* The tables of keys agree with the structs they land in, and with
 * config_restart_keys(): a change of each row's value is a restart key
 * exactly when its row says so. */
static void
test_table(void)
{
	struct config_diag d = { 0 };
	struct config *a = load_fixture("defaults.conf", &d), *b = load_fixture("defaults.conf", &d);
	char buf[128], restart[256] = "";
	bool ok = true;

	for (size_t i = 0; i < config_nsections; i++) {
		const struct config_section *s = &config_sections[i];

		for (size_t j = 0; s->keys != NULL && j < s->nkeys; j++) {
			const struct config_key *k = &s->keys[j];

			/* config_free() and config_restart_keys() read config_keys[] only */
			if (!row_ok(k) || k->type == CONFIG_T_STR || k->restart ||
			    strcmp(k->section, s->name) != 0) {
				tap_diag("titled row %s.%s is wrong", k->section, k->name);
				ok = false;
			}
		}
		if (s->keys == NULL && s->parent != NULL) {
			tap_diag("untitled section %s is not at the top level", s->name);
			ok = false;
		}
	}
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];

		if (!row_ok(k) || config_section_find(k->section) == NULL ||
		    config_key_find(k->section, k->name) != k) {
			tap_diag("row %s.%s is wrong", k->section, k->name);
			ok = false;
		}
	}
	tap_ok(ok, "table: every row fits its type, its struct and its section");
	if (!tap_ok(a != NULL && b != NULL, "table: the defaults load")) {
		dump(&d);
		goto out;
	}
	ok = true;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char *p = (char *)b + k->at, saved[16], changed[] = "changed", *s = changed;
		char name[64];
		int n;

		if (k->type == CONFIG_T_REFUSED)
			continue;
		memcpy(saved, p, k->size < sizeof(saved) ? k->size : sizeof(saved));
		if (k->type == CONFIG_T_STR)
			memcpy(p, &s, sizeof(s));
		else
			p[0] ^= 1;	/* any other value: text, number, enum or bool */
		n = config_restart_keys(a, b, buf, sizeof(buf));
		memcpy(p, saved, k->size < sizeof(saved) ? k->size : sizeof(saved));
		snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
		if (n != (k->restart ? 1 : 0) || (k->restart && strcmp(buf, name) != 0)) {
			tap_diag("%s changed: %d restart keys, \"%s\"", name, n, buf);
			ok = false;
		}
		if (k->restart)
			snprintf(restart + strlen(restart), sizeof(restart) - strlen(restart),
			    "%s%s", *restart ? ", " : "", name);
	}
	tap_ok(ok, "table: a change needs a restart exactly for the rows marked restart");
	tap_ok(strcmp(restart, "database.conninfo") == 0,
	    "table: only database.conninfo needs a restart (got \"%s\")", restart);
out:
	config_free(a);
	config_free(b);
	config_diag_free(&d);
}

/* The block of section NAME (untitled, or each titled one) in TEXT that
 * holds "KEY =" after a blank or a brace; false when none does. */
static bool
shipped_has(const char *text, const char *section, bool titled, const char *key)
{
	char open[64];
	size_t kl = strlen(key);

	snprintf(open, sizeof(open), titled ? "%s \"" : "%s {", section);
	for (const char *p = strstr(text, open); p != NULL; p = strstr(p + 1, open)) {
		int depth = 0;

		if (p != text && p[-1] != '\n' && p[-1] != ' ' && p[-1] != '{')
			continue;
		for (const char *q = strchr(p, '{'); q != NULL && *q != '\0'; q++) {
			if (*q == '{')
				depth++;
			else if (*q == '}' && --depth == 0)
				break;
			else if (depth == 1 && (q[-1] == ' ' || q[-1] == '{') &&
			    strncmp(q, key, kl) == 0 && strncmp(q + kl, " =", 2) == 0)
				return true;
		}
	}
	return false;
}

/* Every key of the tables is in the shipped etc/dunningd.conf, in its
 * section, with its value; a refused key is named in a comment. */
static void
test_shipped_keys(const char *path)
{
	char *text = slurp(path), word[80];
	bool ok = true;

	for (size_t i = 0; i < config_nsections; i++) {
		const struct config_section *s = &config_sections[i];
		const struct config_key *keys = s->keys ? s->keys : config_keys;
		size_t n = s->keys ? s->nkeys : config_nkeys;

		for (size_t j = 0; j < n; j++) {
			const struct config_key *k = &keys[j];

			if (strcmp(k->section, s->name) != 0)
				continue;
			snprintf(word, sizeof(word), " %s ", k->name);
			if (k->type == CONFIG_T_REFUSED ? strstr(text, word) != NULL :
			    shipped_has(text, s->name, s->keys != NULL, k->name))
				continue;
			tap_diag("%s.%s is not in %s", k->section, k->name, path);
			ok = false;
		}
	}
	tap_ok(ok, "shipped: every key of the tables is in etc/dunningd.conf");
	free(text);
}

/* Run every case; the TAP plan comes last. */
int
main(int argc, char **argv)
{
	char shipped[600];

	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURES_DIR [SHIPPED_CONF]\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	if (argc > 2)
		snprintf(shipped, sizeof(shipped), "%s", argv[2]);
	else
		snprintf(shipped, sizeof(shipped), "%s/../../../etc/dunningd.conf", fixtures);
	make_tree();
	test_defaults();
	test_full();
	test_shipped(shipped);
	test_errors();
	test_retry();
	test_restart_keys();
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
	test_unreadable();
	test_date();
	test_table();
	test_shipped_keys(shipped);
	remove_tree();
	return tap_done();
}
