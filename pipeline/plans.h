/*
 * plans — the payment plans' jobs in the daemon (SPEC §2 rule 11; the
 * tables are sql/026, the rules sql/functions/plans.sql):
 *
 *   plans_pass  at each planning pass, before the invoices: one statement,
 *               dunning.plans_pass — the active plans paid in full complete,
 *               those with an instalment still owed plan.breach_after_days
 *               after its date break (the lawyer alerted at once), and the
 *               instalment reminders due are queued (plan_message, once per
 *               instalment and kind); a plan whose state changed sends its
 *               invoices to this very pass (their bookmarks, 017), so the
 *               escalation resumes or stops at once;
 *   plans_send  after the clients' reminders, inside the send window: the
 *               queued reminders claimed ('sending' with a lease, committed,
 *               audited) before anything is handed, re-checked right before
 *               each is handed (the plan still active, the instalment still
 *               owed: else cancelled), composed (templates plan_due,
 *               plan_late) and handed through channel_email; each outcome
 *               recorded and audited as for a reminder (outbox_judge: sent,
 *               retried after outbox_backoff, failed, in_doubt — never sent
 *               twice); a claim whose lease ran out is in_doubt.
 */
#ifndef DUNNING_PLANS_H
#define DUNNING_PLANS_H

#include <stdbool.h>

#include "clock.h"
#include "config.h"
#include "store.h"
#include "templates.h"

struct plans_stats {
	int changed;		/* plans completed or broken */
	int sent, retried, failed, in_doubt, cancelled, errors;
};

/* dunning.plans_pass at the session's clock.  -1 on a database error. */
int plans_pass(struct store *s, const struct config *cfg, struct plans_stats *st);

struct plans_send {
	const struct config *cfg;
	const struct templates *ms;
	struct store *store;
	const char *password;
	unsigned int seed;	/* retry jitter */
};

/* Send the queued instalment reminders due, by CLOCK.  -1 on a database
 * error (the rows stay claimed: their lease settles them). */
int plans_send(struct plans_send *p, const struct clock *clock, struct plans_stats *st);

#endif
