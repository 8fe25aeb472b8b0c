/*
 * message — context, rendering and MIME composition of one reminder.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>

#include "calendar.h"
#include "config_templates.h"
#include "message.h"
#include "money.h"
#include "template.h"

#define NLANGS 2
#define MAX_PARTIALS 16

enum part { PART_SUBJECT, PART_TEXT, PART_HTML, NPARTS };

static const char *const langs[NLANGS] = { "fr", "en" };
static const char *const suffixes[NPARTS] = { "subject", "txt", "html" };

struct partial {
	char name[64];
	char *text;
};

struct message_set {
	bool have[NLANGS];
	struct template *tpl[NLANGS][CONFIG_MAX_STAGES][NPARTS];
	struct partial partials[NLANGS][MAX_PARTIALS];
	int npartials[NLANGS];
	/* the lawyer's mail, French: message_lawyer_load() */
	struct template *lawyer[MESSAGE_LAWYER_KINDS][PART_HTML];
};

/* The whole of file PATH, malloc'ed; NULL with errno set. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
			errno = EIO;
		} else {
			buf[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Partials of a language: files "_NAME.txt" beside the templates. */
static const char *
find_partial(const char *name, void *arg)
{
	const struct partial *p = arg;

	for (int i = 0; i < MAX_PARTIALS && p[i].text != NULL; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].text;
	return NULL;
}

/* Load the partials of DIR into MS for language L. */
static int
load_partials(struct message_set *ms, int l, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char path[1024];
		struct partial *p;

		if (e->d_name[0] != '_' || n < 6 || strcmp(e->d_name + n - 4, ".txt") != 0)
			continue;
		if (ms->npartials[l] == MAX_PARTIALS || n - 5 >= sizeof(p->name)) {
			snprintf(err, errlen, "%s: too many partials or name too long", dir);
			rc = -1;
			break;
		}
		p = &ms->partials[l][ms->npartials[l]];
		snprintf(p->name, sizeof(p->name), "%.*s", (int)(n - 5), e->d_name + 1);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((p->text = slurp(path, NULL)) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		ms->npartials[l]++;
	}
	closedir(d);
	return rc;
}

/* ERR = "PATH:12: no field "x" in the message context" from the
 * template's "line 12: unknown field 'x'", or "PATH:N: why" for any other
 * "line N: why": the file and line an operator opens. */
static void
located(char *err, size_t errlen, const char *path, const char *why)
{
	static const char unknown[] = "unknown field '";
	unsigned line;
	size_t len;
	int at = 0;

	if (sscanf(why, "line %u: %n", &line, &at) != 1 || at == 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return;
	}
	why += at;
	len = strlen(why);
	if (strncmp(why, unknown, sizeof(unknown) - 1) == 0 && len > sizeof(unknown) &&
	    why[len - 1] == '\'')
		snprintf(err, errlen, "%s:%u: no field \"%.*s\" in the message context", path,
		    line, (int)(len - sizeof(unknown)), why + sizeof(unknown) - 1);
	else
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
}

/* Partials are fetched at render time, so template_check cannot see
 * into them: parse and check each one on its own. */
static int
check_partials(const struct message_set *ms, int l, const char *dir, json_t *sample,
    char *err, size_t errlen)
{
	for (int i = 0; i < ms->npartials[l]; i++) {
		const struct partial *p = &ms->partials[l][i];
		char why[256];
		struct template *t = template_parse(p->text, strlen(p->text), why, sizeof(why));

		if (t == NULL || template_check(t, sample, why, sizeof(why)) < 0) {
			char path[1024];

			snprintf(path, sizeof(path), "%s/_%s.txt", dir, p->name);
			located(err, errlen, path, why);
			template_free(t);
			return -1;
		}
		template_free(t);
	}
	return 0;
}

/* The schema the templates are checked against: the context
 * message_context builds, in language LANG, for a group with every optional
 * field filled (file reference, payment link, a partial payment, a
 * professional client, so the indemnity too).  Keys that are false when
 * their value is absent (matter_ref, payment_url, indemnity...) exist
 * either way, so the sample names every key a real message can hold. */
static json_t *
sample_context(const struct config *cfg, int stage, const char *lang)
{
	char code[8];
	struct send_item it = {
		.reminder_id = 1, .invoice_id = 1, .number = "F-0001", .matter_ref = "D-0001",
		.payment_url = "https://pay.example/1", .issued_on = cal_from_ymd(2026, 1, 1),
		.due_on = cal_from_ymd(2026, 1, 31), .amount_cents = 100000,
		.balance_cents = 50000, .attempts = 1,
	};
	struct send_group g = {
		.stage = stage, .currency = "EUR", .message_id = "<x@example>", .client_id = 1,
		.kind = "professional", .first_name = "A", .last_name = "B", .company_name = "C",
		.email = "c@example.org", .language = code, .address_line1 = "1 rue",
		.address_line2 = "bis", .postal_code = "75001", .city = "Paris", .country = "FR",
		.lawyer_name = "L", .lawyer_email = "l@example.org", .items = &it, .nitems = 1,
	};

	snprintf(code, sizeof(code), "%s", lang);
	return message_context(cfg, &g, cal_local_time(cal_from_ymd(2026, 3, 3), 600));
}

/* Parse and check one template file; a missing optional part is fine. */
static int
load_one(struct message_set *ms, const struct config *cfg, int l, int s, enum part p,
    char *err, size_t errlen)
{
	char path[1024], why[256];
	const char *name = cfg->stages[s].template_name;
	char *text;
	size_t len;
	json_t *sample;
	int rc = 0;

	config_template_path(path, sizeof(path), cfg->templates_dir, langs[l], name, suffixes[p]);
	if ((text = slurp(path, &len)) == NULL) {
		bool needed = p == PART_TEXT ||
		    (p == PART_SUBJECT && cfg->stages[s].channel == CONFIG_CHANNEL_EMAIL);

		if (!needed && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ms->tpl[l][s][p] = template_parse(text, len, why, sizeof(why));
	free(text);
	if (ms->tpl[l][s][p] == NULL) {
		located(err, errlen, path, why);
		return -1;
	}
	sample = sample_context(cfg, s, langs[l]);
	if (template_check(ms->tpl[l][s][p], sample, why, sizeof(why)) < 0) {
		located(err, errlen, path, why);
		rc = -1;
	}
	json_decref(sample);
	return rc;
}

/* Load every language directory present; French is required. */
struct message_set *
message_set_load(const struct config *cfg, char *err, size_t errlen)
{
	struct message_set *ms = calloc(1, sizeof(*ms));
	struct stat st;

	if (ms == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g_mime_init();
	for (int l = 0; l < NLANGS; l++) {
		char dir[1024];

		snprintf(dir, sizeof(dir), "%s/%s", cfg->templates_dir, langs[l]);
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (l == 0) {
				snprintf(err, errlen, "%s: no French templates", dir);
				goto fail;
			}
			continue;
		}
		ms->have[l] = true;
		if (load_partials(ms, l, dir, err, errlen) < 0)
			goto fail;
		if (cfg->nstages > 0) {
			json_t *sample = sample_context(cfg, 0, langs[l]);
			int bad = check_partials(ms, l, dir, sample, err, errlen);

			json_decref(sample);
			if (bad < 0)
				goto fail;
		}
		for (size_t s = 0; s < cfg->nstages; s++)
			for (int p = 0; p < NPARTS; p++)
				if (load_one(ms, cfg, l, (int)s, (enum part)p, err, errlen) < 0)
					goto fail;
	}
	return ms;
fail:
	message_set_free(ms);
	return NULL;
}

/* Free the templates and partials. */
void
message_set_free(struct message_set *ms)
{
	if (ms == NULL)
		return;
	for (int l = 0; l < NLANGS; l++) {
		for (int s = 0; s < CONFIG_MAX_STAGES; s++)
			for (int p = 0; p < NPARTS; p++)
				template_free(ms->tpl[l][s][p]);
		for (int i = 0; i < ms->npartials[l]; i++)
			free(ms->partials[l][i].text);
	}
	for (int k = 0; k < MESSAGE_LAWYER_KINDS; k++)
		for (int p = 0; p < PART_HTML; p++)
			template_free(ms->lawyer[k][p]);
	free(ms);
}

/* One address: local@domain, printable ASCII, no spaces or specials
 * that would need quoting. */
bool
message_valid_address(const char *addr)
{
	const char *at, *p;
	size_t len;

	if (addr == NULL || (len = strlen(addr)) < 3 || len > 254)
		return false;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL || at == addr ||
	    at - addr > 64)
		return false;
	for (p = addr; p < at; p++)
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-/=?^_`{|}~.", *p) == NULL)
			return false;
	if (addr[0] == '.' || at[-1] == '.' || strstr(addr, "..") != NULL)
		return false;
	if (strchr(at + 1, '.') == NULL || at[1] == '.' || at[1] == '-' ||
	    addr[len - 1] == '.' || addr[len - 1] == '-')
		return false;
	for (p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* Does S hold a control character (CR, LF, NUL-adjacent...)? */
static bool
has_control(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* The data that will reach headers or the body must be clean. */
const char *
message_check(const struct send_group *g, const struct config *cfg)
{
	const char *fields[] = { g->first_name, g->last_name, g->company_name, g->lawyer_name,
		g->lawyer_email };

	if (cfg->stages[g->stage].channel == CONFIG_CHANNEL_EMAIL) {
		if (g->email == NULL || *g->email == '\0')
			return "the client has no e-mail address";
		if (!message_valid_address(g->email))
			return "the client's e-mail address is invalid";
	} else if (g->address_line1 == NULL || *g->address_line1 == '\0' ||
	    g->city == NULL || *g->city == '\0') {
		return "the client has no postal address";
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (has_control(fields[i]))
			return "a name contains a line break or a control character";
	if (has_control(g->address_line1) || has_control(g->address_line2) ||
	    has_control(g->postal_code) || has_control(g->city) || has_control(g->country))
		return "the postal address contains a line break or a control character";
	for (size_t i = 0; i < g->nitems; i++)
		if (has_control(g->items[i].number) || has_control(g->items[i].matter_ref) ||
		    has_control(g->items[i].payment_url))
			return "an invoice number or reference contains a control character";
	return NULL;
}

/* The name the client is addressed by: the company, or first and last. */
static char *
display_name(const struct send_group *g)
{
	char *s = NULL;

	if (g->kind != NULL && strcmp(g->kind, "professional") == 0 && g->company_name != NULL)
		return strdup(g->company_name);
	if (asprintf(&s, "%s%s%s", g->first_name ? g->first_name : "",
	    g->first_name && *g->first_name ? " " : "", g->last_name ? g->last_name : "") < 0)
		return NULL;
	return s;
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

/* A string, or "" for NULL. */
static json_t *
str(const char *s)
{
	return json_string(s != NULL ? s : "");
}

/* SPEC §3.4: the context, and nothing else. */
json_t *
message_context(const struct config *cfg, const struct send_group *g, time_t now)
{
	const char *lang = g->language != NULL && strcmp(g->language, "en") == 0 ? "en" : "fr";
	bool pro = g->kind != NULL && strcmp(g->kind, "professional") == 0;
	cal_day today = cal_local_day(now);
	json_t *ctx = json_object(), *client = json_object(), *invoices = json_array();
	json_t *lawyer = json_object(), *firm = json_object(), *dates = json_object();
	json_t *address = json_array();
	const char *payment_url = NULL;
	int64_t total = 0, interest_total = 0, cents, rate, common_rate = -1;
	bool interest_known = true;
	char *name = display_name(g), buf[64];

	json_object_set_new(client, "name", str(name));
	json_object_set_new(client, "professional", json_boolean(pro));
	json_object_set_new(client, "individual", json_boolean(!pro));
	free(name);
	if (g->address_line1 != NULL && *g->address_line1)
		json_array_append_new(address, json_string(g->address_line1));
	if (g->address_line2 != NULL && *g->address_line2)
		json_array_append_new(address, json_string(g->address_line2));
	snprintf(buf, sizeof(buf), "%s%s%s", g->postal_code ? g->postal_code : "",
	    g->postal_code && *g->postal_code ? " " : "", g->city ? g->city : "");
	if (buf[0])
		json_array_append_new(address, json_string(buf));
	if (g->country != NULL && *g->country && strcmp(g->country, "FR") != 0)
		json_array_append_new(address, json_string(g->country));
	json_object_set_new(client, "address", address);
	json_object_set_new(ctx, "client", client);
	json_object_set_new(ctx, "salutation", json_string(strcmp(lang, "en") == 0 ?
	    "Dear Sir or Madam," : "Madame, Monsieur,"));

	for (size_t i = 0; i < g->nitems; i++) {
		const struct send_item *it = &g->items[i];
		json_t *inv = json_object();

		json_object_set_new(inv, "number", str(it->number));
		json_object_set_new(inv, "matter_ref", it->matter_ref != NULL && *it->matter_ref ?
		    json_string(it->matter_ref) : json_false());
		set_date(inv, "issued_on", it->issued_on, lang);
		set_date(inv, "due_on", it->due_on, lang);
		set_amount(inv, "amount", it->amount_cents, g->currency, lang);
		set_amount(inv, "balance", it->balance_cents, g->currency, lang);
		json_object_set_new(inv, "partly_paid", json_boolean(it->balance_cents <
		    it->amount_cents));
		json_object_set_new(inv, "days_past_due", json_integer(today - it->due_on));
		/* Late interest to today (SPEC §2.1): false when the half-year
		 * of the issue date is not in the table, never a wrong figure.
		 * The total is the sum of the figures shown, each rounded. */
		if (interest_accrued(cfg, it->issued_on, it->amount_cents, it->payments,
		    it->npayments, today, &cents) == 0 &&
		    interest_rate(cfg, it->issued_on, &rate) == 0) {
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
		json_array_append_new(invoices, inv);
		total += it->balance_cents;
		if (payment_url == NULL && it->payment_url != NULL && *it->payment_url)
			payment_url = it->payment_url;
	}
	json_object_set_new(ctx, "invoices", invoices);
	json_object_set_new(ctx, "count", json_integer((json_int_t)g->nitems));
	json_object_set_new(ctx, "several", json_boolean(g->nitems > 1));
	set_amount(ctx, "total_balance", total, g->currency, lang);
	json_object_set_new(ctx, "payment_url", payment_url ? json_string(payment_url) :
	    json_false());

	/* The recovery indemnity: between professionals only (L.441-10). */
	if (pro)
		set_amount(ctx, "indemnity", 4000, "EUR", lang);
	else
		json_object_set_new(ctx, "indemnity", json_false());
	snprintf(buf, sizeof(buf), "%d%s%d", cfg->interest.multiplier_milli / 1000,
	    strcmp(lang, "en") == 0 ? "." : ",", cfg->interest.multiplier_milli % 1000 / 100);
	json_object_set_new(ctx, "interest_multiplier", json_string(buf));
	json_object_set_new(ctx, "interest_start_days",
	    json_integer(cfg->interest.start_after_days));
	if (interest_known)
		set_amount(ctx, "interest_total", interest_total, g->currency, lang);
	else
		json_object_set_new(ctx, "interest_total", json_false());
	if (interest_known && common_rate >= 0 &&
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
	json_object_set_new(ctx, "firm", firm);

	set_date(ctx, "today", today, lang);
	set_date(dates, "in_7_days", today + 7, lang);
	set_date(dates, "in_8_days", today + 8, lang);
	json_object_set_new(ctx, "dates", dates);
	json_object_set_new(ctx, "stage", json_string(cfg->stages[g->stage].name));
	return ctx;
}

/* Index of the message's language, falling back to French when the
 * firm ships no set for it. */
static int
lang_index(const struct message_set *ms, const struct send_group *g)
{
	if (g->language != NULL && strcmp(g->language, "en") == 0 && ms->have[1])
		return 1;
	return 0;
}

/* Render part P for G; HTML escapes for the HTML part only. */
static char *
render(const struct message_set *ms, const struct send_group *g, json_t *ctx, enum part p,
    char *err, size_t errlen)
{
	int l = lang_index(ms, g);
	const struct template *t = ms->tpl[l][g->stage][p];

	if (t == NULL)
		return NULL;
	return template_render(t, ctx, p == PART_HTML, find_partial,
	    (void *)ms->partials[l], err, errlen);
}

/* The domain of the configured sender address. */
const char *
message_from_domain(const struct config *cfg, char *buf, size_t n)
{
	const char *at = strrchr(cfg->smtp.from, '@');
	size_t len;

	if (at == NULL) {
		snprintf(buf, n, "localhost");
		return buf;
	}
	len = strcspn(at + 1, "> \t");
	snprintf(buf, n, "%.*s", (int)len, at + 1);
	return buf;
}

/* Squeeze line breaks and runs of blanks out of a rendered subject and
 * trim it: GMime folds between words but keeps a run of blanks whole on
 * one line, which then passes 78 characters. */
static void
one_line(char *s)
{
	char *w = s;
	size_t n;

	for (char *r = s; *r; r++) {
		char c = (*r == '\r' || *r == '\n' || *r == '\t') ? ' ' : *r;

		if (c != ' ' || (w != s && w[-1] != ' '))
			*w++ = c;
	}
	*w = '\0';
	while ((n = strlen(s)) > 0 && s[n - 1] == ' ')
		s[n - 1] = '\0';
}

/* Encode the display names of LIST in UTF-8 (GMime would otherwise pick
 * the smallest charset, ISO-8859-1 for French). */
static void
utf8_names(InternetAddressList *list)
{
	for (int i = 0; i < internet_address_list_length(list); i++)
		internet_address_set_charset(internet_address_list_get_address(list, i), "utf-8");
}

/* A text part in UTF-8, quoted-printable so any relay carries it. */
static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *t = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_text(t, text);
	g_mime_text_part_set_charset(t, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(t), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(t);
}

/* The largest PDF a reminder carries: a bigger one is an error, not a
 * mail a relay would refuse or a client could not open. */
#define ATTACHMENT_MAX (10 * 1024 * 1024)

/* The attachment's file name: the invoice number, with whatever a file
 * system or a mail client would misread (separators, control characters,
 * quotes) replaced, and ".pdf".  Malloc'ed. */
static char *
attachment_name(const char *number)
{
	size_t n = number != NULL ? strlen(number) : 0;
	char *s = malloc(n + sizeof("facture.pdf"));

	if (s == NULL)
		return NULL;
	if (n == 0) {
		strcpy(s, "facture.pdf");
		return s;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)number[i];

		s[i] = c < 0x20 || c == 0x7f || strchr("/\\\"'<>:*?|", c) != NULL ? '_' : (char)c;
	}
	strcpy(s + n, ".pdf");
	return s;
}

/* The PDF of invoice IT as an application/pdf part in base64, or NULL with
 * the reason (missing, unreadable, not a file, too large) in ERR. */
static GMimeObject *
pdf_part(const struct send_item *it, char *err, size_t errlen)
{
	struct stat st;
	char *data, *name;
	size_t len;
	GMimePart *part;
	GMimeStream *stream;
	GMimeDataWrapper *content;

	if (stat(it->pdf_path, &st) != 0) {
		snprintf(err, errlen, "invoice %s: attachment %s: %s", it->number, it->pdf_path,
		    strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "invoice %s: attachment %s: not a regular file", it->number,
		    it->pdf_path);
		return NULL;
	}
	if (st.st_size > ATTACHMENT_MAX) {
		snprintf(err, errlen, "invoice %s: attachment %s: %lld bytes, more than the %d "
		    "allowed", it->number, it->pdf_path, (long long)st.st_size, ATTACHMENT_MAX);
		return NULL;
	}
	if ((data = slurp(it->pdf_path, &len)) == NULL) {
		snprintf(err, errlen, "invoice %s: attachment %s: %s", it->number, it->pdf_path,
		    strerror(errno));
		return NULL;
	}
	if (len > ATTACHMENT_MAX) {	/* grew since stat */
		snprintf(err, errlen, "invoice %s: attachment %s: more than %d bytes", it->number,
		    it->pdf_path, ATTACHMENT_MAX);
		free(data);
		return NULL;
	}
	if ((name = attachment_name(it->number)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(data);
		return NULL;
	}
	part = g_mime_part_new_with_type("application", "pdf");
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
	g_mime_part_set_filename(part, name);
	free(name);
	free(data);
	return GMIME_OBJECT(part);
}

/* The body of G: TEXT, or TEXT and HTML as alternatives, then in a
 * multipart/mixed with the PDF of every invoice that names one.  NULL with
 * the reason in ERR when a PDF cannot be attached. */
static GMimeObject *
body_parts(const struct send_group *g, const char *text, const char *html, char *err,
    size_t errlen)
{
	GMimeObject *body;
	GMimeMultipart *mixed = NULL;

	if (html != NULL) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		GMimeObject *tp = text_part("plain", text), *hp = text_part("html", html);

		g_mime_multipart_add(alt, tp);
		g_mime_multipart_add(alt, hp);
		g_object_unref(tp);
		g_object_unref(hp);
		body = GMIME_OBJECT(alt);
	} else {
		body = text_part("plain", text);
	}
	for (size_t i = 0; i < g->nitems; i++) {
		GMimeObject *pdf;

		if (g->items[i].pdf_path == NULL || *g->items[i].pdf_path == '\0')
			continue;
		if ((pdf = pdf_part(&g->items[i], err, errlen)) == NULL) {
			if (mixed != NULL)
				g_object_unref(mixed);
			g_object_unref(body);
			return NULL;
		}
		if (mixed == NULL) {
			mixed = g_mime_multipart_new_with_subtype("mixed");
			g_mime_multipart_add(mixed, body);
		}
		g_mime_multipart_add(mixed, pdf);
		g_object_unref(pdf);
	}
	if (mixed != NULL) {
		g_object_unref(body);
		return GMIME_OBJECT(mixed);
	}
	return body;
}

/* Does header text S need encoded words of our own?  Non-ASCII or control
 * bytes, more than MAX bytes, or "=?", which GMime writes as is and a
 * reader takes for an encoded word: a name or a number typed as
 * "=?utf-8?q?...?=" must read as typed. */
static bool
needs_words(const char *s, size_t max)
{
	if (strstr(s, "=?") != NULL || strlen(s) > max)
		return true;
	for (; *s; s++)
		if ((unsigned char)*s >= 0x7f || (unsigned char)*s < 0x20)
			return true;
	return false;
}

/* TEXT as RFC 2047 encoded words "=?UTF-8?B?...?=" of at most 64
 * characters, one per line, so that no line exceeds 78 after a header
 * name of up to 13; then TAIL (" <addr>") on the last line, or on a line
 * of its own when it would not fit.  Words end between characters, never
 * inside one.  The raw value of a header (" word\n word\n"), malloc'ed. */
static char *
encoded_words(const char *text, const char *tail)
{
	size_t n = strlen(text), tlen = tail != NULL ? strlen(tail) : 0;
	size_t cap = n * 2 + 80 + tlen, len = 0, last = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	do {
		size_t take = n < 39 ? n : 39;
		gchar *b64;
		int w;

		while (take > 0 && take < n && ((unsigned char)text[take] & 0xc0) == 0x80)
			take--;
		/* A run of continuation bytes is not UTF-8 and has no character
		 * boundary: cut it at the limit rather than take nothing and
		 * write empty words until the buffer is full. */
		if (take == 0)
			take = n < 39 ? n : 39;
		/* Rather before a space (the next word starts with it): a reader
		 * that wrongly keeps the fold between words still reads whole
		 * words. */
		for (size_t k = take; take < n && k > take / 2; k--)
			if (text[k] == ' ') {
				take = k;
				break;
			}
		b64 = g_base64_encode((const guchar *)text, take);
		w = snprintf(out + len, cap - len, "%s=?UTF-8?B?%s?=", len ? "\n " : " ", b64);
		g_free(b64);
		if (w < 0 || (size_t)w >= cap - len) {
			free(out);
			return NULL;
		}
		last = len == 0 ? 13 + (size_t)w : (size_t)w - 1;
		len += (size_t)w;
		text += take;
		n -= take;
	} while (n > 0);
	if (tlen > 0) {
		int w = snprintf(out + len, cap - len, "%s%s", last + tlen <= 78 ? "" : "\n", tail);

		if (w < 0 || (size_t)w >= cap - len) {
			free(out);
			return NULL;
		}
		len += (size_t)w;
	}
	out[len++] = '\n';
	out[len] = '\0';
	return out;
}

/* Write header NAME of M as the raw VALUE (from encoded_words, freed). */
static int
set_raw_header(GMimeMessage *m, const char *name, char *value)
{
	GMimeHeader *h = g_mime_header_list_get_header(
	    g_mime_object_get_header_list(GMIME_OBJECT(m)), name);

	if (h == NULL || value == NULL) {
		free(value);
		return -1;
	}
	g_mime_header_set_raw_value(h, value);
	free(value);
	return 0;
}

/* Has S a run of more than MAX bytes without a space (GMime folds one
 * into a line of 79)? */
static bool
long_word(const char *s, size_t max)
{
	for (size_t run = 0; *s; s++)
		if ((run = *s == ' ' ? 0 : run + 1) > max)
			return true;
	return false;
}

/* Has header NAME of M, as GMime folded it, a line longer than 78?  GMime
 * never splits an encoded word of its own: a short word of "/" next to a
 * non-ASCII one becomes one quoted-printable word three times as long. */
static bool
folded_too_long(GMimeMessage *m, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(
	    g_mime_object_get_header_list(GMIME_OBJECT(m)), name);
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	size_t col = strlen(name) + 1;

	for (; raw != NULL && *raw; raw++) {
		col = *raw == '\n' ? 0 : *raw == '\r' ? col : col + 1;
		if (col > 78)
			return true;
	}
	return false;
}

/* To and Subject of M written by us where GMime would not write them
 * safely: a display name or a subject holding "=?" (written as is, then
 * decoded by the reader into whatever it says), and long or non-ASCII
 * names, or subjects GMime would fold into too long a line, cut between
 * characters into words that fit a line. */
static int
harden_headers(GMimeMessage *m, const char *name, const char *addr, const char *subject)
{
	if (name != NULL && *name && needs_words(name, 40)) {
		char tail[300];

		snprintf(tail, sizeof(tail), " <%s>", addr);
		if (set_raw_header(m, "To", encoded_words(name, tail)) < 0)
			return -1;
	}
	if ((strstr(subject, "=?") != NULL || long_word(subject, 40) ||
	    folded_too_long(m, "Subject")) &&
	    set_raw_header(m, "Subject", encoded_words(subject, NULL)) < 0)
		return -1;
	return 0;
}

/* M as it goes on the wire (CRLF line ends), malloc'ed, its length in LEN. */
static char *
wire_text(GMimeMessage *m, size_t *len)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	char *raw, *out = NULL;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	raw = g_mime_object_to_string(GMIME_OBJECT(m), fo);
	if (raw != NULL) {
		out = strdup(raw);
		*len = strlen(raw);
		g_free(raw);
	}
	g_mime_format_options_free(fo);
	return out;
}

/* Render and wrap G as one RFC 5322 message. */
char *
message_compose(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen)
{
	return message_compose_kept(ms, cfg, g, now, len, err, errlen, NULL);
}

/* message_compose, and the subject and text as rendered into COPY. */
char *
message_compose_kept(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    struct message_copy *copy)
{
	json_t *ctx = message_context(cfg, g, now);
	char *subject = NULL, *text = NULL, *html = NULL, *name = NULL, *out = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *body = NULL;
	InternetAddressList *from;
	GDateTime *date;
	const char *reply_to;

	if ((subject = render(ms, g, ctx, PART_SUBJECT, err, errlen)) == NULL ||
	    (text = render(ms, g, ctx, PART_TEXT, err, errlen)) == NULL)
		goto out;
	/* No HTML template is fine; one that fails to render is an error,
	 * not a mail silently without its HTML part. */
	err[0] = '\0';
	if ((html = render(ms, g, ctx, PART_HTML, err, errlen)) == NULL && err[0] != '\0')
		goto out;
	if ((body = body_parts(g, text, html, err, errlen)) == NULL)
		goto out;
	one_line(subject);
	name = display_name(g);

	m = g_mime_message_new(TRUE);
	if ((from = internet_address_list_parse(NULL, cfg->smtp.from)) == NULL) {
		snprintf(err, errlen, "smtp.from is not an address");
		goto out;
	}
	internet_address_list_append(g_mime_message_get_from(m), from);
	g_object_unref(from);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, name, g->email);
	utf8_names(g_mime_message_get_from(m));
	utf8_names(g_mime_message_get_to(m));
	/* Reply-To: the configured address, else the lawyer's when it is one
	 * plain address (never a list parsed out of a database field), else
	 * the firm's From. */
	reply_to = *cfg->smtp.reply_to ? cfg->smtp.reply_to : NULL;
	if (reply_to == NULL && message_valid_address(g->lawyer_email)) {
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, g->lawyer_email);
	} else {
		InternetAddressList *rt = internet_address_list_parse(NULL,
		    reply_to != NULL ? reply_to : cfg->smtp.from);

		if (rt != NULL) {
			internet_address_list_append(g_mime_message_get_reply_to(m), rt);
			g_object_unref(rt);
		}
		utf8_names(g_mime_message_get_reply_to(m));
	}
	g_mime_message_set_subject(m, subject, "utf-8");
	date = g_date_time_new_from_unix_local(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	/* GMime wants the id without its angle brackets. */
	{
		char id[256];

		snprintf(id, sizeof(id), "%.*s", (int)strcspn(g->message_id + 1, ">"),
		    g->message_id + 1);
		g_mime_message_set_message_id(m, id);
	}
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	g_mime_message_set_mime_part(m, body);
	if (harden_headers(m, name, g->email, subject) < 0) {
		snprintf(err, errlen, "cannot encode the To or Subject header");
		goto out;
	}
	out = wire_text(m, len);
	if (out != NULL && copy != NULL) {
		copy->subject = subject;
		copy->text = text;
		subject = text = NULL;
	}
out:
	if (body != NULL)
		g_object_unref(body);
	if (m != NULL)
		g_object_unref(m);
	json_decref(ctx);
	free(subject);
	free(text);
	free(html);
	free(name);
	return out;
}

/* The letter: the text template rendered, as a document. */
char *
message_letter(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, char *err, size_t errlen)
{
	json_t *ctx = message_context(cfg, g, now);
	char *text = render(ms, g, ctx, PART_TEXT, err, errlen);

	json_decref(ctx);
	return text;
}

/* ---- the lawyer's mail ------------------------------------------------ */

static const char *const lawyer_names[MESSAGE_LAWYER_KINDS] = { "lawyer_alert",
	"lawyer_digest" };

/* True when the lawyers read English (firm.language). */
static bool
lawyer_en(const struct config *cfg)
{
	return strcmp(cfg->firm.language, "en") == 0;
}

/* Why a reminder waits for approval, as the lawyer reads it. */
static const char *
held_why(const char *code, bool en)
{
	static const struct { const char *code, *fr, *en; } t[] = {
		{ "approval_threshold", "montant égal ou supérieur au seuil d'approbation",
		  "amount at or above the approval threshold" },
		{ "strategic_client", "client stratégique", "strategic client" },
		{ "stage_requires_approval", "étape soumise à approbation",
		  "stage requires approval" },
		{ "no_threshold_for_currency", "devise sans seuil d'approbation configuré",
		  "no approval threshold configured for the currency" },
	};

	for (size_t i = 0; code != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(code, t[i].code) == 0)
			return en ? t[i].en : t[i].fr;
	return code != NULL ? code : en ? "approval required" : "approbation requise";
}

/* Why a message could not be delivered, in the lawyers' language where
 * the reason is ours (the daemon words it in English); a relay's answer
 * is quoted as it came.  Malloc'ed. */
static char *
failed_why(const char *why, bool en)
{
	static const struct { const char *en, *fr; } t[] = {
		{ "the client has no e-mail address", "le client n'a pas d'adresse électronique" },
		{ "the client's e-mail address is invalid",
		  "l'adresse électronique du client est invalide" },
		{ "the client has no postal address", "le client n'a pas d'adresse postale" },
		{ "a name contains a line break or a control character",
		  "un nom contient un caractère de contrôle" },
		{ "the postal address contains a line break or a control character",
		  "l'adresse postale contient un caractère de contrôle" },
		{ "an invoice number or reference contains a control character",
		  "un numéro de facture ou une référence contient un caractère de contrôle" },
	};
	char *out = NULL;
	int n;

	if (why == NULL || *why == '\0')
		return strdup(en ? "unknown cause" : "cause inconnue");
	if (en && why[0] == '5' && why[1] >= '0' && why[1] <= '9' && why[2] >= '0' &&
	    why[2] <= '9') {
		if (asprintf(&out, "refused by the mail server: %s", why) < 0)
			return NULL;
		return out;
	}
	if (en)
		return strdup(why);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(why, t[i].en) == 0)
			return strdup(t[i].fr);
	if (sscanf(why, "gave up after %d attempts: ", &n) == 1 && strchr(why, ':') != NULL) {
		char *rest = failed_why(strchr(why, ':') + 2, false);

		if (rest == NULL || asprintf(&out, "abandon après %d tentatives : %s", n, rest) < 0)
			out = NULL;
		free(rest);
		return out;
	}
	if (why[0] == '5' && why[1] >= '0' && why[1] <= '9' && why[2] >= '0' && why[2] <= '9') {
		if (asprintf(&out, "refus du serveur de messagerie : %s", why) < 0)
			return NULL;
		return out;
	}
	return strdup(why);
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
	json_object_set_new(o, "matter_ref", ref != NULL && *ref ? json_string(ref) :
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

/* The context of alert A. */
json_t *
message_alert_context(const struct config *cfg, const struct lawyer_alert *a, time_t now)
{
	json_t *ctx = json_object(), *client = json_object(), *invoices = json_array();
	json_t *d = a->details, *list = json_object_get(d, "invoices"), *v;
	const char *stage = json_string_value(json_object_get(d, "stage"));
	const char *path = json_string_value(json_object_get(d, "path"));
	const char *why = json_string_value(json_object_get(d, "why"));
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
	set_amount(ctx, "total_balance", total, cur, lang);
	json_object_set_new(ctx, "stage", str(stage));
	json_object_set_new(ctx, "reminder", json_integer((json_int_t)a->reminder_id));
	json_object_set_new(ctx, "path", path != NULL ? json_string(path) : json_false());
	fw = why != NULL ? failed_why(why, lawyer_en(cfg)) : NULL;
	json_object_set_new(ctx, "why", fw != NULL ? json_string(fw) : json_false());
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
	"in_doubt", "escalated", "disputed" };

/* The context of a digest. */
json_t *
message_digest_context(const struct config *cfg, const char *lawyer_name,
    const struct digest_item *items, int n, time_t now)
{
	json_t *ctx = json_object(), *lists[DIGEST_NSECTIONS] = { NULL };
	cal_day today = cal_local_day(now);
	const char *lang = cfg->firm.language;
	char buf[64];

	for (int i = 0; i < n; i++) {
		const struct digest_item *it = &items[i];
		json_t *o = json_object();
		char *why = NULL;

		if (lists[it->section] == NULL)
			lists[it->section] = json_array();
		json_object_set_new(o, "reminder", it->reminder_id ?
		    json_integer((json_int_t)it->reminder_id) : json_false());
		json_object_set_new(o, "number", str(it->number));
		json_object_set_new(o, "matter_ref", it->matter_ref && *it->matter_ref ?
		    json_string(it->matter_ref) : json_false());
		json_object_set_new(o, "client", str(it->client_name));
		set_amount(o, "balance", it->balance_cents, it->currency, lang);
		json_object_set_new(o, "stage", it->stage ? json_string(it->stage) : json_false());
		if (it->section == DIGEST_HELD)
			why = strdup(held_why(it->why, lawyer_en(cfg)));
		else if (it->section == DIGEST_FAILED)
			why = failed_why(it->why, lawyer_en(cfg));
		json_object_set_new(o, "why", why ? json_string(why) : json_false());
		free(why);
		cal_format_long(cal_local_day(it->since), lang, false, buf, sizeof(buf));
		json_object_set_new(o, "since", json_string(buf));
		json_object_set_new(o, "days", json_integer(today - cal_local_day(it->since)));
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
	return ctx;
}

/* Contexts with every field present, to check the templates against. */
static json_t *
lawyer_sample(const struct config *cfg, enum message_lawyer which)
{
	if (which == MESSAGE_LAWYER_ALERT) {
		struct lawyer_alert a = { .id = 1, .kind = "stage_sent", .lawyer_id = 1,
		    .lawyer_name = "L", .lawyer_email = "l@example.org", .invoice_id = 1,
		    .reminder_id = 1, .client_name = "C", .attempts = 1 };
		json_t *ctx;

		a.details = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "stage", "j3",
		    "path", "/p", "why", "w", "invoices", "number", "F", "matter_ref", "D",
		    "balance", "1.00", "currency", "EUR");
		ctx = message_alert_context(cfg, &a, 86400);
		json_decref(a.details);
		/* "next" may be false for the last stage: check it as an object. */
		json_object_set_new(ctx, "next", json_pack("{s:s, s:b}", "stage", "j", "letter", 1));
		return ctx;
	} else {
		struct digest_item it[DIGEST_NSECTIONS - 1];

		memset(it, 0, sizeof(it));
		for (int s = 0; s < DIGEST_NSECTIONS - 1; s++) {
			it[s].section = (enum digest_section)(s + 1);
			it[s].reminder_id = 1;
			it[s].number = "F";
			it[s].matter_ref = "D";
			it[s].client_name = "C";
			snprintf(it[s].currency, sizeof(it[s].currency), "EUR");
			it[s].stage = "j3";
			it[s].why = "w";
			it[s].since = 86400;
		}
		return message_digest_context(cfg, "L", it, DIGEST_NSECTIONS - 1, 86400 * 2);
	}
}

/* Load templates/LANG/lawyer_{alert,digest}.{subject,txt}, LANG being
 * firm.language. */
int
message_lawyer_load(struct message_set *ms, const struct config *cfg, char *err,
    size_t errlen)
{
	for (int k = 0; k < MESSAGE_LAWYER_KINDS; k++) {
		json_t *sample = lawyer_sample(cfg, (enum message_lawyer)k);

		for (int p = 0; p < PART_HTML; p++) {
			char path[1024], why[256];
			size_t len;
			char *text;

			config_template_path(path, sizeof(path), cfg->templates_dir,
			    cfg->firm.language, lawyer_names[k], suffixes[p]);
			if ((text = slurp(path, &len)) == NULL) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				json_decref(sample);
				return -1;
			}
			template_free(ms->lawyer[k][p]);
			ms->lawyer[k][p] = template_parse(text, len, why, sizeof(why));
			free(text);
			if (ms->lawyer[k][p] == NULL ||
			    template_check(ms->lawyer[k][p], sample, why, sizeof(why)) < 0) {
				located(err, errlen, path, why);
				json_decref(sample);
				return -1;
			}
		}
		json_decref(sample);
	}
	return 0;
}

/* Render the lawyer's mail WHICH and wrap it. */
char *
message_lawyer_compose(const struct message_set *ms, const struct config *cfg,
    enum message_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen)
{
	char *subject = NULL, *text = NULL, *out = NULL, id[256];
	GMimeMessage *m = NULL;
	InternetAddressList *from;
	GMimeObject *tp;
	GDateTime *date;

	if (ms->lawyer[which][PART_SUBJECT] == NULL || ms->lawyer[which][PART_TEXT] == NULL) {
		snprintf(err, errlen, "the lawyer's templates are not loaded");
		return NULL;
	}
	if (!message_valid_address(to_addr)) {
		snprintf(err, errlen, "the lawyer has no valid e-mail address");
		return NULL;
	}
	if ((subject = template_render(ms->lawyer[which][PART_SUBJECT], ctx, false, find_partial,
	    (void *)ms->partials[0], err, errlen)) == NULL ||
	    (text = template_render(ms->lawyer[which][PART_TEXT], ctx, false, find_partial,
	    (void *)ms->partials[0], err, errlen)) == NULL)
		goto out;
	one_line(subject);

	m = g_mime_message_new(TRUE);
	if ((from = internet_address_list_parse(NULL, cfg->smtp.from)) == NULL) {
		snprintf(err, errlen, "smtp.from is not an address");
		goto out;
	}
	internet_address_list_append(g_mime_message_get_from(m), from);
	g_object_unref(from);
	/* A name with a line break would be a header of its own: drop it. */
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO,
	    to_name != NULL && !has_control(to_name) ? to_name : NULL, to_addr);
	utf8_names(g_mime_message_get_from(m));
	utf8_names(g_mime_message_get_to(m));
	g_mime_message_set_subject(m, subject, "utf-8");
	date = g_date_time_new_from_unix_local(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(message_id + 1, ">"), message_id + 1);
	g_mime_message_set_message_id(m, id);
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	tp = text_part("plain", text);
	g_mime_message_set_mime_part(m, tp);
	g_object_unref(tp);
	out = wire_text(m, len);
out:
	if (m != NULL)
		g_object_unref(m);
	free(subject);
	free(text);
	return out;
}
