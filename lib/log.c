/*
 * log — stderr, with journald priority prefixes when stderr is the
 * journal (JOURNAL_STREAM), as systemd documents for "<N>" lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static bool log_verbose;
static bool log_journal;
static const char *log_name = "dunning";

/* Is stderr the journal stream systemd gave us? */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2 || fstat(2, &st) != 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/* Set the program name and verbosity; detect the journal. */
void
log_init(const char *progname, bool verbose)
{
	log_name = progname;
	log_verbose = verbose;
	log_journal = stderr_is_journal();
}

/* One line at syslog priority PRI, with strerror(ERR) when ERR >= 0,
 * written with one write(2) so that the threads' lines never interleave. */
static void __attribute__((format(printf, 3, 0)))
vlog(int pri, int err, const char *fmt, va_list ap)
{
	char msg[2048], line[2400];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>%s%s%s\n", pri, msg, err >= 0 ? ": " : "",
		    err >= 0 ? strerror(err) : "");
	else
		n = snprintf(line, sizeof(line), "%s: %s%s%s\n", log_name, msg,
		    err >= 0 ? ": " : "", err >= 0 ? strerror(err) : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

#define LOGFN(name, pri, witherr) \
void \
name(const char *fmt, ...) \
{ \
	int saved = errno; \
	va_list ap; \
	va_start(ap, fmt); \
	vlog(pri, witherr ? saved : -1, fmt, ap); \
	va_end(ap); \
	errno = saved; \
}

/* An error the operator must act on (the daemon goes on). */
LOGFN(log_errx, 3, false)
/* A warning with strerror(errno). */
LOGFN(log_warn, 4, true)
/* A warning. */
LOGFN(log_warnx, 4, false)
/* Information. */
LOGFN(log_info, 6, false)

/* Debugging, with -v only. */
void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(7, -1, fmt, ap);
	va_end(ap);
	errno = saved;
}

/* Fatal with strerror(errno). */
void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(2, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Fatal. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, -1, fmt, ap);
	va_end(ap);
	exit(1);
}
