/*
 * csv — the reader and the value parsers of the practice software's
 * exports: see csv.h.
 */
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Read BUF: see csv.h. */
void
csv_init(struct csv *c, const char *buf, size_t len, char sep)
{
	memset(c, 0, sizeof(*c));
	c->buf = buf;
	c->len = len;
	c->sep = sep;
	c->line = 1;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		c->pos = 3;
}

void
csv_free(struct csv *c)
{
	free(c->text);
	free(c->offs);
	free(c->lens);
	free(c->fields);
	memset(c, 0, sizeof(*c));
}

/* Append byte B to the current field. */
static int
put(struct csv *c, char b)
{
	if (c->textlen + 1 >= c->textcap) {
		size_t cap = c->textcap ? c->textcap * 2 : 256;
		char *t = realloc(c->text, cap);

		if (t == NULL)
			return -1;
		c->text = t;
		c->textcap = cap;
	}
	c->text[c->textlen++] = b;
	return 0;
}

/* End the current field (it started at START in text). */
static int
end_field(struct csv *c, size_t start)
{
	if (c->nfields == c->fieldcap) {
		size_t cap = c->fieldcap ? c->fieldcap * 2 : 16;
		size_t *o = realloc(c->offs, cap * sizeof(*o));

		if (o == NULL)
			return -1;
		c->offs = o;
		if ((o = realloc(c->lens, cap * sizeof(*o))) == NULL)
			return -1;
		c->lens = o;
		c->fieldcap = cap;
	}
	c->offs[c->nfields] = start;
	c->lens[c->nfields] = c->textlen - start;
	c->nfields++;
	return put(c, '\0');
}

/* Consume a line end at the current position, if any: 1 when one was. */
static int
line_end(struct csv *c)
{
	if (c->pos < c->len && c->buf[c->pos] == '\r') {
		c->pos++;
		if (c->pos < c->len && c->buf[c->pos] == '\n')
			c->pos++;
		c->line++;
		return 1;
	}
	if (c->pos < c->len && c->buf[c->pos] == '\n') {
		c->pos++;
		c->line++;
		return 1;
	}
	return 0;
}

/* Skip the rest of a malformed row, to the next line end. */
static void
skip_line(struct csv *c)
{
	while (c->pos < c->len && !line_end(c))
		c->pos++;
}

/* The next row: see csv.h. */
int
csv_next(struct csv *c, struct csv_row *row)
{
	memset(row, 0, sizeof(*row));
	/* Empty lines are skipped (and counted). */
	while (c->pos < c->len && line_end(c))
		;
	if (c->pos >= c->len)
		return 0;
	row->line = c->line;
	c->textlen = 0;
	c->nfields = 0;
	for (;;) {
		size_t start = c->textlen;

		if (c->pos < c->len && c->buf[c->pos] == '"') {
			c->pos++;
			for (;;) {
				if (c->pos >= c->len) {
					row->error = "a quoted field is not closed before the end "
					    "of the file";
					break;
				}
				char b = c->buf[c->pos++];

				if (b == '"') {
					if (c->pos < c->len && c->buf[c->pos] == '"') {
						c->pos++;
						if (put(c, '"') < 0)
							return -1;
						continue;
					}
					break;
				}
				if (b == '\n' || (b == '\r' && !(c->pos < c->len &&
				    c->buf[c->pos] == '\n')))
					c->line++;
				if (put(c, b) < 0)
					return -1;
			}
			if (row->error == NULL && c->pos < c->len && c->buf[c->pos] != c->sep &&
			    c->buf[c->pos] != '\r' && c->buf[c->pos] != '\n') {
				row->error = "text after a closing quote (a quote inside a field "
				    "is written twice, the whole field in quotes)";
				skip_line(c);
			}
		} else {
			while (c->pos < c->len && c->buf[c->pos] != c->sep &&
			    c->buf[c->pos] != '\r' && c->buf[c->pos] != '\n')
				if (put(c, c->buf[c->pos++]) < 0)
					return -1;
		}
		if (end_field(c, start) < 0)
			return -1;
		if (row->error != NULL)
			break;
		if (c->pos < c->len && c->buf[c->pos] == c->sep) {
			c->pos++;
			continue;
		}
		line_end(c);
		break;
	}
	free(c->fields);
	if ((c->fields = malloc(c->nfields * sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < c->nfields; i++)
		c->fields[i] = c->text + c->offs[i];
	row->nfields = c->nfields;
	row->fields = c->fields;
	row->lengths = c->lens;
	return 1;
}

/* S without leading and trailing blanks: see csv.h. */
char *
csv_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* The length of a thousands separator at S, or 0. */
static size_t
group_mark(const char *s, char decimal_mark)
{
	if (*s == ' ' || *s == '\'')
		return 1;
	if (*s == (decimal_mark == ',' ? '.' : ','))
		return 1;
	if (strncmp(s, "\xc2\xa0", 2) == 0)
		return 2;
	if (strncmp(s, "\xe2\x80\xaf", 3) == 0)
		return 3;
	return 0;
}

/* An amount as the firm writes it: see csv.h. */
int
csv_amount(const char *s, char decimal_mark, int64_t *cents)
{
	int64_t units = 0;
	int sign = 1, digits = 0, decimals = 0, frac = 0, group = -1;
	size_t g;

	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	for (; *s != '\0' && *s != decimal_mark; s++) {
		if (*s >= '0' && *s <= '9') {
			if (++digits > 10)
				return -1;
			units = units * 10 + (*s - '0');
			if (group >= 0)
				group++;
			continue;
		}
		/* A thousands mark: after 1 to 3 digits first, then after 3. */
		if ((g = group_mark(s, decimal_mark)) == 0 || digits == 0 ||
		    (group >= 0 && group != 3) || (group < 0 && digits > 3))
			return -1;
		group = 0;
		s += g - 1;
	}
	if (digits == 0 || (group >= 0 && group != 3))
		return -1;
	if (*s == decimal_mark) {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (++decimals > 2)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
		if (decimals == 0)
			return -1;
	}
	if (*s != '\0')
		return -1;
	if (decimals == 1)
		frac *= 10;
	if (units > 9999999999LL)
		return -1;
	*cents = sign * (units * 100 + frac);
	return 0;
}

/* N digits at S into *V. */
static int
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* A date as the firm writes it: see csv.h. */
int
csv_date(const char *s, enum csv_date_format format, char out[11])
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, max;

	if (strlen(s) != 10)
		return -1;
	if (format == CSV_DATE_ISO) {
		if (s[4] != '-' || s[7] != '-' || digits(s, 4, &y) < 0 ||
		    digits(s + 5, 2, &m) < 0 || digits(s + 8, 2, &d) < 0)
			return -1;
	} else {
		if (s[2] != '/' || s[5] != '/' || digits(s, 2, &d) < 0 ||
		    digits(s + 3, 2, &m) < 0 || digits(s + 6, 4, &y) < 0)
			return -1;
	}
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
		return -1;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	if (d > max)
		return -1;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
	return 0;
}

/* Windows-1252's 0x80-0x9F (0: undefined there). */
static const unsigned short cp1252_high[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* Windows-1252 to UTF-8: see csv.h. */
char *
csv_cp1252_to_utf8(const char *in, size_t len, size_t *outlen)
{
	char *out = malloc(len * 3 + 1), *w = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)in[i];
		unsigned cp = b;

		if (b < 0x80) {
			*w++ = (char)b;
			continue;
		}
		if (b < 0xa0)
			cp = cp1252_high[b - 0x80] ? cp1252_high[b - 0x80] : 0xfffd;
		if (cp < 0x800) {
			*w++ = (char)(0xc0 | cp >> 6);
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*w++ = (char)(0xe0 | cp >> 12);
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*w = '\0';
	*outlen = (size_t)(w - out);
	return out;
}

/* Well-formed UTF-8 without NUL: see csv.h. */
bool
csv_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;

	while (p < e) {
		unsigned cp;
		int n;

		if (*p == 0)
			return false;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		if (e - p <= n)
			return false;
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}
