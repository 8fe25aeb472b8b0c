/*
 * typo — French typography on a rendered text: the plain space a
 * template or a datum puts before ":" ";" "!" "?" "»", after "«" and
 * between "n°" and its number becomes a no-break space (U+00A0), so that
 * no line breaks there.  The one rule for every French text the daemon
 * writes: the client's mails (subject, text, HTML), the formal notice,
 * the lawyers' alert and digest (mail/templates.c applies it).
 */
#ifndef DUNNING_TYPO_H
#define DUNNING_TYPO_H

#include <stdbool.h>

/* TEXT with French no-break spaces, malloc'ed (NULL when out of memory).
 * Only a plain space (U+0020) is replaced, never added: "10:30", a URL,
 * an e-mail address and text already spaced right come out as they went
 * in, and applying it twice changes nothing.  MARKUP: TEXT is HTML, and
 * nothing between "<" and ">" (a tag, its attributes) is touched. */
char *typo_french(const char *text, bool markup);

#endif
