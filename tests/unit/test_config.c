/*
 * test_config — config_load() on the fixtures of tests/unit/config/ and on
 * the shipped etc/dunningd.conf: defaults, a full valid file, the keys a
 * reload cannot apply, and the tables of keys behind them.  Every
 * validation rule is in test_config_checks.c.
 *
 * Usage: test_config FIXTURES_DIR [SHIPPED_CONF]
 * (SHIPPED_CONF defaults to FIXTURES_DIR/../../../etc/dunningd.conf.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "config_test.h"
#include "interest.h"
#include "tap.h"

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
	tap_ok(c->smtp.auth == CONFIG_AUTH_PASSWORD && strcmp(c->smtp.oauth.token_url, "") == 0 &&
	    strcmp(c->smtp.oauth.client_id, "") == 0 &&
	    strcmp(c->smtp.oauth.client_secret_file, "") == 0 &&
	    strcmp(c->smtp.oauth.refresh_token_file, "") == 0 &&
	    strcmp(c->smtp.oauth.scope, "") == 0, "defaults: auth password, smtp.oauth empty");
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
	tap_ok(strcmp(c->attachments.dir, "") == 0 && !c->attachments.attach_invoice_pdf,
	    "defaults: attachments off, no directory");
	ok = c->interest.nrates == 7 && c->interest.rates[0].year == 2023 &&
	    c->interest.rates[0].half == 1 && c->interest.rates[0].other_cases_bp == 206 &&
	    c->interest.rates[0].individual_creditor_bp == 447 &&
	    c->interest.rates[6].year == 2026 && c->interest.rates[6].half == 1 &&
	    c->interest.rates[6].other_cases_bp == 262 &&
	    c->interest.rates[6].individual_creditor_bp == 667 &&
	    c->interest.rates[2].other_cases_bp == 507 && c->interest.rates[3].individual_creditor_bp == 816;
	tap_ok(ok, "defaults: the legal-rate table 2023-H1 … 2026-H1");
	ok = true;
	for (size_t i = 0; i < c->interest.nrates; i++)
		ok = ok && c->interest.rates[i].line == 0 && c->interest.rates[i].replaces == NULL;
	tap_ok(ok && d.nwarnings == 0, "defaults: every row shipped, no warning");
	config_free(c);
	config_diag_free(&d);
}

/* Every key set to something else than its default. */
static void
test_full(void)
{
	struct config_diag d = { 0 };
	struct config *c = load_fixture("full.conf", &d);
	char pw[400], rt[400];

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
	snprintf(pw, sizeof(pw), "%s/oauth_client_secret", tmp);
	snprintf(rt, sizeof(rt), "%s/oauth_refresh_token", tmp);
	tap_ok(c->smtp.auth == CONFIG_AUTH_XOAUTH2 && strcmp(c->smtp.oauth.token_url,
	    "https://login.microsoftonline.com/cabinet.example/oauth2/v2.0/token") == 0 &&
	    strcmp(c->smtp.oauth.client_id, "6731de76-14a6-49ae-97bc-6eba6914391e") == 0 &&
	    strcmp(c->smtp.oauth.client_secret_file, pw) == 0 &&
	    strcmp(c->smtp.oauth.refresh_token_file, rt) == 0 &&
	    strcmp(c->smtp.oauth.scope, "https://outlook.office365.com/.default") == 0,
	    "full: auth xoauth2 and the nested smtp.oauth section");
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
	    c->interest.nrates == 7 && c->interest.rates[5].year == 2025 &&
	    c->interest.rates[5].half == 2 && c->interest.rates[5].line > 0 &&
	    c->interest.rates[6].other_cases_bp == 263 &&
	    c->interest.rates[6].individual_creditor_bp == 667 && c->interest.rates[6].line > 0,
	    "full: the file's rates over the shipped ones, sorted, 2.625 rounds half-up to 263, "
	    "6.674 to 667");
	tap_ok(c->escalation_after_days == 0 && c->escalation_dispute_reminder_days == 30 &&
	    c->retention_years == 10 &&
	    strcmp(c->templates_dir, tpl) == 0, "full: escalation, retention, templates");
	snprintf(pw, sizeof(pw), "%s/invoices", tmp);
	tap_ok(strcmp(c->attachments.dir, pw) == 0 && c->attachments.attach_invoice_pdf,
	    "full: attachments on, from @TMP@/invoices");
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
		    c->smtp.max_attempts == 12 && c->smtp.messages_per_session == 20 &&
		    strcmp(c->attachments.dir, "") == 0 && !c->attachments.attach_invoice_pdf,
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

/* SPEC §2.1: the file's legal_rate rows add to the shipped table; a row of
 * a shipped half-year replaces it, and a warning says so. */
static void
test_rates(void)
{
	struct config_diag d = { 0 };
	struct config *c;
	const struct config_legal_rate *r;
	bool ok;

	c = load_text("templates { dir = \"@TPL@\" }\n"
	    "interest {\n"
	    "  legal_rate \"2026-H2\" { other_cases = 3.15 individual_creditor = 6.90 }\n"
	    "}\n", &d);
	if (!tap_ok(c != NULL && d.nerrors == 0, "rates: one row added loads")) {
		dump(&d);
		goto out;
	}
	ok = c->interest.nrates == 8;
	for (size_t i = 0; ok && i < 7; i++)
		ok = c->interest.rates[i].line == 0 &&
		    c->interest.rates[i].year == config_shipped_rates[i].year &&
		    c->interest.rates[i].half == config_shipped_rates[i].half &&
		    c->interest.rates[i].other_cases_bp == config_shipped_rates[i].other_cases_bp;
	tap_ok(ok, "rates: adding 2026-H2 keeps the seven shipped rows (got %zu rows)",
	    c->interest.nrates);
	r = interest_legal_rate(c, 2026, 2);
	tap_ok(r != NULL && r->other_cases_bp == 315 && r->individual_creditor_bp == 690 &&
	    r->line == 3 && r->replaces == NULL && d.nwarnings == 0,
	    "rates: 2026-H2 from the file's line 3, no warning");
	r = interest_legal_rate(c, 2024, 1);
	tap_ok(r != NULL && r->other_cases_bp == 507 && r->line == 0,
	    "rates: 2024-H1 still shipped, 5.07 %%");
	config_free(c);
	config_diag_free(&d);

	c = load_text("templates { dir = \"@TPL@\" }\n"
	    "interest {\n"
	    "  legal_rate \"2026-H1\" { other_cases = 2.70 individual_creditor = 6.67 }\n"
	    "  legal_rate \"2025-H2\" { other_cases = 2.76 individual_creditor = 6.65 }\n"
	    "}\n", &d);
	if (!tap_ok(c != NULL && d.nerrors == 0, "rates: shipped half-years given again load")) {
		dump(&d);
		goto out;
	}
	r = interest_legal_rate(c, 2026, 1);
	tap_ok(c->interest.nrates == 7 && r != NULL && r->other_cases_bp == 270 && r->line == 3 &&
	    r->replaces != NULL && r->replaces->other_cases_bp == 262,
	    "rates: the file's 2026-H1 replaces the shipped one, which it names");
	tap_ok(d.nwarnings == 2 && strstr(d.warnings[0], ":3: legal_rate \"2026-H1\" replaces the "
	    "rates shipped with dunningd (other_cases = 2.62 individual_creditor = 6.67) with "
	    "other_cases = 2.70 individual_creditor = 6.67") != NULL &&
	    strstr(d.warnings[1], ":4: legal_rate \"2025-H2\" repeats the rates shipped with "
	    "dunningd") != NULL, "rates: a warning for each, naming its line");
	if (d.nwarnings != 2)
		dump(&d);
out:
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
	case CONFIG_T_INT_LIST:	/* at least one value and the ending 0 */
		return k->size >= 2 * sizeof(int) && k->size % sizeof(int) == 0;
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
	    k->type == CONFIG_T_PERCENT || k->type == CONFIG_T_FACTOR ||
	    k->type == CONFIG_T_INT_LIST;

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
		/* config_untitled() finds an untitled section through its
		 * parents: untitled ones too (smtp { oauth { … } }) */
		if (s->keys == NULL && s->parent != NULL && (config_section_find(s->parent) == NULL ||
		    config_section_find(s->parent)->keys != NULL)) {
			tap_diag("untitled section %s is not inside an untitled one", s->name);
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
			/* the rows are built in (data/legal_rates.conf): the file
			 * shows the form of one in a comment */
			if (strcmp(s->name, "legal_rate") == 0 &&
			    strstr(text, "#   legal_rate \"") != NULL && strstr(text, k->name) != NULL)
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

	start(argc, argv, "FIXTURES_DIR [SHIPPED_CONF]");
	if (argc > 2)
		snprintf(shipped, sizeof(shipped), "%s", argv[2]);
	else
		snprintf(shipped, sizeof(shipped), "%s/../../../etc/dunningd.conf", fixtures);
	test_defaults();
	test_full();
	test_shipped(shipped);
	test_restart_keys();
	test_date();
	test_rates();
	test_table();
	test_shipped_keys(shipped);
	remove_tree();
	return tap_done();
}
