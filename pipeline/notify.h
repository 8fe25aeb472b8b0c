/*
 * notify — the lawyer's mail, after each send pass: the queued alerts
 * (a stage with notify_lawyer sent, a letter written, a message failed, an
 * escalation) and, at the first pass of a business day inside the send
 * window, each lawyer's digest when it has something to say.
 *
 * Internal mail follows the client's send window: nothing reaches a lawyer
 * at night or on a holiday; what was queued meanwhile leaves at the next
 * opening, with the digest.  Once a day, before the alerts leave, the
 * prescription alerts due are queued (SPEC §2 rule 14), by one statement.  A lawyer without a usable address, or a relay
 * refusing the mail, is audited and logged; the client's mail never waits
 * for it (it runs after the pass, and only then).
 */
#ifndef DUNNING_NOTIFY_H
#define DUNNING_NOTIFY_H

#include <stdbool.h>

#include "clock.h"
#include "config.h"
#include "templates.h"
#include "store.h"

struct notify_pass {
	const struct config *cfg;
	const struct templates *ms;
	struct store *store;
	const char *password;
	unsigned int seed;		/* retry jitter */
	bool (*stop)(void *arg);	/* NULL, or true to end early */
	void *stop_arg;
	cal_day prescription_day;	/* in/out: the local day the prescription
					 * alerts were last queued (once a day) */
};

struct notify_stats {
	int alerts, digests, retried, failed, errors;
};

/* Send the alerts due and the day's digests, by CLOCK.  -1 when the
 * database could not be used (the caller retries later). */
int notify_run(struct notify_pass *n, const struct clock *clock, struct notify_stats *st);

#endif
