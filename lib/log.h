/*
 * log — one logging module for the programs: levels, printf-checked,
 * errno-preserving.  log_warn adds strerror(errno), log_warnx does not;
 * log_errx is an error the operator must act on, the program going on.
 * Writes to stderr; with "<N>" priority prefixes when JOURNAL_STREAM says
 * stderr is the journal.
 */
#ifndef DUNNING_LOG_H
#define DUNNING_LOG_H

#include <stdbool.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Call once at start.  VERBOSE enables log_debug. */
void log_init(const char *progname, bool verbose);

void log_errx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif
