/*
 * config_check — the rules that span keys, run once the file is parsed and
 * copied: each error names the line of the later key, or of its section.
 * A key whose value was already refused (config_usable() false) is left
 * out of them, so that one mistake is reported once.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "config_int.h"

/* Is HOST the loopback: localhost, 127.0.0.0/8 or ::1? */
static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char buf[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && n < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* The later of two lines (0: not in the file). */
static int
later(int a, int b)
{
	return a > b ? a : b;
}

/*
 * Is URL an https:// address, or an http:// one to a loopback host (a test
 * endpoint), with a host and no user name or password in it?  When not,
 * *WHY says what is wrong.
 */
static bool
token_url_ok(const char *url, const char **why)
{
	bool clear = false;
	char host[256];
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0) {
		url += 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		url += 7;
		clear = true;
	} else {
		*why = "is not https://";
		return false;
	}
	n = strcspn(url, "/?#");
	if (url[strcspn(url, " \t")] != '\0') {
		*why = "holds a blank";
		return false;
	}
	if (memchr(url, '@', n) != NULL) {
		*why = "holds a user name or password";
		return false;
	}
	/* the host: [v6] or up to the port */
	if (url[0] == '[')
		n = strcspn(url, "]") + (url[strcspn(url, "]")] == ']');
	else
		n = strcspn(url, ":/?#");
	if (n == 0 || n >= sizeof(host)) {
		*why = "has no host";
		return false;
	}
	memcpy(host, url, n);
	host[n] = '\0';
	if (clear && !is_loopback(host)) {
		*why = "is not https://";
		return false;
	}
	return true;
}

/* Is there a systemd credential NAME ($CREDENTIALS_DIRECTORY/NAME)? */
static bool
has_credential(const char *name)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[1024];
	struct stat st;

	if (dir == NULL || *dir == '\0')
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* Refuse the file of key KEY in SEC (VALUE) when named but missing;
 * CREDENTIAL is what "" stands for. */
static void
check_secret_file(struct config_ctx *ctx, cfg_t *sec, const char *key, const char *value,
    const char *credential)
{
	struct config_shown s;
	struct stat st;

	if (value == NULL || *value == '\0' || !config_usable(ctx, sec, key) ||
	    stat(value, &st) == 0)
		return;
	config_error(ctx, config_key_line(ctx, sec, key), "%s \"%s\": %s: write an existing "
	    "file, or \"\" to use the systemd credential %s", key, config_show(&s, value),
	    strerror(errno), credential);
}

/*
 * auth = "xoauth2" (smtp.oauth): a token endpoint over TLS, a client, a
 * mailbox, and a secret to show the endpoint (a client secret or a refresh
 * token, from a file or a systemd credential).  A missing key is named on
 * the line of auth or of the oauth section, whichever is later.
 */
static void
check_oauth(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *m = cfg_getsec(root, "smtp"), *o = config_untitled(root, "oauth");
	const char *url = c->smtp.oauth.token_url, *why;
	struct config_shown s;
	int line;

	if (url == NULL || c->smtp.oauth.client_id == NULL || c->smtp.username == NULL ||
	    c->smtp.oauth.client_secret_file == NULL || c->smtp.oauth.refresh_token_file == NULL)
		return;
	check_secret_file(ctx, o, "client_secret_file", c->smtp.oauth.client_secret_file,
	    "oauth_client_secret");
	check_secret_file(ctx, o, "refresh_token_file", c->smtp.oauth.refresh_token_file,
	    "oauth_refresh_token");
	if (*url != '\0' && config_usable(ctx, o, "token_url") && !token_url_ok(url, &why))
		config_error(ctx, config_key_line(ctx, o, "token_url"), "token_url \"%s\" %s: "
		    "write the provider's token endpoint, e.g. "
		    "\"https://login.microsoftonline.com/TENANT/oauth2/v2.0/token\" (http:// is for "
		    "a loopback host only)",
		    config_show(&s, url), why);
	if (c->smtp.auth != CONFIG_AUTH_XOAUTH2 || !config_usable(ctx, m, "auth"))
		return;
	line = later(config_key_line(ctx, m, "auth"), config_sec_line(ctx, o));
	if (*url == '\0' && config_usable(ctx, o, "token_url"))
		config_error(ctx, line, "auth = \"xoauth2\" needs oauth.token_url: write the "
		    "provider's token endpoint, e.g. "
		    "\"https://login.microsoftonline.com/TENANT/oauth2/v2.0/token\"");
	if (*c->smtp.oauth.client_id == '\0' && config_usable(ctx, o, "client_id"))
		config_error(ctx, line, "auth = \"xoauth2\" needs oauth.client_id: write the "
		    "application (client) ID the provider gave the firm's registration");
	if (*c->smtp.username == '\0' && config_usable(ctx, m, "username"))
		config_error(ctx, later(line, config_key_line(ctx, m, "username")), "auth = "
		    "\"xoauth2\" needs username: write the mailbox the messages are sent as");
	if (*c->smtp.oauth.client_secret_file == '\0' && *c->smtp.oauth.refresh_token_file == '\0' &&
	    !has_credential("oauth_client_secret") && !has_credential("oauth_refresh_token"))
		config_error(ctx, line, "auth = \"xoauth2\" needs a client secret or a refresh "
		    "token: set oauth.client_secret_file or oauth.refresh_token_file, or pass the "
		    "systemd credential oauth_client_secret or oauth_refresh_token");
}

/* Refuse a retry cap below the first wait, clear text to a remote relay,
 * and files named but missing. */
static void
check_smtp(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *m = cfg_getsec(root, "smtp");
	const char *tls = cfg_getstr(m, "tls");
	struct config_shown s;
	struct stat st;

	if (c->smtp.retry_max < c->smtp.retry_base && config_usable(ctx, m, "retry_base") &&
	    config_usable(ctx, m, "retry_max")) {
		int lb = config_key_line(ctx, m, "retry_base");
		int lm = config_key_line(ctx, m, "retry_max");

		config_error(ctx, lb > lm ? lb : lm, "retry_max %d is less than retry_base %d: "
		    "the cap of the wait cannot be below its first value", c->smtp.retry_max,
		    c->smtp.retry_base);
	}
	if (c->smtp.host == NULL || c->smtp.ca_file == NULL || c->smtp.password_file == NULL)
		return;
	if (strcmp(tls, "none") == 0 && config_usable(ctx, m, "host") && *c->smtp.host != '\0' &&
	    !is_loopback(c->smtp.host)) {
		int lt = config_key_line(ctx, m, "tls"), lh = config_key_line(ctx, m, "host");

		config_error(ctx, lt > lh ? lt : lh, "tls = \"none\" would send mail in clear to "
		    "\"%s\": write tls = \"starttls\" or \"tls\" (none is for a loopback relay "
		    "only)", config_show(&s, c->smtp.host));
	}
	if (*c->smtp.ca_file != '\0' && config_usable(ctx, m, "ca_file") &&
	    stat(c->smtp.ca_file, &st) != 0)
		config_error(ctx, config_key_line(ctx, m, "ca_file"), "ca_file \"%s\": %s: write "
		    "an existing file, or \"\" for the system trust store",
		    config_show(&s, c->smtp.ca_file), strerror(errno));
	if (*c->smtp.password_file != '\0' && config_usable(ctx, m, "password_file")) {
		if (stat(c->smtp.password_file, &st) != 0)
			config_error(ctx, config_key_line(ctx, m, "password_file"),
			    "password_file \"%s\": %s: write an existing file, or \"\" to use the "
			    "systemd credential smtp_password", config_show(&s, c->smtp.password_file),
			    strerror(errno));
		else if (st.st_mode & 0007)
			config_error(ctx, config_key_line(ctx, m, "password_file"),
			    "password_file \"%s\": readable by every user (mode %04o): chmod o= "
			    "(0600, or 0640 with the service's group)",
			    config_show(&s, c->smtp.password_file), (unsigned)(st.st_mode & 07777));
	}
}

/* Refuse an unknown zone and a window that closes before it opens. */
static void
check_schedule(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *sc = cfg_getsec(root, "schedule");
	const char *ws = cfg_getstr(sc, "window_start"), *we = cfg_getstr(sc, "window_end");
	struct config_shown s1, s2;

	if (c->schedule.timezone != NULL && config_usable(ctx, sc, "timezone") &&
	    !cal_timezone_valid(c->schedule.timezone))
		config_error(ctx, config_key_line(ctx, sc, "timezone"), "timezone \"%s\" is "
		    "unknown: write a zone name such as \"Europe/Paris\"",
		    config_show(&s1, c->schedule.timezone));
	if (c->schedule.window_start_min >= 0 && c->schedule.window_end_min >= 0 &&
	    c->schedule.window_end_min <= c->schedule.window_start_min) {
		int ls = config_key_line(ctx, sc, "window_start");
		int le = config_key_line(ctx, sc, "window_end");

		config_error(ctx, ls > le ? ls : le, "window_end \"%s\" is not after "
		    "window_start \"%s\"", config_show(&s1, we), config_show(&s2, ws));
	}
}

/* Refuse the titled section SEC (KIND "TITLE") without a key its table
 * requires (a row with no default). */
static void
check_required(struct config_ctx *ctx, cfg_t *sec, const char *kind, const char *title)
{
	const struct config_section *d = config_section_find(kind);
	struct config_shown s;

	for (size_t i = 0; d != NULL && i < d->nkeys; i++) {
		const struct config_key *k = &d->keys[i];

		if (k->need != NULL && cfg_size(sec, k->name) == 0)
			config_error(ctx, config_sec_line(ctx, sec), "%s \"%s\" has no %s: %s",
			    kind, config_show(&s, title), k->name, k->need);
	}
}

/* Check the stages: how many, their names, their offsets increasing in
 * file order, their required keys. */
static void
check_stages(struct config_ctx *ctx, cfg_t *root)
{
	unsigned n = cfg_size(root, "stage");
	long prev = -1;
	struct config_shown s;

	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(root, "stage", i);
		const char *name = cfg_title(sec);
		int line = config_sec_line(ctx, sec);
		long off = cfg_getint(sec, "offset_days");
		bool has_off = cfg_size(sec, "offset_days") > 0 &&
		    config_usable(ctx, sec, "offset_days");

		if (i == CONFIG_MAX_STAGES)
			config_error(ctx, line, "too many stages (%u): at most %d", n,
			    CONFIG_MAX_STAGES);
		if (!config_is_name(name, 31, false))
			config_error(ctx, line, "stage \"%s\" has an invalid name: use 1 to 31 "
			    "characters among a-z, 0-9 and _, e.g. \"j3\"", config_show(&s, name));
		if (has_off && prev >= 0 && off <= prev)
			config_error(ctx, config_where(ctx, sec, "offset_days"), "stage \"%s\": "
			    "offset_days %ld is not after the previous stage's %ld: offsets must "
			    "increase in file order", config_show(&s, name), off, prev);
		prev = has_off ? off : -1;
		/* after the order: a missing offset_days has none to compare */
		check_required(ctx, sec, "stage", name);
	}
}

/* Check the fee agreements' stages (SPEC §2 rule 13): how many, their
 * names, their offsets increasing, an e-mail template each; an invoice
 * stage's other keys have no meaning here and are refused. */
static void
check_agreement(struct config_ctx *ctx, cfg_t *root)
{
	static const char *const refused[] = { "channel", "notify_lawyer", "requires_approval" };
	cfg_t *a = cfg_getsec(root, "agreement");
	unsigned n = a != NULL ? cfg_size(a, "stage") : 0;
	long prev = -1;
	struct config_shown s;

	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(a, "stage", i);
		const char *name = cfg_title(sec);
		int line = config_sec_line(ctx, sec);
		long off = cfg_getint(sec, "offset_days");
		bool has_off = cfg_size(sec, "offset_days") > 0 &&
		    config_usable(ctx, sec, "offset_days");

		if (i == CONFIG_MAX_AGREEMENT_STAGES)
			config_error(ctx, line, "too many agreement stages (%u): at most %d", n,
			    CONFIG_MAX_AGREEMENT_STAGES);
		if (!config_is_name(name, 31, false))
			config_error(ctx, line, "agreement stage \"%s\" has an invalid name: use 1 "
			    "to 31 characters among a-z, 0-9 and _, e.g. \"a1\"", config_show(&s, name));
		if (has_off && prev >= 0 && off <= prev)
			config_error(ctx, config_where(ctx, sec, "offset_days"), "agreement stage "
			    "\"%s\": offset_days %ld is not after the previous stage's %ld: offsets "
			    "must increase in file order", config_show(&s, name), off, prev);
		prev = has_off ? off : -1;
		for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
			cfg_opt_t *o = cfg_getopt(sec, refused[k]);

			if (o != NULL && (o->flags & CFGF_MODIFIED))
				config_error(ctx, config_where(ctx, sec, refused[k]), "agreement stage "
				    "\"%s\": %s does not apply to a fee agreement's reminder (an "
				    "e-mail, never held): remove it", config_show(&s, name), refused[k]);
		}
		check_required(ctx, sec, "stage", name);
	}
}

/* Check approval_from_stage and the thresholds' currencies. */
static void
check_approval(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *a = cfg_getsec(root, "approval");
	unsigned n = cfg_size(a, "threshold");
	struct config_shown s;

	if (c->approval_from_stage < 0) {
		char names[CONFIG_MAX_STAGES * 34 + 1] = "";
		int line = config_where(ctx, a, "approval_from_stage");

		for (size_t i = 0; i < c->nstages; i++) {
			strcat(names, i ? ", " : "");
			strncat(names, config_show(&s, c->stages[i].name), 32);
		}
		if (line == 0)
			line = config_sec_line(ctx, cfg_getnsec(root, "stage", 0));
		config_error(ctx, line, "approval_from_stage \"%s\" names no stage: write one "
		    "of %s", config_show(&s, cfg_getstr(a, "approval_from_stage")), names);
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *t = cfg_getnsec(a, "threshold", i);
		const char *cur = cfg_title(t);

		if (cur == NULL || strlen(cur) != 3 || !UPPER(cur[0]) || !UPPER(cur[1]) ||
		    !UPPER(cur[2]))
			config_error(ctx, config_sec_line(ctx, t), "threshold \"%s\": write the "
			    "currency as three upper-case letters, e.g. threshold \"EUR\"",
			    config_show(&s, cur));
		check_required(ctx, t, "threshold", cur);
	}
}

/* Check the legal rates' half-years and required keys. */
static void
check_interest(struct config_ctx *ctx, cfg_t *root)
{
	cfg_t *in = cfg_getsec(root, "interest");
	unsigned n = cfg_size(in, "legal_rate");
	struct config_shown s;
	int year, half;

	for (unsigned i = 0; i < n; i++) {
		cfg_t *r = cfg_getnsec(in, "legal_rate", i);
		const char *t = cfg_title(r);

		if (!config_parse_half(t, &year, &half))
			config_error(ctx, config_sec_line(ctx, r), "legal_rate \"%s\": write the "
			    "half-year as YYYY-H1 or YYYY-H2, e.g. legal_rate \"2026-H1\"",
			    config_show(&s, t));
		check_required(ctx, r, "legal_rate", t);
	}
}

/* attach_invoice_pdf = true needs an absolute dir: the only place an
 * invoice's PDF is ever read from (SPEC rule 9). */
static void
check_attachments(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *a = cfg_getsec(root, "attachments");
	struct config_shown s;
	int line;

	if (!c->attachments.attach_invoice_pdf || c->attachments.dir == NULL ||
	    !config_usable(ctx, a, "attach_invoice_pdf") || !config_usable(ctx, a, "dir") ||
	    c->attachments.dir[0] == '/')
		return;
	line = later(config_key_line(ctx, a, "attach_invoice_pdf"), config_key_line(ctx, a, "dir"));
	if (*c->attachments.dir == '\0')
		config_error(ctx, line, "attach_invoice_pdf = true needs attachments.dir: write the "
		    "absolute directory the invoices' PDFs are read from");
	else
		config_error(ctx, line, "attach_invoice_pdf = true needs an absolute "
		    "attachments.dir, not \"%s\": write the absolute directory the invoices' "
		    "PDFs are read from", config_show(&s, c->attachments.dir));
}

/* Run every rule that spans keys on C, read from ROOT. */
/* prescription.alert_days: 1 to CONFIG_MAX_ALERT_DAYS whole numbers of
 * days, each from 1 to 3650 (a malformed one was reported as parsed). */
static void
check_prescription(struct config_ctx *ctx, cfg_t *root)
{
	cfg_t *p = cfg_getsec(root, "prescription");
	const struct config_key *k = config_key_find("prescription", "alert_days");
	unsigned n = p != NULL ? cfg_size(p, "alert_days") : 0;
	int line = p != NULL ? config_key_line(ctx, p, "alert_days") : 0;

	if (p == NULL || k == NULL)
		return;
	if (n == 0 || n > CONFIG_MAX_ALERT_DAYS) {
		config_error(ctx, line, "alert_days has %u values: %s", n, k->hint);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		long v = cfg_getnint(p, "alert_days", i);

		if (v < k->min || v > k->max) {
			config_error(ctx, line, "alert_days %ld is %s: %s", v,
			    v < k->min ? "not positive" : "too large", k->hint);
			return;
		}
	}
}

/* Check the plans' currencies and days (SPEC §2 rule 11): a reminder after
 * a missed instalment must come before the breach. */
static void
check_plan(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *p = cfg_getsec(root, "plan");
	unsigned n = cfg_size(p, "auto_accept_max");
	struct config_shown s;

	for (unsigned i = 0; i < n; i++) {
		cfg_t *t = cfg_getnsec(p, "auto_accept_max", i);
		const char *cur = cfg_title(t);

		if (cur == NULL || strlen(cur) != 3 || !UPPER(cur[0]) || !UPPER(cur[1]) ||
		    !UPPER(cur[2]))
			config_error(ctx, config_sec_line(ctx, t), "auto_accept_max \"%s\": write "
			    "the currency as three upper-case letters, e.g. auto_accept_max \"EUR\"",
			    config_show(&s, cur));
		check_required(ctx, t, "auto_accept_max", cur);
	}
	if (c->plan.late_days >= c->plan.breach_after_days) {
		int line = config_where(ctx, p, "breach_after_days");

		config_error(ctx, line ? line : config_where(ctx, p, "late_days"),
		    "plan: breach_after_days (%d) must be more than late_days (%d): the late "
		    "reminder comes before the plan is broken", c->plan.breach_after_days,
		    c->plan.late_days);
	}
}

/* web (rule 12): a public address over TLS (http:// only to a loopback
 * host, for tests), with no query: the links are BASE_URL/r/TOKEN; a
 * secret file that exists when named. */
static void
check_web(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	cfg_t *w = cfg_getsec(root, "web");
	const char *url = c->web.base_url, *why = NULL;
	struct config_shown s;

	if (w == NULL || url == NULL)
		return;
	if (*url != '\0' && config_usable(ctx, w, "base_url") &&
	    (!token_url_ok(url, &why) || url[strcspn(url, "?#")] != '\0'))
		config_error(ctx, config_key_line(ctx, w, "base_url"), "base_url \"%s\" %s: "
		    "write the page's public address, e.g. \"https://pay.cabinet.example\"",
		    config_show(&s, url), why != NULL ? why : "holds a query or a fragment");
	check_secret_file(ctx, w, "secret_file", c->web.secret_file, "web_secret");
}

void
config_check(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	check_web(ctx, root, c);
	check_prescription(ctx, root);
	check_smtp(ctx, root, c);
	check_oauth(ctx, root, c);
	check_schedule(ctx, root, c);
	check_stages(ctx, root);
	check_agreement(ctx, root);
	check_approval(ctx, root, c);
	check_plan(ctx, root, c);
	check_interest(ctx, root);
	check_attachments(ctx, root, c);
}
