/*
 * outbox — the rules every outgoing message follows (see outbox.h).
 */
#include <stdlib.h>
#include <string.h>

#include "outbox.h"

/* What to record after an attempt (see outbox.h). */
enum outbox_verdict
outbox_judge(const struct config *cfg, enum mailer_outcome outcome, int attempts,
    bool at_least_once, bool *gave_up)
{
	int max = cfg->smtp.max_attempts;

	*gave_up = false;
	switch (outcome) {
	case MAILER_SENT:
		return OUTBOX_SENT;
	case MAILER_PERMANENT:
		return OUTBOX_FAILED;
	case MAILER_REFUSED:
		return OUTBOX_REFUSED;
	case MAILER_UNKNOWN:
		if (!at_least_once)
			return OUTBOX_IN_DOUBT;
		/* FALLTHROUGH */
	case MAILER_TEMPORARY:
		if (max > 0 && attempts >= max) {
			*gave_up = true;
			return OUTBOX_FAILED;
		}
		return OUTBOX_RETRY;
	}
	return OUTBOX_FAILED;
}

/* The delay before the next attempt (see outbox.h). */
time_t
outbox_backoff(const struct config *cfg, int attempts, unsigned int *seed)
{
	long d = cfg->smtp.retry_base, max = cfg->smtp.retry_max;

	for (int i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	return d - d / 5 + rand_r(seed) % (2 * (d / 5) + 1);
}

/* The driver of a configured channel. */
const struct outbox_channel *
outbox_channel(enum config_channel id)
{
	static const struct outbox_channel *const drivers[] = { &channel_email, &channel_letter };

	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->id == id)
			return drivers[i];
	return NULL;
}

/* Free a message's payload, copy and path. */
void
outbox_msg_free(struct outbox_msg *m)
{
	free((char *)m->m.data);
	free(m->copy.subject);
	free(m->copy.text);
	free(m->path);
	memset(m, 0, sizeof(*m));
}
