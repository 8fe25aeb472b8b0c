/*
 * config_read — the configuration file as one string for libconfuse, its
 * comments blanked out; refuses what is not a small text file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* A configuration file is a few kilobytes; refuse anything absurd. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Skip the quoted string opening at BUF[*I] (QUOTE is " or '), counting
 * its lines; a backslash always takes the next byte with it.  Returns
 * false when the string is never closed. */
static bool
skip_string(const char *buf, size_t n, size_t *i, char quote, int *line)
{
	for ((*i)++; *i < n && buf[*i] != quote; (*i)++) {
		if (buf[*i] == '\\' && *i + 1 < n)
			(*i)++;
		if (buf[*i] == '\n')
			(*line)++;
	}
	if (*i >= n)
		return false;
	(*i)++;
	return true;
}

/*
 * Blank out the comments of BUF (#…, //…, / *…* /), keeping every newline.
 * libconfuse 3.3's lexer miscounts lines after a comment (two extra per
 * one-line comment, one per block comment), so comments never reach it.
 * Strings and ${VAR} are skipped by the lexer's own rules.  Returns 0, or
 * the line where a string or a block comment opens and is never closed
 * (*WHAT says which): the lexer would echo a stray byte of it to stdout.
 */
static int
strip_comments(char *buf, size_t n, const char **what)
{
	int line = 1, start;
	size_t i = 0;
	char *close;

	while (i < n) {
		char c = buf[i], next = i + 1 < n ? buf[i + 1] : '\0';

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '"' || c == '\'') {
			start = line;
			if (!skip_string(buf, n, &i, c, &line)) {
				*what = c == '"' ? "string opened with \" is never closed: add the "
				    "closing \"" : "string opened with ' is never closed: add the "
				    "closing '";
				return start;
			}
		} else if (c == '$' && next == '{' && (close = memchr(buf + i, '}', n - i)) != NULL) {
			for (; buf + i <= close; i++)
				line += buf[i] == '\n';
		} else if (c == '#' || (c == '/' && next == '/')) {
			for (; i < n && buf[i] != '\n'; i++)
				buf[i] = ' ';
		} else if (c == '/' && next == '*') {
			start = line;
			buf[i] = buf[i + 1] = ' ';
			for (i += 2; i < n && !(buf[i] == '*' && i + 1 < n && buf[i + 1] == '/'); i++) {
				if (buf[i] == '\n')
					line++;
				else
					buf[i] = ' ';
			}
			if (i >= n) {
				*what = "comment opened with /* is never closed: add */";
				return start;
			}
			buf[i] = buf[i + 1] = ' ';
			i += 2;
		} else {
			i++;
		}
	}
	return 0;
}

/* The whole file PATH as a string, or NULL with the error recorded. */
char *
config_read(struct config_ctx *ctx, const char *path)
{
	char *buf = NULL, *nb;
	const char *what;
	size_t n = 0, cap = 0, r;
	struct stat st;
	FILE *fp;
	int line;

	if ((fp = fopen(path, "r")) == NULL) {
		config_error(ctx, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		config_error(ctx, 0, "is a directory: give the configuration file");
		fclose(fp);
		return NULL;
	}
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			nb = cap <= 2 * CONFIG_FILE_MAX ? realloc(buf, cap) : NULL;
			if (nb == NULL) {
				if (cap > 2 * CONFIG_FILE_MAX)
					config_error(ctx, 0, "is larger than %d bytes: is it the "
					    "configuration file?", CONFIG_FILE_MAX);
				else
					config_error(ctx, 0, "out of memory");
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, 4096, fp);
		n += r;
	} while (r > 0 && n <= CONFIG_FILE_MAX);
	if (n > CONFIG_FILE_MAX) {
		config_error(ctx, 0, "is larger than %d bytes: is it the configuration file?",
		    CONFIG_FILE_MAX);
		free(buf);
		fclose(fp);
		return NULL;
	}
	if (ferror(fp)) {
		config_error(ctx, 0, "cannot read: %s", strerror(errno));
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		config_error(ctx, 0, "out of memory");
		return NULL;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		config_error(ctx, 0, "contains a NUL byte: is it a text file?");
		free(buf);
		return NULL;
	}
	if ((line = strip_comments(buf, n, &what)) != 0) {
		config_error(ctx, line, "%s", what);
		free(buf);
		return NULL;
	}
	return buf;
}
