/*
 * no_answer — rule 12's line of the lawyer's digest: a client who has
 * neither paid, reported a problem nor proposed a plan 48 business hours
 * after the message that offers a plan (j10), when the messages carry the
 * page's link (web.base_url).
 */
#ifndef DUNNING_NO_ANSWER_H
#define DUNNING_NO_ANSWER_H

#include <stdint.h>

#include "config.h"
#include "group.h"
#include "store.h"

/* Append LAWYER's DIGEST_NO_ANSWER items to *ITEMS (*N of them): 0, or -1
 * (the database; *ITEMS kept as it was). */
int no_answer_items(struct store *s, const struct config *cfg, int64_t lawyer,
    struct digest_item **items, int *n);

#endif
