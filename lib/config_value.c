/*
 * config_value — how values are written: numbers parsed from their text
 * into fixed-point integers (no float rounding), times, names, addresses
 * and half-years.  Pure functions, no message.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* How a number of each type is written: its decimals kept, and the hint
 * of a refusal.  The types not listed here are not numbers. */
static const struct unit {
	int scale;
	bool whole;		/* no decimal point */
	const char *hint;
} units[] = {
	[CONFIG_T_INT] = { 0, true, "a whole number: write digits only, e.g. 30" },
	[CONFIG_T_CENTS] = { 2, false, "an amount: write e.g. 5000 or 5000.50" },
	[CONFIG_T_PERCENT] = { 2, false, "a percentage: write e.g. 2.62" },
	[CONFIG_T_FACTOR] = { 3, false, "a number: write e.g. 1.5" },
};

/* Parse "[-]digits[.digits]" into *OUT scaled by 10^SCALE, rounding half
 * up (away from zero) on the first dropped digit; WHOLE forbids a decimal
 * point.  Returns 0, or -1 when malformed or beyond 10^15 in magnitude. */
int
config_parse_decimal(const char *s, int scale, bool whole, long long *out)
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

/* Parse S as a number of TYPE into *OUT, in the unit kept (cents,
 * thousandths…); a whole number must fit an int.  Returns 0 or -1. */
int
config_parse_number(enum config_type type, const char *s, long long *out)
{
	const struct unit *u;
	long long v;

	if ((size_t)type >= sizeof(units) / sizeof(units[0]))
		return -1;
	u = &units[type];
	if (u->hint == NULL || config_parse_decimal(s, u->scale, u->whole, &v) != 0 ||
	    v < LONG_MIN || v > LONG_MAX || (u->whole && (v < INT_MIN || v > INT_MAX)))
		return -1;
	*out = v;
	return 0;
}

/* What a number of TYPE is, and how to write one: "an amount: write…". */
const char *
config_number_hint(enum config_type type)
{
	return units[type].hint;
}

/* Minutes of "HH:MM", or -1; "24:00" only when END (an exclusive end). */
int
config_parse_hhmm(const char *s, bool end)
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
bool
config_is_name(const char *s, size_t max, bool wide)
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

/* An address, or "" (the key's own nonempty flag refuses that). */
static bool
ok_address(const char *v)
{
	return *v == '\0' || valid_mailbox(v);
}

/* A template's name: one path component, no dot. */
static bool
ok_template(const char *v)
{
	return config_is_name(v, 63, true);
}

const struct config_format config_fmt_address = { "an address", ok_address };
const struct config_format config_fmt_template = { "a template name", ok_template };

/* Parse a legal rate's title "YYYY-H1" or "YYYY-H2"; false if malformed. */
bool
config_parse_half(const char *t, int *year, int *half)
{
	if (t == NULL || strlen(t) != 7 || !DIGIT(t[0]) || !DIGIT(t[1]) || !DIGIT(t[2]) ||
	    !DIGIT(t[3]) || t[4] != '-' || t[5] != 'H' || (t[6] != '1' && t[6] != '2') ||
	    t[0] == '0')
		return false;
	*year = atoi(t);
	*half = t[6] - '0';
	return true;
}
