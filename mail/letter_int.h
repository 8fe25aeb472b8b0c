/*
 * letter_int — what the letter's files share and nobody else sees: the
 * texts of a letter once cleaned (letter_content.c), as letter.c lays
 * them out.
 */
#ifndef DUNNING_LETTER_INT_H
#define DUNNING_LETTER_INT_H

#include "letter.h"

/* The texts of a letter once cleaned. */
struct letter_texts {
	char *firm_name, *firm_address, *firm_phone, *date_line, *mention, *body, *title;
	char *recipient;	/* the lines joined by '\n' */
};

/* Clean every text of L into T (the body with French typography).  0, or
 * -1 when out of memory, T then holding nothing to free. */
int letter_texts_clean(const struct letter *l, struct letter_texts *t);

/* Free the cleaned texts. */
void letter_texts_free(struct letter_texts *t);

#endif
