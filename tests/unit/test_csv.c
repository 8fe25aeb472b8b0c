/*
 * test_csv — the practice software's exports: RFC 4180 rows with the line
 * each starts on, amounts and dates as a firm writes them, Windows-1252.
 */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "tap.h"

/* Reading TEXT with SEP gives the rows of WANT: each "line|f1|f2…" or
 * "line!error", NULL-terminated. */
static void
rows(const char *name, const char *text, char sep, const char *const *want)
{
	struct csv c;
	struct csv_row r;
	char got[1024] = "", exp[1024] = "";
	int rc;

	for (const char *const *w = want; *w; w++) {
		strcat(exp, *w);
		strcat(exp, "\n");
	}
	csv_init(&c, text, strlen(text), sep);
	while ((rc = csv_next(&c, &r)) == 1) {
		char line[256];

		if (r.error != NULL) {
			snprintf(line, sizeof(line), "%zu!error\n", r.line);
		} else {
			int n = snprintf(line, sizeof(line), "%zu", r.line);

			for (size_t i = 0; i < r.nfields; i++)
				n += snprintf(line + n, sizeof(line) - (size_t)n, "|%s", r.fields[i]);
			snprintf(line + n, sizeof(line) - (size_t)n, "\n");
		}
		strcat(got, line);
	}
	csv_free(&c);
	if (!tap_ok(rc == 0 && strcmp(got, exp) == 0, "csv: %s", name))
		tap_diag("want:\n%s# got:\n%s", exp, got);
}

static void
amount(const char *s, char mark, int ok, long long cents)
{
	int64_t got = -1;
	int rc = csv_amount(s, mark, &got);

	if (!ok)
		tap_ok(rc < 0, "csv_amount(\"%s\", '%c') refused", s, mark);
	else if (!tap_ok(rc == 0 && got == cents, "csv_amount(\"%s\", '%c') = %lld", s, mark,
	    cents))
		tap_diag("rc %d got %lld", rc, (long long)got);
}

static void
date(const char *s, enum csv_date_format f, const char *want)
{
	char out[11] = "";
	int rc = csv_date(s, f, out);

	if (want == NULL)
		tap_ok(rc < 0, "csv_date(\"%s\") refused", s);
	else if (!tap_ok(rc == 0 && strcmp(out, want) == 0, "csv_date(\"%s\") = %s", s, want))
		tap_diag("rc %d got %s", rc, out);
}

int
main(void)
{
	rows("plain", "a,b\n1,2\n", ',', (const char *const[]){ "1|a|b", "2|1|2", NULL });
	rows("CRLF, no final line end", "a;b\r\n1;2", ';',
	    (const char *const[]){ "1|a|b", "2|1|2", NULL });
	rows("BOM skipped", "\xef\xbb\xbf" "a,b\n", ',', (const char *const[]){ "1|a|b", NULL });
	rows("quotes, doubled quote, separator inside", "\"a,\"\"x\"\"\",b\n", ',',
	    (const char *const[]){ "1|a,\"x\"|b", NULL });
	rows("line end inside quotes: the next row's line counts it",
	    "h\n\"two\r\nlines\",x\nz,y\n", ',',
	    (const char *const[]){ "1|h", "2|two\r\nlines|x", "4|z|y", NULL });
	rows("empty lines skipped but counted", "a\n\n\r\nb\n", ',',
	    (const char *const[]){ "1|a", "4|b", NULL });
	rows("empty fields", ",,\n", ',', (const char *const[]){ "1|||", NULL });
	rows("text after a closing quote: that row refused, the next read",
	    "\"a\"b,c\nd\n", ',', (const char *const[]){ "1!error", "2|d", NULL });
	rows("quote never closed", "a\n\"b,c\nd\n", ',',
	    (const char *const[]){ "1|a", "2!error", NULL });
	rows("lone CR ends a line", "a\rb\r", ',', (const char *const[]){ "1|a", "2|b", NULL });
	rows("empty input", "", ',', (const char *const[]){ NULL });

	amount("1234.56", '.', 1, 123456);
	amount("1 234,56", ',', 1, 123456);
	amount("1\xc2\xa0" "234,5", ',', 1, 123450);
	amount("1\xe2\x80\xaf" "234\xe2\x80\xaf" "567,00", ',', 1, 123456700);
	amount("1.234,56", ',', 1, 123456);
	amount("1,234.56", '.', 1, 123456);
	amount("-120,00", ',', 1, -12000);
	amount("7", ',', 1, 700);
	amount("0,5", ',', 1, 50);
	amount("1 23,00", ',', 0, 0);
	amount("1234 567,00", ',', 0, 0);
	amount("12,345", ',', 0, 0);
	amount("12,", ',', 0, 0);
	amount("", ',', 0, 0);
	amount("abc", ',', 0, 0);
	amount("1 234.56", ',', 0, 0);
	amount("99999999999,00", ',', 0, 0);
	amount("9 999 999 999,99", ',', 1, 999999999999LL);

	date("2026-03-15", CSV_DATE_ISO, "2026-03-15");
	date("15/03/2026", CSV_DATE_DMY, "2026-03-15");
	date("29/02/2024", CSV_DATE_DMY, "2024-02-29");
	date("29/02/2026", CSV_DATE_DMY, NULL);
	date("31/04/2026", CSV_DATE_DMY, NULL);
	date("2026-13-01", CSV_DATE_ISO, NULL);
	date("15/03/26", CSV_DATE_DMY, NULL);
	date("2026-03-15", CSV_DATE_DMY, NULL);
	date("15/03/2026", CSV_DATE_ISO, NULL);

	{
		size_t n;
		char *u = csv_cp1252_to_utf8("\xc9" "t\xe9 \x80 \x9c\x81", 8, &n);

		tap_ok(u != NULL && strcmp(u, "\xc3\x89t\xc3\xa9 \xe2\x82\xac \xc5\x93\xef\xbf\xbd")
		    == 0, "Windows-1252: É, é, €, œ and an undefined byte as U+FFFD");
		free(u);
	}
	tap_ok(csv_utf8_valid("\xc3\xa9t\xc3\xa9", 5), "UTF-8 valid");
	tap_ok(!csv_utf8_valid("\xe9t\xe9", 3), "Windows-1252 bytes are not UTF-8");
	tap_ok(!csv_utf8_valid("a\0b", 3), "a NUL byte is refused");
	tap_ok(!csv_utf8_valid("\xed\xa0\x80", 3), "a surrogate is refused");
	return tap_done();
}
