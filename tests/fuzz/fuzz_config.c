/*
 * fuzz_config — libFuzzer target for lib/config.c: write the input to a
 * temporary file and run the whole config_load() (read, comment stripping,
 * libconfuse parse, validation, build), then the lookups, and free it all.
 *
 * "@TPL@" in the input becomes a template tree made once per process, so
 * inputs derived from tests/unit/config/ (a good seed corpus) also reach
 * the path where a configuration loads.  Invariant checked: a loaded
 * configuration comes with no error, a refused one with at least one.
 */
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64] = "/tmp/fuzz_config.XXXXXX";
static char fuzz_conf[128], fuzz_tpl[128];

/* Create DIR/NAME, or abort: the harness itself is broken. */
static void
fuzz_touch(const char *dir, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fclose(f);
}

static const char *const names[] = { "j03", "j10", "j30", "j45" };

/* Remove what fuzz_setup made (at exit: a replay leaves nothing behind). */
static void
fuzz_cleanup(void)
{
	static const char *const ext[] = { "txt", "subject" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t e = 0; e < 2; e++) {
			snprintf(path, sizeof(path), "%s/fr/%s.%s", fuzz_tpl, names[i], ext[e]);
			remove(path);
		}
	snprintf(path, sizeof(path), "%s/fr", fuzz_tpl);
	remove(path);
	remove(fuzz_tpl);
	remove(fuzz_conf);
	remove(fuzz_dir);
}

/* Make the temporary directory, its template tree and the file name. */
static void
fuzz_setup(void)
{
	char fr[160], f[32];

	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(fuzz_conf, sizeof(fuzz_conf), "%s/input.conf", fuzz_dir);
	snprintf(fuzz_tpl, sizeof(fuzz_tpl), "%s/tpl", fuzz_dir);
	snprintf(fr, sizeof(fr), "%s/fr", fuzz_tpl);
	if (mkdir(fuzz_tpl, 0755) != 0 || mkdir(fr, 0755) != 0)
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(f, sizeof(f), "%s.txt", names[i]);
		fuzz_touch(fr, f);
		snprintf(f, sizeof(f), "%s.subject", names[i]);
		fuzz_touch(fr, f);
	}
}

/* Write DATA to the input file, "@TPL@" replaced by the template tree. */
static void
fuzz_write(const uint8_t *data, size_t size)
{
	FILE *f;

	if ((f = fopen(fuzz_conf, "w")) == NULL)
		abort();
	for (size_t i = 0; i < size; i++) {
		if (size - i >= 5 && memcmp(data + i, "@TPL@", 5) == 0) {
			fputs(fuzz_tpl, f);
			i += 4;
		} else {
			fputc(data[i], f);
		}
	}
	if (fclose(f) != 0)
		abort();
}

/* Load the input as a configuration and use everything it returns. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_diag diag = { 0 };
	struct config *cfg;

	if (fuzz_conf[0] == '\0')
		fuzz_setup();
	fuzz_write(data, size);
	cfg = config_load(fuzz_conf, &diag);
	if ((cfg != NULL) != (diag.nerrors == 0))
		abort();
	if (cfg != NULL) {
		config_check_date(cfg, 1773140400, &diag);
		for (size_t i = 0; i < cfg->nstages; i++)
			if (config_stage_index(cfg, cfg->stages[i].name) < 0)
				abort();
		(void)config_threshold(cfg, "EUR");
		if (cfg->approval_from_stage < 0 || (size_t)cfg->approval_from_stage >= cfg->nstages)
			abort();
	}
	config_free(cfg);
	config_diag_free(&diag);
	return 0;
}
