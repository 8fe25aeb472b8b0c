/*
 * alerts — the lawyer's mail in the database (sql/010): the alert
 * outbox and the daily digest's bookkeeping.
 *
 * Alerts are queued by the transactions of their events (outcome.c,
 * plan.c, through dunning.lawyer_alert_add); here they are claimed
 * (SKIP LOCKED, 'sending' committed before the mail leaves) and their
 * outcome recorded with its audit row.  A digest is taken by inserting its
 * (lawyer, day) row: whoever inserts it sends it, so it leaves at most
 * once a day whatever the number of daemons.
 */
#ifndef DUNNING_ALERTS_H
#define DUNNING_ALERTS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "calendar.h"
#include "config.h"
#include "store.h"
#include "group.h"

/* A lawyer whose digest of the day has to be looked at. */
struct digest_lawyer {
	int64_t id;
	char *name, *email;
	int attempts;		/* of a retried digest; 0 for a new one */
};

/* Queue an alert of KIND for the lawyer of the client of INVOICE (or of
 * the reminders REMS, N of them), inside the caller's transaction; KEY
 * names the event, so that it is told once.  DETAILS may be NULL. */
int alerts_add(struct store *s, const char *kind, const char *key, int64_t invoice,
    const int64_t *rems, size_t n, json_t *details);

/* Queue the partial legal-aid alerts due at the session's today (rule
 * 13), each once.  How many were queued, or -1. */
int alerts_legal_aid(struct store *s);

/* Queue the alerts of the fee agreements sent DAYS calendar days ago or
 * more and still unsigned (rule 13), each once.  How many, or -1. */
int alerts_agreement_unsigned(struct store *s, int days);

/* Claim up to MAX alerts due at the session's clock: marked 'sending'
 * (committed) with a lease.  Returns how many are in *OUT (malloc'ed, to
 * free with alerts_free), or -1. */
int alerts_claim(struct store *s, int max, struct lawyer_alert **out);

/* Queue the prescription alerts due now (SPEC §2 rule 14) for DAYS, the
 * thresholds ended by 0: dunning.prescription_alerts.  The number queued,
 * or -1. */
int alerts_prescription(struct store *s, const int *days);
void alerts_free(struct lawyer_alert *a, int n);

/* Outcomes of alert A, each with its audit row. */
int alerts_sent(struct store *s, const struct lawyer_alert *a, const char *message_id);
int alerts_retry(struct store *s, const struct lawyer_alert *a, time_t retry_at,
    const char *why);
int alerts_failed(struct store *s, const struct lawyer_alert *a, const char *why);

/* Lawyers with no digest row for DAY (a new digest to look at), then
 * those whose digest of DAY waits for a retry due now.  Returns the count
 * in *OUT, or -1. */
int alerts_digest_lawyers(struct store *s, cal_day day, struct digest_lawyer **out);
void alerts_digest_lawyers_free(struct digest_lawyer *l, int n);

/* The items of LAWYER's digest now (dunning.digest_items), in *OUT.
 * Returns the count, or -1. */
int alerts_digest_items(struct store *s, int64_t lawyer, int dispute_days,
    struct digest_item **out);
void alerts_digest_items_free(struct digest_item *it, int n);

/* Take LAWYER's digest of DAY for sending ('sending', committed), or
 * record it 'empty' when NITEMS is 0.  A retried digest (L->attempts > 0)
 * is moved from 'pending' instead.  1 when this session took it, 0 when
 * another did, -1 on error. */
int alerts_digest_take(struct store *s, const struct digest_lawyer *l, cal_day day,
    int nitems);

/* Outcomes of LAWYER's digest of DAY, each with its audit row. */
int alerts_digest_sent(struct store *s, int64_t lawyer, cal_day day, int nitems,
    const char *message_id);
int alerts_digest_retry(struct store *s, int64_t lawyer, cal_day day, time_t retry_at,
    const char *why);
int alerts_digest_failed(struct store *s, int64_t lawyer, cal_day day, const char *why);

#endif
