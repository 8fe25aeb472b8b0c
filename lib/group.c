/*
 * group — what is done with the messages' data without any I/O: freeing
 * it, and the Message-ID a set of reminders gets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

/* Free what a claim (or a preview) allocated. */
void
group_free(struct send_group *g)
{
	for (size_t i = 0; i < g->nitems; i++) {
		free(g->items[i].number);
		free(g->items[i].matter_ref);
		free(g->items[i].payment_url);
		free(g->items[i].pdf_path);
	}
	for (size_t i = 0; i < g->nitems; i++)
		free(g->items[i].payments);
	free(g->items);
	free(g->message_id);
	free(g->kind);
	free(g->first_name);
	free(g->last_name);
	free(g->company_name);
	free(g->email);
	free(g->language);
	free(g->address_line1);
	free(g->address_line2);
	free(g->postal_code);
	free(g->city);
	free(g->country);
	free(g->lawyer_name);
	free(g->lawyer_email);
	memset(g, 0, sizeof(*g));
}

/* The Message-ID of a message carrying exactly the reminders IDS (sorted):
 * derived from that set, so every attempt of the same message has the same
 * id and a different set (a group that split) gets a different one.
 * dunningctl preview derives it the same way, here. */
void
group_message_id(const int64_t *ids, size_t n, const char *stage, const char *domain,
    char *buf, size_t len)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	if (n == 1) {
		snprintf(buf, len, "<dunning.%lld.%s@%s>", (long long)ids[0], stage, domain);
		return;
	}
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			h ^= (uint64_t)(ids[i] >> (8 * b)) & 0xff;
			h *= 1099511628211ULL;
		}
	snprintf(buf, len, "<dunning.%lld-%zu.%s.%08llx@%s>", (long long)ids[0], n, stage,
	    (unsigned long long)(h & 0xffffffffULL), domain);
}
