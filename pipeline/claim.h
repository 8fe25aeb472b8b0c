/*
 * claim — the sender's claim (SPEC §3.5): a batch of due messages
 * re-checked under their invoices' locks and marked 'sending'.
 */
#ifndef DUNNING_CLAIM_H
#define DUNNING_CLAIM_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "group.h"
#include "store.h"

/* Claim up to MAX messages (each one client, stage and currency: rule 8),
 * re-checked under their invoices' locks, marked 'sending' and committed
 * in one transaction, into G[0..*N) (G holds MAX).  Returns 1 with *N ≥ 1,
 * 0 when nothing more can leave now, -1 on error. */
int claim_batch(struct store *s, const struct config *cfg, time_t now, const char *msgid_domain,
    struct send_group *g, size_t max, size_t *n);
#endif
