/*
 * letter — the formal notice as a printable A4 PDF (Cairo + Pango): the
 * firm's letterhead, the recipient's address where a French DL window
 * envelope shows it, the date, the registered-mail mention, then the
 * body wrapped to the margins and flowing onto further pages.
 */
#ifndef DUNNING_LETTER_H
#define DUNNING_LETTER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "group.h"

#define LETTER_MAX_RECIPIENT 8

/*
 * A letter as it is laid out.  Every text may hold any bytes: invalid
 * UTF-8 and Unicode's noncharacters are shown as U+FFFD and control
 * characters as spaces, so data from the database can never break the
 * document.
 *
 * BODY: one paragraph per line, a blank line between blocks.  The first
 * block is the subject line (set in bold), the last the signature (set in
 * the right-hand column, never split across pages); a line starting with
 * "- " is a list item.
 */
struct letter {
	const char *firm_name, *firm_address, *firm_phone;
	const char *recipient[LETTER_MAX_RECIPIENT];	/* name, then address lines */
	size_t nrecipient;
	const char *date_line;	/* "Le 3 mars 2026" */
	const char *mention;	/* "LETTRE RECOMMANDÉE ...", or NULL */
	const char *body;
	const char *title;	/* the PDF's Title, or NULL */
	time_t created;		/* the PDF's creation date (the one clock) */
};

/* Render L as an A4 PDF written to FD.  The number of pages, or -1 with
 * the reason in ERR and errno set (EIO or the write's errno when the
 * file could not be written). */
int letter_render(const struct letter *l, int fd, char *err, size_t errlen);

/* The formal notice of G at NOW, written to FD as a PDF: the letterhead
 * from CFG's firm, the client's postal address, the date in the firm's
 * zone, and TEXT (the stage's template rendered) as the body.  Pages or
 * -1, as letter_render. */
int letter_write(const struct config *cfg, const struct send_group *g, time_t now,
    const char *text, int fd, char *err, size_t errlen);

/* TEXT made safe to lay out, malloc'ed: invalid UTF-8 and Unicode's
 * noncharacters replaced by U+FFFD, control characters by spaces (except line breaks when
 * KEEP_LINES, CRLF becoming LF), bidirectional overrides dropped.  A
 * one-line text (not KEEP_LINES) has its runs of spaces made one and its
 * ends trimmed. */
char *letter_clean(const char *text, bool keep_lines);

#endif
