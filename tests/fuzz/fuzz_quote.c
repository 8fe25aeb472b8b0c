/*
 * fuzz_quote — the two places the code writes text for another parser to
 * read back: PostgreSQL array literals (db/store_array.c: the lists of ids
 * and of strings that travel as one parameter, "$1::text[]") and the
 * conninfo dunningctl builds for another login (ctl/ctl_db.c,
 * ctl_db_conninfo_with_user).
 *
 * Byte 0 chooses:
 * - 0: a text array.  The rest, split at NUL bytes, are the elements; an
 *   element of the single byte 0xff is SQL NULL.  store_text_array's
 *   literal, read back by a parser that follows PostgreSQL's array_in
 *   (quotes, backslashes, blanks around unquoted elements, NULL only
 *   unquoted, braces and commas), gives back exactly the elements: quotes,
 *   backslashes, commas, braces, the word NULL, empty strings, blanks.
 *   The same bytes, 8 at a time, as ids: store_ids_array reads back too.
 * - 1: a conninfo as configured (the first text, any bytes) and a login
 *   (the second).  When libpq refuses the conninfo, so does
 *   ctl_db_conninfo_with_user; else libpq reads its result back with
 *   every keyword of the configured one but user and password, with the
 *   same value, and user the login.
 * - 2: the same, the conninfo built from values of the input (host,
 *   dbname, options, application_name, password, user, sslmode) quoted
 *   here, checked against libpq first.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

#include "ctl_db.h"
#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_quote: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

#define MAXEL 64
#define MAXIDS 300	/* 2048 bytes, 8 a time */

static bool
pg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * A one-dimension array literal S read as PostgreSQL's array_in reads it
 * (src/backend/utils/adt/arrayfuncs.c, ReadArrayStr): the elements into
 * OUT (malloc'ed, NULL for SQL NULL).  The count, or -1 when PostgreSQL
 * would refuse it.
 */
static int
pg_array_parse(const char *s, char **out, int max)
{
	int n = 0;

	while (pg_space(*s))
		s++;
	if (*s++ != '{')
		return -1;
	while (pg_space(*s))
		s++;
	if (*s == '}') {
		s++;
		goto end;
	}
	for (;;) {
		char *el = malloc(strlen(s) + 1), *w = el;
		bool quoted = false, any_quote = false, escaped_tail = false;
		char *last_kept = el;	/* unquoted: blanks after it are trimmed */

		while (pg_space(*s))
			s++;
		for (;; s++) {
			if (*s == '\0')
				goto bad;
			if (*s == '\\') {
				if (*++s == '\0')
					goto bad;
				*w++ = *s;
				last_kept = w;
				escaped_tail = true;
			} else if (*s == '"') {
				quoted = !quoted;
				any_quote = true;
				last_kept = w;
			} else if (quoted) {
				*w++ = *s;
				last_kept = w;
			} else if (*s == ',' || *s == '}') {
				break;
			} else if (*s == '{') {
				goto bad;
			} else {
				*w++ = *s;
				if (!pg_space(*s))
					last_kept = w;
			}
		}
		w = last_kept;
		*w = '\0';
		(void)escaped_tail;
		if (n == max)
			goto bad;
		if (!any_quote && strcasecmp(el, "NULL") == 0 && strchr(el, '\\') == NULL) {
			free(el);
			out[n++] = NULL;
		} else {
			out[n++] = el;
		}
		if (*s++ == '}')
			break;
		continue;
bad:
		free(el);
		for (int i = 0; i < n; i++)
			free(out[i]);
		return -1;
	}
end:
	while (pg_space(*s))
		s++;
	if (*s != '\0') {
		for (int i = 0; i < n; i++)
			free(out[i]);
		return -1;
	}
	return n;
}

/* Mode 0. */
static void
arrays(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *v[MAXEL], *back[MAXIDS], *lit;
	size_t n = 0, start = 0;
	int got;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t i = 0; i <= size && n < MAXEL; i++)
		if (i == size || buf[i] == '\0') {
			buf[i] = '\0';
			v[n++] = strcmp(buf + start, "\xff") == 0 ? NULL : buf + start;
			start = i + 1;
		}
	if ((lit = store_text_array((const char *const *)v, n)) == NULL)
		FAIL("store_text_array failed");
	if ((got = pg_array_parse(lit, back, MAXEL)) < 0 || (size_t)got != n) {
		fprintf(stderr, "fuzz_quote: %s\n", lit);
		FAIL("the text array does not read back with its elements");
	}
	for (size_t i = 0; i < n; i++) {
		if ((v[i] == NULL) != (back[i] == NULL) ||
		    (v[i] != NULL && strcmp(v[i], back[i]) != 0)) {
			fprintf(stderr, "fuzz_quote: %s: element %zu\n", lit, i);
			FAIL("an element reads back changed");
		}
		free(back[i]);
	}
	free(lit);

	/* The same bytes as ids. */
	{
		struct store_ids ids = { 0 };
		char *end;

		for (size_t i = 0; i + 8 <= size; i += 8) {
			int64_t id;

			memcpy(&id, data + i, 8);
			if (store_ids_add(&ids, id) < 0)
				FAIL("store_ids_add failed");
		}
		if ((lit = store_ids_array(&ids)) == NULL)
			FAIL("store_ids_array failed");
		if ((got = pg_array_parse(lit, back, MAXIDS)) < 0 || (size_t)got != ids.n)
			FAIL("the id array does not read back with its elements");
		for (size_t i = 0; i < ids.n; i++) {
			if (back[i] == NULL || strtoll(back[i], &end, 10) != ids.v[i] || *end != '\0')
				FAIL("an id reads back changed");
			free(back[i]);
		}
		free(lit);
		free(ids.v);
	}
	free(buf);
}

/* The value of KEY in OPTS, or NULL. */
static const char *
opt(const PQconninfoOption *opts, const char *key)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0)
			return o->val;
	return NULL;
}

/* CONNINFO for USER: the checks of modes 1 and 2. */
static void
conninfo(const char *conninfo, const char *user)
{
	PQconninfoOption *in, *out;
	char err[512], *msg = NULL, *built;

	in = PQconninfoParse(conninfo, &msg);
	PQfreemem(msg);
	msg = NULL;
	built = ctl_db_conninfo_with_user(conninfo, user, err, sizeof(err));
	if (in == NULL) {
		if (built != NULL)
			FAIL("a conninfo libpq refuses is taken");
		if (strncmp(err, "database.conninfo: ", 19) != 0 || strchr(err, '\n') != NULL)
			FAIL("the error does not say database.conninfo on one line");
		return;
	}
	if (built == NULL)
		FAIL("a conninfo libpq reads is refused");
	if ((out = PQconninfoParse(built, &msg)) == NULL) {
		fprintf(stderr, "fuzz_quote: [%s] %s\n", built, msg);
		FAIL("libpq cannot read the conninfo built");
	}
	for (const PQconninfoOption *o = in; o->keyword != NULL; o++) {
		const char *want = o->val, *got = opt(out, o->keyword);

		if (strcmp(o->keyword, "user") == 0)
			want = user;
		else if (strcmp(o->keyword, "password") == 0)
			want = NULL;
		if ((want == NULL) != (got == NULL) || (want != NULL && strcmp(want, got) != 0)) {
			fprintf(stderr, "fuzz_quote: [%s] -> [%s]: %s\n", conninfo, built, o->keyword);
			FAIL("a keyword reads back changed");
		}
	}
	PQconninfoFree(in);
	PQconninfoFree(out);
	free(built);
}

/* KEY='VALUE' appended to B, quoted as libpq reads it. */
static void
quote_opt(char *b, size_t cap, const char *key, const char *value)
{
	size_t len = strlen(b);

	len += (size_t)snprintf(b + len, cap - len, " %s='", key);
	for (const char *r = value; *r && len + 3 < cap; r++) {
		if (*r == '\'' || *r == '\\')
			b[len++] = '\\';
		b[len++] = *r;
	}
	b[len++] = '\'';
	b[len] = '\0';
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "host", "dbname", "options", "application_name",
		"password", "user", "sslmode" };
	char *buf, *f[8], *p, built[8192];
	int nf;

	if (size < 1 || size > 2048)
		return 0;
	if (data[0] % 3 == 0) {
		arrays(data + 1, size - 1);
		return 0;
	}
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	p = buf;
	for (nf = 0; nf < 8; nf++) {
		f[nf] = p;
		p += strlen(p);
		if (p < buf + size - 1)
			p++;
	}
	if (data[0] % 3 == 1) {
		conninfo(f[0], f[1]);
	} else {
		PQconninfoOption *in;
		char *msg = NULL;

		built[0] = '\0';
		for (int i = 0; i < 7; i++)
			if (*f[i])
				quote_opt(built, sizeof(built), keys[i], f[i]);
		/* The harness's own quoting, checked against libpq first. */
		if ((in = PQconninfoParse(built, &msg)) == NULL)
			FAIL("harness: libpq refuses the conninfo built here");
		for (int i = 0; i < 7; i++)
			if (*f[i] && (opt(in, keys[i]) == NULL || strcmp(opt(in, keys[i]), f[i]) != 0))
				FAIL("harness: libpq reads another value");
		PQconninfoFree(in);
		conninfo(built, f[7]);
	}
	free(buf);
	return 0;
}
