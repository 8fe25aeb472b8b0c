/*
 * test_calendar — lib/calendar.c against SPEC §2 rule 7 and the calendar
 * facts it rests on: civil dates, Easter and the French public holidays,
 * business days, ISO 8601 instants, local time in Europe/Paris across both
 * DST changes of 2026, the send window and the long dates of the messages.
 *
 * Expected instants are written with an explicit UTC offset, worked out by
 * hand: Europe/Paris is CET (+01) until 2026-03-29 01:00Z, CEST (+02) until
 * 2026-10-25 01:00Z, then CET again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "tap.h"

/* The instant of an ISO 8601 string from the tables; a typo is fatal. */
static time_t
inst(const char *s)
{
	time_t t;

	if (cal_parse_instant(s, &t) < 0) {
		printf("Bail out! bad instant in the table: %s\n", s);
		exit(2);
	}
	return t;
}

/* The date of a "YYYY-MM-DD" string from the tables; a typo is fatal. */
static cal_day
day_of(const char *s)
{
	cal_day d = cal_parse(s);

	if (d == CAL_NONE) {
		printf("Bail out! bad date in the table: %s\n", s);
		exit(2);
	}
	return d;
}

/* Check that instant GOT is the instant of EXPECT (an ISO string). */
static void
ok_instant(time_t got, const char *expect, const char *what)
{
	char g[32], e[32];
	time_t want = inst(expect);

	if (!tap_ok(got == want, "%s", what)) {
		cal_format_instant(want, e);
		cal_format_instant(got, g);
		tap_diag("expected %s (%s), got %s", e, expect, g);
	}
}

/* Every day from 1900 to 2200 converts both ways, consecutively, with the
 * weekday advancing by one and "YYYY-MM-DD" reading back. */
static void
test_round_trips(void)
{
	cal_day first = cal_from_ymd(1900, 1, 1), prev = first - 1;
	int bad_ymd = 0, bad_seq = 0, bad_wd = 0, bad_text = 0, n = 0;

	for (int y = 1900; y <= 2200; y++) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		int len[] = { 31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= len[m - 1]; d++) {
				cal_day day = cal_from_ymd(y, m, d);
				int yy, mm, dd;
				char buf[16];

				cal_to_ymd(day, &yy, &mm, &dd);
				if ((yy != y || mm != m || dd != d) && bad_ymd++ == 0)
					tap_diag("%04d-%02d-%02d -> %d -> %04d-%02d-%02d", y, m, d,
					    day, yy, mm, dd);
				if (day != prev + 1 && bad_seq++ == 0)
					tap_diag("%04d-%02d-%02d is %d, the day before was %d", y, m, d,
					    day, prev);
				if (cal_weekday(day) != (cal_weekday(prev) + 1) % 7 && bad_wd++ == 0)
					tap_diag("%04d-%02d-%02d weekday %d after %d", y, m, d,
					    cal_weekday(day), cal_weekday(prev));
				cal_format(day, buf);
				if (cal_parse(buf) != day && bad_text++ == 0)
					tap_diag("%04d-%02d-%02d formats as %s", y, m, d, buf);
				prev = day;
				n++;
			}
		}
	}
	tap_ok(bad_ymd == 0, "every day 1900-2200 (%d) round-trips through cal_day", n);
	tap_ok(bad_seq == 0 && prev - first + 1 == n, "consecutive dates are consecutive days");
	tap_ok(bad_wd == 0, "weekday advances by one every day 1900-2200");
	tap_ok(bad_text == 0, "cal_format/cal_parse round-trip every day 1900-2200");
}

/* Fixed points of the day count and weekdays of known dates. */
static void
test_anchors(void)
{
	static const struct {
		int y, m, d;
		cal_day day;
		int weekday;	/* 0 = Monday */
	} t[] = {
		{ 1970, 1, 1, 0, 3 },		/* the epoch was a Thursday */
		{ 1900, 1, 1, -25567, 0 },	/* Monday */
		{ 2000, 3, 1, 11017, 2 },	/* the day after a 400-year leap day: Wednesday */
		{ 1999, 12, 31, 10956, 4 },	/* Friday */
		{ 2026, 3, 10, 20522, 1 },	/* Tuesday */
		{ 2038, 1, 19, 24855, 1 },	/* 32-bit time_t ends on a Tuesday */
		{ 2200, 12, 31, 84370, 2 },	/* Wednesday */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cal_day day = cal_from_ymd(t[i].y, t[i].m, t[i].d);

		if (!tap_ok(day == t[i].day && cal_weekday(day) == t[i].weekday,
		    "%04d-%02d-%02d is day %d, weekday %d", t[i].y, t[i].m, t[i].d, t[i].day,
		    t[i].weekday))
			tap_diag("got day %d, weekday %d", day, cal_weekday(day));
	}
}

/* Easter Sunday of known years, including the earliest (22 March) and
 * latest (25 April) possible dates. */
static void
test_easter(void)
{
	static const char *const t[] = {
		"1818-03-22", "1943-04-25", "1961-04-02", "2000-04-23", "2008-03-23",
		"2011-04-24", "2016-03-27", "2018-04-01", "2019-04-21", "2024-03-31",
		"2025-04-20", "2026-04-05", "2027-03-28", "2030-04-21", "2038-04-25",
		"2285-03-22",
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cal_day want = day_of(t[i]), got = cal_easter(atoi(t[i]));
		char buf[16];

		cal_format(got, buf);
		if (got != want && bad++ < 5)
			tap_diag("Easter %.4s: expected %s, got %s", t[i], t[i], buf);
		if (cal_weekday(got) != 6 && bad++ < 5)
			tap_diag("Easter %.4s (%s) is not a Sunday", t[i], buf);
	}
	tap_ok(bad == 0, "Easter Sunday of %zu known years", sizeof(t) / sizeof(t[0]));
}

/* The French public holidays of 2026 (and 2027's moving ones), and
 * ordinary days that look like holidays but are not. */
static void
test_holidays(void)
{
	static const struct {
		const char *date;
		bool holiday;
		const char *why;
	} t[] = {
		{ "2026-01-01", true, "jour de l'an" },
		{ "2026-04-06", true, "Easter Monday (Easter 5 April)" },
		{ "2026-05-01", true, "fête du travail" },
		{ "2026-05-08", true, "victoire 1945" },
		{ "2026-05-14", true, "Ascension (Easter + 39)" },
		{ "2026-05-25", true, "Whit Monday (Easter + 50)" },
		{ "2026-07-14", true, "fête nationale" },
		{ "2026-08-15", true, "Assomption" },
		{ "2026-11-01", true, "Toussaint" },
		{ "2026-11-11", true, "armistice" },
		{ "2026-12-25", true, "Noël" },
		{ "2027-03-29", true, "Easter Monday 2027 (Easter 28 March)" },
		{ "2027-05-06", true, "Ascension 2027" },
		{ "2027-05-17", true, "Whit Monday 2027" },
		{ "2026-04-05", false, "Easter Sunday itself is not on the list" },
		{ "2026-04-03", false, "Good Friday (Alsace-Moselle only)" },
		{ "2026-12-26", false, "Saint-Étienne (Alsace-Moselle only)" },
		{ "2026-05-15", false, "the Friday after Ascension (a 'pont', not a holiday)" },
		{ "2026-04-07", false, "the Tuesday after Easter Monday" },
		{ "2026-11-02", false, "the day after Toussaint" },
		{ "2026-03-10", false, "an ordinary Tuesday" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = cal_is_public_holiday(day_of(t[i].date));

		if (!tap_ok(got == t[i].holiday, "%s %s a public holiday: %s", t[i].date,
		    t[i].holiday ? "is" : "is not", t[i].why))
			tap_diag("expected %d, got %d", t[i].holiday, got);
	}
}

/* Business days: Monday to Friday minus the public holidays. */
static void
test_business_days(void)
{
	static const struct {
		const char *date;
		bool open;
	} t[] = {
		{ "2026-03-09", true },		/* Monday */
		{ "2026-03-13", true },		/* Friday */
		{ "2026-03-14", false },	/* Saturday */
		{ "2026-03-15", false },	/* Sunday */
		{ "2026-04-06", false },	/* Easter Monday */
		{ "2026-04-07", true },		/* Tuesday after */
		{ "2026-05-14", false },	/* Ascension, a Thursday */
		{ "2026-05-15", true },		/* Friday after */
		{ "2026-07-14", false },	/* Tuesday, fête nationale */
		{ "2026-08-15", false },	/* Saturday and a holiday */
		{ "2026-11-11", false },	/* Wednesday, armistice */
		{ "2026-12-24", true },		/* Thursday, Christmas Eve */
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = cal_is_business_day(day_of(t[i].date));

		if (got != t[i].open) {
			bad++;
			tap_diag("%s: expected %s, got %s", t[i].date,
			    t[i].open ? "business day" : "closed", got ? "business day" : "closed");
		}
	}
	tap_ok(bad == 0, "business days of %zu dates in 2026", sizeof(t) / sizeof(t[0]));
}

/* cal_parse: real dates only, the whole string, nothing around it. */
static void
test_parse(void)
{
	static const char *const bad[] = {
		"2026-02-29",	/* 2026 is not a leap year */
		"1900-02-29",	/* a century, not divisible by 400 */
		"2026-04-31", "2026-13-01", "2026-00-10", "2026-03-00", "2026-03-32",
		"2026-3-10", "26-03-10", "2026/03/10", " 2026-03-10", "2026-03-10 ",
		"2026-03-10T00:00", "garbage", "", "2026-03-1a",
	};
	char buf[16];

	tap_ok(cal_parse("2024-02-29") == cal_from_ymd(2024, 2, 29), "2024-02-29 is a real date");
	tap_ok(cal_parse("2000-02-29") == cal_from_ymd(2000, 2, 29), "2000-02-29 is a real date");
	tap_ok(cal_parse("2026-03-10") == 20522, "2026-03-10 parses to day 20522");
	tap_ok(cal_parse(NULL) == CAL_NONE, "cal_parse(NULL) is CAL_NONE");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!tap_ok(cal_parse(bad[i]) == CAL_NONE, "cal_parse refuses \"%s\"", bad[i]))
			tap_diag("got day %d", cal_parse(bad[i]));
	cal_format(cal_from_ymd(2026, 3, 1), buf);
	tap_ok(strcmp(buf, "2026-03-01") == 0, "cal_format pads month and day (%s)", buf);
}

/* cal_parse_instant: the ISO 8601 forms of --now and of dunning.now. */
static void
test_parse_instant(void)
{
	static const struct {
		const char *in;
		const char *utc;	/* NULL: refused */
	} t[] = {
		{ "2026-03-10T11:00:00Z", "2026-03-10T11:00:00Z" },
		{ "2026-03-10T12:00:00+01:00", "2026-03-10T11:00:00Z" },
		{ "2026-03-10T12:00:00+0100", "2026-03-10T11:00:00Z" },
		{ "2026-03-10 12:00+01", "2026-03-10T11:00:00Z" },
		{ "2026-03-10T12:00Z", "2026-03-10T12:00:00Z" },
		{ "2026-03-10T12:00:00.123456+01:00", "2026-03-10T11:00:00Z" },
		{ "2026-03-10T12:00:59,9Z", "2026-03-10T12:00:59Z" },	/* fraction dropped */
		{ "2026-03-10T05:30:00-05:30", "2026-03-10T11:00:00Z" },
		{ "2026-03-10T00:30:00+01:00", "2026-03-09T23:30:00Z" },	/* previous UTC day */
		{ "2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z" },	/* next UTC year */
		{ "2024-02-29T12:00:00+02:00", "2024-02-29T10:00:00Z" },
		{ "2026-03-10T12:00:00", NULL },	/* no offset: ambiguous */
		{ "2026-03-10 12:00", NULL },
		{ "2026-03-10", NULL },
		{ "2026-03-10T24:00:00Z", NULL },
		{ "2026-03-10T12:60:00Z", NULL },
		{ "2026-03-10T12:00:61Z", NULL },
		{ "2026-02-29T12:00:00Z", NULL },
		{ "2026-03-10T12:00:00+24:00", NULL },
		{ "2026-03-10T12:00:00+01:60", NULL },
		{ "2026-03-10T12:00:00+1", NULL },
		{ "2026-03-10T12:00:00+01:", NULL },
		{ "2026-03-10T12:00:00+01:0", NULL },
		{ "2026-03-10T12:00:00.Z", NULL },
		{ "2026-03-10T12:00:00Zjunk", NULL },
		{ "2026-03-10T12Z", NULL },
		{ "2026-03-10X12:00Z", NULL },
		{ "", NULL },
		{ "now", NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		time_t got = 0;
		int rc = cal_parse_instant(t[i].in, &got);
		char buf[32] = "";

		if (rc == 0)
			cal_format_instant(got, buf);
		if (t[i].utc == NULL) {
			if (!tap_ok(rc < 0, "cal_parse_instant refuses \"%s\"", t[i].in))
				tap_diag("accepted as %s", buf);
		} else if (!tap_ok(rc == 0 && strcmp(buf, t[i].utc) == 0,
		    "cal_parse_instant \"%s\" is %s", t[i].in, t[i].utc)) {
			tap_diag("rc %d, got %s", rc, buf);
		}
	}
	/* 20522 days and 11 hours: 20522 * 86400 + 39600. */
	tap_ok(inst("2026-03-10T11:00:00Z") == (time_t)1773140400, "2026-03-10T11:00Z is 1773140400");
	tap_ok(inst("1970-01-01T01:00:00+01:00") == 0, "the epoch with an offset is 0");
}

/* The local date of an instant, around midnight and across DST. */
static void
test_local_day(void)
{
	static const struct {
		const char *at;
		const char *day;
	} t[] = {
		{ "2026-03-10T22:59:00Z", "2026-03-10" },	/* 23:59 CET */
		{ "2026-03-10T23:00:00Z", "2026-03-11" },	/* 00:00 CET */
		{ "2026-07-01T21:59:00Z", "2026-07-01" },	/* 23:59 CEST */
		{ "2026-07-01T22:00:00Z", "2026-07-02" },	/* 00:00 CEST */
		{ "2026-03-28T23:00:00Z", "2026-03-29" },	/* midnight before the spring change */
		{ "2026-03-29T22:00:00Z", "2026-03-30" },	/* first midnight in CEST */
		{ "2026-10-24T22:00:00Z", "2026-10-25" },	/* midnight before the autumn change */
		{ "2026-10-25T22:59:00Z", "2026-10-25" },	/* 23:59 CET */
		{ "2026-10-25T23:00:00Z", "2026-10-26" },
		{ "2026-12-31T23:00:00Z", "2027-01-01" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cal_day got = cal_local_day(inst(t[i].at));
		char buf[16];

		cal_format(got, buf);
		if (!tap_ok(got == day_of(t[i].day), "cal_local_day %s is %s in Paris", t[i].at,
		    t[i].day))
			tap_diag("got %s", buf);
	}
}

/* Local wall time to instant, including the skipped and repeated hours. */
static void
test_local_time(void)
{
	static const struct {
		const char *day;
		int minutes;
		const char *utc;
		const char *what;
	} t[] = {
		{ "2026-03-27", 540, "2026-03-27T08:00:00Z", "09:00 CET the Friday before the change" },
		{ "2026-03-30", 540, "2026-03-30T07:00:00Z", "09:00 CEST the Monday after" },
		{ "2026-03-29", 0, "2026-03-28T23:00:00Z", "midnight of the spring change day" },
		{ "2026-03-29", 119, "2026-03-29T00:59:00Z", "01:59 CET, just before the jump" },
		{ "2026-03-29", 120, "2026-03-29T01:00:00Z", "skipped 02:00 maps to the jump (03:00 CEST)" },
		{ "2026-03-29", 150, "2026-03-29T01:00:00Z", "skipped 02:30 maps to 03:00 CEST" },
		{ "2026-03-29", 179, "2026-03-29T01:00:00Z", "skipped 02:59 maps to 03:00 CEST" },
		{ "2026-03-29", 180, "2026-03-29T01:00:00Z", "03:00 CEST exists" },
		{ "2026-03-29", 1080, "2026-03-29T16:00:00Z", "18:00 CEST on the change day" },
		{ "2026-10-23", 540, "2026-10-23T07:00:00Z", "09:00 CEST the Friday before the autumn change" },
		{ "2026-10-26", 540, "2026-10-26T08:00:00Z", "09:00 CET the Monday after" },
		{ "2026-10-25", 150, "2026-10-25T00:30:00Z", "repeated 02:30: the first (CEST) one" },
		{ "2026-10-25", 120, "2026-10-25T00:00:00Z", "repeated 02:00: the first (CEST) one" },
		{ "2026-10-25", 180, "2026-10-25T02:00:00Z", "03:00 CET after the repeat" },
		{ "2026-10-25", 1080, "2026-10-25T17:00:00Z", "18:00 CET on the change day" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char what[160];

		snprintf(what, sizeof(what), "cal_local_time %s %02d:%02d: %s", t[i].day,
		    t[i].minutes / 60, t[i].minutes % 60, t[i].what);
		ok_instant(cal_local_time(day_of(t[i].day), t[i].minutes), t[i].utc, what);
	}
}

/* cal_in_window with the default 09:00-18:00 business-day window. */
static void
test_in_window(void)
{
	static const struct {
		const char *at;
		bool all_days;		/* business_days_only = false */
		bool in;
	} t[] = {
		{ "2026-03-10T08:59:00+01:00", false, false },	/* Tuesday before opening */
		{ "2026-03-10T09:00:00+01:00", false, true },	/* opening is open */
		{ "2026-03-10T17:59:59+01:00", false, true },
		{ "2026-03-10T18:00:00+01:00", false, false },	/* the end is exclusive */
		{ "2026-03-14T12:00:00+01:00", false, false },	/* Saturday */
		{ "2026-03-14T12:00:00+01:00", true, true },	/* Saturday, every day open */
		{ "2026-03-14T18:00:00+01:00", true, false },	/* still the hours */
		{ "2026-04-06T12:00:00+02:00", false, false },	/* Easter Monday */
		{ "2026-03-30T07:00:00Z", false, true },	/* 09:00 CEST */
		{ "2026-03-30T06:59:00Z", false, false },	/* 08:59 CEST (07:59 in CET terms) */
		{ "2026-03-30T15:59:00Z", false, true },	/* 17:59 CEST */
		{ "2026-03-30T16:00:00Z", false, false },	/* 18:00 CEST */
		{ "2026-10-26T07:59:00Z", false, false },	/* 08:59 CET */
		{ "2026-10-26T08:00:00Z", false, true },	/* 09:00 CET */
		{ "2026-10-26T16:59:00Z", false, true },	/* 17:59 CET */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cal_window w = { 540, 1080, !t[i].all_days };
		bool got = cal_in_window(&w, inst(t[i].at));

		if (!tap_ok(got == t[i].in, "cal_in_window %s%s: %s", t[i].at,
		    t[i].all_days ? " (every day)" : "", t[i].in ? "open" : "closed"))
			tap_diag("got %s", got ? "open" : "closed");
	}
}

/* cal_next_send: the next opening of the window (SPEC §2 rule 7). */
static void
test_next_send(void)
{
	static const struct {
		const char *what;
		const char *at;
		const char *not_before;		/* NULL: no bound */
		bool all_days;
		const char *expect;
	} t[] = {
		{ "Friday 18:00 -> Monday 09:00", "2026-03-13T18:00:00+01:00", NULL, false,
		  "2026-03-16T09:00:00+01:00" },
		{ "Friday 17:59 leaves at once", "2026-03-13T17:59:00+01:00", NULL, false,
		  "2026-03-13T17:59:00+01:00" },
		{ "08:59 -> 09:00 the same day", "2026-03-10T08:59:00+01:00", NULL, false,
		  "2026-03-10T09:00:00+01:00" },
		{ "Saturday 10:00 -> Monday 09:00", "2026-03-14T10:00:00+01:00", NULL, false,
		  "2026-03-16T09:00:00+01:00" },
		{ "Sunday 23:59 -> Monday 09:00", "2026-03-15T23:59:00+01:00", NULL, false,
		  "2026-03-16T09:00:00+01:00" },
		{ "Wednesday before Ascension 17:59 leaves at once", "2026-05-13T17:59:00+02:00", NULL,
		  false, "2026-05-13T17:59:00+02:00" },
		{ "Wednesday before Ascension 18:00 -> Friday 09:00", "2026-05-13T18:00:00+02:00", NULL,
		  false, "2026-05-15T09:00:00+02:00" },
		{ "Friday before Easter Monday 18:00 -> Tuesday 7 April 09:00",
		  "2026-04-03T18:00:00+02:00", NULL, false, "2026-04-07T07:00:00Z" },
		{ "Saturday before Whit Monday -> Tuesday 26 May 09:00", "2026-05-23T11:00:00+02:00",
		  NULL, false, "2026-05-26T09:00:00+02:00" },
		{ "Christmas Eve 18:00 -> Monday 28 December", "2026-12-24T18:00:00+01:00", NULL, false,
		  "2026-12-28T09:00:00+01:00" },
		{ "New Year's Eve 18:00 -> Monday 4 January 2027", "2026-12-31T18:00:00+01:00", NULL,
		  false, "2027-01-04T09:00:00+01:00" },
		{ "spring DST: Friday 18:00 CET -> Monday 09:00 CEST = 07:00Z",
		  "2026-03-27T18:00:00+01:00", NULL, false, "2026-03-30T07:00:00Z" },
		{ "autumn DST: Friday 18:00 CEST -> Monday 09:00 CET = 08:00Z",
		  "2026-10-23T18:00:00+02:00", NULL, false, "2026-10-26T08:00:00Z" },
		{ "every day open: Saturday 10:00 leaves at once", "2026-03-14T10:00:00+01:00", NULL,
		  true, "2026-03-14T10:00:00+01:00" },
		{ "every day open: Saturday 18:00 -> Sunday 09:00", "2026-03-14T18:00:00+01:00", NULL,
		  true, "2026-03-15T09:00:00+01:00" },
		{ "every day open: Easter Monday 08:00 -> 09:00", "2026-04-06T08:00:00+02:00", NULL,
		  true, "2026-04-06T09:00:00+02:00" },
		{ "not_before two days ahead -> that day 09:00", "2026-03-10T12:00:00+01:00",
		  "2026-03-12", false, "2026-03-12T09:00:00+01:00" },
		{ "not_before a Saturday -> Monday 09:00", "2026-03-10T12:00:00+01:00", "2026-03-14",
		  false, "2026-03-16T09:00:00+01:00" },
		{ "not_before today: no effect", "2026-03-10T12:00:00+01:00", "2026-03-10", false,
		  "2026-03-10T12:00:00+01:00" },
		{ "not_before in the past: no effect", "2026-03-10T12:00:00+01:00", "2026-03-01", false,
		  "2026-03-10T12:00:00+01:00" },
		{ "not_before after the spring change -> 09:00 CEST", "2026-03-26T12:00:00+01:00",
		  "2026-03-30", false, "2026-03-30T07:00:00Z" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct cal_window w = { 540, 1080, !t[i].all_days };
		cal_day nb = t[i].not_before ? day_of(t[i].not_before) : CAL_NONE;
		char what[200];

		snprintf(what, sizeof(what), "cal_next_send: %s", t[i].what);
		ok_instant(cal_next_send(&w, inst(t[i].at), nb), t[i].expect, what);
	}
}

/* Dates as the messages write them. */
static void
test_format_long(void)
{
	static const struct {
		const char *date;
		const char *lang;
		bool weekday;
		const char *expect;
	} t[] = {
		{ "2026-03-01", "fr", false, "1er mars 2026" },
		{ "2026-03-15", "fr", false, "15 mars 2026" },
		{ "2026-03-03", "fr", true, "mardi 3 mars 2026" },
		{ "2026-03-01", "fr", true, "dimanche 1er mars 2026" },
		{ "2026-08-15", "fr", false, "15 août 2026" },
		{ "2026-12-01", "fr", false, "1er décembre 2026" },
		{ "2026-02-02", "fr", false, "2 février 2026" },
		{ "2026-03-03", "en", false, "3 March 2026" },
		{ "2026-03-01", "en", false, "1 March 2026" },
		{ "2026-03-03", "en", true, "Tuesday 3 March 2026" },
		{ "2026-12-31", "en", false, "31 December 2026" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cal_format_long(day_of(t[i].date), t[i].lang, t[i].weekday, buf, sizeof(buf));
		if (!tap_ok(strcmp(buf, t[i].expect) == 0, "cal_format_long %s %s%s is \"%s\"",
		    t[i].date, t[i].lang, t[i].weekday ? " with weekday" : "", t[i].expect))
			tap_diag("got \"%s\"", buf);
	}
	memset(buf, 'x', sizeof(buf));
	cal_format_long(day_of("2026-03-15"), "fr", false, buf, 6);
	tap_ok(strcmp(buf, "15 ma") == 0 && buf[6] == 'x', "cal_format_long truncates within N");
}

/* Zone names: system zones only, never a path out of zoneinfo. */
static void
test_timezones(void)
{
	tap_ok(cal_timezone_valid("Europe/Paris"), "Europe/Paris is a valid zone");
	tap_ok(cal_timezone_valid("UTC"), "UTC is a valid zone");
	tap_ok(!cal_timezone_valid("Europe/Nowhere"), "Europe/Nowhere is refused");
	tap_ok(!cal_timezone_valid("../../../etc/passwd"), "a relative path out is refused");
	tap_ok(!cal_timezone_valid("/usr/share/zoneinfo/Europe/Paris"), "an absolute path is refused");
	tap_ok(!cal_timezone_valid("Europe"), "a directory is refused");
	tap_ok(!cal_timezone_valid("") && !cal_timezone_valid(NULL), "empty and NULL are refused");
	tap_ok(cal_set_timezone("Mars/Olympus") < 0, "cal_set_timezone refuses an unknown zone");
}

/* Run every group in Europe/Paris. */
int
main(void)
{
	if (cal_set_timezone("Europe/Paris") < 0) {
		printf("Bail out! Europe/Paris is not installed\n");
		return 2;
	}
	test_round_trips();
	test_anchors();
	test_easter();
	test_holidays();
	test_business_days();
	test_parse();
	test_parse_instant();
	test_local_day();
	test_local_time();
	test_in_window();
	test_next_send();
	test_format_long();
	test_timezones();
	/* The failed cal_set_timezone above must have left Paris in place. */
	ok_instant(cal_local_time(day_of("2026-03-10"), 540), "2026-03-10T09:00:00+01:00",
	    "a refused zone leaves Europe/Paris in place");
	return tap_done();
}
