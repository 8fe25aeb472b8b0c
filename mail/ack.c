/*
 * ack — the acknowledgement of a client's report (ack.h).  A fixed text
 * in two languages, not a template: it says only that the report was
 * received, about which invoices and of which kind, that the reminders are
 * suspended, and (to an individual) who the consumer mediator is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "calendar.h"
#include "typo.h"

/* The category CODE in words (LANG en or fr). */
static const char *
category(const char *code, bool en)
{
	static const struct { const char *code, *fr, *en; } cats[] = {
		{ "already_paid", "vous indiquez avoir déjà réglé", "you say you have already paid" },
		{ "amount_disputed", "vous contestez le montant", "you dispute the amount" },
		{ "service_disputed", "vous contestez la prestation", "you dispute the service" },
		{ "hardship", "vous faites état de difficultés financières",
		  "you report financial difficulty" },
		{ "other", "autre difficulté", "another problem" },
	};

	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		if (strcmp(code, cats[i].code) == 0)
			return en ? cats[i].en : cats[i].fr;
	return code;
}

int
ack_text(const struct config *cfg, const struct ack *a, char **subject, char **text)
{
	bool en = a->language != NULL && strcmp(a->language, "en") == 0;
	bool several = a->ninvoices > 1;
	bool individual = a->kind != NULL && strcmp(a->kind, "individual") == 0;
	const char *firm = *cfg->firm.name ? cfg->firm.name : "";
	const char *sig = *cfg->firm.signature ? cfg->firm.signature : firm;
	char day[64], *mediator = NULL, *s = NULL, *t = NULL;
	int rc;

	*subject = *text = NULL;
	cal_format_long(cal_local_day(a->received_at), en ? "en" : "fr", false, day, sizeof(day));
	if (individual && *cfg->firm.mediator &&
	    asprintf(&mediator, en ? "\nShould a dispute remain, you may refer it free of charge "
	    "to the consumer mediator: %s.\n" : "\nEn cas de litige persistant, vous pouvez "
	    "recourir gratuitement au médiateur de la consommation : %s.\n",
	    cfg->firm.mediator) < 0)
		return -1;
	if (en)
		rc = asprintf(&t, "Dear Sir or Madam,\n\nWe received on %s, from your payment "
		    "page, your report about %s %s: %s.\n\nThe reminders of %s are suspended. "
		    "%s will read your message and come back to you.\n%s\nYours faithfully,\n\n%s\n",
		    day, several ? "invoices" : "invoice", a->invoices, category(a->category, true),
		    several ? "these invoices" : "this invoice",
		    a->lawyer_name && *a->lawyer_name ? a->lawyer_name : "Your lawyer",
		    mediator ? mediator : "", sig);
	else
		rc = asprintf(&t, "Madame, Monsieur,\n\nNous avons bien reçu le %s, depuis votre "
		    "page de règlement, votre signalement concernant %s n° %s : %s.\n\nLes "
		    "relances de %s sont suspendues. %s examine votre message et reviendra vers "
		    "vous.\n%s\nNous vous prions d'agréer, Madame, Monsieur, l'assurance de nos "
		    "sentiments dévoués.\n\n%s\n", day,
		    several ? "les notes d'honoraires" : "la note d'honoraires", a->invoices,
		    category(a->category, false),
		    several ? "ces notes d'honoraires" : "cette note d'honoraires",
		    a->lawyer_name && *a->lawyer_name ? a->lawyer_name : "Votre avocat",
		    mediator ? mediator : "", sig);
	free(mediator);
	if (rc < 0)
		return -1;
	if (asprintf(&s, en ? "Your report has been received (%s)" :
	    "Accusé de réception de votre signalement (%s)", a->invoices) < 0) {
		free(t);
		return -1;
	}
	if (!en) {
		char *ts = typo_french(s, false), *tt = typo_french(t, false);

		free(s);
		free(t);
		if (ts == NULL || tt == NULL) {
			free(ts);
			free(tt);
			return -1;
		}
		s = ts;
		t = tt;
	}
	*subject = s;
	*text = t;
	return 0;
}
