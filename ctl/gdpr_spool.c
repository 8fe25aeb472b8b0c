/*
 * gdpr_spool — the purged clients' letters removed from the spool (SPEC
 * §3.3 purge, §3.2 retention): only a file directly beneath spool.dir,
 * named relative to the directory's descriptor, a regular file and not a
 * symbolic link.  What the database records as a letter's path is data:
 * a path elsewhere, or one with "..", is never followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdpr_spool.h"

/* Open DIR (the operator's configured spool: it may itself be a symbolic
 * link; what is beneath it may not). */
int
gdpr_spool_open(const char *dir, char *why, size_t whylen)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0)
		return dfd;
	if (errno == ENOENT)
		return -1;
	snprintf(why, whylen, "cannot open the spool %s: %s", dir, strerror(errno));
	return -2;
}

/* The name of PATH's file in DIR, or NULL when PATH is not DIR/NAME with
 * NAME one component ("dir//name" and a DIR written with a trailing slash
 * are the same place, as the daemon writes "%s/%s"). */
static const char *
name_in(const char *dir, const char *path)
{
	size_t n = strlen(dir);
	const char *name;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(path, dir, n) != 0)
		return NULL;
	name = path + n;
	if (*name != '/' && !(n == 1 && dir[0] == '/'))
		return NULL;
	while (*name == '/')
		name++;
	if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return NULL;
	return name;
}

enum gdpr_spool_fate
gdpr_spool_remove(int dfd, const char *dir, const char *path, bool dry_run, char *why,
    size_t whylen)
{
	const char *name = name_in(dir, path);
	struct stat st;

	if (name == NULL) {
		snprintf(why, whylen, "not a file directly in the spool %s", dir);
		return GDPR_SPOOL_KEPT;
	}
	if (dfd == -1)
		return GDPR_SPOOL_MISSING;
	if (dfd < 0) {		/* WHY holds gdpr_spool_open's reason */
		if (why[0] == '\0')
			snprintf(why, whylen, "the spool %s cannot be opened", dir);
		return GDPR_SPOOL_KEPT;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return GDPR_SPOOL_MISSING;
		snprintf(why, whylen, "%s", strerror(errno));
		return GDPR_SPOOL_KEPT;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, whylen, "a symbolic link");
		return GDPR_SPOOL_KEPT;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		return GDPR_SPOOL_KEPT;
	}
	if (dry_run)
		return GDPR_SPOOL_REMOVED;
	/* Replaced by a link since fstatat: unlinkat removes the link itself,
	 * never what it points to. */
	if (unlinkat(dfd, name, 0) != 0) {
		if (errno == ENOENT)
			return GDPR_SPOOL_MISSING;
		snprintf(why, whylen, "%s", strerror(errno));
		return GDPR_SPOOL_KEPT;
	}
	return GDPR_SPOOL_REMOVED;
}

void
gdpr_spool_close(int dfd)
{
	if (dfd < 0)
		return;
	(void)fsync(dfd);
	close(dfd);
}
