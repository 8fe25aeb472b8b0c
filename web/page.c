/*
 * page — dunningweb's HTML (page.h).
 */
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "page.h"
#include "token.h"

#define T(fr, en) (en_ ? (en) : (fr))

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1d2733;background:#f4f6f8;line-height:1.5}"
    "main{max-width:42rem;margin:0 auto;padding:1rem}"
    "header{background:#1a4d80;color:#fff;padding:1rem}"
    "header h1{margin:0 auto;max-width:42rem;font-size:1.25rem}"
    "section{background:#fff;border:1px solid #d5dce3;border-radius:6px;padding:1rem;"
    "margin:0 0 1rem}"
    "h2{font-size:1.1rem;margin:0 0 .5rem}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.4rem .3rem;border-bottom:1px solid #e3e8ed;"
    "vertical-align:top}"
    "td.n{text-align:right;white-space:nowrap}"
    "a.button,button{display:inline-block;background:#1a4d80;color:#fff;border:0;"
    "border-radius:4px;padding:.6rem 1rem;font-size:1rem;text-decoration:none;cursor:pointer}"
    "label{display:block;margin:.3rem 0}"
    "textarea{width:100%;box-sizing:border-box;font:inherit;min-height:8rem}"
    "fieldset{border:0;padding:0;margin:0 0 .8rem}"
    ".note{color:#52606d;font-size:.9rem}"
    "@media (max-width:30rem){th.d,td.d{display:none}}";

/* S into B, HTML-escaped. */
static void
esc(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': evbuffer_add(b, "&amp;", 5); break;
		case '<': evbuffer_add(b, "&lt;", 4); break;
		case '>': evbuffer_add(b, "&gt;", 4); break;
		case '"': evbuffer_add(b, "&quot;", 6); break;
		case '\'': evbuffer_add(b, "&#39;", 5); break;
		default: evbuffer_add(b, s, 1); break;
		}
	}
}

/* The document's head and the firm's banner. */
static void
head(struct evbuffer *b, const struct config *cfg, const char *lang, const char *title)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>", lang);
	esc(b, title);
	if (*cfg->firm.name) {
		evbuffer_add_printf(b, " — ");
		esc(b, cfg->firm.name);
	}
	evbuffer_add_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><h1>", style);
	esc(b, *cfg->firm.name ? cfg->firm.name : title);
	evbuffer_add_printf(b, "</h1></header>\n<main>\n");
}

/* The document's end: the firm's address and phone. */
static void
foot(struct evbuffer *b, const struct config *cfg)
{
	if (*cfg->firm.address || *cfg->firm.phone) {
		evbuffer_add_printf(b, "<p class=\"note\">");
		esc(b, cfg->firm.name);
		if (*cfg->firm.address) {
			evbuffer_add_printf(b, " · ");
			esc(b, cfg->firm.address);
		}
		if (*cfg->firm.phone) {
			evbuffer_add_printf(b, " · ");
			esc(b, cfg->firm.phone);
		}
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "</main>\n</body>\n</html>\n");
}

/* The invoices' table. */
static void
invoices(struct evbuffer *b, const struct page *p, bool en_)
{
	char buf[64];

	evbuffer_add_printf(b, "<section id=\"invoices\">\n<h2>%s</h2>\n<table>\n<tr><th>%s</th>"
	    "<th class=\"d\">%s</th><th>%s</th><th>%s</th></tr>\n",
	    p->n > 1 ? T("Vos notes d'honoraires", "Your invoices") :
	    T("Votre note d'honoraires", "Your invoice"),
	    T("Numéro", "Number"), T("Émise le", "Issued"), T("Échéance", "Due"),
	    T("Reste dû", "Balance"));
	for (size_t i = 0; i < p->n; i++) {
		const struct page_invoice *v = &p->inv[i];

		evbuffer_add_printf(b, "<tr><td>");
		esc(b, v->number);
		cal_format_long(v->issued_on, p->lang, false, buf, sizeof(buf));
		evbuffer_add_printf(b, "</td><td class=\"d\">");
		esc(b, buf);
		cal_format_long(v->due_on, p->lang, false, buf, sizeof(buf));
		evbuffer_add_printf(b, "</td><td>");
		esc(b, buf);
		if (money_format(buf, sizeof(buf), v->balance_cents, v->currency, p->lang) < 0)
			snprintf(buf, sizeof(buf), "?");
		evbuffer_add_printf(b, "</td><td class=\"n\">");
		esc(b, buf);
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n</section>\n");
}

/* Pay: each invoice's payment link (once each), the firm's account. */
static void
pay(struct evbuffer *b, const struct page *p, bool en_)
{
	bool any = false;

	evbuffer_add_printf(b, "<section id=\"pay\">\n<h2>%s</h2>\n", T("Régler", "Pay"));
	for (size_t i = 0; i < p->n; i++) {
		bool seen = false;

		if (p->inv[i].payment_url[0] == '\0')
			continue;
		for (size_t k = 0; k < i; k++)
			seen |= strcmp(p->inv[k].payment_url, p->inv[i].payment_url) == 0;
		if (seen)
			continue;
		any = true;
		evbuffer_add_printf(b, "<p><a class=\"button\" rel=\"noopener noreferrer\" href=\"");
		esc(b, p->inv[i].payment_url);
		evbuffer_add_printf(b, "\">%s", T("Payer en ligne", "Pay online"));
		if (p->n > 1) {
			evbuffer_add_printf(b, " (");
			esc(b, p->inv[i].number);
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, "</a></p>\n");
	}
	if (*p->cfg->firm.iban) {
		evbuffer_add_printf(b, "<p>%s IBAN ", any ? T("Ou par virement :", "Or by bank transfer:") :
		    T("Par virement :", "By bank transfer:"));
		esc(b, p->cfg->firm.iban);
		if (*p->cfg->firm.bic) {
			evbuffer_add_printf(b, ", BIC ");
			esc(b, p->cfg->firm.bic);
		}
		evbuffer_add_printf(b, "<br>%s</p>\n", p->n > 1 ?
		    T("en indiquant les numéros des notes d'honoraires.",
		    "quoting the invoice numbers.") :
		    T("en indiquant le numéro de la note d'honoraires.", "quoting the invoice number."));
	} else if (!any) {
		evbuffer_add_printf(b, "<p>%s</p>\n", T("Pour régler, répondez au message reçu : "
		    "nous vous indiquerons nos coordonnées bancaires.", "To pay, reply to the message "
		    "you received: we shall send you our bank details."));
	}
	evbuffer_add_printf(b, "</section>\n");
}

/* The report form, or what became of the report. */
static void
report(struct evbuffer *b, const struct page *p, bool en_)
{
	static const struct { const char *value, *fr, *en; } cats[] = {
		{ "already_paid", "J'ai déjà payé", "I have already paid" },
		{ "amount_disputed", "Je conteste le montant", "I dispute the amount" },
		{ "service_disputed", "Je conteste la prestation", "I dispute the service" },
		{ "hardship", "J'ai des difficultés financières", "I am in financial difficulty" },
		{ "other", "Autre", "Other" },
	};
	bool reported = true;

	for (size_t i = 0; i < p->n; i++)
		reported &= p->inv[i].reported;
	evbuffer_add_printf(b, "<section id=\"report\">\n<h2>%s</h2>\n",
	    T("Signaler un problème", "Report a problem"));
	if (reported) {
		evbuffer_add_printf(b, "<p>%s</p>\n</section>\n", T("Vous nous avez signalé un "
		    "problème : les relances sont suspendues et votre avocat reviendra vers vous.",
		    "You have reported a problem: the reminders are suspended and your lawyer will "
		    "come back to you."));
		return;
	}
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/r/");
	esc(b, p->link);
	evbuffer_add_printf(b, "/report\" accept-charset=\"utf-8\">\n"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	esc(b, p->form_token);
	evbuffer_add_printf(b, "\">\n<fieldset>\n<legend>%s</legend>\n",
	    T("Quelle est la difficulté ?", "What is the problem?"));
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		evbuffer_add_printf(b, "<label><input type=\"radio\" name=\"category\" value=\"%s\""
		    "%s> %s</label>\n", cats[i].value, i == 0 ? " required" : "",
		    T(cats[i].fr, cats[i].en));
	evbuffer_add_printf(b, "</fieldset>\n<label for=\"message\">%s</label>\n"
	    "<textarea id=\"message\" name=\"message\" maxlength=\"2000\"></textarea>\n"
	    "<p class=\"note\">%s</p>\n<p><button type=\"submit\">%s</button></p>\n</form>\n"
	    "</section>\n",
	    T("Précisions (facultatif, 2 000 caractères au plus)",
	    "Details (optional, at most 2,000 characters)"),
	    T("Votre message est lu par votre avocat. Les relances de ces notes d'honoraires "
	    "sont suspendues dès sa réception.", "Your message is read by your lawyer. The "
	    "reminders of these invoices are suspended as soon as it is received."),
	    T("Envoyer", "Send"));
}

void
page_links(struct evbuffer *b, const struct page *p)
{
	bool en_ = strcmp(p->lang, "en") == 0;

	head(b, p->cfg, p->lang, T("Vos notes d'honoraires", "Your invoices"));
	invoices(b, p, en_);
	if (p->rights & TOKEN_PAY)
		pay(b, p, en_);
	/* The payment plan (rule 11, the links of j10 and j30 carry its right):
	 * its form is wired with dunning.plan_propose_for once the plans land;
	 * until then the page says how to ask for one. */
	if (p->rights & TOKEN_PLAN)
		evbuffer_add_printf(b, "<section id=\"plan\">\n<h2>%s</h2>\n<p>%s</p>\n</section>\n",
		    T("Payer en plusieurs fois", "Pay in instalments"),
		    T("Pour régler en deux ou trois mensualités, répondez au message reçu en "
		    "proposant l'échéancier qui vous convient.", "To pay in two or three monthly "
		    "instalments, reply to the message you received with the schedule that suits "
		    "you."));
	if (p->rights & TOKEN_REPORT)
		report(b, p, en_);
	foot(b, p->cfg);
}

void
page_done(struct evbuffer *b, const struct page *p, bool again)
{
	bool en_ = strcmp(p->lang, "en") == 0;

	head(b, p->cfg, p->lang, T("Signalement reçu", "Report received"));
	evbuffer_add_printf(b, "<section id=\"done\">\n<h2>%s</h2>\n<p>%s</p>\n<p>%s</p>\n",
	    T("Votre signalement a bien été reçu", "Your report has been received"),
	    again ? T("Nous avions déjà reçu votre signalement : il n'est pas enregistré une "
	    "seconde fois.", "We had already received your report: it is not recorded twice.") :
	    p->n > 1 ? T("Merci. Les relances de ces notes d'honoraires sont suspendues ; votre "
	    "avocat examine votre message et reviendra vers vous.", "Thank you. The reminders of "
	    "these invoices are suspended; your lawyer will read your message and come back to "
	    "you.") : T("Merci. Les relances de cette note d'honoraires sont suspendues ; votre "
	    "avocat examine votre message et reviendra vers vous.", "Thank you. The reminders of "
	    "this invoice are suspended; your lawyer will read your message and come back to "
	    "you."),
	    again ? "" : T("Un accusé de réception vous est adressé par courriel.",
	    "An acknowledgement is on its way to you by e-mail."));
	if (p->individual && *p->cfg->firm.mediator) {
		evbuffer_add_printf(b, "<p class=\"note\">%s ", T("En cas de litige, vous pouvez "
		    "recourir gratuitement au médiateur de la consommation :", "Should a dispute "
		    "remain, you may refer it free of charge to the consumer mediator:"));
		esc(b, p->cfg->firm.mediator);
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<p><a href=\"/r/");
	esc(b, p->link);
	evbuffer_add_printf(b, "\">%s</a></p>\n</section>\n", T("Retour à vos notes d'honoraires",
	    "Back to your invoices"));
	foot(b, p->cfg);
}

void
page_gone(struct evbuffer *b, const struct config *cfg)
{
	head(b, cfg, "fr", "Lien expiré / Link no longer valid");
	evbuffer_add_printf(b, "<section id=\"gone\">\n<h2>Ce lien n'est plus valable</h2>\n"
	    "<p>Il a expiré, ou les notes d'honoraires qu'il concerne sont réglées. Pour toute "
	    "question, répondez au dernier message reçu du cabinet.</p>\n"
	    "<h2 lang=\"en\">This link is no longer valid</h2>\n"
	    "<p lang=\"en\">It has expired, or the invoices it concerns are settled. For any "
	    "question, reply to the last message you received from the firm.</p>\n</section>\n");
	foot(b, cfg);
}

void
page_refused(struct evbuffer *b, const struct config *cfg, const char *lang,
    const char *why_fr, const char *why_en)
{
	bool fr = lang == NULL || strcmp(lang, "en") != 0, en = lang == NULL ||
	    strcmp(lang, "en") == 0;

	head(b, cfg, fr ? "fr" : "en", fr ? "Demande refusée" : "Request refused");
	evbuffer_add_printf(b, "<section id=\"refused\">\n");
	if (fr)
		evbuffer_add_printf(b, "<h2>Votre demande n'a pas été enregistrée</h2>\n<p>%s</p>\n"
		    "<p>Rien n'a été modifié. Revenez au lien reçu par courriel et réessayez.</p>\n",
		    why_fr);
	if (en)
		evbuffer_add_printf(b, "<h2 lang=\"en\">Your request was not recorded</h2>\n"
		    "<p lang=\"en\">%s</p>\n<p lang=\"en\">Nothing was changed. Go back to the link "
		    "in your e-mail and try again.</p>\n", why_en);
	evbuffer_add_printf(b, "</section>\n");
	foot(b, cfg);
}
