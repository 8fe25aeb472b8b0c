/*
 * test_money — integer cents: parsing numeric text and formatting amounts
 * the way a French (or English) reader writes them.
 */
#include <string.h>

#include "money.h"
#include "tap.h"

#define NNBSP "\xe2\x80\xaf"
#define NBSP "\xc2\xa0"

/* Parsing TEXT gives CENTS, or fails when OK is 0. */
static void
parse(const char *text, int ok, int64_t cents)
{
	int64_t got = -999;
	int rc = money_parse(text, &got);

	if (!ok) {
		tap_ok(rc < 0, "money_parse(\"%s\") refused", text);
		return;
	}
	if (!tap_ok(rc == 0 && got == cents, "money_parse(\"%s\") = %lld", text, (long long)cents))
		tap_diag("rc %d, got %lld", rc, (long long)got);
}

/* Formatting CENTS in CUR for LANG gives WANT. */
static void
fmt(int64_t cents, const char *cur, const char *lang, const char *want)
{
	char buf[64];
	int n = money_format(buf, sizeof(buf), cents, cur, lang);

	if (!tap_ok(n > 0 && strcmp(buf, want) == 0, "money_format(%lld, %s, %s)",
	    (long long)cents, cur, lang))
		tap_diag("want \"%s\", got \"%s\"", want, buf);
}

int
main(void)
{
	char buf[32], small[6];

	parse("1234.56", 1, 123456);
	parse("0.00", 1, 0);
	parse("7", 1, 700);
	parse("12.5", 1, 1250);
	parse("-12.50", 1, -1250);
	parse("9999999999.99", 1, 999999999999);
	parse("1.230", 1, 123);		/* trailing zero beyond cents is harmless */
	parse("1.234", 0, 0);		/* a fraction of a cent is not money */
	parse("", 0, 0);
	parse("abc", 0, 0);
	parse("1,5", 0, 0);
	parse("1.2.3", 0, 0);
	parse(NULL, 0, 0);
	parse("99999999999999999999", 0, 0);

	fmt(123456, "EUR", "fr", "1" NNBSP "234,56" NBSP "€");
	fmt(5, "EUR", "fr", "0,05" NBSP "€");
	fmt(100000000, "EUR", "fr", "1" NNBSP "000" NNBSP "000,00" NBSP "€");
	fmt(99999, "EUR", "fr", "999,99" NBSP "€");
	fmt(-4000, "EUR", "fr", "-40,00" NBSP "€");
	fmt(123456, "USD", "fr", "1" NNBSP "234,56" NBSP "USD");
	fmt(123456, "EUR", "en", "€1,234.56");
	fmt(123456, "USD", "en", "USD 1,234.56");
	fmt(0, "EUR", "en", "€0.00");
	fmt(123456789, "GBP", "en", "£1,234,567.89");
	tap_ok(money_format(small, sizeof(small), 123456, "EUR", "fr") < 0,
	    "money_format refuses a buffer too small");

	money_to_numeric(buf, sizeof(buf), 123456);
	tap_ok(strcmp(buf, "1234.56") == 0, "money_to_numeric 1234.56");
	money_to_numeric(buf, sizeof(buf), -5);
	tap_ok(strcmp(buf, "-0.05") == 0, "money_to_numeric -0.05");
	return tap_done();
}
