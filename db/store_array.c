/*
 * store_array — lists of ids and of strings, written as PostgreSQL array
 * literals: how a set travels in one parameter ($1::bigint[]), so that a
 * pass writes or reads many rows in one statement.
 */
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
