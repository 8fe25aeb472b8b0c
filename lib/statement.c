/*
 * statement — what the camt and CFONB readers share: see statement.h.
 */
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "statement.h"

/* Recognise the format by the content and read it: see statement.h. */
int
stmt_parse(const char *buf, size_t len, struct stmt *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len > STMT_MAX_BYTES) {
		strcpy(out->err, "bigger than 256 MiB: not one statement");
		return -1;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && buf[i] == '<')
		return stmt_parse_camt(buf, len, out);
	if (len - i >= 2 && buf[i] == '0' && buf[i + 1] == '1')
		return stmt_parse_cfonb(buf, len, out);
	strcpy(out->err, "neither ISO 20022 camt.053/camt.054 (XML) nor CFONB 120 "
	    "(lines of 120 characters starting with record 01)");
	return -1;
}

static void
entry_free(struct stmt_entry *e)
{
	free(e->ref);
	free(e->debtor_name);
	free(e->debtor_iban);
	free(e->remittance);
	free(e->end_to_end);
}

void
stmt_free(struct stmt *st)
{
	for (size_t i = 0; i < st->n; i++)
		entry_free(&st->entries[i]);
	free(st->entries);
	st->entries = NULL;
	st->n = st->cap = 0;
}

/* Append E: see statement.h. */
int
stmt_add(struct stmt *st, struct stmt_entry *e)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct stmt_entry *n = realloc(st->entries, cap * sizeof(*n));

		if (n == NULL) {
			entry_free(e);
			return -1;
		}
		st->entries = n;
		st->cap = cap;
	}
	st->entries[st->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

/* A text cleaned for a report: see statement.h. */
char *
stmt_text(const char *s, size_t len)
{
	char *out = malloc(len + 1), *w = out;
	int blank = 1;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x80) {
			/* a whole, valid UTF-8 sequence, or '?' for the byte (a
			 * fixed-width field may cut a character in two) */
			size_t n = ch >= 0xf0 ? 4 : ch >= 0xe0 ? 3 : 2;

			if (i + n <= len && csv_utf8_valid(s + i, n)) {
				memcpy(w, s + i, n);
				w += n;
				i += n - 1;
			} else {
				*w++ = '?';
			}
			blank = 0;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			if (!blank)
				*w++ = ' ';
			blank = 1;
			continue;
		}
		*w++ = (char)ch;
		blank = 0;
	}
	while (w > out && w[-1] == ' ')
		w--;
	*w = '\0';
	if (w == out) {
		free(out);
		return NULL;
	}
	return out;
}

/* An IBAN's compact form: see statement.h. */
char *
stmt_iban(const char *s)
{
	char buf[40];
	size_t n = 0;
	unsigned rem = 0;

	for (; *s; s++) {
		if (*s == ' ')
			continue;
		if (n >= 34)
			return NULL;
		buf[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	}
	buf[n] = '\0';
	if (n < 15 || !(buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'A' && buf[1] <= 'Z' &&
	    buf[2] >= '0' && buf[2] <= '9' && buf[3] >= '0' && buf[3] <= '9'))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char ch = buf[(i + 4) % n];

		if (ch >= '0' && ch <= '9')
			rem = (rem * 10 + (unsigned)(ch - '0')) % 97;
		else if (ch >= 'A' && ch <= 'Z')
			rem = (rem * 100 + (unsigned)(ch - 'A' + 10)) % 97;
		else
			return NULL;
	}
	return rem == 1 ? strdup(buf) : NULL;
}
