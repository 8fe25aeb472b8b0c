/*
 * dunningweb — the clients' self-service pages (SPEC §2 rule 12, §3.3).
 *
 *   dunningweb -c FILE [--now TIMESTAMP] [-v]
 *
 * A libevent HTTP server on web.listen, behind the firm's TLS reverse
 * proxy (doc/nginx-dunningweb.conf).  GET /r/TOKEN shows the invoices of a
 * signed link; POST /r/TOKEN/report records a problem; POST /r/TOKEN/plan
 * proposes a payment plan (rule 11: links of j10 and j30).  Its own database
 * connection (web.conninfo, a login granted dunning_web) executes only the
 * self-service functions (sql/functions/selfservice.sql).  A bad, expired,
 * altered, foreign or spent link gets the same page, 410, and changes
 * nothing.  One request at a time on one loop: a page is one short
 * statement, and a small firm's clients are few.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <libpq-fe.h>

#include "build_config.h"
#include "calendar.h"
#include "check.h"
#include "clock.h"
#include "config.h"
#include "form.h"
#include "log.h"
#include "money.h"
#include "page.h"
#include "ratelimit.h"
#include "service.h"
#include "token.h"
#include "typo.h"

#define DEFAULT_CONFIG DUNNING_SYSCONFDIR "/dunningd.conf"
#define MAX_BODY (FORM_MAX_BODY * 2)	/* libevent's own cap; ours is FORM_MAX_BODY */
#define PAGE_BURST 30			/* requests an address may make at once... */
#define PAGE_PERIOD 60			/* ...then PAGE_BURST per this many seconds */
#define POST_BURST 5			/* reports an address may post at once... */
#define POST_PERIOD 600			/* ...then POST_BURST per ten minutes */

struct web {
	struct config *cfg;
	struct clock clock;
	PGconn *db;
	struct ratelimit *pages, *posts;
	struct event_base *base;
	bool replay;		/* --now: the database session reads the same clock */
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: dunningweb [-c FILE] [--now TIMESTAMP] [-v]\n"
	    "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	    "      --now T         read the clock as T (ISO 8601 with offset), then advance\n"
	    "  -v, --verbose       debug messages\n"
	    "  -V, --version       print the version\n");
	exit(status);
}

/* A French page (page.c's head: <html lang="fr">) given the typography
 * of every French text (lib/typo.c: no-break spaces before « : ; ? ! »,
 * the tags untouched), in place; left as it is when memory runs out. */
static void
french(struct evbuffer *b)
{
	static const char fr[] = "<!DOCTYPE html>\n<html lang=\"fr\">";
	size_t len = evbuffer_get_length(b);
	char *text, *typo;

	if (len < sizeof(fr) - 1 || (text = malloc(len + 1)) == NULL)
		return;
	if (evbuffer_copyout(b, text, len) != (ev_ssize_t)len ||
	    memcmp(text, fr, sizeof(fr) - 1) != 0) {
		free(text);
		return;
	}
	text[len] = '\0';
	if ((typo = typo_french(text, true)) != NULL) {
		evbuffer_drain(b, len);
		evbuffer_add(b, typo, strlen(typo));
		free(typo);
	}
	free(text);
}

/* Send B with STATUS and the headers every page carries: no script, no
 * framing, no referrer (the link is a secret), no cache. */
static void
reply(struct evhttp_request *req, int status, const char *reason, struct evbuffer *b)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	french(b);
	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, status, reason, b);
}

/* The same page for every link that does not work (rule 12). */
static void
gone(struct web *w, struct evhttp_request *req, struct evbuffer *b)
{
	page_gone(b, w->cfg);
	reply(req, 410, "Gone", b);
}

/* A refusal: STATUS and the reason in the client's language. */
static void
refuse(struct web *w, struct evhttp_request *req, struct evbuffer *b, int status,
    const char *lang, const char *fr, const char *en)
{
	page_refused(b, w->cfg, lang, fr, en);
	reply(req, status, status == 429 ? "Too Many Requests" : status == 413 ?
	    "Payload Too Large" : status == 405 ? "Method Not Allowed" : "Bad Request", b);
}

/* Is HOST a loopback address (the reverse proxy on this machine)? */
static bool
loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* The client's address into OUT: the peer's, or, when the peer is the
 * proxy on the loopback, the last address of X-Forwarded-For (the one
 * that proxy appended: what comes before it, the client wrote). */
static void
client_addr(struct evhttp_request *req, char *out, size_t n)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	const char *xff = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Forwarded-For");
	char *host = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(c, &host, &port);
	snprintf(out, n, "%s", host != NULL ? host : "?");
	if (host != NULL && loopback(host) && xff != NULL) {
		const char *last = strrchr(xff, ',');
		char buf[64];
		size_t len;

		last = last != NULL ? last + 1 : xff;
		last += strspn(last, " \t");
		len = strcspn(last, " \t");
		if (len > 0 && len < sizeof(buf) && strspn(last, "0123456789abcdefABCDEF.:") >= len) {
			memcpy(buf, last, len);
			buf[len] = '\0';
			snprintf(out, n, "%s", buf);
		}
	}
}

/* The database, reconnected when the session was lost. */
static PGconn *
db(struct web *w)
{
	if (PQstatus(w->db) != CONNECTION_OK) {
		PQreset(w->db);
		if (PQstatus(w->db) != CONNECTION_OK) {
			log_warnx("database: %s", PQerrorMessage(w->db));
			return NULL;
		}
	}
	/* A replay (--now): the session's dunning.now follows our clock, so
	 * that SQL's today is the page's (honoured for this login only where
	 * the operator allowed replays: dunning.simulated_clock_allowed). */
	if (w->replay) {
		char at[32];
		const char *p[1] = { at };
		PGresult *res;

		cal_format_instant(clock_now(&w->clock), at);
		res = PQexecParams(w->db, "SELECT set_config('dunning.now', $1, false)", 1, NULL, p,
		    NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			log_warnx("dunning.now: %s", PQerrorMessage(w->db));
		PQclear(res);
	}
	return w->db;
}

/* The ids of T as a PostgreSQL array literal into OUT. */
static void
ids_array(const struct token *t, char *out, size_t n)
{
	size_t o = 0;

	out[o++] = '{';
	for (size_t i = 0; i < t->ninvoices && o + 24 < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%lld", i ? "," : "",
		    (long long)t->invoices[i]);
	snprintf(out + o, n - o, "}");
}

/* The invoices of link T still open and unpaid, into INV (TOKEN_MAX_INVOICES):
 * how many (0: the link no longer works), or -1 when the database failed.
 * LANG and INDIVIDUAL from the client's row. */
static int
load(struct web *w, const struct token *t, struct page_invoice *inv, char lang[3],
    bool *individual)
{
	char client[24], ids[TOKEN_MAX_INVOICES * 21 + 4];
	const char *p[2] = { client, ids };
	PGconn *c = db(w);
	PGresult *res;
	int n;

	if (c == NULL)
		return -1;
	snprintf(client, sizeof(client), "%lld", (long long)t->client_id);
	ids_array(t, ids, sizeof(ids));
	res = PQexecParams(c, "SELECT language, kind, number, issued_on, due_on, balance::text, "
	    "currency, coalesce(payment_url, ''), reported, planned "
	    "FROM dunning.web_invoices($1::bigint, $2::bigint[])", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("web_invoices: %s", PQerrorMessage(c));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	if (n > TOKEN_MAX_INVOICES)
		n = TOKEN_MAX_INVOICES;
	for (int i = 0; i < n; i++) {
		struct page_invoice *v = &inv[i];
		const char *url = PQgetvalue(res, i, 7);

		memset(v, 0, sizeof(*v));
		snprintf(v->number, sizeof(v->number), "%s", PQgetvalue(res, i, 2));
		v->issued_on = cal_parse(PQgetvalue(res, i, 3));
		v->due_on = cal_parse(PQgetvalue(res, i, 4));
		if (money_parse(PQgetvalue(res, i, 5), &v->balance_cents) < 0)
			v->balance_cents = 0;
		snprintf(v->currency, sizeof(v->currency), "%s", PQgetvalue(res, i, 6));
		/* The link the mails would carry, or none (mail/check.c). */
		if (*url && check_payment_url(url) && strlen(url) < sizeof(v->payment_url))
			snprintf(v->payment_url, sizeof(v->payment_url), "%s", url);
		v->reported = strcmp(PQgetvalue(res, i, 8), "t") == 0;
		v->planned = strcmp(PQgetvalue(res, i, 9), "t") == 0;
	}
	if (n > 0) {
		snprintf(lang, 3, "%s", strcmp(PQgetvalue(res, 0, 0), "en") == 0 ? "en" : "fr");
		*individual = strcmp(PQgetvalue(res, 0, 1), "individual") == 0;
	}
	PQclear(res);
	return n;
}

/* The form of a POST to LINK read into F (its anti-forgery token checked):
 * true, or false when a refusal was sent (F then freed). */
static bool
read_form(struct web *w, struct evhttp_request *req, struct evbuffer *b, const char *link,
    const struct page *pg, struct form *f)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	size_t len = evbuffer_get_length(in);
	const char *csrf;
	enum form_error fe;
	char *body;

	if (len > FORM_MAX_BODY) {
		refuse(w, req, b, 413, pg->lang, "Votre message est trop long.",
		    "Your message is too long.");
		return false;
	}
	if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0) {
		refuse(w, req, b, 400, pg->lang, "Le formulaire n'a pas été reçu correctement.",
		    "The form was not received correctly.");
		return false;
	}
	if ((body = malloc(len + 1)) == NULL) {
		refuse(w, req, b, 400, pg->lang, "Erreur interne.", "Internal error.");
		return false;
	}
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	fe = form_parse(body, len, f);
	free(body);
	if (fe != FORM_OK) {
		form_free(f);
		if (fe == FORM_TOO_LARGE)
			refuse(w, req, b, 413, pg->lang, "Votre message est trop long.",
			    "Your message is too long.");
		else if (fe == FORM_BAD_TEXT)
			refuse(w, req, b, 400, pg->lang, "Votre message contient des caractères "
			    "invalides.", "Your message holds characters that are not valid.");
		else
			refuse(w, req, b, 400, pg->lang, "Le formulaire n'a pas été reçu "
			    "correctement.", "The form was not received correctly.");
		return false;
	}
	csrf = form_get(f, "csrf");
	if (csrf == NULL || !token_form_check(link, w->cfg->web.keys, (size_t)w->cfg->web.nkeys,
	    csrf)) {
		form_free(f);
		refuse(w, req, b, 400, pg->lang, "Ce formulaire a expiré ou ne vient pas de votre "
		    "page.", "This form has expired or did not come from your page.");
		return false;
	}
	return true;
}

/* POST /r/LINK/report: the form checked, then dunning.web_report. */
static void
report(struct web *w, struct evhttp_request *req, struct evbuffer *b, const char *link,
    const struct token *t, struct page *pg)
{
	static const char *const cats[] = { "already_paid", "amount_disputed",
	    "service_disputed", "hardship", "other" };
	const char *cat, *msg, *p[4];
	char client[24], ids[TOKEN_MAX_INVOICES * 21 + 4];
	struct form f;
	PGresult *res;
	PGconn *c;
	bool known = false;

	if (!(t->rights & TOKEN_REPORT)) {
		gone(w, req, b);
		return;
	}
	if (!read_form(w, req, b, link, pg, &f))
		return;
	cat = form_get(&f, "category");
	msg = form_get(&f, "message");
	for (size_t i = 0; cat != NULL && i < sizeof(cats) / sizeof(cats[0]); i++)
		known |= strcmp(cat, cats[i]) == 0;
	if (!known) {
		form_free(&f);
		refuse(w, req, b, 400, pg->lang, "Choisissez la nature de la difficulté.",
		    "Choose what the problem is.");
		return;
	}
	if (msg == NULL)
		msg = "";
	if (form_chars(msg) > 2000) {
		form_free(&f);
		refuse(w, req, b, 413, pg->lang, "Votre message dépasse 2 000 caractères.",
		    "Your message is longer than 2,000 characters.");
		return;
	}
	if ((c = db(w)) == NULL) {
		form_free(&f);
		refuse(w, req, b, 503, pg->lang, "Le service est momentanément indisponible.",
		    "The service is unavailable for a moment.");
		return;
	}
	snprintf(client, sizeof(client), "%lld", (long long)t->client_id);
	ids_array(t, ids, sizeof(ids));
	p[0] = client;
	p[1] = ids;
	p[2] = cat;
	p[3] = msg;
	res = PQexecParams(c, "SELECT dunning.web_report($1::bigint, $2::bigint[], $3, $4)", 4,
	    NULL, p, NULL, NULL, 0);
	form_free(&f);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("web_report: %s", PQerrorMessage(c));
		PQclear(res);
		refuse(w, req, b, 503, pg->lang, "Le service est momentanément indisponible.",
		    "The service is unavailable for a moment.");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		gone(w, req, b);
		return;
	}
	log_info("client %lld: report %s", (long long)t->client_id, PQgetvalue(res, 0, 0));
	page_done(b, pg, strcmp(PQgetvalue(res, 0, 0), "0") == 0);
	PQclear(res);
	reply(req, 200, "OK", b);
}

/* The plan already proposed or active for link T's invoices into PG
 * (SCHED, PLAN_MAX_INSTALMENTS rows; STATE 16 bytes): 0, or -1 when the
 * database failed. */
#define PLAN_MAX_INSTALMENTS 64
static int
load_plan(struct web *w, const struct token *t, struct page *pg,
    struct page_instalment *sched, char *state)
{
	char client[24], ids[TOKEN_MAX_INVOICES * 21 + 4];
	const char *p[2] = { client, ids };
	PGconn *c = db(w);
	PGresult *res;
	int n;

	pg->plan_state = NULL;
	pg->sched = sched;
	pg->nsched = 0;
	if (c == NULL)
		return -1;
	snprintf(client, sizeof(client), "%lld", (long long)t->client_id);
	ids_array(t, ids, sizeof(ids));
	/* The latest plan only (one open plan per invoice; a link's invoices
	 * in two plans show the one proposed last). */
	res = PQexecParams(c, "SELECT state, due_on, amount::text, currency "
	    "FROM dunning.web_plan_schedule($1::bigint, $2::bigint[]) "
	    "WHERE plan_id = (SELECT max(plan_id) FROM dunning.web_plan_schedule($1::bigint, "
	    "$2::bigint[])) ORDER BY seq", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warnx("web_plan_schedule: %s", PQerrorMessage(c));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	if (n > PLAN_MAX_INSTALMENTS)
		n = PLAN_MAX_INSTALMENTS;
	for (int i = 0; i < n; i++) {
		sched[i].due_on = cal_parse(PQgetvalue(res, i, 1));
		if (money_parse(PQgetvalue(res, i, 2), &sched[i].amount_cents) < 0)
			sched[i].amount_cents = 0;
		snprintf(sched[i].currency, sizeof(sched[i].currency), "%s", PQgetvalue(res, i, 3));
	}
	if (n > 0) {
		snprintf(state, 16, "%s", PQgetvalue(res, 0, 0));
		pg->plan_state = state;
	}
	pg->nsched = (size_t)n;
	PQclear(res);
	return 0;
}

/* POST /r/LINK/plan (rule 11; the links of j10 and j30): the form checked
 * (how many instalments, the first date: the same bounds as
 * plan_propose_for), then dunning.web_plan and the confirmation. */
static void
plan(struct web *w, struct evhttp_request *req, struct evbuffer *b, const char *link,
    const struct token *t, struct page *pg)
{
	struct page_instalment sched[PLAN_MAX_INSTALMENTS];
	const char *count, *first, *p[4];
	char client[24], ids[TOKEN_MAX_INVOICES * 21 + 4], nbuf[8], day[11], state[16] = "";
	char why_fr[256], why_en[256], lo_fr[64], hi_fr[64], lo_en[64], hi_en[64];
	int max = w->cfg->plan.max_instalments < 2 ? 2 : w->cfg->plan.max_instalments;
	struct form f;
	PGresult *res;
	PGconn *c;
	cal_day due;
	int n = 0;
	bool again;

	if (!(t->rights & TOKEN_PLAN)) {
		gone(w, req, b);
		return;
	}
	if (!read_form(w, req, b, link, pg, &f))
		return;
	count = form_get(&f, "instalments");
	first = form_get(&f, "first_due");
	if (count != NULL && strlen(count) <= 2 && count[0] >= '1' && count[0] <= '9' &&
	    strspn(count, "0123456789") == strlen(count))
		n = atoi(count);
	if (n < 2 || n > max) {
		form_free(&f);
		snprintf(why_fr, sizeof(why_fr), "Choisissez un nombre d'échéances entre 2 et %d.",
		    max);
		snprintf(why_en, sizeof(why_en), "Choose between 2 and %d instalments.", max);
		refuse(w, req, b, 400, pg->lang, why_fr, why_en);
		return;
	}
	/* A typed date: yyyy-mm-dd, blanks around it allowed (no calendar
	 * in the browser, or no JavaScript: the page says so). */
	due = CAL_NONE;
	if (first != NULL) {
		size_t len;

		first += strspn(first, " \t");
		len = strcspn(first, " \t");
		if (len == 10 && first[len + strspn(first + len, " \t")] == '\0') {
			memcpy(day, first, 10);
			day[10] = '\0';
			due = cal_parse(day);
		}
	}
	if (due == CAL_NONE || due < pg->today || due > pg->today + PAGE_PLAN_DAYS) {
		form_free(&f);
		cal_format_long(pg->today, "fr", false, lo_fr, sizeof(lo_fr));
		cal_format_long(pg->today + PAGE_PLAN_DAYS, "fr", false, hi_fr, sizeof(hi_fr));
		cal_format_long(pg->today, "en", false, lo_en, sizeof(lo_en));
		cal_format_long(pg->today + PAGE_PLAN_DAYS, "en", false, hi_en, sizeof(hi_en));
		snprintf(why_fr, sizeof(why_fr), "Indiquez la date de la première échéance, entre "
		    "le %s et le %s, sous la forme aaaa-mm-jj.", lo_fr, hi_fr);
		snprintf(why_en, sizeof(why_en), "Give the date of the first instalment, between "
		    "%s and %s, as yyyy-mm-dd.", lo_en, hi_en);
		refuse(w, req, b, 400, pg->lang, why_fr, why_en);
		return;
	}
	form_free(&f);
	if ((c = db(w)) == NULL) {
		refuse(w, req, b, 503, pg->lang, "Le service est momentanément indisponible.",
		    "The service is unavailable for a moment.");
		return;
	}
	snprintf(client, sizeof(client), "%lld", (long long)t->client_id);
	ids_array(t, ids, sizeof(ids));
	snprintf(nbuf, sizeof(nbuf), "%d", n);
	p[0] = client;
	p[1] = ids;
	p[2] = nbuf;
	p[3] = day;
	res = PQexecParams(c, "SELECT dunning.web_plan($1::bigint, $2::bigint[], $3::integer, "
	    "$4::date)", 4, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		bool bad = code != NULL && strcmp(code, "22023") == 0;

		log_warnx("web_plan: %s", PQerrorMessage(c));
		PQclear(res);
		if (bad)
			refuse(w, req, b, 400, pg->lang, "Un échéancier ne peut pas être proposé ici "
			    "pour ces notes d'honoraires : répondez au message reçu.", "A payment plan "
			    "cannot be proposed here for these invoices: reply to the message you "
			    "received.");
		else
			refuse(w, req, b, 503, pg->lang, "Le service est momentanément indisponible.",
			    "The service is unavailable for a moment.");
		return;
	}
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		gone(w, req, b);
		return;
	}
	again = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
	log_info("client %lld: plan %s", (long long)t->client_id, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (load_plan(w, t, pg, sched, state) < 0)
		pg->nsched = 0;
	page_plan_done(b, pg, again);
	reply(req, 200, "OK", b);
}

/* Every request. */
static void
on_request(struct evhttp_request *req, void *arg)
{
	struct web *w = arg;
	struct evbuffer *b = evbuffer_new();
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	char addr[64], link[TOKEN_MAX_LEN + 1], form_token[TOKEN_FORM_LEN + 1], lang[3] = "fr";
	struct page_invoice inv[TOKEN_MAX_INVOICES];
	struct page_instalment sched[PLAN_MAX_INSTALMENTS];
	char plan_state[16] = "";
	struct page pg = { 0 };
	struct token t;
	time_t now = clock_now(&w->clock);
	bool post = cmd == EVHTTP_REQ_POST;
	size_t len;
	int n;

	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	client_addr(req, addr, sizeof(addr));
	if (!ratelimit_take(w->pages, addr, now) || (post && !ratelimit_take(w->posts, addr, now))) {
		log_info("%s: rate limited", addr);
		refuse(w, req, b, 429, NULL, "Trop de demandes : réessayez dans quelques minutes.",
		    "Too many requests: try again in a few minutes.");
		evbuffer_free(b);
		return;
	}
	if (path == NULL || strncmp(path, "/r/", 3) != 0) {
		gone(w, req, b);
		evbuffer_free(b);
		return;
	}
	path += 3;
	len = strcspn(path, "/");
	if (len == 0 || len > TOKEN_MAX_LEN || (path[len] != '\0' && strcmp(path + len,
	    "/report") != 0 && strcmp(path + len, "/plan") != 0) ||
	    (post != (path[len] != '\0'))) {
		if (path[len] == '\0' && post)
			refuse(w, req, b, 405, NULL, "Cette adresse ne reçoit pas de formulaire.",
			    "This address takes no form.");
		else
			gone(w, req, b);
		evbuffer_free(b);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD && !post) {
		refuse(w, req, b, 405, NULL, "Méthode refusée.", "Method not allowed.");
		evbuffer_free(b);
		return;
	}
	memcpy(link, path, len);
	link[len] = '\0';
	if (token_verify(link, w->cfg->web.keys, (size_t)w->cfg->web.nkeys, now, &t) != TOKEN_OK) {
		log_debug("%s: a link that does not verify", addr);
		gone(w, req, b);
		evbuffer_free(b);
		return;
	}
	if ((n = load(w, &t, inv, lang, &pg.individual)) <= 0) {
		if (n < 0)
			refuse(w, req, b, 503, NULL, "Le service est momentanément indisponible.",
			    "The service is unavailable for a moment.");
		else
			gone(w, req, b);
		evbuffer_free(b);
		return;
	}
	token_form(link, w->cfg->web.keys, (size_t)w->cfg->web.nkeys, form_token);
	pg.cfg = w->cfg;
	pg.lang = lang;
	pg.inv = inv;
	pg.n = (size_t)n;
	pg.rights = t.rights;
	pg.link = link;
	pg.form_token = form_token;
	pg.today = cal_local_day(now);
	pg.max_instalments = w->cfg->plan.max_instalments;
	pg.interval_months = w->cfg->plan.interval_months;
	if (post && strcmp(path + len, "/plan") == 0) {
		plan(w, req, b, link, &t, &pg);
	} else if (post) {
		report(w, req, b, link, &t, &pg);
	} else {
		if ((t.rights & TOKEN_PLAN) && load_plan(w, &t, &pg, sched, plan_state) < 0) {
			refuse(w, req, b, 503, NULL, "Le service est momentanément indisponible.",
			    "The service is unavailable for a moment.");
			evbuffer_free(b);
			return;
		}
		page_links(b, &pg);
		reply(req, 200, "OK", b);
	}
	evbuffer_free(b);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct web *w = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	service_notify("STOPPING=1");
	event_base_loopbreak(w->base);
}

/* Split web.listen "ADDRESS:PORT" ("[::1]:8080") into HOST and PORT. */
static int
split_listen(const char *listen, char *host, size_t n, int *port)
{
	const char *colon = strrchr(listen, ':');
	size_t hl;
	char *end;
	long p;

	if (colon == NULL)
		return -1;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl == 0 || hl >= n)
		return -1;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	*port = (int)p;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "now", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONFIG, *now_arg = NULL;
	struct config_diag diag = { 0 };
	struct web w = { 0 };
	struct evhttp *http;
	struct event *sigterm, *sigint;
	char host[256];
	int c, port, verbose = 0;
	time_t now;

	while ((c = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': now_arg = optarg; break;
		case 'v': verbose++; break;
		case 'V': printf("dunningweb %s\n", DUNNING_VERSION); return 0;
		case 'h': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	log_init("dunningweb", verbose > 0);
	if (now_arg != NULL) {
		if (cal_parse_instant(now_arg, &now) < 0)
			fatalx("--now %s: not an ISO 8601 instant with an offset "
			    "(e.g. 2026-03-10T09:30:00+01:00)", now_arg);
		clock_init_at(&w.clock, now, false);
		w.replay = true;
	} else {
		clock_init_real(&w.clock);
	}
	if ((w.cfg = config_load(path, &diag)) == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "%s\n", diag.errors[i]);
		config_diag_free(&diag);
		return 1;
	}
	config_diag_free(&diag);
	/* Rule 12: no public address, no links to serve; no key, none to check. */
	if (*w.cfg->web.base_url == '\0')
		fatalx("%s: web.base_url is empty: the mails carry no links, so there is no page "
		    "to serve; set it to the page's public address", path);
	if (w.cfg->web.nkeys == 0)
		fatalx("%s: the links' key: %s", path, w.cfg->web.key_error);
	if (split_listen(w.cfg->web.listen, host, sizeof(host), &port) < 0)
		fatalx("%s: web.listen \"%s\": write ADDRESS:PORT, e.g. \"127.0.0.1:8080\"", path,
		    w.cfg->web.listen);
	if (cal_set_timezone(w.cfg->schedule.timezone) < 0)
		fatalx("%s: unknown time zone \"%s\"", path, w.cfg->schedule.timezone);
	signal(SIGPIPE, SIG_IGN);
	w.db = PQconnectdb(w.cfg->web.conninfo);
	if (PQstatus(w.db) != CONNECTION_OK)
		fatalx("web.conninfo: %s", PQerrorMessage(w.db));
	if ((w.pages = ratelimit_new(PAGE_BURST, PAGE_PERIOD)) == NULL ||
	    (w.posts = ratelimit_new(POST_BURST, POST_PERIOD)) == NULL ||
	    (w.base = event_base_new()) == NULL || (http = evhttp_new(w.base)) == NULL)
		fatalx("out of memory");
	evhttp_set_max_body_size(http, MAX_BODY);
	evhttp_set_max_headers_size(http, 16384);
	evhttp_set_timeout(http, 30);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, on_request, &w);
	if (evhttp_bind_socket(http, host, (ev_uint16_t)port) != 0)
		fatalx("web.listen %s: cannot listen", w.cfg->web.listen);
	sigterm = evsignal_new(w.base, SIGTERM, on_signal, &w);
	sigint = evsignal_new(w.base, SIGINT, on_signal, &w);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	log_info("dunningweb %s listening on %s", DUNNING_VERSION, w.cfg->web.listen);
	service_notify("READY=1\nSTATUS=listening on %s", w.cfg->web.listen);
	event_base_dispatch(w.base);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(http);
	event_base_free(w.base);
	ratelimit_free(w.pages);
	ratelimit_free(w.posts);
	PQfinish(w.db);
	config_free(w.cfg);
	return 0;
}
