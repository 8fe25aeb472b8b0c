/*
 * fuzz_statement — the bank statements' readers (lib/statement.c, camt.c
 * with libxml2, cfonb.c), the format recognised by the content as
 * dunningctl import-statement does.
 *
 * Checked: no crash, leak or UB; a statement read gives credits each with
 * a reference, a positive amount within numeric(12,2), an ISO booking
 * date, a three-letter currency, texts in valid UTF-8 without control
 * characters, and an
 * IBAN only when its check digits hold; a refusal says why.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_statement: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

/* Valid UTF-8 without control characters in S. */
static void
clean(const char *s)
{
	if (s != NULL && !csv_utf8_valid(s, strlen(s)))
		FAIL("a text not UTF-8");
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20)
			FAIL("a control character in a text");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stmt st;

	if (stmt_parse((const char *)data, size, &st) < 0) {
		if (st.err[0] == '\0')
			FAIL("refused without a reason");
		return 0;
	}
	for (size_t i = 0; i < st.n; i++) {
		const struct stmt_entry *e = &st.entries[i];
		char *again;

		if (e->ref == NULL || *e->ref == '\0')
			FAIL("a credit without its reference");
		if (e->cents <= 0 || e->cents > 999999999999LL)
			FAIL("an amount out of range");
		if (strlen(e->booked_on) != 10 || e->booked_on[4] != '-' || e->booked_on[7] != '-')
			FAIL("a booking date not ISO");
		if (strlen(e->currency) != 3 || strspn(e->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
			FAIL("a currency not ISO");
		clean(e->ref);
		clean(e->debtor_name);
		clean(e->remittance);
		clean(e->end_to_end);
		if (e->debtor_iban != NULL) {
			if ((again = stmt_iban(e->debtor_iban)) == NULL ||
			    strcmp(again, e->debtor_iban) != 0)
				FAIL("an IBAN whose check digits do not hold");
			free(again);
		}
	}
	stmt_free(&st);
	return 0;
}
