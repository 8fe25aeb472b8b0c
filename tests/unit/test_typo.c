/*
 * test_typo — French no-break spaces (lib/typo.c): where a plain space
 * becomes U+00A0, and every text it must leave as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "typo.h"

#define NBSP "\xc2\xa0"
#define NNBSP "\xe2\x80\xaf"

/* typo_french(IN, MARKUP) gives WANT. */
static void
same(const char *in, bool markup, const char *want, const char *what)
{
	char *got = typo_french(in, markup);

	if (!tap_ok(got != NULL && strcmp(got, want) == 0, "%s", what))
		tap_diag("in \"%s\", got \"%s\", want \"%s\"", in, got ? got : "(null)", want);
	free(got);
}

int
main(void)
{
	same("Rappel : note d'honoraires n° F-1", false,
	    "Rappel" NBSP ": note d'honoraires n°" NBSP "F-1", "subject: before ':' and after 'n°'");
	same("a ; b ! c ? d", false, "a" NBSP "; b" NBSP "! c" NBSP "? d", "before ; ! ?");
	same("« dunningctl »", false, "«" NBSP "dunningctl" NBSP "»", "inside guillemets");
	same("N° 12", false, "N°" NBSP "12", "after 'N°'");
	same("rendez-vous à 10:30, https://pay.example/x?a=1;b=2 ou alice@cabinet.example",
	    false, "rendez-vous à 10:30, https://pay.example/x?a=1;b=2 ou alice@cabinet.example",
	    "times, URLs and addresses untouched");
	same("Rappel" NBSP ": n°" NBSP "F-1 ; x" NNBSP "?", false,
	    "Rappel" NBSP ": n°" NBSP "F-1" NBSP "; x" NNBSP "?", "already right: kept");
	same("Reminder: invoice no. E-1", false, "Reminder: invoice no. E-1",
	    "no space before the colon: none added");
	same("<p style=\"a : b ;\">Total : <a href=\"x\">n° 1</a> ?</p>", true,
	    "<p style=\"a : b ;\">Total" NBSP ": <a href=\"x\">n°" NBSP "1</a>" NBSP "?</p>",
	    "HTML: the text, never a tag or its attributes");
	same("<p>a : b</p>", false, "<p>a" NBSP ": b</p>", "not markup: every space");
	same("", false, "", "empty");
	same(" :", false, NBSP ":", "a space at the start");
	{
		char *once = typo_french("« a : b » n° 3", false);
		char *twice = once ? typo_french(once, false) : NULL;

		tap_ok(once && twice && strcmp(once, twice) == 0, "applied twice: the same");
		free(once);
		free(twice);
	}
	return tap_done();
}
