/*
 * tap — the few lines of TAP every unit test prints, so meson counts each
 * case and scripts/test can total them.  Header-only: one test program
 * includes it once.
 */
#ifndef DUNNING_TAP_H
#define DUNNING_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

/* Record one case: OK true passes.  NAME says what was checked. */
__attribute__((format(printf, 2, 3)))
static int
tap_ok(int ok, const char *name, ...)
{
	va_list ap;

	tap_n++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_n);
	va_start(ap, name);
	vprintf(name, ap);
	va_end(ap);
	putchar('\n');
	return ok;
}

/* A diagnostic line, shown by meson under a failing case. */
__attribute__((format(printf, 1, 2)))
static void
tap_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Print the plan and return the exit status. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
