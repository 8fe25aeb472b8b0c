/*
 * gdpr_spool — removing the purged clients' letters from the spool, only
 * beneath spool.dir: a letter's recorded path must name a file directly
 * in that directory, which is removed relative to the directory's
 * descriptor (fstatat, unlinkat), never through a symbolic link.
 */
#ifndef DUNNING_GDPR_SPOOL_H
#define DUNNING_GDPR_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

enum gdpr_spool_fate {
	GDPR_SPOOL_REMOVED,	/* removed (a dry run: would be) */
	GDPR_SPOOL_MISSING,	/* no such file: nothing to do, not an error */
	GDPR_SPOOL_KEPT,	/* not removed: outside the spool, a symbolic link, an error */
};

/* The spool DIR opened for gdpr_spool_remove: a descriptor, -1 when it
 * does not exist (every letter is then missing), or -2 with the reason in
 * WHY (every letter is then kept). */
int gdpr_spool_open(const char *dir, char *why, size_t whylen);

/* Remove PATH, a letter recorded as written into DIR (open as DFD, from
 * gdpr_spool_open, whose reason WHY holds when it could not open DIR),
 * unless DRY_RUN; the reason it was kept in WHY. */
enum gdpr_spool_fate gdpr_spool_remove(int dfd, const char *dir, const char *path, bool dry_run,
    char *why, size_t whylen);

/* Make the removals durable and close DFD. */
void gdpr_spool_close(int dfd);

#endif
