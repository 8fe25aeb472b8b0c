/*
 * preview_sql — dunningctl preview: the group the sender would claim for
 * a reminder, or for an invoice at a stage not planned yet.
 */
#ifndef DUNNING_PREVIEW_SQL_H
#define DUNNING_PREVIEW_SQL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "group.h"
#include "store.h"

/* What preview found about the reminder and its group. */
struct preview_sql {
	int64_t reminder_id;	/* 0: the invoice's stage is not planned yet */
	const char *state;	/* the reminder's state now ("not planned") */
	time_t leaves_at;	/* when it would leave: now, or its scheduled time */
	char *note;		/* why the policy would not send it, or NULL */
	char *held_siblings;	/* "F-1, F-2": held reminders that would join if approved */
	char *sent_before;	/* "2026-03-05": a reminder of this stage already sent */
};
/* Build G as the sender would claim it for reminder ID at NOW: the
 * reminder, and the client's other reminders of the same stage and
 * currency due by then that the policy would send, with the Message-ID
 * derived as the sender derives it.  Nothing is written or locked.  0, or
 * -1 (error in store_error). */
int preview_sql_group(struct store *s, const struct config *cfg, int64_t id, time_t now,
    const char *domain, struct send_group *g, struct preview_sql *pv);
/* The same for invoice NUMBER at stage STAGE: its reminder of that stage
 * when one may still leave; otherwise the message that stage would be,
 * with this invoice alone, at the earliest time the stage is due (no
 * Message-ID yet: G's is a placeholder). */
int preview_sql_invoice(struct store *s, const struct config *cfg, const char *number,
    const char *stage, time_t now, const char *domain, struct send_group *g,
    struct preview_sql *pv);
/* Free what preview_sql_group allocated (it holds no lock). */
void preview_sql_free(struct send_group *g, struct preview_sql *pv);

#endif
