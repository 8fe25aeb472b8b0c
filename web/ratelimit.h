/*
 * ratelimit — requests per client address, in memory (pure: the caller
 * gives the instant).  A fixed table of token buckets; when it is full the
 * least recently seen address is forgotten.  A restart forgets everything:
 * the limit slows a guesser down, the signature is what refuses him.
 */
#ifndef DUNNING_WEB_RATELIMIT_H
#define DUNNING_WEB_RATELIMIT_H

#include <stdbool.h>
#include <time.h>

#define RATELIMIT_SLOTS 4096

struct ratelimit;

/* A limiter letting each address BURST requests at once, then one every
 * PERIOD / BURST seconds. */
struct ratelimit *ratelimit_new(int burst, int period);
void ratelimit_free(struct ratelimit *r);
/* May ADDR make one more request at NOW?  Counts it when so. */
bool ratelimit_take(struct ratelimit *r, const char *addr, time_t now);

#endif
