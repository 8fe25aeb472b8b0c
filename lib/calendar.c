/*
 * calendar — civil dates, French public holidays, send windows.
 *
 * Civil-date arithmetic follows Howard Hinnant's days_from_civil algorithm
 * (exact over the whole int32 range we use).  Local time goes through the C
 * library's time zone database via TZ, set once by cal_set_timezone().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "calendar.h"

/* Days since 1970-01-01 of the civil date Y-M-D. */
cal_day
cal_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The civil date of DAY. */
void
cal_to_ymd(cal_day day, int *y, int *m, int *d)
{
	int z, era, doe, yoe, doy, mp;

	z = day + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

/* Day of the week, 0 = Monday. 1970-01-01 was a Thursday. */
int
cal_weekday(cal_day day)
{
	int w = (day + 3) % 7;

	return w < 0 ? w + 7 : w;
}

/* Number of days in month M of year Y. */
static int
month_days(int y, int m)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

/* Read exactly N digits from *P into *OUT and advance. */
static bool
digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Consume C at *P; never steps over the terminating NUL. */
static bool
expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* Parse "YYYY-MM-DD" at *P, advancing it. */
static cal_day
parse_date(const char **p)
{
	int y, m, d;

	if (!digits(p, 4, &y) || !expect(p, '-') || !digits(p, 2, &m) ||
	    !expect(p, '-') || !digits(p, 2, &d))
		return CAL_NONE;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return CAL_NONE;
	return cal_from_ymd(y, m, d);
}

/* A date column as PostgreSQL prints it, or an operator's argument. */
cal_day
cal_parse(const char *s)
{
	cal_day day;

	if (s == NULL)
		return CAL_NONE;
	day = parse_date(&s);
	return *s == '\0' ? day : CAL_NONE;
}

/* YYYY-MM-DD. */
void
cal_format(cal_day day, char *buf)
{
	int y, m, d;

	cal_to_ymd(day, &y, &m, &d);
	snprintf(buf, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
	    (unsigned)d % 100u);
}

/* Easter Sunday of YEAR (Gregorian, anonymous algorithm of Meeus/Butcher). */
cal_day
cal_easter(int year)
{
	int a = year % 19, b = year / 100, c = year % 100;
	int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;

	return cal_from_ymd(year, month, day);
}

/* French public holidays (jours fériés, Code du travail L.3133-1): the
 * fixed ones, Easter Monday, Ascension and Whit Monday. */
bool
cal_is_public_holiday(cal_day day)
{
	static const int fixed[][2] = {
		{ 1, 1 }, { 5, 1 }, { 5, 8 }, { 7, 14 }, { 8, 15 },
		{ 11, 1 }, { 11, 11 }, { 12, 25 },
	};
	int y, m, d;
	cal_day easter;

	cal_to_ymd(day, &y, &m, &d);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (fixed[i][0] == m && fixed[i][1] == d)
			return true;
	easter = cal_easter(y);
	return day == easter + 1 || day == easter + 39 || day == easter + 50;
}

/* Monday to Friday and not a public holiday. */
bool
cal_is_business_day(cal_day day)
{
	return cal_weekday(day) < 5 && !cal_is_public_holiday(day);
}

/* A zone name is valid when it names a TZif file under the system's
 * zoneinfo; relative names only, so "../../etc/passwd" is refused. */
bool
cal_timezone_valid(const char *name)
{
	char path[512], magic[4];
	struct stat st;
	FILE *f;
	bool ok;

	if (name == NULL || *name == '\0' || name[0] == '/' || strstr(name, "..") != NULL)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("/_-+", *p) == NULL)
			return false;
	if (snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name) >= (int)sizeof(path))
		return false;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if ((f = fopen(path, "rb")) == NULL)
		return false;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

/* Point every local-time conversion of the process at zone NAME. */
int
cal_set_timezone(const char *name)
{
	if (!cal_timezone_valid(name))
		return -1;
	if (setenv("TZ", name, 1) != 0)
		return -1;
	tzset();
	return 0;
}

/* The local date of T. */
cal_day
cal_local_day(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return cal_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* mktime for one local wall time with the given DST guess. */
static time_t
wall(cal_day day, int minutes, int isdst)
{
	struct tm tm;
	int y, m, d;

	cal_to_ymd(day, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = minutes / 60;
	tm.tm_min = minutes % 60;
	tm.tm_isdst = isdst;
	return mktime(&tm);
}

/* Local wall time → instant.  mktime's answer for an ambiguous or skipped
 * time depends on the guess, so try both and keep the one that reads back
 * as the asked wall time (the earlier if both do); for a skipped time take
 * the first instant after the gap. */
time_t
cal_local_time(cal_day day, int minutes)
{
	time_t cand[2] = { wall(day, minutes, 1), wall(day, minutes, 0) };
	time_t best = (time_t)-1;

	for (int i = 0; i < 2; i++) {
		struct tm tm;

		localtime_r(&cand[i], &tm);
		if (cal_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) == day &&
		    tm.tm_hour * 60 + tm.tm_min == minutes &&
		    (best == (time_t)-1 || cand[i] < best))
			best = cand[i];
	}
	if (best != (time_t)-1)
		return best;
	/* Skipped by a spring-forward: the wall clock jumps from just before
	 * MINUTES to after it; the first existing instant is the jump itself.
	 * The guess is left to mktime: a forced isdst = 0 shifts every wall
	 * time after the jump by an hour, so none would read back. */
	for (int m = minutes + 1; m < 24 * 60; m++) {
		time_t t = wall(day, m, -1);
		struct tm tm;

		localtime_r(&t, &tm);
		if (tm.tm_hour * 60 + tm.tm_min == m)
			return t;
	}
	return wall(day, minutes, 0);
}

/* May a message leave on DAY at all? */
static bool
day_open(const struct cal_window *w, cal_day day)
{
	return !w->business_days_only || cal_is_business_day(day);
}

/* Is T inside a send window? */
bool
cal_in_window(const struct cal_window *w, time_t t)
{
	cal_day day = cal_local_day(t);

	return day_open(w, day) && t >= cal_local_time(day, w->start_min) &&
	    t < cal_local_time(day, w->end_min);
}

/* The earliest instant >= T on a date >= NOT_BEFORE inside a window.  The
 * search is bounded: no stretch of the French calendar has more than a few
 * closed days in a row. */
time_t
cal_next_send(const struct cal_window *w, time_t t, cal_day not_before)
{
	cal_day day = cal_local_day(t);

	if (not_before != CAL_NONE && not_before > day) {
		day = not_before;
		t = cal_local_time(day, 0);
	}
	for (int i = 0; i < 400; i++, day++) {
		time_t open, close;

		if (!day_open(w, day))
			continue;
		open = cal_local_time(day, w->start_min);
		close = cal_local_time(day, w->end_min);
		if (t < open)
			return open;
		if (t < close)
			return t;
	}
	return (time_t)-1;
}

/* ISO 8601 instant with an offset. */
int
cal_parse_instant(const char *s, time_t *t)
{
	int hh, mm, ss = 0, oh = 0, om = 0, sign = 0;
	cal_day day;
	const char *p = s;

	if (s == NULL || (day = parse_date(&p)) == CAL_NONE)
		return -1;
	if (*p != 'T' && *p != ' ')
		return -1;
	p++;
	if (!digits(&p, 2, &hh) || !expect(&p, ':') || !digits(&p, 2, &mm))
		return -1;
	if (*p == ':') {
		p++;
		if (!digits(&p, 2, &ss))
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (hh > 23 || mm > 59 || ss > 60)
		return -1;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh))
			return -1;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &om))
				return -1;	/* "+01:" is not an offset */
		} else if (isdigit((unsigned char)*p) && !digits(&p, 2, &om)) {
			return -1;
		}
		if (oh > 23 || om > 59)
			return -1;
	} else {
		return -1;	/* an instant without an offset is ambiguous */
	}
	if (*p != '\0')
		return -1;
	*t = (time_t)day * 86400 + hh * 3600 + mm * 60 + ss -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

/* UTC, second precision. */
void
cal_format_instant(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
	    (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
	    (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
}

/* Long date in French or English. */
void
cal_format_long(cal_day day, const char *lang, bool weekday, char *buf, size_t n)
{
	static const char *const mois[] = { "janvier", "février", "mars", "avril", "mai",
		"juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre" };
	static const char *const months[] = { "January", "February", "March", "April", "May",
		"June", "July", "August", "September", "October", "November", "December" };
	static const char *const jours[] = { "lundi", "mardi", "mercredi", "jeudi", "vendredi",
		"samedi", "dimanche" };
	static const char *const days[] = { "Monday", "Tuesday", "Wednesday", "Thursday",
		"Friday", "Saturday", "Sunday" };
	bool en = lang != NULL && strcmp(lang, "en") == 0;
	int y, m, d, w = cal_weekday(day);

	cal_to_ymd(day, &y, &m, &d);
	if (en)
		snprintf(buf, n, "%s%s%d %s %d", weekday ? days[w] : "", weekday ? " " : "", d,
		    months[m - 1], y);
	else
		snprintf(buf, n, "%s%s%d%s %s %d", weekday ? jours[w] : "", weekday ? " " : "", d,
		    d == 1 ? "er" : "", mois[m - 1], y);
}
