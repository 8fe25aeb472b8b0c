/*
 * csv — the practice software's exports: an RFC 4180 reader over a buffer
 * (quoted fields, "" inside quotes, CRLF, LF or CR line ends, a UTF-8 BOM
 * skipped, `,` or `;`), each row with the line of the file it starts on,
 * and the values of a row as the firm writes them: amounts with a decimal
 * comma and grouped thousands ("1 234,56"), dates in ISO or dd/mm/yyyy,
 * Windows-1252 text turned into UTF-8.  Pure: no I/O, no global state.
 */
#ifndef DUNNING_CSV_H
#define DUNNING_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One row: its fields (NUL-terminated, owned by the reader, valid until
 * the next csv_next), their lengths (a field holding a NUL byte is longer
 * than its strlen), the file's line it starts on (the first line is 1),
 * and, when the row is malformed, why (NULL otherwise). */
struct csv_row {
	size_t line;
	size_t nfields;
	char **fields;
	size_t *lengths;
	const char *error;
};

struct csv {
	const char *buf;
	size_t len, pos, line;
	char sep;
	char *text;		/* the current row's fields, each NUL-terminated */
	size_t textlen, textcap;
	size_t *offs, *lens;
	char **fields;
	size_t nfields, fieldcap;
};

/* Read BUF (LEN bytes, not copied) with separator SEP; a leading UTF-8
 * BOM is skipped. */
void csv_init(struct csv *c, const char *buf, size_t len, char sep);

/* The next row into ROW: 1, or 0 at the end (an empty line is skipped,
 * counted).  A malformed row (a quote not closed before the end of the
 * file, text after a closing quote) comes back with ROW->error set; the
 * reader then goes on at the next line.  -1 only when out of memory. */
int csv_next(struct csv *c, struct csv_row *row);

void csv_free(struct csv *c);

/* How the firm writes dates. */
enum csv_date_format { CSV_DATE_ISO, CSV_DATE_DMY };

/* An amount: an optional sign, digits optionally grouped by thousands
 * (a space, U+00A0, U+202F, an apostrophe, or the mark that is not
 * DECIMAL_MARK), then DECIMAL_MARK ('.' or ',') and at most two decimals.
 * 0 with *CENTS set, or -1 when it is not such a number or above
 * 9 999 999 999,99 (numeric(12,2)). */
int csv_amount(const char *s, char decimal_mark, int64_t *cents);

/* A calendar date in FORMAT (ISO "2026-03-15", or "15/03/2026"), checked
 * (month, day of that month), written as ISO into OUT.  0 or -1. */
int csv_date(const char *s, enum csv_date_format format, char out[11]);

/* IN (LEN bytes of Windows-1252) as UTF-8, malloc'ed and NUL-terminated,
 * its length in *OUTLEN; the five bytes Windows-1252 leaves undefined
 * become U+FFFD.  NULL when out of memory. */
char *csv_cp1252_to_utf8(const char *in, size_t len, size_t *outlen);

/* Whether S (LEN bytes) is well-formed UTF-8 without NUL. */
bool csv_utf8_valid(const char *s, size_t len);

/* S with its leading and trailing blanks (space, tab) cut, in place. */
char *csv_trim(char *s);

#endif
