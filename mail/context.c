/*
 * context — the template contexts: the client's message (SPEC §3.4), the
 * lawyer's alert and digest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "calendar.h"
#include "context.h"
#include "interest.h"
#include "money.h"
#include "reason.h"

/* The name the client is addressed by: the company, or first and last. */
char *
context_client_name(const struct send_group *g)
{
	char *s = NULL;

	if (g->kind != NULL && strcmp(g->kind, "professional") == 0 && g->company_name != NULL)
		return strdup(g->company_name);
	if (asprintf(&s, "%s%s%s", g->first_name ? g->first_name : "",
	    g->first_name && *g->first_name ? " " : "", g->last_name ? g->last_name : "") < 0)
		return NULL;
	return s;
}

/* Does IT's PDF go with its message?  Only with
 * attachments.attach_invoice_pdf on and a path (mime.c's body_parts). */
bool
context_attached(const struct config *cfg, const struct send_item *it)
{
	return cfg->attachments.attach_invoice_pdf && it->pdf_path != NULL && *it->pdf_path;
}

/* Add an amount formatted for LANG. */
static void
set_amount(json_t *o, const char *key, int64_t cents, const char *cur, const char *lang)
{
	char buf[64];

	money_format(buf, sizeof(buf), cents, cur, lang);
	json_object_set_new(o, key, json_string(buf));
}

/* Add a long date formatted for LANG. */
static void
set_date(json_t *o, const char *key, cal_day day, const char *lang)
{
	char buf[64];

	cal_format_long(day, lang, false, buf, sizeof(buf));
	json_object_set_new(o, key, json_string(buf));
}

/* A string, or "" for NULL.  Bytes that are not UTF-8 (check_group
 * refuses them in a client's message before this) show as U+FFFD, never
 * as a field left blank: jansson takes no invalid UTF-8. */
static json_t *
str(const char *s)
{
	gchar *valid;
	json_t *v;

	if (s == NULL || g_utf8_validate(s, -1, NULL))
		return json_string(s != NULL ? s : "");
	valid = g_utf8_make_valid(s, -1);
	v = json_string(valid);
	g_free(valid);
	return v;
}

/* A configured text, or false when empty (a template's section). */
static json_t *
nonempty(const char *s)
{
	return s != NULL && *s ? str(s) : json_false();
}

/* A number of days as a French text writes it (« trente »), in figures
 * when it has no usual word or in English. */
static const char *
days_words(char *buf, size_t n, int days, const char *lang)
{
	static const struct { int d; const char *w; } words[] = {
		{ 8, "huit" }, { 10, "dix" }, { 15, "quinze" }, { 20, "vingt" },
		{ 30, "trente" }, { 45, "quarante-cinq" }, { 60, "soixante" },
		{ 90, "quatre-vingt-dix" },
	};

	if (strcmp(lang, "en") != 0)
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (words[i].d == days)
				return words[i].w;
	snprintf(buf, n, "%d", days);
	return buf;
}

/* SPEC §2 rule 12: the client's page, web.base_url/r/TOKEN, for the
 * invoices of G ("page": false without base_url or a key), and whether it
 * offers a payment plan ("plan": j10 on). */
static json_t *
links(const struct config *cfg, const struct send_group *g, time_t now)
{
	json_t *o = json_object();
	int64_t ids[TOKEN_MAX_INVOICES];
	char url[TOKEN_MAX_LEN + 1024];
	bool ok = g->nitems > 0 && g->nitems <= TOKEN_MAX_INVOICES;

	for (size_t i = 0; ok && i < g->nitems; i++)
		ids[i] = g->items[i].invoice_id;
	ok = ok && config_web_link(cfg, g->stage, g->client_id, ids, g->nitems, now, url,
	    sizeof(url)) == 0;
	json_object_set_new(o, "page", ok ? json_string(url) : json_false());
	json_object_set_new(o, "plan", json_boolean(ok &&
	    (token_rights_for_stage(cfg->stages[g->stage].offset_days) & TOKEN_PLAN)));
	return o;
}

/* SPEC §3.4: the context, and nothing else. */
json_t *
context_client(const struct config *cfg, const struct send_group *g, time_t now)
{
	const char *lang = g->language != NULL && strcmp(g->language, "en") == 0 ? "en" : "fr";
	bool pro = g->kind != NULL && strcmp(g->kind, "professional") == 0;
	cal_day today = cal_local_day(now);
	json_t *ctx = json_object(), *client = json_object(), *invoices = json_array();
	json_t *lawyer = json_object(), *firm = json_object(), *dates = json_object();
	json_t *address = json_array();
	const char *payment_url = NULL;
	int64_t total = 0, interest_total = 0, cents, rate, common_rate = -1;
	bool interest_known = true, attached = g->nitems > 0;
	size_t nclaimed = 0;
	struct interest_terms terms, first = { 0 };
	bool same_terms = true;
	char *name = context_client_name(g), buf[64], *line;

	json_object_set_new(client, "name", str(name));
	json_object_set_new(client, "professional", json_boolean(pro));
	json_object_set_new(client, "individual", json_boolean(!pro));
	free(name);
	if (g->address_line1 != NULL && *g->address_line1)
		json_array_append_new(address, str(g->address_line1));
	if (g->address_line2 != NULL && *g->address_line2)
		json_array_append_new(address, str(g->address_line2));
	/* Postal code and city whole, never cut (a cut at 63 bytes could fall
	 * inside a character, and jansson would drop the line unseen). */
	if (asprintf(&line, "%s%s%s", g->postal_code ? g->postal_code : "",
	    g->postal_code && *g->postal_code ? " " : "", g->city ? g->city : "") >= 0) {
		if (line[0])
			json_array_append_new(address, str(line));
		free(line);
	}
	if (g->country != NULL && *g->country && strcmp(g->country, "FR") != 0)
		json_array_append_new(address, str(g->country));
	json_object_set_new(client, "address", address);
	json_object_set_new(ctx, "client", client);
	json_object_set_new(ctx, "salutation", json_string(strcmp(lang, "en") == 0 ?
	    "Dear Sir or Madam," : "Madame, Monsieur,"));

	for (size_t i = 0; i < g->nitems; i++) {
		const struct send_item *it = &g->items[i];
		json_t *inv = json_object();

		json_object_set_new(inv, "number", str(it->number));
		json_object_set_new(inv, "matter_ref", it->matter_ref != NULL && *it->matter_ref ?
		    str(it->matter_ref) : json_false());
		set_date(inv, "issued_on", it->issued_on, lang);
		set_date(inv, "due_on", it->due_on, lang);
		set_amount(inv, "amount", it->amount_cents, g->currency, lang);
		set_amount(inv, "balance", it->balance_cents, g->currency, lang);
		json_object_set_new(inv, "partly_paid", json_boolean(it->balance_cents <
		    it->amount_cents));
		json_object_set_new(inv, "days_past_due", json_integer(today - it->due_on));
		/* Late interest to today (SPEC §2 rule 13, §2.1): only under a
		 * signed agreement with the clause, at its terms; false when
		 * not claimed or when the half-year of the issue date is not
		 * in the table, never a wrong figure.  The total is the sum of
		 * the figures shown, each rounded. */
		interest_terms_for(cfg, it->interest_clause, it->agreement_multiplier_milli,
		    it->agreement_start_days, pro, &terms);
		json_object_set_new(inv, "interest_clause", json_boolean(terms.claimed));
		if (terms.claimed) {
			if (nclaimed++ == 0)
				first = terms;
			same_terms &= terms.multiplier_milli == first.multiplier_milli &&
			    terms.start_days == first.start_days;
		}
		/* SPEC §2.1: the recovery indemnity, per invoice paid late,
		 * between professionals only (L.441-10, D.441-5). */
		if (pro)
			set_amount(inv, "indemnity", 4000, "EUR", lang);
		else
			json_object_set_new(inv, "indemnity", json_false());
		if (!terms.claimed) {
			json_object_set_new(inv, "interest", json_false());
			json_object_set_new(inv, "interest_rate", json_false());
		} else if (interest_accrued_terms(cfg, &terms, it->issued_on, it->amount_cents,
		    it->payments, it->npayments, today, &cents) == 0 &&
		    interest_rate_terms(cfg, &terms, it->issued_on, &rate) == 0) {
			set_amount(inv, "interest", cents, g->currency, lang);
			interest_rate_format(buf, sizeof(buf), rate, lang);
			json_object_set_new(inv, "interest_rate", json_string(buf));
			interest_total += cents;
			/* one rate for the message when every invoice has it */
			common_rate = common_rate == -1 || common_rate == rate ? rate : -2;
		} else {
			json_object_set_new(inv, "interest", json_false());
			json_object_set_new(inv, "interest_rate", json_false());
			interest_known = false;
		}
		/* Its PDF goes with the message (mime.c): the texts say
		 * "attached" only then (issue 18, finding 9). */
		json_object_set_new(inv, "attached", json_boolean(context_attached(cfg, it)));
		attached = attached && context_attached(cfg, it);
		json_array_append_new(invoices, inv);
		total += it->balance_cents;
		if (payment_url == NULL && it->payment_url != NULL && *it->payment_url)
			payment_url = it->payment_url;
	}
	json_object_set_new(ctx, "invoices", invoices);
	json_object_set_new(ctx, "count", json_integer((json_int_t)g->nitems));
	json_object_set_new(ctx, "several", json_boolean(g->nitems > 1));
	set_amount(ctx, "total_balance", total, g->currency, lang);
	json_object_set_new(ctx, "payment_url", payment_url ? str(payment_url) :
	    json_false());
	json_object_set_new(ctx, "attached", json_boolean(attached));

	/* The recovery indemnity: 40 EUR per invoice, between professionals
	 * only (SPEC §2.1); each invoice shows its own. */
	if (pro) {
		set_amount(ctx, "indemnity", 4000 * (int64_t)g->nitems, "EUR", lang);
		set_amount(ctx, "indemnity_each", 4000, "EUR", lang);
	} else {
		json_object_set_new(ctx, "indemnity", json_false());
		json_object_set_new(ctx, "indemnity_each", json_false());
	}
	/* SPEC §2 rule 13: the clause's sentence only when an invoice is under
	 * a signed clause; its terms when they are the same for all of them
	 * (else each invoice shows its figure); the legal-rate sentence
	 * (art. 1231-6 and 1344-1 C. civ., no figure) for the others. */
	json_object_set_new(ctx, "interest_clause", json_boolean(nclaimed > 0));
	json_object_set_new(ctx, "interest_clause_all", json_boolean(nclaimed > 0 &&
	    nclaimed == g->nitems));
	json_object_set_new(ctx, "legal_interest", json_boolean(nclaimed < g->nitems));
	json_object_set_new(ctx, "legal_interest_all", json_boolean(nclaimed == 0));
	json_object_set_new(ctx, "interest_terms", json_boolean(nclaimed > 0 && same_terms));
	if (nclaimed > 0 && same_terms) {
		interest_multiplier_format(buf, sizeof(buf), first.multiplier_milli, lang);
		json_object_set_new(ctx, "interest_multiplier", json_string(buf));
		interest_times_format(buf, sizeof(buf), first.multiplier_milli, lang);
		json_object_set_new(ctx, "interest_times", json_string(buf));
		json_object_set_new(ctx, "interest_start_days", json_integer(first.start_days));
		json_object_set_new(ctx, "interest_start_words", json_string(days_words(buf,
		    sizeof(buf), first.start_days, lang)));
	} else {
		json_object_set_new(ctx, "interest_multiplier", json_false());
		json_object_set_new(ctx, "interest_times", json_false());
		json_object_set_new(ctx, "interest_start_days", json_false());
		json_object_set_new(ctx, "interest_start_words", json_false());
	}
	if (interest_known && nclaimed > 0)
		set_amount(ctx, "interest_total", interest_total, g->currency, lang);
	else
		json_object_set_new(ctx, "interest_total", json_false());
	if (interest_known && nclaimed > 0 && common_rate >= 0 &&
	    interest_rate_format(buf, sizeof(buf), common_rate, lang) > 0)
		json_object_set_new(ctx, "interest_rate", json_string(buf));
	else
		json_object_set_new(ctx, "interest_rate", json_false());

	json_object_set_new(lawyer, "name", str(g->lawyer_name ? g->lawyer_name : cfg->firm.name));
	json_object_set_new(lawyer, "email", str(g->lawyer_email));
	json_object_set_new(ctx, "lawyer", lawyer);
	json_object_set_new(firm, "name", str(cfg->firm.name));
	json_object_set_new(firm, "address", str(cfg->firm.address));
	json_object_set_new(firm, "phone", str(cfg->firm.phone));
	json_object_set_new(firm, "signature", str(cfg->firm.signature));
	/* SPEC §2.1: the bar in the formal notice's signature, the bank
	 * account for transfers, the consumer mediator (individuals only). */
	json_object_set_new(firm, "bar", nonempty(cfg->firm.bar));
	json_object_set_new(firm, "iban", nonempty(cfg->firm.iban));
	json_object_set_new(firm, "bic", nonempty(cfg->firm.bic));
	json_object_set_new(ctx, "mediator", pro ? json_false() : nonempty(cfg->firm.mediator));
	json_object_set_new(ctx, "firm", firm);

	set_date(ctx, "today", today, lang);
	set_date(dates, "in_7_days", today + 7, lang);
	set_date(dates, "in_8_days", today + 8, lang);
	json_object_set_new(ctx, "dates", dates);
	json_object_set_new(ctx, "stage", json_string(cfg->stages[g->stage].name));
	json_object_set_new(ctx, "links", links(cfg, g, now));
	return ctx;
}

/* The name A's client is addressed by, as for an invoice's reminder. */
char *
context_agreement_name(const struct agreement_mail *a)
{
	/* context_client_name only reads them */
	struct send_group g = { .kind = (char *)(uintptr_t)a->kind,
	    .first_name = (char *)(uintptr_t)a->first_name,
	    .last_name = (char *)(uintptr_t)a->last_name,
	    .company_name = (char *)(uintptr_t)a->company_name };

	return context_client_name(&g);
}

/* SPEC §2 rule 13: a fee agreement's reminder.  No file reference, no
 * matter: the agreement is named by the day it was sent. */
json_t *
context_agreement(const struct config *cfg, const struct agreement_mail *a, time_t now)
{
	const char *lang = a->language != NULL && strcmp(a->language, "en") == 0 ? "en" : "fr";
	bool pro = a->kind != NULL && strcmp(a->kind, "professional") == 0;
	json_t *ctx = json_object(), *client = json_object(), *lawyer = json_object();
	json_t *firm = json_object();
	char *name = context_agreement_name(a);

	json_object_set_new(client, "name", str(name));
	json_object_set_new(client, "professional", json_boolean(pro));
	json_object_set_new(client, "individual", json_boolean(!pro));
	free(name);
	json_object_set_new(ctx, "client", client);
	json_object_set_new(ctx, "salutation", json_string(strcmp(lang, "en") == 0 ?
	    "Dear Sir or Madam," : "Madame, Monsieur,"));
	set_date(ctx, "sent_on", a->sent_on, lang);
	json_object_set_new(ctx, "signature_url", str(a->signature_url));
	json_object_set_new(lawyer, "name", str(a->lawyer_name ? a->lawyer_name : cfg->firm.name));
	json_object_set_new(lawyer, "email", str(a->lawyer_email));
	json_object_set_new(ctx, "lawyer", lawyer);
	json_object_set_new(firm, "name", str(cfg->firm.name));
	json_object_set_new(firm, "address", str(cfg->firm.address));
	json_object_set_new(firm, "phone", str(cfg->firm.phone));
	json_object_set_new(firm, "signature", str(cfg->firm.signature));
	json_object_set_new(firm, "bar", nonempty(cfg->firm.bar));
	json_object_set_new(ctx, "firm", firm);
	set_date(ctx, "today", cal_local_day(now), lang);
	json_object_set_new(ctx, "stage", json_string(a->stage >= 0 &&
	    (size_t)a->stage < cfg->agreement.nstages ? cfg->agreement.stages[a->stage].name : ""));
	return ctx;
}

/* True when the lawyers read English (firm.language). */
static bool
lawyer_en(const struct config *cfg)
{
	return strcmp(cfg->firm.language, "en") == 0;
}


/* An invoice of an alert's details, as the template sees it (LANG). */
static json_t *
alert_invoice(const json_t *in, const char *lang)
{
	json_t *o = json_object();
	const char *cur = json_string_value(json_object_get(in, "currency"));
	const json_t *bal = json_object_get(in, "balance");
	const char *ref = json_string_value(json_object_get(in, "matter_ref"));
	int64_t cents = 0;
	char buf[64];

	json_object_set_new(o, "number", str(json_string_value(json_object_get(in, "number"))));
	json_object_set_new(o, "matter_ref", ref != NULL && *ref ? str(ref) :
	    json_false());
	/* Money travels as numeric text ("1000.00"), never as a double. */
	snprintf(buf, sizeof(buf), "%s", json_is_string(bal) ? json_string_value(bal) : "0");
	money_parse(buf, &cents);
	set_amount(o, "balance", cents, cur != NULL ? cur : "EUR", lang);
	json_object_set_new(o, "cents", json_integer(cents));
	return o;
}

/* The stage after stage NAME, as { stage, letter }, or false. */
static json_t *
next_stage(const struct config *cfg, const char *name)
{
	int i = name != NULL ? config_stage_index(cfg, name) : -1;

	if (i < 0 || i + 1 >= (int)cfg->nstages)
		return json_false();
	return json_pack("{s:s, s:b}", "stage", cfg->stages[i + 1].name, "letter",
	    cfg->stages[i + 1].channel == CONFIG_CHANNEL_LETTER);
}

/* The prescription of alert A (SPEC §2 rule 14), or false: its invoice,
 * the day it prescribes and the days left at NOW (the alert may leave a day
 * after it was queued). */
static json_t *
prescription_of(const struct lawyer_alert *a, const json_t *invoices, time_t now,
    const char *lang)
{
	const char *on = json_string_value(json_object_get(a->details, "prescribes_on"));
	cal_day day = on != NULL ? cal_parse(on) : CAL_NONE;
	const json_t *inv = json_array_get(invoices, 0);
	json_t *o;
	int left;

	if (strcmp(a->kind, "prescription") != 0 || day == CAL_NONE || inv == NULL)
		return json_false();
	left = (int)(day - cal_local_day(now));
	o = json_pack("{s:O, s:O, s:O, s:s, s:i, s:b}", "number", json_object_get(inv, "number"),
	    "matter_ref", json_object_get(inv, "matter_ref"), "balance",
	    json_object_get(inv, "balance"), "client", a->client_name ? a->client_name : "",
	    "days_left", left, "several_days", left > 1);
	set_date(o, "prescribes_on", day, lang);
	return o;
}

/* Rule 13, partial legal aid (024): a 'legal_aid' alert's step, its
 * agreement's file reference, signature and last filing day; "last"
 * when the alert was queued on that last day (TOLD), not after it. */
static void
legal_aid(json_t *ctx, const struct lawyer_alert *a, cal_day told, const char *lang)
{
	json_t *d = a->details, *o;
	const char *step = json_string_value(json_object_get(d, "step"));
	const char *ref = json_string_value(json_object_get(d, "matter_ref"));
	const char *signed_on = json_string_value(json_object_get(d, "signed_on"));
	const char *deadline = json_string_value(json_object_get(d, "deadline"));

	if (strcmp(a->kind, "legal_aid") != 0 || step == NULL) {
		json_object_set_new(ctx, "legal_aid", json_false());
		return;
	}
	o = json_pack("{s:b, s:b, s:b, s:I}", "signed", strcmp(step, "signed") == 0, "soon",
	    strcmp(step, "soon") == 0, "deadline", strcmp(step, "deadline") == 0, "agreement",
	    json_integer_value(json_object_get(d, "agreement_id")));
	json_object_set_new(o, "matter_ref", ref != NULL ? json_string(ref) : json_false());
	set_date(o, "signed_on", signed_on != NULL ? cal_parse(signed_on) : CAL_NONE, lang);
	set_date(o, "last_day", deadline != NULL ? cal_parse(deadline) : CAL_NONE, lang);
	json_object_set_new(o, "last", json_boolean(deadline != NULL &&
	    cal_parse(deadline) == told));
	json_object_set_new(ctx, "legal_aid", o);
}

/* Rule 13, the chase (025): an 'agreement_unsigned' alert, the agreement
 * still unsigned DAYS after it was sent ("unsigned"), or a reminder of its
 * chase that could not be sent ("failed": the stage, the reason in the
 * alert's "why"); its file reference and the day it was sent. */
static void
agreement_alert(json_t *ctx, const struct lawyer_alert *a, const char *lang)
{
	json_t *d = a->details, *o;
	const char *step = json_string_value(json_object_get(d, "step"));
	const char *ref = json_string_value(json_object_get(d, "matter_ref"));
	const char *sent_on = json_string_value(json_object_get(d, "sent_on"));
	const char *stage = json_string_value(json_object_get(d, "stage"));
	int days = (int)json_integer_value(json_object_get(d, "days"));

	if (strcmp(a->kind, "agreement_unsigned") != 0 || step == NULL) {
		json_object_set_new(ctx, "agreement", json_false());
		return;
	}
	o = json_pack("{s:b, s:b, s:I, s:i}", "unsigned", strcmp(step, "unsigned") == 0,
	    "failed", strcmp(step, "failed") == 0, "agreement",
	    json_integer_value(json_object_get(d, "agreement_id")), "days", days);
	json_object_set_new(o, "matter_ref", ref != NULL && *ref ? str(ref) : json_false());
	json_object_set_new(o, "stage", str(stage));
	set_date(o, "sent_on", sent_on != NULL ? cal_parse(sent_on) : CAL_NONE, lang);
	json_object_set_new(ctx, "agreement", o);
}

/* An amount of an alert's details, numeric text ("899.99"), for LANG. */
static void
set_detail_amount(json_t *o, const char *key, const json_t *d, const char *dkey,
    const char *cur, const char *lang)
{
	const char *v = json_string_value(json_object_get(d, dkey));
	int64_t cents = 0;

	if (v != NULL)
		money_parse(v, &cents);
	set_amount(o, key, cents, cur, lang);
}

/* Rule 11 (026): a 'plan_proposed' or 'plan_broken' alert's plan — its id,
 * total, instalments and first date, why it waits for the lawyer; what was
 * paid and what was late when it broke — or false. */
static json_t *
plan_of(const struct config *cfg, const struct lawyer_alert *a, const char *cur,
    const char *lang)
{
	json_t *d = a->details, *o;
	bool proposed = strcmp(a->kind, "plan_proposed") == 0;
	const char *held = json_string_value(json_object_get(d, "held_why"));
	const char *by = json_string_value(json_object_get(d, "proposed_by"));
	const char *first = json_string_value(json_object_get(d, "first_due"));

	if (!proposed && strcmp(a->kind, "plan_broken") != 0)
		return json_false();
	o = json_pack("{s:b, s:b, s:I, s:I, s:b, s:I, s:I}", "proposed", proposed, "broken",
	    !proposed, "id", json_integer_value(json_object_get(d, "plan_id")), "instalments",
	    json_integer_value(json_object_get(d, "instalments")), "by_client",
	    by != NULL && strcmp(by, "client") == 0, "breach_days",
	    json_integer_value(json_object_get(d, "breach_days")), "min_gap",
	    (json_int_t)cfg->schedule.min_gap_days);
	json_object_set_new(o, "threshold", json_boolean(held != NULL &&
	    strcmp(held, "threshold") == 0));
	json_object_set_new(o, "broken_before", json_boolean(held != NULL &&
	    strcmp(held, "broken_plan") == 0));
	json_object_set_new(o, "no_threshold", json_boolean(held != NULL &&
	    strcmp(held, "no_threshold") == 0));
	set_detail_amount(o, "total", d, "total", cur, lang);
	set_detail_amount(o, "paid", d, "paid", cur, lang);
	set_detail_amount(o, "late", d, "late", cur, lang);
	set_date(o, "first_due", first != NULL ? cal_parse(first) : CAL_NONE, lang);
	return o;
}

/* Rule 12: a 'client_report' alert's report, or false: its id and its
 * category in words (LANG).  Never the client's text: it is not in the
 * alert, the lawyer reads it with dunningctl reports. */
static json_t *
report_of(const struct lawyer_alert *a, const char *lang)
{
	static const struct { const char *code, *fr, *en; } cats[] = {
		{ "already_paid", "le client indique avoir déjà payé",
		  "the client says they have already paid" },
		{ "amount_disputed", "le client conteste le montant",
		  "the client disputes the amount" },
		{ "service_disputed", "le client conteste la prestation",
		  "the client disputes the service" },
		{ "hardship", "le client fait état de difficultés financières",
		  "the client reports financial hardship" },
		{ "other", "autre difficulté", "another problem" },
	};
	const char *cat = json_string_value(json_object_get(a->details, "category"));
	const char *words = NULL;

	if (strcmp(a->kind, "client_report") != 0 || cat == NULL)
		return json_false();
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
		if (strcmp(cat, cats[i].code) == 0)
			words = strcmp(lang, "en") == 0 ? cats[i].en : cats[i].fr;
	return json_pack("{s:s, s:I}", "category", words != NULL ? words : cat, "id",
	    json_integer_value(json_object_get(a->details, "report_id")));
}

/* The context of alert A. */
json_t *
context_alert(const struct config *cfg, const struct lawyer_alert *a, time_t now)
{
	json_t *ctx = json_object(), *client = json_object(), *invoices = json_array();
	json_t *d = a->details, *list = json_object_get(d, "invoices"), *v;
	const char *stage = json_string_value(json_object_get(d, "stage"));
	const char *path = json_string_value(json_object_get(d, "path"));
	const char *why = json_string_value(json_object_get(d, "why"));
	enum reason r = reason_of(json_string_value(json_object_get(d, "reason")));
	int attempts = (int)json_integer_value(json_object_get(d, "attempts"));
	const char *cur = "EUR", *lang = cfg->firm.language;
	int64_t total = 0;
	size_t i;
	char *fw;

	json_object_set_new(ctx, "watch", json_boolean(strcmp(a->kind, "stage_sent") == 0));
	json_object_set_new(ctx, "litigation", json_boolean(strcmp(a->kind, "letter_ready") == 0));
	json_object_set_new(ctx, "failed", json_boolean(strcmp(a->kind, "failed") == 0));
	json_object_set_new(ctx, "escalated", json_boolean(strcmp(a->kind, "escalated") == 0));
	json_object_set_new(client, "name", str(a->client_name));
	json_object_set_new(ctx, "client", client);
	legal_aid(ctx, a, cal_local_day(a->created_at ? a->created_at : now), lang);
	agreement_alert(ctx, a, lang);
	json_array_foreach(list, i, v) {
		json_t *inv = alert_invoice(v, lang);

		total += json_integer_value(json_object_get(inv, "cents"));
		if (json_string_value(json_object_get(v, "currency")) != NULL)
			cur = json_string_value(json_object_get(v, "currency"));
		json_object_del(inv, "cents");
		json_array_append_new(invoices, inv);
	}
	json_object_set_new(ctx, "count", json_integer((json_int_t)json_array_size(invoices)));
	json_object_set_new(ctx, "several", json_boolean(json_array_size(invoices) > 1));
	json_object_set_new(ctx, "invoices", invoices);
	json_object_set_new(ctx, "prescription", prescription_of(a, invoices, now, lang));
	json_object_set_new(ctx, "plan", plan_of(cfg, a, cur, lang));
	json_object_set_new(ctx, "report", report_of(a, lang));
	set_amount(ctx, "total_balance", total, cur, lang);
	json_object_set_new(ctx, "stage", str(stage));
	json_object_set_new(ctx, "reminder", json_integer((json_int_t)a->reminder_id));
	json_object_set_new(ctx, "path", path != NULL ? json_string(path) : json_false());
	fw = r != REASON_NONE || why != NULL ? reason_say(r, lawyer_en(cfg), attempts, why) : NULL;
	json_object_set_new(ctx, "why", fw != NULL ? str(fw) : json_false());
	free(fw);
	json_object_set_new(ctx, "next", next_stage(cfg, stage));
	json_object_set_new(ctx, "after_days", json_integer(cfg->escalation_after_days));
	json_object_set_new(ctx, "lawyer", json_pack("{s:s}", "name",
	    a->lawyer_name ? a->lawyer_name : ""));
	json_object_set_new(ctx, "firm", json_pack("{s:s}", "name", cfg->firm.name));
	set_date(ctx, "date", cal_local_day(a->created_at ? a->created_at : now), lang);
	set_date(ctx, "today", cal_local_day(now), lang);
	return ctx;
}

/* The digest's sections, in enum digest_section order. */
static const char *const digest_keys[DIGEST_NSECTIONS] = { NULL, "held", "failed",
	"in_doubt", "escalated", "disputed", "no_rate", "prescription", "legal_aid", "plans",
	"no_answer" };

/* A half-year missing from the legal-rate table, for the digest: "second
 * semestre 2026" / "second half of 2026" (the template says « le » /
 * "the"), its key "2026-H2", and the lawyer's open invoices issued in it. */
static json_t *
no_rate_item(const struct digest_item *it, bool en)
{
	char half[64], key[16];

	snprintf(half, sizeof(half), en ? "%s half of %d" : "%s semestre %d",
	    it->half == 1 ? (en ? "first" : "premier") : "second", it->year);
	snprintf(key, sizeof(key), "%d-H%d", it->year, it->half);
	return json_pack("{s:s, s:s, s:I, s:b}", "half", half, "key", key, "invoices",
	    (json_int_t)it->invoices, "several", it->invoices > 1);
}

/* A partial legal-aid agreement awaiting filing, for the digest (rule
 * 13): its id, file, client, signature and last day; "late" once that
 * day is past. */
static json_t *
legal_aid_item(const struct digest_item *it, cal_day today, const char *lang)
{
	json_t *o = json_pack("{s:I, s:b}", "agreement", (json_int_t)it->agreement_id, "late",
	    it->last_day != CAL_NONE && today > it->last_day);

	json_object_set_new(o, "matter_ref", it->matter_ref && *it->matter_ref ?
	    str(it->matter_ref) : json_false());
	json_object_set_new(o, "client", str(it->client_name));
	set_date(o, "signed_on", it->signed_on, lang);
	set_date(o, "last_day", it->last_day, lang);
	return o;
}

/* The context of a digest. */
json_t *
context_digest(const struct config *cfg, const char *lawyer_name,
    const struct digest_item *items, int n, const char *audit_head, time_t now)
{
	json_t *ctx = json_object(), *lists[DIGEST_NSECTIONS] = { NULL };
	cal_day today = cal_local_day(now), days;
	const char *lang = cfg->firm.language;
	char buf[64];

	for (int i = 0; i < n; i++) {
		const struct digest_item *it = &items[i];
		json_t *o = json_object();
		char *why = NULL;

		if (lists[it->section] == NULL)
			lists[it->section] = json_array();
		if (it->section == DIGEST_NO_RATE) {
			json_decref(o);
			json_array_append_new(lists[it->section], no_rate_item(it, lawyer_en(cfg)));
			continue;
		}
		if (it->section == DIGEST_LEGAL_AID) {
			json_decref(o);
			json_array_append_new(lists[it->section], legal_aid_item(it, today, lang));
			continue;
		}
		json_object_set_new(o, "reminder", it->reminder_id ?
		    json_integer((json_int_t)it->reminder_id) : json_false());
		json_object_set_new(o, "number", str(it->number));
		json_object_set_new(o, "matter_ref", it->matter_ref && *it->matter_ref ?
		    str(it->matter_ref) : json_false());
		json_object_set_new(o, "client", str(it->client_name));
		set_amount(o, "balance", it->balance_cents, it->currency, lang);
		json_object_set_new(o, "stage", it->stage ? json_string(it->stage) : json_false());
		if (it->section == DIGEST_HELD)
			why = strdup(it->why != REASON_NONE ? reason_text(it->why, lawyer_en(cfg)) :
			    lawyer_en(cfg) ? "approval required" : "approbation requise");
		else if (it->section == DIGEST_FAILED)
			why = reason_say(it->why, lawyer_en(cfg), it->attempts, it->detail);
		json_object_set_new(o, "why", why ? str(why) : json_false());
		free(why);
		cal_format_long(cal_local_day(it->since), lang, false, buf, sizeof(buf));
		json_object_set_new(o, "since", json_string(buf));
		/* a prescription's since is the day it prescribes: days left */
		days = it->section == DIGEST_PRESCRIPTION ? cal_local_day(it->since) - today :
		    today - cal_local_day(it->since);
		json_object_set_new(o, "days", json_integer(days));
		json_object_set_new(o, "several_days", json_boolean(days > 1));
		/* a plan waiting for approval (rule 11): its id (the detail)
		 * and its number of instalments (the attempts) */
		if (it->section == DIGEST_PLAN) {
			json_object_set_new(o, "plan", json_integer(it->detail != NULL ?
			    strtoll(it->detail, NULL, 10) : 0));
			json_object_set_new(o, "instalments", json_integer(it->attempts));
		}
		json_array_append_new(lists[it->section], o);
	}
	for (int s = DIGEST_HELD; s < DIGEST_NSECTIONS; s++) {
		size_t k = lists[s] != NULL ? json_array_size(lists[s]) : 0;

		json_object_set_new(ctx, digest_keys[s], k == 0 ? json_false() :
		    json_pack("{s:o, s:I, s:b}", "items", lists[s], "count", (json_int_t)k,
		    "several", k > 1));
	}
	json_object_set_new(ctx, "count", json_integer(n));
	json_object_set_new(ctx, "several", json_boolean(n > 1));
	json_object_set_new(ctx, "dispute_days",
	    json_integer(cfg->escalation_dispute_reminder_days));
	json_object_set_new(ctx, "lawyer", json_pack("{s:s}", "name",
	    lawyer_name ? lawyer_name : ""));
	json_object_set_new(ctx, "firm", json_pack("{s:s}", "name", cfg->firm.name));
	cal_format_long(today, lang, true, buf, sizeof(buf));
	json_object_set_new(ctx, "today", json_string(buf));
	/* SPEC §3.5: the audit chain's head, published outside the database. */
	json_object_set_new(ctx, "audit_head", json_string(audit_head));
	return ctx;
}

/* ---- payment plans (SPEC §2 rule 11) -------------------------------------- */

/* The context of the instalment reminder N at NOW, in the client's
 * language: what this instalment and the plan still ask, the date, the
 * plan's invoice numbers; the firm and the lawyer for the signature. */
json_t *
context_plan(const struct config *cfg, const struct plan_notice *n, time_t now)
{
	const char *lang = n->language != NULL && strcmp(n->language, "en") == 0 ? "en" : "fr";
	json_t *ctx = json_object(), *firm = json_object(), *lawyer = json_object();

	(void)now;
	json_object_set_new(ctx, "client_name", str(n->client_name));
	json_object_set_new(ctx, "invoices", str(n->invoices));
	json_object_set_new(ctx, "several", json_boolean(n->several));
	json_object_set_new(ctx, "seq", json_integer(n->seq));
	json_object_set_new(ctx, "count", json_integer(n->ninstalments));
	json_object_set_new(ctx, "last", json_boolean(n->seq == n->ninstalments));
	json_object_set_new(ctx, "late", json_boolean(n->late));
	set_amount(ctx, "amount", n->amount_cents, n->currency, lang);
	set_amount(ctx, "remaining", n->remaining_cents, n->currency, lang);
	json_object_set_new(ctx, "rest", json_boolean(n->remaining_cents > n->amount_cents));
	set_date(ctx, "due_on", n->due_on, lang);
	json_object_set_new(lawyer, "name", str(n->lawyer_name ? n->lawyer_name : cfg->firm.name));
	json_object_set_new(ctx, "lawyer", lawyer);
	json_object_set_new(firm, "name", str(cfg->firm.name));
	json_object_set_new(firm, "address", str(cfg->firm.address));
	json_object_set_new(firm, "phone", str(cfg->firm.phone));
	json_object_set_new(firm, "signature", str(cfg->firm.signature));
	json_object_set_new(firm, "bar", nonempty(cfg->firm.bar));
	json_object_set_new(firm, "iban", nonempty(cfg->firm.iban));
	json_object_set_new(firm, "bic", nonempty(cfg->firm.bic));
	json_object_set_new(ctx, "firm", firm);
	return ctx;
}
