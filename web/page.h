/*
 * page — what dunningweb shows (SPEC §2 rule 12): the client's page of a
 * link, the confirmation of a report, "link no longer valid", and the
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
};

/* The page of P into B. */
void page_links(struct evbuffer *b, const struct page *p);
/* A report received (AGAIN: it had been already) into B. */
void page_done(struct evbuffer *b, const struct page *p, bool again);
/* "This link is no longer valid", in both languages (the link, which
 * would say which, is not trusted). */
void page_gone(struct evbuffer *b, const struct config *cfg);
/* A request refused: WHY_FR / WHY_EN, in LANG (both when NULL). */
void page_refused(struct evbuffer *b, const struct config *cfg, const char *lang,
    const char *why_fr, const char *why_en);

#endif
