/*
 * fuzz_csv — the practice software's exports (lib/csv.c): the RFC 4180
 * reader, the amount and date parsers, Windows-1252 to UTF-8.
 *
 * Byte 0: bit 0 the separator (',' or ';'), bit 1 the input read as
 * Windows-1252 first.  The rest is the file.
 *
 * Checked: no crash, leak or UB; rows come in order of their lines, each
 * with at least one field whose recorded length is at least its strlen;
 * an accepted amount is within numeric(12,2); an accepted date is ten
 * characters of ISO form; Windows-1252 always becomes valid UTF-8 (less
 * the NUL bytes it carries over).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_csv: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv c;
	struct csv_row r;
	char sep, *conv = NULL, iso[11];
	const char *text;
	size_t len, last = 0;
	int rc;

	if (size < 1)
		return 0;
	sep = data[0] & 1 ? ';' : ',';
	text = (const char *)data + 1;
	len = size - 1;
	if (data[0] & 2) {
		if ((conv = csv_cp1252_to_utf8(text, len, &len)) == NULL)
			return 0;
		for (size_t i = 0; i < len; i++)
			if (conv[i] == '\0')
				conv[i] = ' ';
		if (!csv_utf8_valid(conv, len))
			FAIL("Windows-1252 did not become valid UTF-8");
		text = conv;
	}
	csv_init(&c, text, len, sep);
	while ((rc = csv_next(&c, &r)) == 1) {
		if (r.line <= last || r.nfields < 1)
			FAIL("rows out of order or without a field");
		last = r.line;
		for (size_t i = 0; i < r.nfields; i++) {
			int64_t cents;
			char *f = r.fields[i];

			if (strlen(f) > r.lengths[i])
				FAIL("a field longer than its length");
			if (csv_amount(f, ',', &cents) == 0 &&
			    (cents > 999999999999LL || cents < -999999999999LL))
				FAIL("an amount out of range accepted");
			if (csv_amount(f, '.', &cents) == 0 &&
			    (cents > 999999999999LL || cents < -999999999999LL))
				FAIL("an amount out of range accepted");
			for (int fmt = 0; fmt < 2; fmt++)
				if (csv_date(f, fmt, iso) == 0 &&
				    (strlen(iso) != 10 || iso[4] != '-' || iso[7] != '-'))
					FAIL("a date not written as ISO");
			(void)csv_utf8_valid(f, r.lengths[i]);
			(void)csv_trim(f);
		}
	}
	if (rc < 0)
		FAIL("out of memory");
	csv_free(&c);
	free(conv);
	return 0;
}
