/*
 * test_check — mail/check.c: what must hold before a group becomes a
 * message.  Issue 17: text that is not UTF-8 fails the reminder with
 * invalid_text (it once blanked the field unseen), and a payment link is
 * https:// with a host and RFC 3986's characters or the reminder fails
 * with payment_url_refused.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tap.h"

/* A deliverable group of one invoice, by e-mail. */
static struct send_group
sample(struct send_item *it)
{
	struct send_group g = {
		.kind = "professional", .company_name = "Dupont SA", .email = "c@example.org",
		.address_line1 = "1 rue", .postal_code = "75001", .city = "Paris",
		.country = "FR", .lawyer_name = "Maître Martin", .lawyer_email = "m@example.org",
		.items = it, .nitems = 1, .stage = 0,
	};

	return g;
}

int
main(void)
{
	static const char *const good[] = {
		"https://paiement.cabinet.example/F-1", "HTTPS://pay.example",
		"https://pay/200", "https://pay.example:8443/p?ref=F-1&x=%C3%A9#top",
		"https://[2001:db8::1]/p",
	};
	static const char *const bad[] = {
		"javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,x",
		"mailto:a@example.org", "http://pay.example/1", "ftp://pay.example/",
		"https://", "https:///path", "https://:443/", "//pay.example/",
		"https://bank.example@evil.example/", "https://u:p@pay.example/",
		"https://pay.example/a b", "https://pay.example/\"onclick=\"x",
		"https://pay.example/'x'", "https://pay.example/<script>",
		"https://pay.example/\tx", "https://pay.example/\\", "https://pay.example/é",
		" https://pay.example/", "https://pay.example/`x`",
	};
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct send_item it = { .number = "F-1", .matter_ref = "D-1" };
	struct send_group g = sample(&it);
	char *long_url;

	if (cfg == NULL)
		return 2;
	cfg->stages[0].channel = CONFIG_CHANNEL_EMAIL;
	cfg->nstages = 1;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		tap_ok(check_payment_url(good[i]), "payment link accepted: %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		tap_ok(!check_payment_url(bad[i]), "payment link refused: %s", bad[i]);
	long_url = malloc(CHECK_URL_MAX + 2);
	memcpy(long_url, "https://pay.example/", 20);
	memset(long_url + 20, 'a', CHECK_URL_MAX - 19);
	long_url[CHECK_URL_MAX + 1] = '\0';
	tap_ok(!check_payment_url(long_url), "a payment link over %d bytes refused",
	    CHECK_URL_MAX);
	long_url[CHECK_URL_MAX] = '\0';
	tap_ok(check_payment_url(long_url), "a payment link of %d bytes accepted",
	    CHECK_URL_MAX);
	free(long_url);

	if (!tap_ok(check_group(&g, cfg) == REASON_NONE, "a clean group passes"))
		tap_diag("refused: %s", reason_code(check_group(&g, cfg)));
	it.payment_url = "https://pay.example/F-1";
	tap_ok(check_group(&g, cfg) == REASON_NONE, "with an https:// link too");
	it.payment_url = "javascript:alert(1)";
	tap_ok(check_group(&g, cfg) == REASON_PAYMENT_URL_REFUSED,
	    "a javascript: link: payment_url_refused");
	it.payment_url = "";
	tap_ok(check_group(&g, cfg) == REASON_NONE, "an empty link: no link, no refusal");
	it.payment_url = NULL;

	/* Text that is not UTF-8, in each field a message shows. */
	{
		char cut[] = "75001 Saint-\xc3";	/* a character cut in two */
		char latin1[] = "Ren\xe9";		/* é in Latin-1 */
		char **fields[] = { &g.company_name, &g.city, &g.postal_code,
			&g.address_line1, &g.lawyer_name, &it.number, &it.matter_ref };
		const char *names[] = { "company_name", "city", "postal_code",
			"address_line1", "lawyer_name", "number", "matter_ref" };

		tap_ok(check_utf8(NULL) && check_utf8("Lefèvre") && !check_utf8(latin1) &&
		    !check_utf8(cut), "check_utf8");
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			char *was = *fields[i];

			*fields[i] = i % 2 ? cut : latin1;
			tap_ok(check_group(&g, cfg) == REASON_INVALID_TEXT,
			    "%s not UTF-8: invalid_text", names[i]);
			*fields[i] = was;
		}
		it.payment_url = latin1;
		tap_ok(check_group(&g, cfg) == REASON_INVALID_TEXT,
		    "payment link not UTF-8: invalid_text");
		it.payment_url = NULL;
	}
	tap_ok(strcmp(reason_code(REASON_INVALID_TEXT), "invalid_text") == 0 &&
	    strcmp(reason_code(REASON_PAYMENT_URL_REFUSED), "payment_url_refused") == 0,
	    "the codes stored");
	free(cfg);
	return tap_done();
}
