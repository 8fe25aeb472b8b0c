/*
 * config — the operator's configuration file, read with libconfuse and
 * validated into an immutable struct config (SPEC §3.2).
 *
 * Every error of a file is reported at once, each naming its line.
 * libconfuse aborts on the first failing callback, so no callback here
 * fails: each records its problem in the parse context and lets the parse
 * go on.
 *  - Unknown keys: CFGF_KEYSTRVAL makes libconfuse report "no such option"
 *    and keep reading (it stores the value as a free string, ignored here).
 *  - Numbers and booleans: parse callbacks that report a malformed value
 *    and store the default.  Amounts, rates and the multiplier are parsed
 *    from their text into fixed-point integers: no float rounding.
 *  - One validate callback on every key checks its value and remembers the
 *    line it was set on; one on every section spots duplicates.
 *  - After the parse, section titles and cross-key rules are checked,
 *    naming the remembered line of the later key or of its section.
 * What libconfuse cannot read past (a syntax error, an unknown section)
 * still ends the parse; the after-parse checks are then skipped, as the
 * tree is incomplete.
 *
 * Not thread-safe for loading: libconfuse's lexer has global state and its
 * callbacks carry no user pointer, so the context of the load in progress
 * is one static pointer.  The struct config returned is immutable.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <confuse.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "calendar.h"
#include "config.h"

/* A configuration file is a few kilobytes; refuse anything absurd. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* ASCII classes, whatever the process locale. */
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define ALNUM(c) (DIGIT(c) || LOWER(c) || UPPER(c))

/* The SPEC defaults of the titled sections, used when the file declares
 * none of a kind (a file that declares some replaces the whole list). */
static const char default_stages[] =
	"stage \"j3\"  { offset_days = 3  template = \"j03\" channel = \"email\" }\n"
	"stage \"j10\" { offset_days = 10 template = \"j10\" channel = \"email\" }\n"
	"stage \"j30\" { offset_days = 30 template = \"j30\" channel = \"email\""
	" notify_lawyer = true }\n"
	"stage \"j45\" { offset_days = 45 template = \"j45\" channel = \"letter\""
	" requires_approval = true notify_lawyer = true }\n";
static const char default_thresholds[] =
	"approval { threshold \"EUR\" { amount = 5000 } }\n";
static const char default_legal_rates[] =
	"interest {\n"
	"legal_rate \"2023-H1\" { other_cases = 2.06 individual_creditor = 4.47 }\n"
	"legal_rate \"2023-H2\" { other_cases = 4.22 individual_creditor = 6.82 }\n"
	"legal_rate \"2024-H1\" { other_cases = 5.07 individual_creditor = 8.01 }\n"
	"legal_rate \"2024-H2\" { other_cases = 4.92 individual_creditor = 8.16 }\n"
	"legal_rate \"2025-H1\" { other_cases = 3.71 individual_creditor = 7.21 }\n"
	"legal_rate \"2025-H2\" { other_cases = 2.76 individual_creditor = 6.65 }\n"
	"legal_rate \"2026-H1\" { other_cases = 2.62 individual_creditor = 6.67 }\n"
	"}\n";

/* An error gathered while loading, with its line for sorting. */
struct msg {
	int line;
	size_t seq;
	char *text;
};

/* The line a key or a section was read on: a key is its section and its
 * index in the section's options (libconfuse may move that array when it
 * adds an unknown key, never reorder it); a section has index -1. */
struct mark {
	const cfg_t *sec;
	int idx;
	int line;
	bool bad;		/* value rejected: cross-key checks skip it */
};

/* How many blocks of an untitled section were read, to spot a repeat. */
struct blocks {
	const cfg_opt_t *opt;
	unsigned nblocks;
};

struct parse_ctx {
	const char *path;
	cfg_t *root;
	bool in_defaults;	/* parsing the built-in sections above */
	size_t nerrors;		/* counted even when a message could not be kept */
	struct msg *msgs;
	size_t nmsgs;
	struct mark *marks;
	size_t nmarks;
	struct blocks blocks[16];
	size_t nblocks;
	char **titles;		/* titles of closed titled blocks, see hide_title() */
	size_t ntitles;
	const cfg_opt_t *rejected;	/* its parse callback refused the value */
	char raw[64];		/* text of the last number read, for messages */
	size_t unknown_msg;	/* message of the last unknown key, or SIZE_MAX */
	int unknown_line;
	char unknown_name[64];
};

/*
 * The one piece of module state: libconfuse's callbacks (error, parse,
 * validate) receive no user pointer, so they find the load in progress
 * here.  Set and cleared by config_load() only.
 */
static struct parse_ctx *parse_ctx;

/* A value made safe to quote in a message: control bytes escaped, cut. */
struct shown {
	char s[160];
};

static int on_key(cfg_t *, cfg_opt_t *);
static int on_section(cfg_t *, cfg_opt_t *);

/* Format "FILE:LINE: message" (no LINE when 0) into a new string, with
 * every control byte escaped: one message is always one log line. */
static char *
msg_text(const struct parse_ctx *ctx, int line, const char *msg)
{
	char *text, *out;
	size_t o = 0;
	int r;

	if (line > 0)
		r = asprintf(&text, "%s:%d: %s", ctx->path, line, msg);
	else
		r = asprintf(&text, "%s: %s", ctx->path, msg);
	if (r < 0)
		return NULL;
	if ((out = malloc((size_t)r * 4 + 1)) == NULL) {
		free(text);
		return NULL;
	}
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	free(text);
	return out;
}

/* Record an error at LINE (0: the file as a whole). */
__attribute__((format(printf, 3, 4)))
static void
error_at(struct parse_ctx *ctx, int line, const char *fmt, ...)
{
	char buf[1024], *text;
	struct msg *m;
	va_list ap;

	ctx->nerrors++;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((text = msg_text(ctx, line, buf)) == NULL)
		return;
	if ((m = realloc(ctx->msgs, (ctx->nmsgs + 1) * sizeof(*m))) == NULL) {
		free(text);
		return;
	}
	ctx->msgs = m;
	m[ctx->nmsgs] = (struct msg){ .line = line, .seq = ctx->nmsgs, .text = text };
	ctx->nmsgs++;
}

/* Quote S for a message. */
static const char *
show(struct shown *b, const char *s)
{
	size_t o = 0;

	if (s == NULL)
		s = "";
	for (; *s != '\0' && o + 8 < sizeof(b->s); s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o, "\\x%02x", c);
		else
			b->s[o++] = (char)c;
	}
	if (*s != '\0')
		memcpy(b->s + o, "...", 4);
	else
		b->s[o] = '\0';
	return b->s;
}

/* Index of OPT in SEC's options, or -1. */
static int
opt_index(const cfg_t *sec, const cfg_opt_t *opt)
{
	for (int i = 0; sec->opts[i].name != NULL; i++)
		if (&sec->opts[i] == opt)
			return i;
	return -1;
}

/* Index of the option called KEY in SEC, or -1. */
static int
key_index(const cfg_t *sec, const char *key)
{
	for (int i = 0; sec->opts[i].name != NULL; i++)
		if (strcmp(sec->opts[i].name, key) == 0)
			return i;
	return -1;
}

/* The latest mark of option IDX of SEC (-1: SEC itself), or NULL. */
static struct mark *
mark_find(struct parse_ctx *ctx, const cfg_t *sec, int idx)
{
	for (size_t i = ctx->nmarks; i-- > 0;)
		if (ctx->marks[i].sec == sec && ctx->marks[i].idx == idx)
			return &ctx->marks[i];
	return NULL;
}

/* Remember that option IDX of SEC (-1: SEC itself) was read on LINE;
 * returns the mark's index, or -1. */
static long
mark_add(struct parse_ctx *ctx, const cfg_t *sec, int idx, int line)
{
	struct mark *m;

	if ((m = realloc(ctx->marks, (ctx->nmarks + 1) * sizeof(*m))) == NULL) {
		error_at(ctx, 0, "out of memory");
		return -1;
	}
	ctx->marks = m;
	m[ctx->nmarks] = (struct mark){ .sec = sec, .idx = idx, .line = line };
	return (long)ctx->nmarks++;
}

/* Line of section SEC in the file, or 0 (built-in or never marked). */
static int
sec_line(struct parse_ctx *ctx, const cfg_t *sec)
{
	struct mark *m = sec ? mark_find(ctx, sec, -1) : NULL;

	return m ? m->line : 0;
}

/* Line of KEY in SEC, or 0 when it was not in the file. */
static int
key_line(struct parse_ctx *ctx, const cfg_t *sec, const char *key)
{
	struct mark *m = sec ? mark_find(ctx, sec, key_index(sec, key)) : NULL;

	return m ? m->line : 0;
}

/* Line of KEY in SEC, else of SEC itself. */
static int
where(struct parse_ctx *ctx, const cfg_t *sec, const char *key)
{
	int line = key_line(ctx, sec, key);

	return line ? line : sec_line(ctx, sec);
}

/* Was KEY of SEC accepted (or left at its default)? */
static bool
usable(struct parse_ctx *ctx, const cfg_t *sec, const char *key)
{
	struct mark *m = mark_find(ctx, sec, key_index(sec, key));

	return m == NULL || !m->bad;
}

/* The section holding SEC, searched from FROM down; NULL if none. */
static cfg_t *
parent_of(cfg_t *from, const cfg_t *sec)
{
	for (cfg_opt_t *o = from->opts; o->name != NULL; o++) {
		if (o->type != CFGT_SEC)
			continue;
		for (unsigned i = 0; i < cfg_opt_size(o); i++) {
			cfg_t *s = cfg_opt_getnsec(o, i), *p;

			if (s == sec)
				return from;
			if (s != NULL && (p = parent_of(s, sec)) != NULL)
				return p;
		}
	}
	return NULL;
}

/* Mark the opening line of SEC and of the sections around it, when a key
 * inside is first read: while a section is parsed, its parent's line
 * still points at the section's opening brace. */
static void
note_open(struct parse_ctx *ctx, cfg_t *sec)
{
	cfg_t *parent;

	while (sec != ctx->root && mark_find(ctx, sec, -1) == NULL &&
	    (parent = parent_of(ctx->root, sec)) != NULL) {
		if (mark_add(ctx, sec, -1, parent->line) < 0)
			return;
		sec = parent;
	}
}

/* "at top level", "in smtp", "in stage \"j3\"": where a key was found. */
static void
describe(cfg_t *sec, char *buf, size_t n)
{
	struct shown t;

	if (sec == NULL || strcmp(sec->name, "root") == 0)
		snprintf(buf, n, "at top level");
	else if (sec->title != NULL)
		snprintf(buf, n, "in %s \"%s\"", sec->name, show(&t, sec->title));
	else
		snprintf(buf, n, "in %s", sec->name);
}

/* Edit distance between A and B (both under 64 bytes), for suggestions. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* The declared key of SEC closest to NAME, or NULL if none is close. */
static const char *
suggest(cfg_t *sec, const char *name)
{
	const char *best = NULL;
	size_t bestd = 3, len = strlen(name);

	if (sec == NULL || len >= 64)
		return NULL;
	for (cfg_opt_t *o = sec->opts; o->name != NULL; o++) {
		size_t d;

		/* keys libconfuse added for unknown names have no callback */
		if ((o->validcb != on_key && o->validcb != on_section) ||
		    strcmp(o->name, "password") == 0 || strlen(o->name) >= 64)
			continue;
		if ((d = distance(name, o->name)) < bestd && d < len) {
			best = o->name;
			bestd = d;
		}
	}
	return best;
}

/* Compose the message for an unknown key or section NAME of SEC. */
static void
unknown_text(char *buf, size_t n, cfg_t *sec, const char *name, bool section)
{
	char in[128];
	const char *near = suggest(sec, name);
	struct shown s;

	describe(sec, in, sizeof(in));
	snprintf(buf, n, "unknown %s \"%s\" %s%s%s%s%s", section ? "section" : "key",
	    show(&s, name), in, near ? ": did you mean \"" : "", near ? near : "",
	    near ? "\"?" : "", section ? " (reading stopped here)" : "");
}

/*
 * libconfuse's error callback.  "no such option" (after which
 * CFGF_KEYSTRVAL lets the parse go on) becomes an "unknown key" message;
 * an unknown section then fails on its brace, and that follow-up error
 * turns the message into "unknown section".  Everything else is a syntax
 * error, reported in libconfuse's words.
 */
__attribute__((format(printf, 2, 0)))
static void
on_confuse_error(cfg_t *sec, const char *fmt, va_list ap)
{
	struct parse_ctx *ctx = parse_ctx;
	int line = sec ? sec->line : 0;
	char buf[512];
	const char *name;
	va_list aq;
	size_t n;

	if (ctx == NULL)
		return;
	if (strcmp(fmt, "no such option '%s'") == 0) {
		va_copy(aq, ap);
		name = va_arg(aq, const char *);
		va_end(aq);
		unknown_text(buf, sizeof(buf), sec, name, false);
		n = ctx->nmsgs;
		error_at(ctx, line, "%s", buf);
		ctx->unknown_msg = ctx->nmsgs > n ? n : SIZE_MAX;
		ctx->unknown_line = line;
		snprintf(ctx->unknown_name, sizeof(ctx->unknown_name), "%s", name);
		return;
	}
	if (strcmp(fmt, "missing equal sign after option '%s'") == 0 &&
	    ctx->unknown_msg < ctx->nmsgs && ctx->unknown_line == line) {
		va_copy(aq, ap);
		name = va_arg(aq, const char *);
		va_end(aq);
		if (strcmp(name, ctx->unknown_name) == 0) {
			char *text;

			unknown_text(buf, sizeof(buf), sec, name, true);
			if ((text = msg_text(ctx, line, buf)) != NULL) {
				free(ctx->msgs[ctx->unknown_msg].text);
				ctx->msgs[ctx->unknown_msg].text = text;
			}
			return;
		}
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	error_at(ctx, line, "%s", buf);
}

/* Parse "[-]digits[.digits]" into *OUT scaled by 10^SCALE, rounding half
 * up (away from zero) on the first dropped digit; WHOLE forbids a decimal
 * point.  Returns 0, or -1 when malformed or beyond 10^15 in magnitude. */
static int
parse_decimal(const char *s, int scale, bool whole, long long *out)
{
	long long ip = 0, fp = 0;
	bool neg = false, round_up = false;
	int nfrac = 0;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (!DIGIT(*s))
		return -1;
	for (; DIGIT(*s); s++) {
		ip = ip * 10 + (*s - '0');
		if (ip > 1000000000000000LL)
			return -1;
	}
	if (*s == '.' && !whole) {
		s++;
		if (!DIGIT(*s))
			return -1;
		for (; DIGIT(*s); s++) {
			if (nfrac < scale) {
				fp = fp * 10 + (*s - '0');
				nfrac++;
			} else if (nfrac == scale) {
				round_up = *s >= '5';
				nfrac++;
			}
		}
	}
	if (*s != '\0')
		return -1;
	for (; nfrac < scale; nfrac++)
		fp *= 10;
	for (int i = 0; i < scale; i++)
		ip *= 10;
	ip += fp + round_up;
	*out = neg ? -ip : ip;
	return 0;
}

/* Shared body of the number parse callbacks: never fails the parse. */
static int
parse_number(cfg_t *sec, cfg_opt_t *opt, const char *value, long *result,
    int scale, bool whole, const char *hint)
{
	struct parse_ctx *ctx = parse_ctx;
	struct shown s;
	long long v;

	if (ctx != NULL)
		snprintf(ctx->raw, sizeof(ctx->raw), "%s", value);
	if (parse_decimal(value, scale, whole, &v) == 0 && v >= LONG_MIN && v <= LONG_MAX &&
	    (!whole || (v >= INT_MIN && v <= INT_MAX))) {
		*result = (long)v;
		return 0;
	}
	*result = opt->def.number;
	if (ctx != NULL) {
		ctx->rejected = opt;
		error_at(ctx, sec->line, "%s \"%s\" is not %s", opt->name, show(&s, value), hint);
	}
	return 0;
}

/* libconfuse parse callback: a whole number, base 10 ("010" is ten). */
static int
parse_int(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_number(sec, opt, value, result, 0, true,
	    "a whole number: write digits only, e.g. 30");
}

/* libconfuse parse callback: an amount, kept in cents. */
static int
parse_cents(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_number(sec, opt, value, result, 2, false,
	    "an amount: write e.g. 5000 or 5000.50");
}

/* libconfuse parse callback: a percentage, kept in hundredths (2.62 → 262). */
static int
parse_hundredths(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_number(sec, opt, value, result, 2, false,
	    "a percentage: write e.g. 2.62");
}

/* libconfuse parse callback: a factor, kept in thousandths (1.5 → 1500). */
static int
parse_thousandths(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	return parse_number(sec, opt, value, result, 3, false,
	    "a number: write e.g. 1.5");
}

/* libconfuse parse callback: a boolean; never fails the parse. */
static int
parse_bool(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	struct parse_ctx *ctx = parse_ctx;
	struct shown s;
	int b;

	if ((b = cfg_parse_boolean(value)) >= 0) {
		*(int *)result = b;
		return 0;
	}
	*(int *)result = opt->def.boolean == cfg_true;
	if (ctx != NULL) {
		ctx->rejected = opt;
		error_at(ctx, sec->line, "%s \"%s\" is not a boolean: write true or false",
		    opt->name, show(&s, value));
	}
	return 0;
}

/* Minutes of "HH:MM", or -1; "24:00" only when END (an exclusive end). */
static int
parse_hhmm(const char *s, bool end)
{
	int h, m;

	if (s == NULL || strlen(s) != 5 || !DIGIT(s[0]) || !DIGIT(s[1]) || s[2] != ':' ||
	    !DIGIT(s[3]) || !DIGIT(s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59)
		return -1;
	if (h < 24)
		return h * 60 + m;
	return end && h == 24 && m == 0 ? 24 * 60 : -1;
}

/* Is S 1 to MAX bytes, each a lower-case letter, a digit, '_' or, when
 * WIDE, an upper-case letter or '-'? */
static bool
is_name(const char *s, size_t max, bool wide)
{
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!(LOWER(c) || DIGIT(c) || c == '_' || (wide && (UPPER(c) || c == '-'))))
			return false;
	}
	return n >= 1 && n <= max;
}

/* Is [S, S+N) an address local@domain made of ASCII dot-atoms? */
static bool
valid_addr(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n), *end = s + n;
	bool dot = true;

	if (at == NULL || at == s || at + 1 == end || memchr(at + 1, '@', (size_t)(end - at - 1)))
		return false;
	for (const char *p = s; p < at; p++) {
		if (*p == '.') {
			if (dot)
				return false;
			dot = true;
		} else if (ALNUM(*p) || (*p != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", *p))) {
			dot = false;
		} else {
			return false;
		}
	}
	if (dot)
		return false;
	for (const char *p = at + 1; p < end; p++) {
		if (*p == '.') {
			if (dot || p[-1] == '-')
				return false;
			dot = true;
		} else if (ALNUM(*p) || (*p == '-' && !dot)) {
			dot = false;
		} else {
			return false;
		}
	}
	return !dot && end[-1] != '-';
}

/* Is S "Name <addr@domain>", "<addr@domain>" or "addr@domain"? */
static bool
valid_mailbox(const char *s)
{
	const char *end, *lt;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == s)
		return false;
	if (end[-1] != '>')
		return valid_addr(s, (size_t)(end - s));
	if ((lt = memchr(s, '<', (size_t)(end - s))) == NULL)
		return false;
	for (const char *p = s; p < lt; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	return valid_addr(lt + 1, (size_t)(end - lt - 2));
}

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

/* Range of a numeric key; values are as stored (cents, thousandths…). */
struct range_rule {
	const char *section, *key;
	long long min, max;
	const char *hint;
};

static const struct range_rule range_rules[] = {
	{ "smtp", "port", 1, 65535, "write a port from 1 to 65535" },
	{ "smtp", "retry_base", 1, 86400, "write 1 to 86400 (seconds)" },
	{ "smtp", "retry_max", 1, 604800, "write 1 to 604800 (seconds), at least retry_base" },
	{ "smtp", "max_attempts", 0, 1000, "write 0 to 1000 (0: never give up)" },
	{ "smtp", "messages_per_session", 1, 1000, "write 1 to 1000" },
	{ "schedule", "poll_interval", 1, 86400, "write 1 to 86400 (seconds)" },
	{ "schedule", "min_gap_days", 0, 3650, "write 0 to 3650 (days)" },
	{ "schedule", "payment_grace_hours", 0, 8760, "write 0 to 8760 (hours)" },
	{ "threshold", "amount", 0, 100000000000000LL, "write 0 or more, e.g. 5000" },
	{ "stage", "offset_days", 1, 3650, "write 1 to 3650 (days after the due date)" },
	{ "escalation", "after_days", 0, 3650, "write 0 to 3650 (days)" },
	{ "escalation", "dispute_reminder_days", 0, 3650, "write 0 to 3650 (days)" },
	{ "interest", "multiplier", 1, 100000, "write a factor above 0, at most 100, e.g. 1.5" },
	{ "interest", "start_after_days", 0, 3650, "write 0 to 3650 (days)" },
	{ "legal_rate", "other_cases", 0, 10000, "write a percentage from 0 to 100, e.g. 2.62" },
	{ "legal_rate", "individual_creditor", 0, 10000,
	  "write a percentage from 0 to 100, e.g. 6.67" },
	{ "retention", "years", 1, 100, "write 1 to 100 (years)" },
};

/* Check a numeric key against its range rule, if it has one. */
static bool
check_range(struct parse_ctx *ctx, cfg_t *sec, cfg_opt_t *opt, int line)
{
	struct shown s;
	long v;

	for (size_t i = 0; i < sizeof(range_rules) / sizeof(range_rules[0]); i++) {
		const struct range_rule *r = &range_rules[i];

		if (strcmp(r->section, sec->name) != 0 || strcmp(r->key, opt->name) != 0)
			continue;
		v = cfg_opt_getnint(opt, 0);
		if (v >= r->min && v <= r->max)
			return true;
		error_at(ctx, line, "%s %s is %s: %s", opt->name, show(&s, ctx->raw),
		    v < 0 ? "negative" : v < r->min ? "too small" : "too large", r->hint);
		return false;
	}
	return true;
}

/* Check the value V of string key KEY of section SECTION. */
static bool
check_string(struct parse_ctx *ctx, const char *section, const char *key, const char *v,
    int line)
{
	struct shown s;

#define IS(sn, kn) (strcmp(section, (sn)) == 0 && strcmp(key, (kn)) == 0)
	if (IS("smtp", "password")) {
		error_at(ctx, line, "passwords do not belong in this file: use password_file "
		    "or the systemd credential smtp_password");
		return false;
	}
	if (IS("smtp", "tls") && strcmp(v, "none") != 0 && strcmp(v, "starttls") != 0 &&
	    strcmp(v, "tls") != 0) {
		error_at(ctx, line, "tls \"%s\" is unknown: write \"starttls\", \"tls\" (implicit) "
		    "or \"none\"", show(&s, v));
		return false;
	}
	if (IS("smtp", "host") && *v == '\0') {
		error_at(ctx, line, "host is empty: write the mail relay's name, e.g. \"localhost\"");
		return false;
	}
	if (IS("smtp", "from") && *v == '\0') {
		error_at(ctx, line, "from is empty: write \"Name <address@domain>\" or "
		    "\"address@domain\"");
		return false;
	}
	if ((IS("smtp", "from") || (IS("smtp", "reply_to") && *v != '\0')) && !valid_mailbox(v)) {
		error_at(ctx, line, "%s \"%s\" is not an address: write \"Name <address@domain>\" "
		    "or \"address@domain\"", key, show(&s, v));
		return false;
	}
	if ((IS("schedule", "window_start") || IS("schedule", "window_end")) &&
	    parse_hhmm(v, IS("schedule", "window_end")) < 0) {
		error_at(ctx, line, "%s \"%s\" is not a time: write HH:MM, e.g. \"09:00\"",
		    key, show(&s, v));
		return false;
	}
	if (IS("firm", "language") && strcmp(v, "fr") != 0 && strcmp(v, "en") != 0) {
		error_at(ctx, line, "language \"%s\" is unknown: write \"fr\" or \"en\"",
		    show(&s, v));
		return false;
	}
	if (IS("stage", "channel") && strcmp(v, "email") != 0 && strcmp(v, "letter") != 0) {
		error_at(ctx, line, "channel \"%s\" is unknown: write \"email\" or \"letter\"",
		    show(&s, v));
		return false;
	}
	if (IS("stage", "template") && !is_name(v, 63, true)) {
		error_at(ctx, line, "template \"%s\" is not a template name: write 1 to 63 letters, "
		    "digits, '_' or '-', e.g. \"j03\"", show(&s, v));
		return false;
	}
	if ((IS("templates", "dir") || IS("spool", "dir")) && *v == '\0') {
		error_at(ctx, line, "dir is empty: write a directory");
		return false;
	}
#undef IS
	return true;
}

/*
 * libconfuse validate callback of every key: remembers its line, refuses a
 * key set twice or through a "section|key" path, then checks its value.
 * Always returns 0 so that the parse goes on to the next error.
 */
static int
on_key(cfg_t *sec, cfg_opt_t *opt)
{
	struct parse_ctx *ctx = parse_ctx;
	struct mark *prev;
	int line = sec->line, idx;
	const char *v;
	long m;
	bool ok;

	if (ctx == NULL || ctx->in_defaults) {
		if (ctx != NULL)
			ctx->rejected = NULL;
		return 0;
	}
	if ((idx = opt_index(sec, opt)) < 0) {
		error_at(ctx, line, "%s must be written inside its own section, without a '|' path",
		    opt->name);
		ctx->rejected = NULL;
		return 0;
	}
	note_open(ctx, sec);
	if ((prev = mark_find(ctx, sec, idx)) != NULL)
		error_at(ctx, line, "%s is set twice (first on line %d): keep one", opt->name,
		    prev->line);
	if ((m = mark_add(ctx, sec, idx, line)) < 0)
		return 0;
	if (ctx->rejected == opt) {
		ctx->rejected = NULL;
		ctx->marks[m].bad = true;
		return 0;
	}
	if (opt->type == CFGT_STR) {
		v = cfg_opt_getnstr(opt, 0);
		if (v == NULL)
			v = "";
		if (strpbrk(v, "\r\n") != NULL) {
			error_at(ctx, line, "%s contains a line break: write it on one line",
			    opt->name);
			ok = false;
		} else {
			ok = check_string(ctx, sec->name, opt->name, v, line);
		}
	} else if (opt->type == CFGT_INT) {
		ok = check_range(ctx, sec, opt, line);
	} else {
		ok = true;
	}
	ctx->marks[m].bad = !ok;
	return 0;
}

/* Find (or start) the block count of section kind OPT. */
static struct blocks *
blocks_of(struct parse_ctx *ctx, const cfg_opt_t *opt)
{
	for (size_t i = 0; i < ctx->nblocks; i++)
		if (ctx->blocks[i].opt == opt)
			return &ctx->blocks[i];
	if (ctx->nblocks == sizeof(ctx->blocks) / sizeof(ctx->blocks[0]))
		return NULL;
	ctx->blocks[ctx->nblocks] = (struct blocks){ .opt = opt };
	return &ctx->blocks[ctx->nblocks++];
}

/*
 * Give the titled section SEC, just closed, a private title ("\1" and a
 * serial) until the parse ends, keeping its own in ctx->titles.  libconfuse
 * replaces (and frees) an earlier section whose title a new block repeats;
 * with every closed title hidden, a repeat is appended instead, so no
 * section is freed while parsing and repeats are found after the parse.
 */
static void
hide_title(struct parse_ctx *ctx, cfg_t *sec)
{
	char **t, hidden[32], *h;

	snprintf(hidden, sizeof(hidden), "\1%zu", ctx->ntitles);
	if ((t = realloc(ctx->titles, (ctx->ntitles + 1) * sizeof(*t))) == NULL) {
		error_at(ctx, 0, "out of memory");
		return;
	}
	ctx->titles = t;
	if ((h = strdup(hidden)) == NULL) {
		error_at(ctx, 0, "out of memory");
		return;
	}
	t[ctx->ntitles++] = sec->title;
	sec->title = h;
}

/* Give back the titles hidden under FROM, recursively. */
static void
restore_titles(struct parse_ctx *ctx, cfg_t *from)
{
	for (cfg_opt_t *o = from->opts; o->name != NULL; o++) {
		if (o->type != CFGT_SEC)
			continue;
		for (unsigned i = 0; i < cfg_opt_size(o); i++) {
			cfg_t *sec = cfg_opt_getnsec(o, i);
			char *end;
			unsigned long k;

			if (sec == NULL)
				continue;
			restore_titles(ctx, sec);
			if (sec->title == NULL || sec->title[0] != '\1')
				continue;
			k = strtoul(sec->title + 1, &end, 10);
			if (*end != '\0' || k >= ctx->ntitles || ctx->titles[k] == NULL)
				continue;
			free(sec->title);
			sec->title = ctx->titles[k];
			ctx->titles[k] = NULL;
		}
	}
}

/*
 * libconfuse validate callback of every section, called at its closing
 * brace with PARENT->line on that brace: marks an empty section's line,
 * hides a titled section's title (see hide_title()), and refuses an
 * untitled section given twice.
 */
static int
on_section(cfg_t *parent, cfg_opt_t *opt)
{
	struct parse_ctx *ctx = parse_ctx;
	int line = parent->line;
	unsigned n = cfg_opt_size(opt);
	struct blocks *b;
	struct shown s;
	cfg_t *sec = NULL;

	if (ctx == NULL || ctx->in_defaults || n == 0)
		return 0;
	if (opt_index(parent, opt) < 0) {
		error_at(ctx, line, "section %s must be written inside its own section, "
		    "without a '|' path", opt->name);
		return 0;
	}
	if (!(opt->flags & CFGF_TITLE)) {
		sec = cfg_opt_getnsec(opt, 0);
		if ((b = blocks_of(ctx, opt)) != NULL && ++b->nblocks > 1)
			error_at(ctx, line, "section %s appears twice: merge the two blocks",
			    opt->name);
	} else {
		/* the block just closed is the one whose title is not hidden yet */
		for (unsigned i = 0; i < n; i++) {
			cfg_t *x = cfg_opt_getnsec(opt, i);

			if (x != NULL && x->title != NULL && x->title[0] != '\1')
				sec = x;
		}
		/* unless its title mimics a hidden one: then find it by line */
		for (unsigned i = 0; sec == NULL && i < n; i++) {
			cfg_t *x = cfg_opt_getnsec(opt, n - 1 - i);

			if (x != NULL && x->line == line) {
				sec = x;
				error_at(ctx, line, "%s \"%s\": a title cannot hold control "
				    "characters", opt->name, show(&s, x->title));
			}
		}
		if (sec != NULL)
			hide_title(ctx, sec);
	}
	/* a section with no key inside is marked on its closing brace */
	if (sec != NULL && mark_find(ctx, sec, -1) == NULL)
		mark_add(ctx, sec, -1, line);
	return 0;
}

/* Refuse a title given to two sections of kind NAME under PARENT. */
static void
check_repeats(struct parse_ctx *ctx, cfg_t *parent, const char *name)
{
	unsigned n = cfg_size(parent, name);
	struct shown s;

	for (unsigned j = 1; j < n; j++) {
		cfg_t *b = cfg_getnsec(parent, name, j);

		for (unsigned i = 0; i < j; i++) {
			cfg_t *a = cfg_getnsec(parent, name, i);

			if (strcmp(cfg_title(a), cfg_title(b)) == 0) {
				error_at(ctx, sec_line(ctx, b), "%s \"%s\" appears twice (first on "
				    "line %d): merge the two blocks", name, show(&s, cfg_title(b)),
				    sec_line(ctx, a));
				break;
			}
		}
	}
}

/* Hook the callbacks above onto every option of OPTS, recursively. */
static void
hook(cfg_opt_t *opts)
{
	for (cfg_opt_t *o = opts; o->name != NULL; o++) {
		if (o->type == CFGT_SEC) {
			o->validcb = on_section;
			hook(o->subopts);
		} else {
			o->validcb = on_key;
		}
	}
}

/*
 * The one table of options, with their defaults (SPEC §3.2).  Numbers go
 * through the parse callbacks above; amount, the rates and the multiplier
 * are stored in cents, hundredths and thousandths.  Keys without a default
 * (CFGF_NODEFAULT) are required in their section.
 */
static cfg_t *
new_cfg(void)
{
	cfg_opt_t database[] = {
		CFG_STR("conninfo", "dbname=dunning user=dunning_daemon", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t smtp[] = {
		CFG_STR("host", "localhost", CFGF_NONE),
		CFG_INT_CB("port", 587, CFGF_NONE, parse_int),
		CFG_STR("tls", "starttls", CFGF_NONE),
		CFG_STR("ca_file", "", CFGF_NONE),
		CFG_STR("username", "", CFGF_NONE),
		CFG_STR("password_file", "", CFGF_NONE),
		CFG_STR("password", NULL, CFGF_NODEFAULT),	/* declared only to refuse it */
		CFG_STR("from", "Cabinet <relances@cabinet.example>", CFGF_NONE),
		CFG_STR("reply_to", "", CFGF_NONE),
		CFG_INT_CB("retry_base", 300, CFGF_NONE, parse_int),
		CFG_INT_CB("retry_max", 7200, CFGF_NONE, parse_int),
		CFG_INT_CB("max_attempts", 12, CFGF_NONE, parse_int),
		CFG_INT_CB("messages_per_session", 20, CFGF_NONE, parse_int),
		CFG_END()
	};
	cfg_opt_t firm[] = {
		CFG_STR("name", "", CFGF_NONE),
		CFG_STR("address", "", CFGF_NONE),
		CFG_STR("phone", "", CFGF_NONE),
		CFG_STR("signature", "", CFGF_NONE),
		CFG_STR("language", "fr", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t schedule[] = {
		CFG_STR("timezone", "Europe/Paris", CFGF_NONE),
		CFG_STR("window_start", "09:00", CFGF_NONE),
		CFG_STR("window_end", "18:00", CFGF_NONE),
		CFG_BOOL_CB("business_days_only", cfg_true, CFGF_NONE, parse_bool),
		CFG_INT_CB("poll_interval", 60, CFGF_NONE, parse_int),
		CFG_INT_CB("min_gap_days", 5, CFGF_NONE, parse_int),
		CFG_INT_CB("payment_grace_hours", 24, CFGF_NONE, parse_int),
		CFG_END()
	};
	cfg_opt_t threshold[] = {
		CFG_INT_CB("amount", 0, CFGF_NODEFAULT, parse_cents),
		CFG_END()
	};
	cfg_opt_t approval[] = {
		CFG_STR("approval_from_stage", "j30", CFGF_NONE),
		CFG_SEC("threshold", threshold, CFGF_MULTI | CFGF_TITLE),
		CFG_END()
	};
	cfg_opt_t stage[] = {
		CFG_INT_CB("offset_days", 0, CFGF_NODEFAULT, parse_int),
		CFG_STR("template", NULL, CFGF_NODEFAULT),
		CFG_STR("channel", "email", CFGF_NONE),
		CFG_BOOL_CB("notify_lawyer", cfg_false, CFGF_NONE, parse_bool),
		/* default true for a formal notice: see stage_requires_approval() */
		CFG_BOOL_CB("requires_approval", cfg_false, CFGF_NONE, parse_bool),
		CFG_END()
	};
	cfg_opt_t escalation[] = {
		CFG_INT_CB("after_days", 15, CFGF_NONE, parse_int),
		CFG_INT_CB("dispute_reminder_days", 14, CFGF_NONE, parse_int),
		CFG_END()
	};
	cfg_opt_t legal_rate[] = {
		CFG_INT_CB("other_cases", 0, CFGF_NODEFAULT, parse_hundredths),
		CFG_INT_CB("individual_creditor", 0, CFGF_NODEFAULT, parse_hundredths),
		CFG_END()
	};
	cfg_opt_t interest[] = {
		CFG_INT_CB("multiplier", 1500, CFGF_NONE, parse_thousandths),	/* 1.5 */
		CFG_INT_CB("start_after_days", 30, CFGF_NONE, parse_int),
		CFG_SEC("legal_rate", legal_rate, CFGF_MULTI | CFGF_TITLE),
		CFG_END()
	};
	cfg_opt_t templates[] = {
		CFG_STR("dir", "/usr/share/dunningd/templates", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t spool[] = {
		CFG_STR("dir", "/var/spool/dunningd", CFGF_NONE),
		CFG_END()
	};
	cfg_opt_t retention[] = {
		CFG_INT_CB("years", 3, CFGF_NONE, parse_int),
		CFG_END()
	};
	cfg_opt_t root[] = {
		CFG_SEC("database", database, CFGF_NONE),
		CFG_SEC("smtp", smtp, CFGF_NONE),
		CFG_SEC("firm", firm, CFGF_NONE),
		CFG_SEC("schedule", schedule, CFGF_NONE),
		CFG_SEC("approval", approval, CFGF_NONE),
		CFG_SEC("stage", stage, CFGF_MULTI | CFGF_TITLE),
		CFG_SEC("escalation", escalation, CFGF_NONE),
		CFG_SEC("interest", interest, CFGF_NONE),
		CFG_SEC("templates", templates, CFGF_NONE),
		CFG_SEC("spool", spool, CFGF_NONE),
		CFG_SEC("retention", retention, CFGF_NONE),
		CFG_END()
	};
	cfg_t *cfg;

	/* cfg_init() copies the tables (and these callbacks) */
	hook(root);
	if ((cfg = cfg_init(root, CFGF_KEYSTRVAL)) != NULL)
		cfg_set_error_function(cfg, on_confuse_error);
	return cfg;
}

/* Parse one of the built-in default texts into ROOT. */
static void
parse_defaults(struct parse_ctx *ctx, cfg_t *root, const char *text)
{
	ctx->in_defaults = true;
	if (cfg_parse_buf(root, text) != CFG_SUCCESS)
		error_at(ctx, 0, "internal error: the built-in defaults do not parse");
	ctx->in_defaults = false;
}

/* strdup that records running out of memory. */
static char *
keep(struct parse_ctx *ctx, const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		error_at(ctx, 0, "out of memory");
	return d;
}

/* Is PATH an existing directory? */
static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Check that DIR/LANG/TEMPLATE.EXT of stage ST exists; errors on LINE. */
static void
need_file(struct parse_ctx *ctx, const char *dir, const char *lang,
    const struct config_stage *st, const char *ext, int line)
{
	char path[PATH_MAX];
	struct stat sb;
	struct shown s, p;

	if (snprintf(path, sizeof(path), "%s/%s/%s%s", dir, lang, st->template_name, ext) >=
	    (int)sizeof(path))
		error_at(ctx, line, "stage \"%s\": the template path is too long",
		    show(&s, st->name));
	else if (stat(path, &sb) != 0)
		error_at(ctx, line, "stage \"%s\": template file %s is missing: create it or "
		    "change template", show(&s, st->name), show(&p, path));
	else if (!S_ISREG(sb.st_mode))
		error_at(ctx, line, "stage \"%s\": template %s is not a file", show(&s, st->name),
		    show(&p, path));
}

/* Every stage's templates must exist in fr/ (and in en/ when it exists):
 * NAME.txt, plus NAME.subject for e-mail. */
static void
check_templates(struct parse_ctx *ctx, cfg_t *root, const struct config *c)
{
	static const char *const langs[] = { "fr", "en" };
	cfg_t *t = cfg_getsec(root, "templates");
	int dirline = key_line(ctx, t, "dir");
	char path[PATH_MAX];
	struct shown s;

	if (*c->templates_dir == '\0')
		return;
	snprintf(path, sizeof(path), "%s/fr", c->templates_dir);
	if (!is_dir(path)) {
		error_at(ctx, dirline, "templates dir \"%s\" has no fr/ folder: write the folder "
		    "that holds fr/ and en/", show(&s, c->templates_dir));
		return;
	}
	for (size_t l = 0; l < sizeof(langs) / sizeof(langs[0]); l++) {
		snprintf(path, sizeof(path), "%s/%s", c->templates_dir, langs[l]);
		if (!is_dir(path))
			continue;
		for (size_t i = 0; i < c->nstages; i++) {
			const struct config_stage *st = &c->stages[i];
			cfg_t *sec = cfg_getnsec(root, "stage", (unsigned)i);
			int line = where(ctx, sec, "template");

			if (*st->template_name == '\0' || !usable(ctx, sec, "template"))
				continue;
			if (line == 0)
				line = dirline;
			need_file(ctx, c->templates_dir, langs[l], st, ".txt", line);
			if (st->channel == CONFIG_CHANNEL_EMAIL)
				need_file(ctx, c->templates_dir, langs[l], st, ".subject", line);
		}
	}
}

/* Does a stage wait for approval?  A formal notice (the stage j45, or any
 * letter) does unless the operator wrote requires_approval = false. */
static bool
stage_requires_approval(cfg_t *s, const struct config_stage *st)
{
	cfg_opt_t *o = cfg_getopt(s, "requires_approval");

	if (o != NULL && (o->flags & CFGF_MODIFIED))
		return cfg_opt_getnbool(o, 0);
	return st->channel == CONFIG_CHANNEL_LETTER || strcmp(st->name, "j45") == 0;
}

/* Read the stage sections into C, checking names, required keys, order. */
static void
build_stages(struct parse_ctx *ctx, cfg_t *root, struct config *c)
{
	unsigned n = cfg_size(root, "stage");
	long prev = -1;
	struct shown s;

	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(root, "stage", i);
		const char *name = cfg_title(sec), *tmpl = cfg_getstr(sec, "template");
		int line = sec_line(ctx, sec);
		long off = cfg_getint(sec, "offset_days");
		bool has_off = cfg_size(sec, "offset_days") > 0;

		if (i == CONFIG_MAX_STAGES)
			error_at(ctx, line, "too many stages (%u): at most %d", n, CONFIG_MAX_STAGES);
		if (!is_name(name, 31, false))
			error_at(ctx, line, "stage \"%s\" has an invalid name: use 1 to 31 characters "
			    "among a-z, 0-9 and _, e.g. \"j3\"", show(&s, name));
		if (!has_off)
			error_at(ctx, line, "stage \"%s\" has no offset_days: add e.g. offset_days = 3",
			    show(&s, name));
		else if (!usable(ctx, sec, "offset_days"))
			has_off = false;
		else if (prev >= 0 && off <= prev)
			error_at(ctx, where(ctx, sec, "offset_days"), "stage \"%s\": offset_days %ld "
			    "is not after the previous stage's %ld: offsets must increase in file "
			    "order", show(&s, name), off, prev);
		prev = has_off ? off : -1;
		if (tmpl == NULL)
			error_at(ctx, line, "stage \"%s\" has no template: add e.g. template = \"j03\"",
			    show(&s, name));
		if (i >= CONFIG_MAX_STAGES)
			continue;

		struct config_stage *st = &c->stages[c->nstages++];

		snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
		snprintf(st->template_name, sizeof(st->template_name), "%s", tmpl ? tmpl : "");
		st->offset_days = (int)off;
		st->channel = strcmp(cfg_getstr(sec, "channel"), "letter") == 0 ?
		    CONFIG_CHANNEL_LETTER : CONFIG_CHANNEL_EMAIL;
		st->notify_lawyer = cfg_getbool(sec, "notify_lawyer");
		st->requires_approval = stage_requires_approval(sec, st);
	}
}

/* Read approval_from_stage and the thresholds into C. */
static void
build_approval(struct parse_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *a = cfg_getsec(root, "approval");
	const char *from = cfg_getstr(a, "approval_from_stage");
	unsigned n = cfg_size(a, "threshold");
	struct shown s;

	c->approval_from_stage = config_stage_index(c, from);
	if (c->approval_from_stage < 0) {
		char names[CONFIG_MAX_STAGES * 34 + 1] = "";
		int line = where(ctx, a, "approval_from_stage");

		for (size_t i = 0; i < c->nstages; i++) {
			strcat(names, i ? ", " : "");
			strncat(names, show(&s, c->stages[i].name), 32);
		}
		if (line == 0)
			line = sec_line(ctx, cfg_getnsec(root, "stage", 0));
		error_at(ctx, line, "approval_from_stage \"%s\" names no stage: write one of %s",
		    show(&s, from), names);
	}
	if ((c->thresholds = calloc(n ? n : 1, sizeof(*c->thresholds))) == NULL) {
		error_at(ctx, 0, "out of memory");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *t = cfg_getnsec(a, "threshold", i);
		const char *cur = cfg_title(t);
		struct config_threshold *th = &c->thresholds[c->nthresholds++];

		if (cur == NULL || strlen(cur) != 3 || !UPPER(cur[0]) || !UPPER(cur[1]) ||
		    !UPPER(cur[2]))
			error_at(ctx, sec_line(ctx, t), "threshold \"%s\": write the currency as three "
			    "upper-case letters, e.g. threshold \"EUR\"", show(&s, cur));
		if (cfg_size(t, "amount") == 0)
			error_at(ctx, sec_line(ctx, t), "threshold \"%s\" has no amount: add e.g. "
			    "amount = 5000", show(&s, cur));
		snprintf(th->currency, sizeof(th->currency), "%s", cur ? cur : "");
		th->amount_cents = cfg_getint(t, "amount");
	}
}

/* Order of legal-rate rows: by year, then half. */
static int
rate_cmp(const void *a, const void *b)
{
	const struct config_legal_rate *x = a, *y = b;

	if (x->year != y->year)
		return x->year < y->year ? -1 : 1;
	return (x->half > y->half) - (x->half < y->half);
}

/* Read the interest section and its legal-rate table into C. */
static void
build_interest(struct parse_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *in = cfg_getsec(root, "interest");
	unsigned n = cfg_size(in, "legal_rate");
	struct shown s;

	c->interest.multiplier_milli = (int)cfg_getint(in, "multiplier");
	c->interest.start_after_days = (int)cfg_getint(in, "start_after_days");
	if ((c->interest.rates = calloc(n ? n : 1, sizeof(*c->interest.rates))) == NULL) {
		error_at(ctx, 0, "out of memory");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		cfg_t *r = cfg_getnsec(in, "legal_rate", i);
		const char *t = cfg_title(r);
		struct config_legal_rate *row = &c->interest.rates[c->interest.nrates++];
		int line = sec_line(ctx, r);

		if (t == NULL || strlen(t) != 7 || !DIGIT(t[0]) || !DIGIT(t[1]) || !DIGIT(t[2]) ||
		    !DIGIT(t[3]) || t[4] != '-' || t[5] != 'H' || (t[6] != '1' && t[6] != '2') ||
		    t[0] == '0')
			error_at(ctx, line, "legal_rate \"%s\": write the half-year as YYYY-H1 or "
			    "YYYY-H2, e.g. legal_rate \"2026-H1\"", show(&s, t));
		else {
			row->year = atoi(t);
			row->half = t[6] - '0';
		}
		if (cfg_size(r, "other_cases") == 0)
			error_at(ctx, line, "legal_rate \"%s\" has no other_cases: add the rate "
			    "\"pour tous les autres cas\", e.g. other_cases = 2.62", show(&s, t));
		if (cfg_size(r, "individual_creditor") == 0)
			error_at(ctx, line, "legal_rate \"%s\" has no individual_creditor: add the rate "
			    "for an individual creditor, e.g. individual_creditor = 6.67", show(&s, t));
		row->other_cases_bp = (int)cfg_getint(r, "other_cases");
		row->individual_creditor_bp = (int)cfg_getint(r, "individual_creditor");
	}
	qsort(c->interest.rates, c->interest.nrates, sizeof(*c->interest.rates), rate_cmp);
}

/* Read the smtp section into C; refuse clear text to a remote relay and a
 * retry cap below the first wait. */
static void
build_smtp(struct parse_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *m = cfg_getsec(root, "smtp");
	const char *tls = cfg_getstr(m, "tls");
	struct shown s;
	struct stat st;

	c->smtp.host = keep(ctx, cfg_getstr(m, "host"));
	c->smtp.port = (int)cfg_getint(m, "port");
	c->smtp.tls = strcmp(tls, "none") == 0 ? CONFIG_TLS_NONE :
	    strcmp(tls, "tls") == 0 ? CONFIG_TLS_IMPLICIT : CONFIG_TLS_STARTTLS;
	c->smtp.ca_file = keep(ctx, cfg_getstr(m, "ca_file"));
	c->smtp.username = keep(ctx, cfg_getstr(m, "username"));
	c->smtp.password_file = keep(ctx, cfg_getstr(m, "password_file"));
	c->smtp.from = keep(ctx, cfg_getstr(m, "from"));
	c->smtp.reply_to = keep(ctx, cfg_getstr(m, "reply_to"));
	c->smtp.retry_base = (int)cfg_getint(m, "retry_base");
	c->smtp.retry_max = (int)cfg_getint(m, "retry_max");
	c->smtp.max_attempts = (int)cfg_getint(m, "max_attempts");
	c->smtp.messages_per_session = (int)cfg_getint(m, "messages_per_session");
	if (c->smtp.retry_max < c->smtp.retry_base && usable(ctx, m, "retry_base") &&
	    usable(ctx, m, "retry_max")) {
		int lb = key_line(ctx, m, "retry_base"), lm = key_line(ctx, m, "retry_max");

		error_at(ctx, lb > lm ? lb : lm, "retry_max %d is less than retry_base %d: the cap "
		    "of the wait cannot be below its first value", c->smtp.retry_max,
		    c->smtp.retry_base);
	}
	if (c->smtp.host == NULL || c->smtp.ca_file == NULL || c->smtp.password_file == NULL)
		return;
	if (strcmp(tls, "none") == 0 && usable(ctx, m, "host") && *c->smtp.host != '\0' &&
	    !is_loopback(c->smtp.host)) {
		int lt = key_line(ctx, m, "tls"), lh = key_line(ctx, m, "host");

		error_at(ctx, lt > lh ? lt : lh, "tls = \"none\" would send mail in clear to \"%s\": "
		    "write tls = \"starttls\" or \"tls\" (none is for a loopback relay only)",
		    show(&s, c->smtp.host));
	}
	if (*c->smtp.ca_file != '\0' && usable(ctx, m, "ca_file") && stat(c->smtp.ca_file, &st) != 0)
		error_at(ctx, key_line(ctx, m, "ca_file"), "ca_file \"%s\": %s: write an existing "
		    "file, or \"\" for the system trust store", show(&s, c->smtp.ca_file),
		    strerror(errno));
	if (*c->smtp.password_file != '\0' && usable(ctx, m, "password_file") &&
	    stat(c->smtp.password_file, &st) != 0)
		error_at(ctx, key_line(ctx, m, "password_file"), "password_file \"%s\": %s: write "
		    "an existing file, or \"\" to use the systemd credential smtp_password",
		    show(&s, c->smtp.password_file), strerror(errno));
}

/* Read the schedule section into C, checking the zone and the window. */
static void
build_schedule(struct parse_ctx *ctx, cfg_t *root, struct config *c)
{
	cfg_t *sc = cfg_getsec(root, "schedule");
	const char *ws = cfg_getstr(sc, "window_start"), *we = cfg_getstr(sc, "window_end");
	struct shown s1, s2;

	c->schedule.timezone = keep(ctx, cfg_getstr(sc, "timezone"));
	c->schedule.window_start_min = parse_hhmm(ws, false);
	c->schedule.window_end_min = parse_hhmm(we, true);
	c->schedule.business_days_only = cfg_getbool(sc, "business_days_only");
	c->schedule.poll_interval = (int)cfg_getint(sc, "poll_interval");
	c->schedule.min_gap_days = (int)cfg_getint(sc, "min_gap_days");
	c->schedule.payment_grace_hours = (int)cfg_getint(sc, "payment_grace_hours");
	if (c->schedule.timezone != NULL && usable(ctx, sc, "timezone") &&
	    !cal_timezone_valid(c->schedule.timezone))
		error_at(ctx, key_line(ctx, sc, "timezone"), "timezone \"%s\" is unknown: write a "
		    "zone name such as \"Europe/Paris\"", show(&s1, c->schedule.timezone));
	if (c->schedule.window_start_min >= 0 && c->schedule.window_end_min >= 0 &&
	    c->schedule.window_end_min <= c->schedule.window_start_min) {
		int ls = key_line(ctx, sc, "window_start"), le = key_line(ctx, sc, "window_end");

		error_at(ctx, ls > le ? ls : le, "window_end \"%s\" is not after window_start \"%s\"",
		    show(&s1, we), show(&s2, ws));
	}
}

/* Turn the parsed tree into a struct config, running the checks that span
 * several keys.  NULL when any error was found (all of them recorded). */
static struct config *
build(struct parse_ctx *ctx, cfg_t *root)
{
	struct config *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		error_at(ctx, 0, "out of memory");
		return NULL;
	}
	c->path = keep(ctx, ctx->path);
	c->conninfo = keep(ctx, cfg_getstr(cfg_getsec(root, "database"), "conninfo"));
	build_smtp(ctx, root, c);
	c->firm.name = keep(ctx, cfg_getstr(cfg_getsec(root, "firm"), "name"));
	c->firm.address = keep(ctx, cfg_getstr(cfg_getsec(root, "firm"), "address"));
	c->firm.phone = keep(ctx, cfg_getstr(cfg_getsec(root, "firm"), "phone"));
	c->firm.signature = keep(ctx, cfg_getstr(cfg_getsec(root, "firm"), "signature"));
	snprintf(c->firm.language, sizeof(c->firm.language), "%s",
	    cfg_getstr(cfg_getsec(root, "firm"), "language"));
	build_schedule(ctx, root, c);
	build_stages(ctx, root, c);
	build_approval(ctx, root, c);
	c->escalation_after_days = (int)cfg_getint(cfg_getsec(root, "escalation"), "after_days");
	c->escalation_dispute_reminder_days = (int)cfg_getint(cfg_getsec(root, "escalation"),
	    "dispute_reminder_days");
	build_interest(ctx, root, c);
	c->templates_dir = keep(ctx, cfg_getstr(cfg_getsec(root, "templates"), "dir"));
	c->spool_dir = keep(ctx, cfg_getstr(cfg_getsec(root, "spool"), "dir"));
	c->retention_years = (int)cfg_getint(cfg_getsec(root, "retention"), "years");
	if (c->templates_dir != NULL)
		check_templates(ctx, root, c);
	if (ctx->nerrors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* Order of messages: by line (file-wide ones first), then as found. */
static int
msg_cmp(const void *a, const void *b)
{
	const struct msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Append TEXT (taken over) to the list *V of *N strings. */
static void
push(char ***v, size_t *n, char *text)
{
	char **nv;

	if (text == NULL)
		return;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
		free(text);
		return;
	}
	nv[(*n)++] = text;
	*v = nv;
}

/* Hand the sorted errors over to DIAG and release the context. */
static void
finish(struct parse_ctx *ctx, struct config_diag *diag)
{
	if (ctx->nmsgs > 0)
		qsort(ctx->msgs, ctx->nmsgs, sizeof(*ctx->msgs), msg_cmp);
	for (size_t i = 0; i < ctx->nmsgs; i++)
		push(&diag->errors, &diag->nerrors, ctx->msgs[i].text);
	if (ctx->nerrors > ctx->nmsgs)
		push(&diag->errors, &diag->nerrors, msg_text(ctx, 0, "out of memory"));
	for (size_t i = 0; i < ctx->ntitles; i++)
		free(ctx->titles[i]);
	free(ctx->titles);
	free(ctx->msgs);
	free(ctx->marks);
}

/* Skip the quoted string opening at BUF[*I] (QUOTE is " or '), counting
 * its lines; a backslash always takes the next byte with it.  Returns
 * false when the string is never closed. */
static bool
skip_string(const char *buf, size_t n, size_t *i, char quote, int *line)
{
	for ((*i)++; *i < n && buf[*i] != quote; (*i)++) {
		if (buf[*i] == '\\' && *i + 1 < n)
			(*i)++;
		if (buf[*i] == '\n')
			(*line)++;
	}
	if (*i >= n)
		return false;
	(*i)++;
	return true;
}

/*
 * Blank out the comments of BUF (#…, //…, / *…* /), keeping every newline.
 * libconfuse 3.3's lexer miscounts lines after a comment (two extra per
 * one-line comment, one per block comment), so comments never reach it.
 * Strings and ${VAR} are skipped by the lexer's own rules.  Returns 0, or
 * the line where a string or a block comment opens and is never closed
 * (*WHAT says which): the lexer would echo a stray byte of it to stdout.
 */
static int
strip_comments(char *buf, size_t n, const char **what)
{
	int line = 1, start;
	size_t i = 0;
	char *close;

	while (i < n) {
		char c = buf[i], next = i + 1 < n ? buf[i + 1] : '\0';

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '"' || c == '\'') {
			start = line;
			if (!skip_string(buf, n, &i, c, &line)) {
				*what = c == '"' ? "string opened with \" is never closed: add the "
				    "closing \"" : "string opened with ' is never closed: add the "
				    "closing '";
				return start;
			}
		} else if (c == '$' && next == '{' && (close = memchr(buf + i, '}', n - i)) != NULL) {
			for (; buf + i <= close; i++)
				line += buf[i] == '\n';
		} else if (c == '#' || (c == '/' && next == '/')) {
			for (; i < n && buf[i] != '\n'; i++)
				buf[i] = ' ';
		} else if (c == '/' && next == '*') {
			start = line;
			buf[i] = buf[i + 1] = ' ';
			for (i += 2; i < n && !(buf[i] == '*' && i + 1 < n && buf[i + 1] == '/'); i++) {
				if (buf[i] == '\n')
					line++;
				else
					buf[i] = ' ';
			}
			if (i >= n) {
				*what = "comment opened with /* is never closed: add */";
				return start;
			}
			buf[i] = buf[i + 1] = ' ';
			i += 2;
		} else {
			i++;
		}
	}
	return 0;
}

/* The whole file PATH as a string, or NULL with the error recorded. */
static char *
read_file(struct parse_ctx *ctx, const char *path)
{
	char *buf = NULL, *nb;
	const char *what;
	size_t n = 0, cap = 0, r;
	struct stat st;
	FILE *fp;
	int line;

	if ((fp = fopen(path, "r")) == NULL) {
		error_at(ctx, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		error_at(ctx, 0, "is a directory: give the configuration file");
		fclose(fp);
		return NULL;
	}
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			nb = cap <= 2 * CONFIG_FILE_MAX ? realloc(buf, cap) : NULL;
			if (nb == NULL) {
				if (cap > 2 * CONFIG_FILE_MAX)
					error_at(ctx, 0, "is larger than %d bytes: is it the "
					    "configuration file?", CONFIG_FILE_MAX);
				else
					error_at(ctx, 0, "out of memory");
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 4096, fp);
		n += r;
	} while (r > 0 && n <= CONFIG_FILE_MAX);
	if (n > CONFIG_FILE_MAX) {
		error_at(ctx, 0, "is larger than %d bytes: is it the configuration file?",
		    CONFIG_FILE_MAX);
		free(buf);
		fclose(fp);
		return NULL;
	}
	if (ferror(fp)) {
		error_at(ctx, 0, "cannot read: %s", strerror(errno));
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		error_at(ctx, 0, "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		error_at(ctx, 0, "contains a NUL byte: is it a text file?");
		free(buf);
		return NULL;
	}
	if ((line = strip_comments(buf, n, &what)) != 0) {
		error_at(ctx, line, "%s", what);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Read, parse and validate PATH: the configuration, or NULL and every error. */
struct config *
config_load(const char *path, struct config_diag *diag)
{
	struct parse_ctx ctx = { .path = path, .unknown_msg = SIZE_MAX };
	struct config_diag local = { 0 };
	struct config *c = NULL;
	cfg_t *root;
	char *text;
	int rc;

	if (diag == NULL)
		diag = &local;
	if ((text = read_file(&ctx, path)) == NULL)
		goto out;
	if ((root = new_cfg()) == NULL) {
		error_at(&ctx, 0, "out of memory");
		free(text);
		goto out;
	}
	ctx.root = root;
	parse_ctx = &ctx;
	rc = cfg_parse_buf(root, text);
	free(text);
	restore_titles(&ctx, root);
	if (rc != CFG_SUCCESS) {
		if (ctx.nerrors == 0)
			error_at(&ctx, 0, "syntax error");
	} else {
		check_repeats(&ctx, root, "stage");
		check_repeats(&ctx, cfg_getsec(root, "approval"), "threshold");
		check_repeats(&ctx, cfg_getsec(root, "interest"), "legal_rate");
		if (cfg_size(root, "stage") == 0)
			parse_defaults(&ctx, root, default_stages);
		if (cfg_size(cfg_getsec(root, "approval"), "threshold") == 0)
			parse_defaults(&ctx, root, default_thresholds);
		if (cfg_size(cfg_getsec(root, "interest"), "legal_rate") == 0)
			parse_defaults(&ctx, root, default_legal_rates);
		/* errors already found still let build() add its own */
		c = build(&ctx, root);
	}
	cfg_free(root);
	parse_ctx = NULL;
out:
	finish(&ctx, diag);
	if (diag == &local)
		config_diag_free(&local);
	return c;
}

/* Warn when the legal-rate table lacks the half-year of NOW (UTC date). */
void
config_check_date(const struct config *cfg, time_t now, struct config_diag *diag)
{
	struct tm tm;
	char *text;
	int year, half;

	if (cfg == NULL || diag == NULL || gmtime_r(&now, &tm) == NULL)
		return;
	/* the half-year of the UTC date: it differs from Paris's only in the
	 * first hour or two of January 1st and July 1st */
	year = tm.tm_year + 1900;
	half = tm.tm_mon < 6 ? 1 : 2;
	for (size_t i = 0; i < cfg->interest.nrates; i++)
		if (cfg->interest.rates[i].year == year && cfg->interest.rates[i].half == half)
			return;
	if (asprintf(&text, "%s: no legal_rate \"%d-H%d\" in the interest section: add the rates "
	    "published for this half-year (until then invoices issued in it show no late "
	    "interest)", cfg->path, year, half) >= 0)
		push(&diag->warnings, &diag->nwarnings, text);
}

/* Index of the stage called NAME, or -1. */
int
config_stage_index(const struct config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nstages; i++)
		if (strcmp(cfg->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Approval threshold of CURRENCY in cents, or -1 when there is none. */
int64_t
config_threshold(const struct config *cfg, const char *currency)
{
	if (cfg == NULL || currency == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nthresholds; i++)
		if (strcmp(cfg->thresholds[i].currency, currency) == 0)
			return cfg->thresholds[i].amount_cents;
	return -1;
}

/* Append KEY to the list in BUF (N bytes, LEN used so far), cut if needed. */
static void
list_key(char *buf, size_t n, size_t *len, const char *key)
{
	int r;

	if (*len + 1 >= n)
		return;
	r = snprintf(buf + *len, n - *len, "%s%s", *len > 0 ? ", " : "", key);
	if (r > 0)
		*len += (size_t)r < n - *len ? (size_t)r : n - *len - 1;
}

/* The keys changed from OLD to CUR that only a restart applies: the
 * database connection is opened once, at start. */
int
config_restart_keys(const struct config *old, const struct config *cur, char *buf, size_t n)
{
	size_t len = 0;
	int count = 0;

	if (buf != NULL && n > 0)
		buf[0] = '\0';
	else
		n = 0;
	if (old == NULL || cur == NULL)
		return 0;
	if (strcmp(old->conninfo, cur->conninfo) != 0) {
		list_key(buf, n, &len, "database.conninfo");
		count++;
	}
	return count;
}

/* Release a configuration and everything it holds. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->conninfo);
	free(cfg->smtp.host);
	free(cfg->smtp.ca_file);
	free(cfg->smtp.username);
	free(cfg->smtp.password_file);
	free(cfg->smtp.from);
	free(cfg->smtp.reply_to);
	free(cfg->firm.name);
	free(cfg->firm.address);
	free(cfg->firm.phone);
	free(cfg->firm.signature);
	free(cfg->schedule.timezone);
	free(cfg->thresholds);
	free(cfg->interest.rates);
	free(cfg->templates_dir);
	free(cfg->spool_dir);
	free(cfg);
}

/* Release the messages of DIAG and empty it for reuse. */
void
config_diag_free(struct config_diag *diag)
{
	if (diag == NULL)
		return;
	for (size_t i = 0; i < diag->nerrors; i++)
		free(diag->errors[i]);
	for (size_t i = 0; i < diag->nwarnings; i++)
		free(diag->warnings[i]);
	free(diag->errors);
	free(diag->warnings);
	*diag = (struct config_diag){ 0 };
}
