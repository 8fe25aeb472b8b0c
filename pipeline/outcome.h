/*
 * outcome — a message's fate recorded with its audit rows, and the send
 * locks (row locks, sql/020) the claim tries and each message holds until
 * its outcome is recorded.
 */
#ifndef DUNNING_OUTCOME_H
#define DUNNING_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "group.h"
#include "reason.h"
#include "store.h"

/* Right before G is handed: re-check its invoices and mark its reminders
 * 'sending' under their send locks, all or none, in one statement.  1
 * marked; 0 not (its claim released: the planner decides again); -1
 * error. */
int outcome_mark_sending(struct store *s, const struct config *cfg, struct send_group *g);
/* Then: G's send locks held in a transaction that its outcome ends, and G
 * re-checked under them.  1 held; 0 not to be handed (outcome_withheld);
 * -1 error.  Again on a new connection when the first one dropped. */
int outcome_hold(struct store *s, const struct config *cfg, struct send_group *g);
/* Still held (one round trip)?  False once the connection dropped. */
bool outcome_held(struct store *s, const struct send_group *g);
/* G marked but not handed: due again, not an attempt, audited. */
int outcome_withheld(struct store *s, const struct config *cfg, struct send_group *g);

/* Outcomes.  DETAIL (ANSWER) is the relay's answer or the error, never
 * the reason: that is WHY's code. */
int outcome_sent(struct store *s, const struct config *cfg, struct send_group *g,
    const char *answer, const char *letter_path);
int outcome_retry(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *detail);
int outcome_refused(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, const char *answer);
int outcome_defer(struct store *s, const struct config *cfg, struct send_group *g,
    time_t retry_at, enum reason why, const char *detail);
int outcome_failed(struct store *s, const struct config *cfg, struct send_group *g,
    enum reason why, const char *detail);
int outcome_in_doubt(struct store *s, const struct config *cfg, struct send_group *g,
    const char *detail);
/* Keep the text of G's message as it left (SUBJECT may be NULL for a
 * letter): once per Message-ID, a retry adds nothing. */
int outcome_keep_copy(struct store *s, const struct send_group *g, const char *subject,
    const char *body);

/* End what holds the group's locks (if its outcome did not) and free it. */
void outcome_release(struct store *s, struct send_group *g);

/* Try the send locks of the N invoices IDS in the transaction in progress,
 * one statement: how many were taken; TAKEN (may be NULL) gets their ids. */
int outcome_send_locks(struct store *s, const int64_t *ids, size_t n,
    struct store_ids *taken);
#endif
