/*
 * page — what dunningweb shows (SPEC §2 rule 12): the client's page of a
 * link, the confirmation of a report or of a payment plan (rule 11),
 * "link no longer valid", and the
 * refusals of bad input.  Plain HTML and CSS, no JavaScript, in the
 * client's language (fr, en); every text from the database escaped.
 */
#ifndef DUNNING_WEB_PAGE_H
#define DUNNING_WEB_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "calendar.h"
#include "config.h"

/* One invoice of the link, as web_invoices gives it. */
struct page_invoice {
	char number[64];
	cal_day issued_on, due_on;
	int64_t balance_cents;
	char currency[4];
	char payment_url[2048];	/* "" none */
	bool reported;
	bool planned;		/* a proposed or active payment plan names it */
};

/* One instalment of a plan already proposed (web_plan_schedule). */
struct page_instalment {
	cal_day due_on;
	int64_t amount_cents;
	char currency[4];
};

/* The client's page of a link. */
struct page {
	const struct config *cfg;
	const char *lang;	/* "fr" or "en" */
	bool individual;
	const struct page_invoice *inv;
	size_t n;
	unsigned rights;	/* enum token_right */
	const char *link;	/* the link's token: the form posts to /r/LINK/report */
	const char *form_token;	/* the anti-forgery token of this page */
	cal_day today;		/* the firm's day: the first instalment's range starts it */
	int max_instalments;	/* plan.max_instalments */
	int interval_months;	/* plan.interval_months */
	/* The plan already proposed or active for these invoices, if any. */
	const char *plan_state;	/* "active", "proposed", or NULL: none */
	const struct page_instalment *sched;
	size_t nsched;
};

/* How far ahead the first instalment may fall (as plan_propose_for). */
#define PAGE_PLAN_DAYS 30

/* The N instalments of TOTAL cents as plan_propose_for makes them: equal
 * cents, the last takes the rounding (899,99 in 3: 299,99 299,99 300,01).
 * The amount of instalment K (1..N). */
int64_t page_instalment(int64_t total, int n, int k);
/* What the plan form would cover: the cents of P's invoices no plan names
 * (0 when none, or -1 when they are of more than one currency, which one
 * plan cannot cover). */
int64_t page_plan_total(const struct page *p);

/* The page of P into B. */
void page_links(struct evbuffer *b, const struct page *p);
/* A report received (AGAIN: it had been already) into B. */
void page_done(struct evbuffer *b, const struct page *p, bool again);
/* A payment plan proposed (AGAIN: one was already) into B: P's plan_state
 * and sched say which and what. */
void page_plan_done(struct evbuffer *b, const struct page *p, bool again);
/* "This link is no longer valid", in both languages (the link, which
 * would say which, is not trusted). */
void page_gone(struct evbuffer *b, const struct config *cfg);
/* A request refused: WHY_FR / WHY_EN, in LANG (both when NULL). */
void page_refused(struct evbuffer *b, const struct config *cfg, const char *lang,
    const char *why_fr, const char *why_en);

#endif
