/*
 * calendar — civil dates, French public holidays, business days and send
 * windows in the firm's time zone.
 *
 * Instants are time_t (UTC seconds).  Dates are cal_day: days since
 * 1970-01-01 in the proleptic Gregorian calendar, independent of any zone.
 * Converting between the two uses the process time zone, which
 * cal_set_timezone() sets once from the configuration.
 */
#ifndef DUNNING_CALENDAR_H
#define DUNNING_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef int32_t cal_day;

#define CAL_NONE INT32_MIN	/* "no date" (a NULL date column) */

struct cal_window {
	int start_min;		/* minutes after local midnight */
	int end_min;		/* exclusive */
	bool business_days_only;
};

cal_day cal_from_ymd(int y, int m, int d);
void cal_to_ymd(cal_day day, int *y, int *m, int *d);
/* 0 = Monday … 6 = Sunday. */
int cal_weekday(cal_day day);
/* Parse "YYYY-MM-DD"; returns CAL_NONE when malformed or not a real date. */
cal_day cal_parse(const char *s);
/* "YYYY-MM-DD" into BUF (at least 11 bytes). */
void cal_format(cal_day day, char *buf);

cal_day cal_easter(int year);
bool cal_is_public_holiday(cal_day day);
bool cal_is_business_day(cal_day day);

/* Is NAME a time zone the system knows (a TZif file under zoneinfo)? */
bool cal_timezone_valid(const char *name);
/* Make NAME the zone of every conversion below. */
int cal_set_timezone(const char *name);

/* The local date of instant T. */
cal_day cal_local_day(time_t t);
/* The instant of local wall time MINUTES after midnight on DAY.  A wall
 * time skipped by a DST change maps to the instant just after the jump;
 * a repeated one to its first occurrence. */
time_t cal_local_time(cal_day day, int minutes);

/* Is T inside a send window? */
bool cal_in_window(const struct cal_window *w, time_t t);
/* The earliest instant >= T, on a local date >= NOT_BEFORE (CAL_NONE: no
 * bound), that lies inside a send window. */
time_t cal_next_send(const struct cal_window *w, time_t t, cal_day not_before);

/* A date as a reader of LANG writes it: "1er mars 2026", "15 mars 2026";
 * "1 March 2026".  WEEKDAY prefixes the day's name ("mardi 3 mars 2026"). */
void cal_format_long(cal_day day, const char *lang, bool weekday, char *buf, size_t n);

/* Parse an ISO 8601 instant with an offset: "2026-03-10T12:00:00+01:00",
 * "2026-03-10 12:00+01", "...Z", optional fractional seconds (dropped).
 * Returns 0 and sets *T, or -1. */
int cal_parse_instant(const char *s, time_t *t);
/* "2026-03-10T11:00:00Z" into BUF (at least 21 bytes). */
void cal_format_instant(time_t t, char *buf);

#endif
