/*
 * config_object — a loaded struct config: what it answers (a stage's
 * index, a currency's threshold), the keys needing a restart on which it
 * differs from another, and how it is freed.  It reads the tables of
 * config_table.c and calls nothing else of the configuration.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config_int.h"

/* Index of the fee agreements' stage called NAME, or -1. */
int
config_agreement_stage_index(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->agreement.nstages; i++)
		if (strcmp(cfg->agreement.stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Index of the stage called NAME, or -1. */
int
config_stage_index(const struct config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nstages; i++)
		if (strcmp(cfg->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Approval threshold of CURRENCY in cents, or -1 when there is none. */
int64_t
config_threshold(const struct config *cfg, const char *currency)
{
	if (cfg == NULL || currency == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nthresholds; i++)
		if (strcmp(cfg->thresholds[i].currency, currency) == 0)
			return cfg->thresholds[i].amount_cents;
	return -1;
}

/* Append KEY to the list in BUF (N bytes, LEN used so far), cut if needed. */
static void
list_key(char *buf, size_t n, size_t *len, const char *key)
{
	int r;

	if (*len + 1 >= n)
		return;
	r = snprintf(buf + *len, n - *len, "%s%s", *len > 0 ? ", " : "", key);
	if (r > 0)
		*len += (size_t)r < n - *len ? (size_t)r : n - *len - 1;
}

/* Has key K (a row of config_keys) a different value in A and B? */
static bool
differs(const struct config_key *k, const struct config *a, const struct config *b)
{
	const char *pa = (const char *)a + k->at, *pb = (const char *)b + k->at;
	const char *sa, *sb;

	switch (k->type) {
	case CONFIG_T_STR:
		memcpy(&sa, pa, sizeof(sa));
		memcpy(&sb, pb, sizeof(sb));
		return strcmp(sa, sb) != 0;
	case CONFIG_T_TEXT:
		return strcmp(pa, pb) != 0;
	default:
		return memcmp(pa, pb, k->size) != 0;
	}
}

/* The keys changed from OLD to CUR that only a restart applies: the rows
 * marked restart. */
int
config_restart_keys(const struct config *old, const struct config *cur, char *buf, size_t n)
{
	size_t len = 0;
	int count = 0;

	if (buf != NULL && n > 0)
		buf[0] = '\0';
	else
		n = 0;
	if (old == NULL || cur == NULL)
		return 0;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		char name[64];

		if (!k->restart || !differs(k, old, cur))
			continue;
		snprintf(name, sizeof(name), "%s.%s", k->section, k->name);
		list_key(buf, n, &len, name);
		count++;
	}
	return count;
}

/* Release a configuration and everything it holds. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < config_nkeys; i++) {
		char *s;

		if (config_keys[i].type != CONFIG_T_STR)
			continue;
		memcpy(&s, (char *)cfg + config_keys[i].at, sizeof(s));
		free(s);
	}
	free(cfg->path);
	free(cfg->thresholds);
	free(cfg->plan.auto_accept);
	free(cfg->interest.rates);
	OPENSSL_cleanse(cfg->web.keys, sizeof(cfg->web.keys));
	free(cfg);
}
