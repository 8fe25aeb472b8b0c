/*
 * typo — French no-break spaces in a rendered text (typo.h).
 */
#include <stdlib.h>
#include <string.h>

#include "typo.h"

#define NBSP "\xc2\xa0"		/* U+00A0, two bytes */

/* The punctuation a space before it must not be broken from. */
static const char *const before[] = { ":", ";", "!", "?", "\xc2\xbb" /* » */ };
/* The marks a space after them must not be broken from. */
static const char *const after[] = { "\xc2\xab" /* « */, "n\xc2\xb0" /* n° */,
	"N\xc2\xb0" /* N° */ };

/* Does P start with one of the N strings of SET? */
static bool
starts(const char *p, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(p, set[i], strlen(set[i])) == 0)
			return true;
	return false;
}

/* Does the text S..P (P excluded) end with one of the N strings of SET? */
static bool
ends(const char *s, const char *p, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(set[i]);

		if ((size_t)(p - s) >= len && strncmp(p - len, set[i], len) == 0)
			return true;
	}
	return false;
}

/* See typo.h. */
char *
typo_french(const char *text, bool markup)
{
	size_t n = strlen(text), w = 0;
	/* Each space may grow by one byte. */
	char *out = malloc(2 * n + 1);
	bool in_tag = false;

	if (out == NULL)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (markup && *p == '<')
			in_tag = true;
		else if (markup && *p == '>')
			in_tag = false;
		if (*p == ' ' && !in_tag &&
		    (starts(p + 1, before, sizeof(before) / sizeof(before[0])) ||
		    ends(text, p, after, sizeof(after) / sizeof(after[0])))) {
			memcpy(out + w, NBSP, 2);
			w += 2;
		} else {
			out[w++] = *p;
		}
	}
	out[w] = '\0';
	return out;
}
