/*
 * ack — the acknowledgement of a client's report or payment plan (ack.h).
 * A fixed text in two languages, not a template: it says only that the
 * report was received, about which invoices and of which kind, that the
 * reminders are suspended — or, for a plan, whether it is accepted or
 * waits for the lawyer, and its schedule — and (to an individual) who the
 * consumer mediator is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "calendar.h"
#include "money.h"
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

/* The schedule "YYYY-MM-DD=AMOUNT;…" as lines "  - DATE : AMOUNT\n"
 * (malloc'ed), or NULL when memory runs out. */
static char *
schedule_lines(const char *sched, const char *currency, bool en)
{
	char *out = strdup(""), *copy = strdup(sched ? sched : ""), *save = NULL;

	if (out == NULL || copy == NULL) {
		free(out);
		free(copy);
		return NULL;
	}
	for (char *item = strtok_r(copy, ";", &save); item != NULL;
	    item = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(item, '='), day[64], amount[64], *next = NULL;
		int64_t cents;

		if (eq == NULL)
			continue;
		*eq = '\0';
		cal_format_long(cal_parse(item), en ? "en" : "fr", false, day, sizeof(day));
		if (money_parse(eq + 1, &cents) < 0 ||
		    money_format(amount, sizeof(amount), cents, currency, en ? "en" : "fr") < 0)
			snprintf(amount, sizeof(amount), "%s %s", eq + 1, currency);
		if (asprintf(&next, "%s  - %s: %s\n", out, day, amount) < 0) {
			free(out);
			free(copy);
			return NULL;
		}
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

/* The text of plan A's acknowledgement into *T (DAY, MEDIATOR, SIG
 * written): 0 or -1. */
static int
plan_text(const struct ack *a, bool en, const char *day, const char *mediator,
    const char *sig, char **t)
{
	bool several = a->ninvoices > 1;
	bool active = a->plan_state != NULL && strcmp(a->plan_state, "active") == 0;
	char *lines = schedule_lines(a->schedule, a->currency, en);
	int rc;

	if (lines == NULL)
		return -1;
	if (en)
		rc = asprintf(t, "Dear Sir or Madam,\n\nWe received on %s, from your payment "
		    "page, your proposal to pay %s %s in instalments.\n\n%s\n\n%s\n"
		    "%s\nYours faithfully,\n\n%s\n", day, several ? "invoices" : "invoice",
		    a->invoices, active ? (several ? "Your payment plan is accepted: the reminders "
		    "of these invoices are suspended as long as the instalments are paid on time." :
		    "Your payment plan is accepted: the reminders of this invoice are suspended as "
		    "long as the instalments are paid on time.") : "Your proposal now awaits the "
		    "firm's approval; we shall let you know the decision. The schedule you proposed:",
		    lines, mediator ? mediator : "", sig);
	else
		rc = asprintf(t, "Madame, Monsieur,\n\nNous avons bien reçu le %s, depuis votre "
		    "page de règlement, votre proposition d'échéancier pour %s n° %s.\n\n%s\n\n"
		    "%s\n%s\nNous vous prions d'agréer, Madame, Monsieur, l'assurance de nos "
		    "sentiments dévoués.\n\n%s\n", day,
		    several ? "les notes d'honoraires" : "la note d'honoraires", a->invoices,
		    active ? (several ? "Votre échéancier est accepté : les relances de ces notes "
		    "d'honoraires sont suspendues tant que les échéances sont respectées." :
		    "Votre échéancier est accepté : les relances de cette note d'honoraires sont "
		    "suspendues tant que les échéances sont respectées.") :
		    "Votre proposition est soumise à l'accord du cabinet, qui vous fera connaître "
		    "sa décision. L'échéancier que vous avez proposé :", lines,
		    mediator ? mediator : "", sig);
	free(lines);
	return rc < 0 ? -1 : 0;
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
	if (a->plan_id != 0)
		rc = plan_text(a, en, day, mediator, sig, &t);
	else if (en)
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
	if (asprintf(&s, a->plan_id != 0 ? (en ? "Your payment plan proposal (%s)" :
	    "Votre proposition d'échéancier (%s)") : en ? "Your report has been received (%s)" :
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
