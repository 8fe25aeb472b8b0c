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
	if (*c->smtp.password_file != '\0' && config_usable(ctx, m, "password_file") &&
	    stat(c->smtp.password_file, &st) != 0)
		config_error(ctx, config_key_line(ctx, m, "password_file"), "password_file \"%s\": "
		    "%s: write an existing file, or \"\" to use the systemd credential "
		    "smtp_password", config_show(&s, c->smtp.password_file), strerror(errno));
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

/* Run every rule that spans keys on C, read from ROOT. */
void
config_check(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	check_smtp(ctx, root, c);
	check_schedule(ctx, root, c);
	check_stages(ctx, root);
	check_approval(ctx, root, c);
	check_interest(ctx, root);
}
