/*
 * file — reading a whole file: a template, a partial.
 */
#ifndef DUNNING_FILE_H
#define DUNNING_FILE_H

#include <stddef.h>

/* The whole of file PATH, NUL-terminated and malloc'ed, its length in LEN
 * (when not NULL); NULL with errno set. */
char *file_read(const char *path, size_t *len);

#endif
