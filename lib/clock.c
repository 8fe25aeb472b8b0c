/*
 * clock — every reading of "now" in the programs goes through here.
 */
#include <string.h>

#include "clock.h"

/* The real clock. */
void
clock_init_real(struct clock *c)
{
	memset(c, 0, sizeof(*c));
}

/* A clock that reads START now: a replayed day. */
void
clock_init_at(struct clock *c, time_t start, bool frozen)
{
	memset(c, 0, sizeof(*c));
	c->set = true;
	c->frozen = frozen;
	c->start = start;
	clock_gettime(CLOCK_MONOTONIC, &c->mono_start);
}

/* Now: START plus the monotonic time elapsed since, unless frozen. */
time_t
clock_now(const struct clock *c)
{
	struct timespec ts;

	if (!c->set)
		return time(NULL);
	if (c->frozen)
		return c->start;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return c->start + (ts.tv_sec - c->mono_start.tv_sec);
}
