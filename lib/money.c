/*
 * money — integer cents, never floating point.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "money.h"

#define NNBSP "\xe2\x80\xaf"	/* U+202F narrow no-break space */
#define NBSP "\xc2\xa0"		/* U+00A0 no-break space */

/* Parse a decimal amount with at most two decimals. */
int
money_parse(const char *s, int64_t *cents)
{
	int64_t units = 0;
	int frac = 0, nfrac = 0;
	bool neg = false, any = false;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9'; s++) {
		if (units > (INT64_MAX / 100 - 9) / 10)
			return -1;
		units = units * 10 + (*s - '0');
		any = true;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (nfrac == 2) {
				if (*s != '0')
					return -1;	/* more than cents: not money */
				continue;
			}
			frac = frac * 10 + (*s - '0');
			nfrac++;
			any = true;
		}
	}
	if (!any || *s != '\0')
		return -1;
	if (nfrac == 1)
		frac *= 10;
	*cents = (units * 100 + frac) * (neg ? -1 : 1);
	return 0;
}

/* The symbol a reader expects for CURRENCY, or NULL to print the code. */
static const char *
symbol(const char *currency)
{
	if (strcmp(currency, "EUR") == 0)
		return "€";
	if (strcmp(currency, "GBP") == 0)
		return "£";
	return NULL;
}

/* Digits of UNITS with SEP between groups of three. */
static int
group(char *buf, size_t n, uint64_t units, const char *sep)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)units);
	size_t out = 0, seplen = strlen(sep);

	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0) {
			if (out + seplen >= n)
				return -1;
			memcpy(buf + out, sep, seplen);
			out += seplen;
		}
		if (out + 1 >= n)
			return -1;
		buf[out++] = digits[i];
	}
	buf[out] = '\0';
	return (int)out;
}

/* An amount as a reader of LANG writes it. */
int
money_format(char *buf, size_t n, int64_t cents, const char *currency, const char *lang)
{
	char num[64];
	uint64_t abs = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;
	const char *sym = symbol(currency), *sign = cents < 0 ? "-" : "";
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	int len;

	if (group(num, sizeof(num), abs / 100, en ? "," : NNBSP) < 0)
		return -1;
	if (en && sym != NULL)
		len = snprintf(buf, n, "%s%s%s.%02u", sign, sym, num, (unsigned)(abs % 100));
	else if (en)
		len = snprintf(buf, n, "%s%s %s.%02u", sign, currency, num, (unsigned)(abs % 100));
	else
		len = snprintf(buf, n, "%s%s,%02u" NBSP "%s", sign, num, (unsigned)(abs % 100),
		    sym != NULL ? sym : currency);
	return len < 0 || (size_t)len >= n ? -1 : len;
}

/* Cents as numeric text. */
void
money_to_numeric(char *buf, size_t n, int64_t cents)
{
	uint64_t abs = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;

	snprintf(buf, n, "%s%llu.%02u", cents < 0 ? "-" : "",
	    (unsigned long long)(abs / 100), (unsigned)(abs % 100));
}
