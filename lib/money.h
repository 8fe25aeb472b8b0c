/*
 * money — amounts as integer cents end to end: parsing PostgreSQL numeric
 * text, and formatting for a message's language (1 234,56 € / €1,234.56).
 */
#ifndef DUNNING_MONEY_H
#define DUNNING_MONEY_H

#include <stddef.h>
#include <stdint.h>

/* Parse "1234.56", "-12.5", "7" (at most two decimals, as numeric(12,2)
 * prints).  Returns 0, or -1 when malformed or out of range. */
int money_parse(const char *s, int64_t *cents);

/* Format CENTS of CURRENCY for LANG ("fr" or "en") into BUF.  French:
 * narrow no-break space between thousands, decimal comma, no-break space
 * before the symbol.  Returns the length, or -1 if BUF is too small. */
int money_format(char *buf, size_t n, int64_t cents, const char *currency, const char *lang);

/* "1234.56": the numeric text PostgreSQL reads back. */
void money_to_numeric(char *buf, size_t n, int64_t cents);

#endif
