/*
 * attachment — an invoice's PDF, read only from inside attachments.dir
 * (see attachment.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "attachment.h"

/* Why openat2 refused a path, in words (ERR: its errno). */
static const char *
open_refusal(int err)
{
	switch (err) {
	case EXDEV:
		return "outside attachments.dir";
	case ELOOP:
		return "through a symbolic link";
	default:
		return strerror(err);
	}
}

/* PATH relative to DIR: as is when relative, DIR's own prefix cut off
 * when absolute and inside DIR, else NULL (any other absolute path). */
static const char *
beneath(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (path[0] != '/')
		return path;
	while (n > 0 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

/* Open PATH read-only beneath the directory DIR, the kernel refusing "..",
 * an absolute path and every symbolic link on the way (openat2,
 * Linux >= 5.6: glibc 2.36 has no wrapper).  -1 with errno set. */
static int
open_beneath(const char *dir, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, saved;

	if (dfd < 0)
		return -1;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

/* The whole of regular file FD of SIZE bytes, read from FD (never by its
 * name again), malloc'ed, its length in LEN; NULL with the reason in WHY
 * (static text, or NULL for errno). */
static char *
read_fd(int fd, off_t size, size_t *len, const char **why)
{
	size_t cap = (size_t)size + 1, got = 0;
	char *data = malloc(cap);
	ssize_t r;

	*why = NULL;
	if (data == NULL)
		return NULL;
	while (got < cap && (r = read(fd, data + got, cap - got)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(data);
			return NULL;
		}
		got += (size_t)r;
	}
	if (got != (size_t)size) {
		*why = "changed while it was read";
		free(data);
		return NULL;
	}
	*len = got;
	return data;
}

/* The whole of PATH beneath attachments.dir: see attachment.h.  Opened
 * once, then checked and read on that descriptor, never by name again. */
char *
attachment_read(const struct config *cfg, const char *path, size_t *len, char *why,
    size_t whylen)
{
	const char *rel = beneath(cfg->attachments.dir, path), *no = NULL;
	struct stat st;
	char *data = NULL;
	int fd = -1;

	*len = 0;
	if (rel == NULL)
		no = "outside attachments.dir";
	else if ((fd = open_beneath(cfg->attachments.dir, rel)) < 0)
		no = open_refusal(errno);
	else if (fstat(fd, &st) != 0)
		no = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		no = "not a regular file";
	else if (st.st_size > ATTACHMENT_MAX) {
		snprintf(why, whylen, "%lld bytes, more than the %d allowed",
		    (long long)st.st_size, ATTACHMENT_MAX);
		close(fd);
		return NULL;
	} else if ((data = read_fd(fd, st.st_size, len, &no)) == NULL && no == NULL)
		no = strerror(errno);
	else if (data != NULL && (*len < 5 || memcmp(data, "%PDF-", 5) != 0))
		no = "not a PDF (it does not start with %PDF-)";
	if (fd >= 0)
		close(fd);
	if (no != NULL) {
		snprintf(why, whylen, "%s", no);
		free(data);
		return NULL;
	}
	return data;
}
