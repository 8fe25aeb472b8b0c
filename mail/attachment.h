/*
 * attachment — an invoice's PDF read for the client's reminder (SPEC §2
 * rule 9): only from inside attachments.dir, never through "..", another
 * absolute path or a symbolic link, a regular file of at most
 * ATTACHMENT_MAX bytes that starts as a PDF does.
 */
#ifndef DUNNING_ATTACHMENT_H
#define DUNNING_ATTACHMENT_H

#include <stddef.h>

#include "config.h"

/* The largest PDF a reminder carries: a bigger one is an error, not a
 * mail a relay would refuse or a client could not open. */
#define ATTACHMENT_MAX (10 * 1024 * 1024)

/* The whole of PATH (relative to attachments.dir, or absolute under it),
 * malloc'ed, its length in LEN; NULL with the reason in WHY. */
char *attachment_read(const struct config *cfg, const char *path, size_t *len, char *why,
    size_t whylen);

#endif
