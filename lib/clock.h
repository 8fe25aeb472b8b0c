/*
 * clock — the one clock (SPEC §3.1): the real time, or an instant given
 * with --now that either stays put (--once) or advances in real time.
 */
#ifndef DUNNING_CLOCK_H
#define DUNNING_CLOCK_H

#include <stdbool.h>
#include <time.h>

struct clock {
	bool set;		/* --now given */
	bool frozen;		/* stays at START */
	time_t start;
	struct timespec mono_start;
};

/* The real clock. */
void clock_init_real(struct clock *c);
/* A clock reading START now; FROZEN keeps it there. */
void clock_init_at(struct clock *c, time_t start, bool frozen);
/* Now, by this clock. */
time_t clock_now(const struct clock *c);

#endif
