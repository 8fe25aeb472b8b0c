/*
 * load — what a message says (client, lawyer, invoices, payments), read
 * for the reminders claimed or previewed.
 */
#ifndef DUNNING_LOAD_H
#define DUNNING_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "group.h"
#include "store.h"

/* Load the client, lawyer and invoices of the reminders REM_ARRAY ("{1,2}")
 * of CLIENT into G (the claim and the preview). */
int load_group(struct store *s, const char *rem_array, int64_t client,
    struct send_group *g);
/* Load N groups at once: G[k] has client_id set; the NREMS reminders
 * REMS are the claimed ones, REMS[j] belonging to G[GROUP_OF[j]]. */
int load_groups(struct store *s, const int64_t *rems, const size_t *group_of,
    size_t nrems, struct send_group *g, size_t n);
/* The same for invoices INV_ARRAY that no reminder names yet (preview). */
int load_group_invoices(struct store *s, const char *inv_array, int64_t client,
    struct send_group *g);

#endif
