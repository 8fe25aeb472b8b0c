/*
 * ratelimit — token buckets per address (ratelimit.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

struct slot {
	char addr[48];		/* "" free */
	double tokens;
	time_t seen;
};

struct ratelimit {
	int burst, period;
	struct slot slots[RATELIMIT_SLOTS];
};

struct ratelimit *
ratelimit_new(int burst, int period)
{
	struct ratelimit *r = calloc(1, sizeof(*r));

	if (r != NULL) {
		r->burst = burst > 0 ? burst : 1;
		r->period = period > 0 ? period : 1;
	}
	return r;
}

void
ratelimit_free(struct ratelimit *r)
{
	free(r);
}

/* FNV-1a of S. */
static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

bool
ratelimit_take(struct ratelimit *r, const char *addr, time_t now)
{
	uint32_t h = hash(addr);
	struct slot *s = NULL, *oldest = NULL;

	/* Open addressing over 8 neighbours: the address's slot, a free one,
	 * or the least recently seen of them. */
	for (int k = 0; k < 8; k++) {
		struct slot *c = &r->slots[(h + (uint32_t)k) % RATELIMIT_SLOTS];

		if (strncmp(c->addr, addr, sizeof(c->addr) - 1) == 0 && c->addr[0] != '\0') {
			s = c;
			break;
		}
		if (oldest == NULL || c->addr[0] == '\0' || (oldest->addr[0] != '\0' &&
		    c->seen < oldest->seen))
			oldest = c;
	}
	if (s == NULL) {
		s = oldest;
		strncpy(s->addr, addr, sizeof(s->addr) - 1);
		s->addr[sizeof(s->addr) - 1] = '\0';
		if (s->addr[0] == '\0')
			s->addr[0] = '?';
		s->tokens = r->burst;
		s->seen = now;
	}
	if (now > s->seen)
		s->tokens += (double)(now - s->seen) * r->burst / r->period;
	if (s->tokens > r->burst)
		s->tokens = r->burst;
	s->seen = now;
	if (s->tokens < 1)
		return false;
	s->tokens -= 1;
	return true;
}
