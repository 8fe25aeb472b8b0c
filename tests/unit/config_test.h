/*
 * config_test — what the configuration loader's test programs share: the
 * template tree the fixtures point at, their substitution, loading a
 * fixture or an inline text, and showing a load's messages.  Header-only,
 * like tap.h: one test program includes it once.
 *
 * Fixtures name their directories @TPL@, @TPL_PARTIAL@ and @TMP@; the
 * tests build those under a mkdtemp() directory and substitute them.
 */
#ifndef DUNNING_CONFIG_TEST_H
#define DUNNING_CONFIG_TEST_H

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"

static const char *fixtures;
static char tmp[256], tpl[300], tpl_partial[300];

/* Stop the test: the environment is broken, not the code under test. */
static void
bail(const char *what)
{
	printf("Bail out! %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Create the file DIR/NAME with a line of text. */
static void
touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		bail(path);
	fputs("x\n", f);
	fclose(f);
	/* As the operator leaves a secret: no other user may read it. */
	if (chmod(path, 0600) != 0)
		bail(path);
}

/* Create directory PATH. */
static void
mkdir_or_bail(const char *path)
{
	if (mkdir(path, 0755) != 0)
		bail(path);
}

/* Build the template directories the fixtures point at. */
static void
make_tree(void)
{
	/* the invoices' stages, then the fee agreements' (agreement { … }) */
	static const char *const names[] = { "j03", "j10", "j30", "j45", "a01", "a03", "a07" };
	char d[400];

	snprintf(tmp, sizeof(tmp), "%s/test_config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp) == NULL)
		bail("mkdtemp");
	snprintf(tpl, sizeof(tpl), "%s/tpl", tmp);
	snprintf(tpl_partial, sizeof(tpl_partial), "%s/tpl_partial", tmp);
	mkdir_or_bail(tpl);
	mkdir_or_bail(tpl_partial);
	for (int lang = 0; lang < 2; lang++) {
		snprintf(d, sizeof(d), "%s/%s", tpl, lang ? "en" : "fr");
		mkdir_or_bail(d);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char f[64];

			snprintf(f, sizeof(f), "%s.txt", names[i]);
			touch(d, f);
			snprintf(f, sizeof(f), "%s.subject", names[i]);
			touch(d, f);
		}
	}
	/* fr complete but for nosubj.subject and gone.*; en lacks j10.subject */
	snprintf(d, sizeof(d), "%s/fr", tpl_partial);
	mkdir_or_bail(d);
	touch(d, "j03.txt");
	touch(d, "j03.subject");
	touch(d, "j10.txt");
	touch(d, "j10.subject");
	touch(d, "nosubj.txt");
	for (size_t i = 4; i < sizeof(names) / sizeof(names[0]); i++) {
		char f[64];

		snprintf(f, sizeof(f), "%s.txt", names[i]);
		touch(d, f);
		snprintf(f, sizeof(f), "%s.subject", names[i]);
		touch(d, f);
	}
	snprintf(d, sizeof(d), "%s/en", tpl_partial);
	mkdir_or_bail(d);
	touch(d, "j03.txt");
	touch(d, "j03.subject");
	touch(d, "j10.txt");
	touch(d, "nosubj.txt");
	touch(d, "nosubj.subject");
	for (size_t i = 4; i < sizeof(names) / sizeof(names[0]); i++) {
		char f[64];

		snprintf(f, sizeof(f), "%s.txt", names[i]);
		touch(d, f);
		snprintf(f, sizeof(f), "%s.subject", names[i]);
		touch(d, f);
	}
	touch(tmp, "smtp_password");
	touch(tmp, "oauth_client_secret");
	touch(tmp, "oauth_refresh_token");
}

/* Remove what make_tree() and the cases wrote. */
static void
remove_tree(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", tmp);
}

/* Append S to the growing buffer *B of length *N. */
static void
append(char **b, size_t *n, const char *s, size_t len)
{
	char *nb = realloc(*b, *n + len + 1);

	if (nb == NULL)
		bail("realloc");
	memcpy(nb + *n, s, len);
	*n += len;
	nb[*n] = '\0';
	*b = nb;
}

/* TEXT with @TPL@, @TPL_PARTIAL@ and @TMP@ replaced; caller frees. */
static char *
substitute(const char *text)
{
	static const struct {
		const char *from;
		const char *to;
	} subs[] = {
		{ "@TPL_PARTIAL@", tpl_partial }, { "@TPL@", tpl }, { "@TMP@", tmp },
	};
	char *out = NULL;
	size_t n = 0;

	append(&out, &n, "", 0);
	while (*text) {
		size_t i;

		for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			size_t l = strlen(subs[i].from);

			if (strncmp(text, subs[i].from, l) == 0) {
				append(&out, &n, subs[i].to, strlen(subs[i].to));
				text += l;
				break;
			}
		}
		if (i == sizeof(subs) / sizeof(subs[0]))
			append(&out, &n, text++, 1);
	}
	return out;
}

/* Write TEXT (substituted) to tmp/NAME; returns the path (static). */
static const char *
write_conf(const char *name, const char *text)
{
	static char path[512];
	char *body = substitute(text);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if ((f = fopen(path, "w")) == NULL)
		bail(path);
	fputs(body, f);
	fclose(f);
	free(body);
	return path;
}

/* The whole content of PATH; caller frees. */
static char *
slurp(const char *path)
{
	char *b = NULL, chunk[4096];
	size_t n = 0, r;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		bail(path);
	append(&b, &n, "", 0);
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		append(&b, &n, chunk, r);
	fclose(f);
	return b;
}

/* Load the fixture NAME (substituted) into *DIAG. */
static struct config *
load_fixture(const char *name, struct config_diag *diag)
{
	char path[512], *text;
	struct config *c;

	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	text = slurp(path);
	c = config_load(write_conf(name, text), diag);
	free(text);
	return c;
}

/* Load inline configuration TEXT into *DIAG. */
static struct config *
load_text(const char *text, struct config_diag *diag)
{
	return config_load(write_conf("inline.conf", text), diag);
}

/* Show every error and warning, to explain a failing case. */
static void
dump(const struct config_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		tap_diag("error: %s", d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		tap_diag("warning: %s", d->warnings[i]);
}

/* Take FIXTURES_DIR from the command line (USAGE says what else it may
 * hold) and build the tree the fixtures point at. */
static void
start(int argc, char **argv, const char *usage)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s %s\n", argv[0], usage);
		exit(2);
	}
	fixtures = argv[1];
	make_tree();
}

#endif
