/*
 * ctl — the helpers every dunningctl command uses: its usage, a refusal,
 * an id read from the command line, a padded column.  They call no
 * command: the command files call them, dunningctl.c calls the commands.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "store.h"

/* Print the usage of command K to OUT. */
void
ctl_command_usage(FILE *out, const struct ctl_command *k)
{
	fprintf(out, "usage: dunningctl [-c FILE] [-U ROLE] [--now T] %s%s%s\n  %s\n", k->name,
	    *k->args ? " " : "", k->args, k->summary);
}

/* The usage of the command being run, to stderr: see ctl.h. */
int
ctl_usage(const struct ctl *c)
{
	if (c->command != NULL)
		ctl_command_usage(stderr, c->command);
	return EX_USAGE;
}

/* The store's error, to stderr: see ctl.h. */
int
ctl_refused(const struct ctl *c)
{
	fprintf(stderr, "dunningctl: %s\n", store_error(c->store));
	return EX_FAIL;
}

/* A positive id read from S: see ctl.h. */
bool
ctl_parse_id(const char *s, const char *what, int64_t *id)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0) {
		fprintf(stderr, "dunningctl: %s: not %s\n", s, what);
		return false;
	}
	*id = v;
	return true;
}

/* S in a column WIDTH characters wide: see ctl.h. */
void
ctl_pad(const char *s, int width, const char *sep)
{
	int n = 0;

	for (const char *p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			n++;
	fputs(s, stdout);
	for (; n < width; n++)
		putchar(' ');
	fputs(sep, stdout);
}
