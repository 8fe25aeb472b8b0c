/*
 * store_array — lists of ids and of strings, written as PostgreSQL array
 * literals: how a set travels in one parameter ($1::bigint[]), so that a
 * pass writes or reads many rows in one statement; and the numbers and
 * booleans of a result's texts, read back exactly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* Append ID. */
int
store_ids_add(struct store_ids *l, int64_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return 0;
}

/* Is ID in L? */
bool
store_ids_has(const struct store_ids *l, int64_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == id)
			return true;
	return false;
}

/* "{1,2,3}", malloc'ed. */
char *
store_ids_array(const struct store_ids *l)
{
	size_t cap = 3 + l->n * 21, len = 1;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	s[0] = '{';
	for (size_t i = 0; i < l->n; i++)
		len += snprintf(s + len, cap - len, "%s%lld", i ? "," : "", (long long)l->v[i]);
	snprintf(s + len, cap - len, "}");
	return s;
}

/* "{\"a\",NULL}", malloc'ed: every element quoted, '"' and '\\' escaped. */
char *
store_text_array(const char *const *v, size_t n)
{
	size_t cap = 3;
	char *s, *w;

	for (size_t i = 0; i < n; i++)
		cap += v[i] == NULL ? 5 : 3 + 2 * strlen(v[i]);
	if ((s = w = malloc(cap)) == NULL)
		return NULL;
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*w++ = ',';
		if (v[i] == NULL) {
			memcpy(w, "NULL", 4);
			w += 4;
			continue;
		}
		*w++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*w++ = '\\';
			*w++ = *c;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	return s;
}

/* A bigint's text: see store_int.h. */
int
store_parse_i64(const char *s, int64_t *v)
{
	const char *d = s != NULL && *s == '-' ? s + 1 : s;
	long long r;
	char *end;

	if (d == NULL || *d < '0' || *d > '9')
		return -1;
	errno = 0;
	r = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = r;
	return 0;
}

/* An epoch's text: see store_int.h. */
int
store_parse_epoch(const char *s, time_t *t)
{
	int64_t v;

	if (store_parse_i64(s, &v) < 0 || v < -210866803200LL || v > 9224318015999LL)
		return -1;
	*t = (time_t)v;
	return 0;
}

/* A boolean's text: see store_int.h. */
int
store_parse_bool(const char *s, bool *b)
{
	if (s == NULL || (strcmp(s, "t") != 0 && strcmp(s, "f") != 0))
		return -1;
	*b = *s == 't';
	return 0;
}
