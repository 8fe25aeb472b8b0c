/*
 * fuzz_parse — the small parsers fed by operators and the database:
 * ISO 8601 instants (--now), dates, numeric amounts.  Each must refuse
 * garbage without crashing and round-trip what it accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input, three parsers. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), buf[64];
	time_t t, back;
	int64_t cents, again;
	cal_day day;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Instants before year 1 (0001-01-01 with a positive offset) have no
	 * four-digit form to round-trip through. */
	if (cal_parse_instant(s, &t) == 0 && t >= -62135596800) {
		cal_format_instant(t, buf);
		if (cal_parse_instant(buf, &back) != 0 || back != t)
			abort();
	}
	if ((day = cal_parse(s)) != CAL_NONE) {
		cal_format(day, buf);
		if (cal_parse(buf) != day)
			abort();
	}
	if (money_parse(s, &cents) == 0) {
		money_to_numeric(buf, sizeof(buf), cents);
		if (money_parse(buf, &again) != 0 || again != cents)
			abort();
		money_format(buf, sizeof(buf), cents, "EUR", "fr");
	}
	free(s);
	return 0;
}
