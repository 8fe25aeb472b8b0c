/*
 * templates — the firm's templates (templates/LANG/): each stage's
 * subject, text and HTML, the partials, and the lawyer's alert and
 * digest.  Every one is parsed and checked against the fields of its
 * context when loaded, so a message never fails on a misspelt field.
 */
#ifndef DUNNING_TEMPLATES_H
#define DUNNING_TEMPLATES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "group.h"

struct templates;

/* The parts of a message, each a file NAME.subject, NAME.txt, NAME.html. */
enum templates_part {
	TEMPLATES_SUBJECT,
	TEMPLATES_TEXT,
	TEMPLATES_HTML,
	TEMPLATES_NPARTS
};

/*
 * The lawyer's mail: immediate alerts and the daily digest, in the
 * firm's language (firm.language: templates/LANG/lawyer_alert.* and
 * lawyer_digest.*, subject and text).
 * Internal mail, with the same minimisation as the client's: invoice
 * numbers, file references, client names, amounts, stages and dates.
 */
enum templates_lawyer {
	TEMPLATES_LAWYER_ALERT,
	TEMPLATES_LAWYER_DIGEST,
	TEMPLATES_LAWYER_KINDS
};

/* Parse every stage's templates of every language present under the
 * configured directory, and check each against the context's fields
 * (those context_client gives a group with every optional field present).
 * NULL with "DIR/fr/j03.txt:4: no field "x" in the message context" in ERR. */
struct templates *templates_load(const struct config *cfg, char *err, size_t errlen);
void templates_free(struct templates *ts);

/* Parse and check the lawyer's templates into TS.  -1 with
 * "DIR/fr/lawyer_alert.txt:4: no field "x" in the message context" in ERR. */
int templates_lawyer_load(struct templates *ts, const struct config *cfg, char *err,
    size_t errlen);

/* Part P of G's stage, in G's language, rendered with CTX (malloc'ed).
 * NULL with the reason in ERR, or with ERR untouched when the stage has
 * no such part. */
char *templates_render(const struct templates *ts, const struct send_group *g,
    enum templates_part p, json_t *ctx, char *err, size_t errlen);

/* Part P of the fee agreement's reminder at stage STAGE (an index into
 * cfg->agreement.stages) in LANGUAGE, rendered with CTX (malloc'ed).  NULL
 * with the reason in ERR; a missing HTML part leaves ERR untouched. */
char *templates_agreement_render(const struct templates *ts, const char *language,
    int stage, enum templates_part p, json_t *ctx, char *err, size_t errlen);

/* The letter (channel "letter") as UTF-8 text, malloc'ed. */
char *templates_letter(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, char *err, size_t errlen);

/* Are the subject and text of the lawyer's mail WHICH loaded? */
bool templates_lawyer_loaded(const struct templates *ts, enum templates_lawyer which);

/* Part P (subject or text) of the lawyer's mail WHICH rendered with CTX,
 * malloc'ed; NULL with the reason in ERR. */
char *templates_lawyer_render(const struct templates *ts, enum templates_lawyer which,
    enum templates_part p, json_t *ctx, char *err, size_t errlen);

/*
 * A payment plan's instalment reminders to the client (SPEC §2 rule 11):
 * templates/LANG/plan_due.* and plan_late.*, subject and text, in every
 * language present (a language without them falls back to French).
 */
enum templates_plan {
	TEMPLATES_PLAN_DUE,
	TEMPLATES_PLAN_LATE,
	TEMPLATES_PLAN_KINDS
};

/* Parse and check the plans' templates into TS.  A language whose files
 * are missing has none (its clients get the French ones); French must
 * have them.  -1 with the file and line in ERR. */
int templates_plan_load(struct templates *ts, const struct config *cfg, char *err,
    size_t errlen);

/* Part P (subject or text) of the plan reminder WHICH in LANG rendered with
 * CTX, French typography for French, malloc'ed; NULL with the reason in
 * ERR. */
char *templates_plan_render(const struct templates *ts, enum templates_plan which,
    const char *lang, enum templates_part p, json_t *ctx, char *err, size_t errlen);

#endif
