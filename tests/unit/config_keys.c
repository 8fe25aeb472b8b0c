/*
 * config_keys — every row of lib/config_table.c on a line of its own, as
 * dunningd.conf(5) must name it (tests/doc/test_man.py compares the two):
 *
 *   smtp.port<TAB>(integer; 1 to 65535; default 587; reload)
 *
 * The path is the key's place in the file: its sections from the top,
 * a titled section's title written as a placeholder in capitals
 * (stage.NAME.offset_days).  Between the parentheses: the type, the range
 * or the choices when there are some, the default as written in the file
 * ("required" when there is none), and whether a change takes effect at
 * "reload" (SIGHUP) or only after a "restart".  A refused key (a secret
 * that never goes in the file) is "(refused)".
 *
 * Not a test by itself: the doc suite runs it.
 */
#include <stdio.h>
#include <string.h>

#include "config_int.h"

/* The word for TYPE in the manual. */
static const char *
type_word(const struct config_key *k)
{
	switch (k->type) {
	case CONFIG_T_STR:
	case CONFIG_T_TEXT:
		return k->choices != NULL ? "choice" : "text";
	case CONFIG_T_ENUM: return "choice";
	case CONFIG_T_TIME:
	case CONFIG_T_TIME_END: return "time";
	case CONFIG_T_BOOL: return "boolean";
	case CONFIG_T_INT: return "integer";
	case CONFIG_T_CENTS: return "amount";
	case CONFIG_T_PERCENT: return "percentage";
	case CONFIG_T_FACTOR: return "factor";
	case CONFIG_T_STAGE: return "stage";
	case CONFIG_T_REFUSED: return "refused";
	case CONFIG_T_INT_LIST: return "list of integers";
	}
	return "?";
}

/* V, kept in units of 1/DIV, as written in the file: 1500/1000 is "1.5". */
static void
put_scaled(long long v, long long div)
{
	long long frac = v % div;
	int digits = 0;

	printf("%lld", v / div);
	if (frac == 0)
		return;
	for (long long d = div; d > 1; d /= 10)
		digits++;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	printf(".%0*lld", digits, frac);
}

/* The range or the choices of K, then "; ", when it has one. */
static void
put_range(const struct config_key *k)
{
	long long div = 1;

	if (k->choices != NULL) {
		for (size_t i = 0; k->choices[i] != NULL; i++)
			printf("%s%s", i ? ", " : "", k->choices[i]);
		printf("; ");
		return;
	}
	switch (k->type) {
	case CONFIG_T_INT:
	case CONFIG_T_INT_LIST: div = 1; break;
	case CONFIG_T_CENTS: div = 100; break;
	case CONFIG_T_PERCENT: div = 100; break;
	case CONFIG_T_FACTOR: div = 1000; break;
	default: return;
	}
	if (k->min == 0 && k->max == 0)
		return;
	put_scaled(k->min, div);
	printf(" to ");
	put_scaled(k->max, div);
	printf("; ");
}

/* The path of section NAME, declared as S (NULL: the first of that name;
 * "stage" is both a top-level section and one inside `agreement`): its
 * parents first, a titled one's title as a placeholder. */
static void
put_section(const char *name, const struct config_section *s)
{
	if (s == NULL)
		s = config_section_find(name);
	if (s != NULL && s->parent != NULL) {
		put_section(s->parent, NULL);
		printf(".");
	}
	printf("%s", name);
	if (s != NULL && s->keys != NULL)
		printf(".%s", strcmp(name, "threshold") == 0 ||
		    strcmp(name, "auto_accept_max") == 0 ? "CUR" :
		    strcmp(name, "legal_rate") == 0 ? "PERIOD" : "NAME");
}

static void
put_key(const struct config_key *k, const struct config_section *s)
{
	put_section(k->section, s);
	printf(".%s\t(", k->name);
	if (k->type == CONFIG_T_REFUSED) {
		printf("refused)\n");
		return;
	}
	printf("%s; ", type_word(k));
	put_range(k);
	if (k->def == NULL)
		printf("required; ");
	else if (k->type == CONFIG_T_STR || k->type == CONFIG_T_TEXT ||
	    k->type == CONFIG_T_ENUM || k->type == CONFIG_T_TIME ||
	    k->type == CONFIG_T_TIME_END || k->type == CONFIG_T_STAGE)
		printf("default \"%s\"; ", k->def);
	else
		printf("default %s; ", k->def);
	printf("%s)\n", k->restart ? "restart" : "reload");
}

int
main(void)
{
	for (size_t i = 0; i < config_nsections; i++) {
		const struct config_section *s = &config_sections[i];

		if (s->keys != NULL) {
			for (size_t j = 0; j < s->nkeys; j++)
				put_key(&s->keys[j], s);
			continue;
		}
		for (size_t j = 0; j < config_nkeys; j++)
			if (strcmp(config_keys[j].section, s->name) == 0)
				put_key(&config_keys[j], NULL);
	}
	/* A row whose section is not declared would be named by no man page:
	 * print it anyway, the comparison then fails on it. */
	for (size_t j = 0; j < config_nkeys; j++)
		if (config_section_find(config_keys[j].section) == NULL)
			put_key(&config_keys[j], NULL);
	return 0;
}
