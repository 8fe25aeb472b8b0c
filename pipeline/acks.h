/*
 * acks — the clients' acknowledgements of their reports (SPEC §2 rule 12,
 * dunning.client_ack of sql/027), after the lawyers' alerts: claimed and
 * marked 'sending' in one committed statement before they are handed, so
 * that each leaves at most once — a message whose outcome is unknown, or
 * whose lease ran out, is 'in_doubt', never sent again.
 */
#ifndef DUNNING_ACKS_H
#define DUNNING_ACKS_H

#include <time.h>

#include "notify.h"

/* Send the acknowledgements due at NOW from DOMAIN's Message-IDs, a
 * session of at most CAP at a time; counts in ST (alerts, retried,
 * failed).  -1 when the database could not be used. */
int acks_run(struct notify_pass *n, time_t now, const char *domain, size_t cap,
    struct notify_stats *st);

#endif
