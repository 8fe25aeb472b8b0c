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

int64_t
page_instalment(int64_t total, int n, int k)
{
	int64_t each = n > 0 ? total / n : 0;

	return k < n ? each : total - (int64_t)(n - 1) * each;
}

int64_t
page_plan_total(const struct page *p)
{
	const char *cur = NULL;
	int64_t total = 0;

	for (size_t i = 0; i < p->n; i++) {
		if (p->inv[i].planned)
			continue;
		if (cur != NULL && strcmp(cur, p->inv[i].currency) != 0)
			return -1;
		cur = p->inv[i].currency;
		total += p->inv[i].balance_cents;
	}
	return total;
}

/* The currency of the invoices the plan form covers. */
static const char *
plan_currency(const struct page *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!p->inv[i].planned)
			return p->inv[i].currency;
	return p->n > 0 ? p->inv[0].currency : "EUR";
}

/* CENTS of CURRENCY, escaped, into B. */
static void
amount(struct evbuffer *b, int64_t cents, const char *currency, const char *lang)
{
	char buf[64];

	if (money_format(buf, sizeof(buf), cents, currency, lang) < 0)
		snprintf(buf, sizeof(buf), "?");
	esc(b, buf);
}

/* DAY in words, escaped, into B. */
static void
day_long(struct evbuffer *b, cal_day day, const char *lang)
{
	char buf[64];

	cal_format_long(day, lang, false, buf, sizeof(buf));
	esc(b, buf);
}

/* The schedule of the plan already recorded (P's sched) as a table. */
static void
schedule(struct evbuffer *b, const struct page *p, bool en_)
{
	evbuffer_add_printf(b, "<table id=\"schedule\">\n<tr><th>%s</th><th>%s</th><th>%s</th>"
	    "</tr>\n", T("Échéance", "Instalment"), T("Date", "Date"), T("Montant", "Amount"));
	for (size_t i = 0; i < p->nsched; i++) {
		evbuffer_add_printf(b, "<tr><td>%zu</td><td>", i + 1);
		day_long(b, p->sched[i].due_on, p->lang);
		evbuffer_add_printf(b, "</td><td class=\"n\">");
		amount(b, p->sched[i].amount_cents, p->sched[i].currency, p->lang);
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n");
}

/* The payment plan (rule 11; the links of j10 and j30 carry its right):
 * the form proposing one — how many instalments, each choice with its
 * amounts as plan_propose_for will make them, the first date — or the
 * plan already recorded.  No JavaScript: the date field takes a typed
 * yyyy-mm-dd where the browser has no calendar. */
static void
plan(struct evbuffer *b, const struct page *p, bool en_)
{
	int64_t total = page_plan_total(p);
	int max = p->max_instalments < 2 ? 2 : p->max_instalments;
	char lo[11], hi[11];

	evbuffer_add_printf(b, "<section id=\"plan\">\n<h2>%s</h2>\n",
	    T("Payer en plusieurs fois", "Pay in instalments"));
	if (p->plan_state != NULL) {
		evbuffer_add_printf(b, "<p>%s</p>\n", strcmp(p->plan_state, "active") == 0 ?
		    T("Votre échéancier est accepté : les relances sont suspendues tant que les "
		    "échéances sont respectées.", "Your payment plan is accepted: the reminders are "
		    "suspended as long as the instalments are paid on time.") :
		    T("Votre proposition d'échéancier est soumise à l'accord du cabinet, qui vous "
		    "fera connaître sa décision.", "Your payment plan proposal awaits the firm's "
		    "approval; we shall let you know the decision."));
		schedule(b, p, en_);
	}
	if (total <= 0) {
		if (total < 0)
			evbuffer_add_printf(b, "<p>%s</p>\n", T("Ces notes d'honoraires sont en "
			    "plusieurs devises : pour un échéancier, répondez au message reçu.",
			    "These invoices are in several currencies: for a payment plan, reply to "
			    "the message you received."));
		evbuffer_add_printf(b, "</section>\n");
		return;
	}
	cal_format(p->today, lo);
	cal_format(p->today + PAGE_PLAN_DAYS, hi);
	evbuffer_add_printf(b, "<p>%s ", T("Vous pouvez proposer un échéancier pour régler",
	    "You may propose to pay"));
	amount(b, total, plan_currency(p), p->lang);
	evbuffer_add_printf(b, " %s</p>\n", p->interval_months <= 1 ?
	    T("en plusieurs mensualités.", "in monthly instalments.") :
	    T("en plusieurs échéances.", "in several instalments."));
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/r/");
	esc(b, p->link);
	evbuffer_add_printf(b, "/plan\" accept-charset=\"utf-8\">\n"
	    "<input type=\"hidden\" name=\"csrf\" value=\"");
	esc(b, p->form_token);
	evbuffer_add_printf(b, "\">\n<fieldset>\n<legend>%s</legend>\n",
	    T("Nombre d'échéances", "Number of instalments"));
	for (int n = 2; n <= max; n++) {
		int64_t each = page_instalment(total, n, 1), last = page_instalment(total, n, n);

		evbuffer_add_printf(b, "<label><input type=\"radio\" name=\"instalments\" "
		    "value=\"%d\"%s> %d %s : ", n, n == 2 ? " required" : "", n,
		    T("échéances", "instalments"));
		if (n <= 3) {
			for (int k = 1; k <= n; k++) {
				if (k > 1)
					evbuffer_add_printf(b, "%s", k == n ? T(" puis ", " then ") : ", ");
				amount(b, page_instalment(total, n, k), plan_currency(p), p->lang);
			}
		} else {
			evbuffer_add_printf(b, "%d × ", n - 1);
			amount(b, each, plan_currency(p), p->lang);
			evbuffer_add_printf(b, "%s", T(" puis ", " then "));
			amount(b, last, plan_currency(p), p->lang);
		}
		evbuffer_add_printf(b, "</label>\n");
	}
	evbuffer_add_printf(b, "</fieldset>\n<label for=\"first_due\">%s ",
	    T("Date de la première échéance, entre le", "Date of the first instalment, between"));
	day_long(b, p->today, p->lang);
	evbuffer_add_printf(b, " %s ", T("et le", "and"));
	day_long(b, p->today + PAGE_PLAN_DAYS, p->lang);
	evbuffer_add_printf(b, "%s%s)</label>\n<input type=\"date\" id=\"first_due\" "
	    "name=\"first_due\" min=\"%s\" max=\"%s\" required placeholder=\"%s\" "
	    "pattern=\"[0-9]{4}-[0-9]{2}-[0-9]{2}\">\n<p class=\"note\">%s</p>\n"
	    "<p><button type=\"submit\">%s</button></p>\n</form>\n</section>\n",
	    T(" (si votre navigateur n'affiche pas de calendrier, écrivez-la sous la forme "
	    "aaaa-mm-jj, par exemple ", " (if your browser shows no calendar, type it as "
	    "yyyy-mm-dd, e.g. "), hi, lo, hi, T("aaaa-mm-jj", "yyyy-mm-dd"),
	    p->interval_months <= 1 ? T("Les échéances suivantes tombent chaque mois à la même "
	    "date. Votre proposition est acceptée aussitôt ou soumise à l'accord du cabinet : la "
	    "page suivante vous le dit.", "The next instalments fall due each month on the same "
	    "day. Your proposal is either accepted at once or submitted to the firm's approval: "
	    "the next page tells you which.") : T("Votre proposition est acceptée aussitôt ou "
	    "soumise à l'accord du cabinet : la page suivante vous le dit.", "Your proposal is "
	    "either accepted at once or submitted to the firm's approval: the next page tells "
	    "you which."),
	    T("Proposer cet échéancier", "Propose this plan"));
}

void
page_links(struct evbuffer *b, const struct page *p)
{
	bool en_ = strcmp(p->lang, "en") == 0;

	head(b, p->cfg, p->lang, T("Vos notes d'honoraires", "Your invoices"));
	invoices(b, p, en_);
	if (p->rights & TOKEN_PAY)
		pay(b, p, en_);
	if (p->rights & TOKEN_PLAN)
		plan(b, p, en_);
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
page_plan_done(struct evbuffer *b, const struct page *p, bool again)
{
	bool en_ = strcmp(p->lang, "en") == 0;
	bool active = p->plan_state != NULL && strcmp(p->plan_state, "active") == 0;

	head(b, p->cfg, p->lang, T("Échéancier", "Payment plan"));
	evbuffer_add_printf(b, "<section id=\"done\">\n<h2>%s</h2>\n<p>%s</p>\n",
	    again ? T("Un échéancier est déjà enregistré", "A payment plan is already recorded") :
	    active ? T("Votre échéancier est accepté", "Your payment plan is accepted") :
	    T("Votre proposition d'échéancier a bien été reçue",
	    "Your payment plan proposal has been received"),
	    again ? T("Votre demande n'a pas été enregistrée une seconde fois.",
	    "Your request was not recorded twice.") :
	    active ? (p->n > 1 ? T("Merci. Les relances de ces notes d'honoraires sont suspendues "
	    "tant que les échéances ci-dessous sont respectées.", "Thank you. The reminders of "
	    "these invoices are suspended as long as the instalments below are paid on time.") :
	    T("Merci. Les relances de cette note d'honoraires sont suspendues tant que les "
	    "échéances ci-dessous sont respectées.", "Thank you. The reminders of this invoice "
	    "are suspended as long as the instalments below are paid on time.")) :
	    T("Merci. Votre proposition est soumise à l'accord du cabinet, qui vous fera "
	    "connaître sa décision.", "Thank you. Your proposal awaits the firm's approval; we "
	    "shall let you know the decision."));
	if (p->nsched > 0) {
		if (again && p->plan_state != NULL)
			evbuffer_add_printf(b, "<p>%s</p>\n", active ? T("Cet échéancier est accepté.",
			    "This plan is accepted.") : T("Cet échéancier est soumis à l'accord du "
			    "cabinet.", "This plan awaits the firm's approval."));
		schedule(b, p, en_);
	}
	if (!again)
		evbuffer_add_printf(b, "<p>%s</p>\n", T("Une confirmation vous est adressée par "
		    "courriel.", "A confirmation is on its way to you by e-mail."));
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
