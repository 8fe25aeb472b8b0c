/*
 * test_reason — the reasons' table (lib/reason.c): every reason has its
 * own code, fit for dunning.reminder.reason (sql/015), and a text in both
 * languages; a code reads back as its reason.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "reason.h"
#include "tap.h"

int
main(void)
{
	regex_t code_rx;

	regcomp(&code_rx, "^[a-z][a-z0-9_]{0,39}$", REG_EXTENDED | REG_NOSUB);
	tap_ok(strcmp(reason_code(REASON_NONE), "") == 0 && reason_of("") == REASON_NONE,
	    "no reason: the empty code");
	tap_ok(reason_of("the client has no e-mail address") == REASON_NONE &&
	    reason_of(NULL) == REASON_NONE, "a sentence is not a code");
	for (int r = REASON_NONE + 1; r < REASON_COUNT; r++) {
		const char *code = reason_code((enum reason)r);
		bool unique = true;

		for (int q = REASON_NONE + 1; q < r; q++)
			unique &= strcmp(code, reason_code((enum reason)q)) != 0;
		if (!tap_ok(regexec(&code_rx, code, 0, NULL, 0) == 0 && unique &&
		    reason_of(code) == (enum reason)r, "%s: a code of its own that reads back",
		    code))
			tap_diag("reason %d: code \"%s\"", r, code);
		tap_ok(*reason_text((enum reason)r, false) != '\0' &&
		    *reason_text((enum reason)r, true) != '\0' &&
		    (strcmp(reason_text((enum reason)r, false), reason_text((enum reason)r, true)) != 0 ||
		    r == REASON_PAUSED), "%s: a French and an English text", code);
	}
	{
		char *fr = reason_say(REASON_GAVE_UP, false, 12, "451 4.3.0 try later");
		char *en = reason_say(REASON_GAVE_UP, true, 12, "451 4.3.0 try later");
		char *relay = reason_say(REASON_RELAY_REFUSED, false, 1, "550 5.1.1 unknown");
		char *plain = reason_say(REASON_NO_EMAIL, false, 1, NULL);

		tap_ok(strcmp(fr, "abandon après 12 tentatives : 451 4.3.0 try later") == 0,
		    "gave up, in French: %s", fr);
		tap_ok(strcmp(en, "gave up after 12 attempts: 451 4.3.0 try later") == 0,
		    "gave up, in English: %s", en);
		tap_ok(strcmp(relay, "refus du serveur de messagerie : 550 5.1.1 unknown") == 0,
		    "the relay's answer follows its reason: %s", relay);
		tap_ok(strcmp(plain, "le client n'a pas d'adresse électronique") == 0,
		    "a reason without detail says itself: %s", plain);
		free(fr);
		free(en);
		free(relay);
		free(plain);
	}
	regfree(&code_rx);
	return tap_done();
}
