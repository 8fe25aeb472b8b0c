/*
 * templates — loading and checking the firm's templates, and rendering
 * them: the stages' messages and letters, the lawyer's alert and digest.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>

#include "calendar.h"
#include "config_templates.h"
#include "context.h"
#include "file.h"
#include "template.h"
#include "templates.h"
#include "typo.h"

#define NLANGS CONFIG_TEMPLATE_NLANGS
#define MAX_PARTIALS 16

static const char *const *const langs = config_template_langs;
static const char *const suffixes[TEMPLATES_NPARTS] = { "subject", "txt", "html" };

struct partial {
	char name[64];
	char *text;
};

struct templates {
	bool have[NLANGS];
	struct template *tpl[NLANGS][CONFIG_MAX_STAGES][TEMPLATES_NPARTS];
	char name[CONFIG_MAX_STAGES][64];	/* each stage's template, for errors */
	/* the fee agreements' reminders (rule 13): subject, text, HTML */
	struct template *agr[NLANGS][CONFIG_MAX_AGREEMENT_STAGES][TEMPLATES_NPARTS];
	char agr_name[CONFIG_MAX_AGREEMENT_STAGES][64];
	struct partial partials[NLANGS][MAX_PARTIALS];
	int npartials[NLANGS];
	/* the lawyer's mail, French: templates_lawyer_load() */
	struct template *lawyer[TEMPLATES_LAWYER_KINDS][TEMPLATES_HTML];
	bool lawyer_fr;		/* ...in French (firm.language) */
	/* the plans' reminders: templates_plan_load() */
	struct template *plan[NLANGS][TEMPLATES_PLAN_KINDS][TEMPLATES_HTML];
};

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

/* Is TEXT, read from PATH, UTF-8?  If not, ERR names the line: a byte that
 * is not UTF-8 would reach the message (and its copy in the database, which
 * refuses it) as is.  0, or -1. */
static int
utf8_text(const char *path, const char *text, char *err, size_t errlen)
{
	const gchar *end;
	unsigned line = 1;

	if (g_utf8_validate(text, -1, &end))
		return 0;
	for (const char *p = text; p < end; p++)
		line += *p == '\n';
	snprintf(err, errlen, "%s:%u: not UTF-8 text (byte 0x%02x): save the file as UTF-8",
	    path, line, (unsigned char)*end);
	return -1;
}

/* Load the partials of DIR into MS for language L. */
static int
load_partials(struct templates *ts, int l, const char *dir, char *err, size_t errlen)
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
		if (ts->npartials[l] == MAX_PARTIALS || n - 5 >= sizeof(p->name)) {
			snprintf(err, errlen, "%s: too many partials or name too long", dir);
			rc = -1;
			break;
		}
		p = &ts->partials[l][ts->npartials[l]];
		snprintf(p->name, sizeof(p->name), "%.*s", (int)(n - 5), e->d_name + 1);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((p->text = file_read(path, NULL)) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		ts->npartials[l]++;
		if (utf8_text(path, p->text, err, errlen) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	return rc;
}

/* ERR = "PATH:12: no field "x" in the message context" for the template's
 * unknown field x on line 12, "PATH:N: why" for any other error on line N:
 * the file and line an operator opens. */
static void
located(char *err, size_t errlen, const char *path, const struct template_error *te)
{
	char why[256];

	if (te->line == 0 || te->partial[0] != '\0')
		snprintf(err, errlen, "%s: %s", path, template_error_text(te, why, sizeof(why)));
	else if (te->kind == TEMPLATE_ERR_UNKNOWN_FIELD)
		snprintf(err, errlen, "%s:%u: no field \"%s\" in the message context", path,
		    te->line, te->name);
	else
		snprintf(err, errlen, "%s:%u: %s", path, te->line,
		    template_error_why(te, why, sizeof(why)));
}

/* Partials are fetched at render time, so template_check cannot see
 * into them: parse and check each one on its own. */
static int
check_partials(const struct templates *ts, int l, const char *dir, json_t *sample,
    char *err, size_t errlen)
{
	for (int i = 0; i < ts->npartials[l]; i++) {
		const struct partial *p = &ts->partials[l][i];
		struct template_error te;
		struct template *t = template_parse(p->text, strlen(p->text), &te);

		if (t == NULL || template_check(t, sample, &te) < 0) {
			char path[1024];

			snprintf(path, sizeof(path), "%s/_%s.txt", dir, p->name);
			located(err, errlen, path, &te);
			template_free(t);
			return -1;
		}
		template_free(t);
	}
	return 0;
}

/* The schema the templates are checked against: the context
 * context_client builds, in language LANG, for a group with every optional
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
	return context_client(cfg, &g, cal_local_time(cal_from_ymd(2026, 3, 3), 600));
}

/* The template file at PATH into *OUT: read, refused unless UTF-8 (its
 * line named), parsed, its names checked against SAMPLE.  0; 1 when there
 * is no such file (ERR says so: the caller decides whether it was
 * needed); -1 with ERR naming the file and line. */
static int
load_file(const char *path, const json_t *sample, struct template **out, char *err,
    size_t errlen)
{
	struct template_error te;
	size_t len;
	char *text;

	*out = NULL;
	if ((text = file_read(path, &len)) == NULL) {
		int missing = errno == ENOENT;

		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return missing ? 1 : -1;
	}
	if (utf8_text(path, text, err, errlen) < 0) {
		free(text);
		return -1;
	}
	*out = template_parse(text, len, &te);
	free(text);
	if (*out == NULL || template_check(*out, sample, &te) < 0) {
		located(err, errlen, path, &te);
		template_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Parse and check one template file; a missing optional part is fine. */
static int
load_one(struct templates *ts, const struct config *cfg, int l, int s, enum templates_part p,
    char *err, size_t errlen)
{
	char path[1024];
	const char *name = cfg->stages[s].template_name;
	bool needed = p == TEMPLATES_TEXT ||
	    (p == TEMPLATES_SUBJECT && cfg->stages[s].channel == CONFIG_CHANNEL_EMAIL);
	json_t *sample = sample_context(cfg, s, langs[l]);
	int rc;

	config_template_path(path, sizeof(path), cfg->templates_dir, langs[l], name, suffixes[p]);
	snprintf(ts->name[s], sizeof(ts->name[s]), "%s", name);
	rc = load_file(path, sample, &ts->tpl[l][s][p], err, errlen);
	json_decref(sample);
	return rc == 1 && !needed ? 0 : rc == 0 ? 0 : -1;
}

/* The context an agreement's templates are checked against: every field
 * context_agreement gives. */
static json_t *
agreement_sample(const struct config *cfg, int stage, const char *lang)
{
	struct agreement_mail a = { .stage = stage, .message_id = "<x@example>",
	    .kind = "professional", .first_name = "A", .last_name = "B", .company_name = "C",
	    .email = "c@example.org", .language = lang, .lawyer_name = "L",
	    .lawyer_email = "l@example.org", .signature_url = "https://sign.example/1",
	    .sent_on = cal_from_ymd(2026, 3, 2) };

	return context_agreement(cfg, &a, cal_local_time(cal_from_ymd(2026, 3, 3), 600));
}

/* Parse and check part P of agreement stage S in language L: the subject
 * and text are required, the HTML optional. */
static int
load_agreement(struct templates *ts, const struct config *cfg, int l, int s,
    enum templates_part p, char *err, size_t errlen)
{
	char path[1024];
	const char *name = cfg->agreement.stages[s].template_name;
	json_t *sample = agreement_sample(cfg, s, langs[l]);
	int rc;

	config_template_path(path, sizeof(path), cfg->templates_dir, langs[l], name, suffixes[p]);
	snprintf(ts->agr_name[s], sizeof(ts->agr_name[s]), "%s", name);
	rc = load_file(path, sample, &ts->agr[l][s][p], err, errlen);
	json_decref(sample);
	return rc == 1 && p == TEMPLATES_HTML ? 0 : rc == 0 ? 0 : -1;
}

/* Load every language directory present; French is required. */
struct templates *
templates_load(const struct config *cfg, char *err, size_t errlen)
{
	struct templates *ts = calloc(1, sizeof(*ts));
	struct stat st;

	if (ts == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Every program that composes loads its templates first, before any
	 * thread composes: GMime is set up here. */
	g_mime_init();
	for (int l = 0; l < NLANGS; l++) {
		char dir[1024];

		config_template_path(dir, sizeof(dir), cfg->templates_dir, langs[l], NULL, NULL);
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (l == 0) {
				snprintf(err, errlen, "%s: no French templates", dir);
				goto fail;
			}
			continue;
		}
		ts->have[l] = true;
		if (load_partials(ts, l, dir, err, errlen) < 0)
			goto fail;
		if (cfg->nstages > 0) {
			json_t *sample = sample_context(cfg, 0, langs[l]);
			int bad = check_partials(ts, l, dir, sample, err, errlen);

			json_decref(sample);
			if (bad < 0)
				goto fail;
		}
		for (size_t s = 0; s < cfg->nstages; s++)
			for (int p = 0; p < TEMPLATES_NPARTS; p++)
				if (load_one(ts, cfg, l, (int)s, (enum templates_part)p, err, errlen) < 0)
					goto fail;
		for (size_t s = 0; s < cfg->agreement.nstages; s++)
			for (int p = 0; p < TEMPLATES_NPARTS; p++)
				if (load_agreement(ts, cfg, l, (int)s, (enum templates_part)p, err,
				    errlen) < 0)
					goto fail;
	}
	return ts;
fail:
	templates_free(ts);
	return NULL;
}

/* Free the templates and partials. */
void
templates_free(struct templates *ts)
{
	if (ts == NULL)
		return;
	for (int l = 0; l < NLANGS; l++) {
		for (int s = 0; s < CONFIG_MAX_STAGES; s++)
			for (int p = 0; p < TEMPLATES_NPARTS; p++)
				template_free(ts->tpl[l][s][p]);
		for (int s = 0; s < CONFIG_MAX_AGREEMENT_STAGES; s++)
			for (int p = 0; p < TEMPLATES_NPARTS; p++)
				template_free(ts->agr[l][s][p]);
		for (int i = 0; i < ts->npartials[l]; i++)
			free(ts->partials[l][i].text);
	}
	for (int k = 0; k < TEMPLATES_LAWYER_KINDS; k++)
		for (int p = 0; p < TEMPLATES_HTML; p++)
			template_free(ts->lawyer[k][p]);
	for (int l = 0; l < NLANGS; l++)
		for (int k = 0; k < TEMPLATES_PLAN_KINDS; k++)
			for (int p = 0; p < TEMPLATES_HTML; p++)
				template_free(ts->plan[l][k][p]);
	free(ts);
}

/* OUT, a text just rendered, with French typography when FR (typo.h):
 * the one place every French text passes, the client's and the
 * lawyer's, subject, text, HTML and letter alike.  OUT is consumed; NULL
 * with ERR set when out of memory. */
static char *
typography(char *out, bool fr, bool markup, char *err, size_t errlen)
{
	char *t;

	if (out == NULL || !fr)
		return out;
	if ((t = typo_french(out, markup)) == NULL)
		snprintf(err, errlen, "out of memory");
	free(out);
	return t;
}

/* Index of the message's language, falling back to French when the
 * firm ships no set for it. */
static int
lang_index(const struct templates *ts, const struct send_group *g)
{
	if (g->language != NULL && strcmp(g->language, "en") == 0 && ts->have[1])
		return 1;
	return 0;
}

/* Render part P for G; HTML escapes for the HTML part only. */
char *
templates_render(const struct templates *ts, const struct send_group *g, enum templates_part p,
    json_t *ctx, char *err, size_t errlen)
{
	int l = lang_index(ts, g);
	const struct template *t = ts->tpl[l][g->stage][p];
	struct template_error te;
	char *out;

	if (t == NULL)
		return NULL;
	/* Which template failed, for the operator: a render refused for its
	 * work (TEMPLATE_MAX_STEPS) is a template to fix, not a datum. */
	if ((out = template_render(t, ctx, p == TEMPLATES_HTML, find_partial,
	    (void *)ts->partials[l], &te)) == NULL) {
		char why[300];

		snprintf(err, errlen, "template %s/%s.%s: %s", langs[l], ts->name[g->stage],
		    suffixes[p], template_error_text(&te, why, sizeof(why)));
	}
	return typography(out, l == 0, p == TEMPLATES_HTML, err, errlen);
}

/* Part P of agreement stage STAGE in LANGUAGE (French when the firm
 * ships no English set), rendered with CTX. */
char *
templates_agreement_render(const struct templates *ts, const char *language, int stage,
    enum templates_part p, json_t *ctx, char *err, size_t errlen)
{
	int l = language != NULL && strcmp(language, "en") == 0 && ts->have[1] ? 1 : 0;
	const struct template *t;
	struct template_error te;
	char *out;

	if (stage < 0 || stage >= CONFIG_MAX_AGREEMENT_STAGES ||
	    (t = ts->agr[l][stage][p]) == NULL) {
		if (p != TEMPLATES_HTML)
			snprintf(err, errlen, "no template for the agreement's stage");
		return NULL;
	}
	if ((out = template_render(t, ctx, p == TEMPLATES_HTML, find_partial,
	    (void *)ts->partials[l], &te)) == NULL) {
		char why[300];

		snprintf(err, errlen, "template %s/%s.%s: %s", langs[l], ts->agr_name[stage],
		    suffixes[p], template_error_text(&te, why, sizeof(why)));
	}
	return typography(out, l == 0, p == TEMPLATES_HTML, err, errlen);
}

/* The letter: the text template rendered, as a document. */
char *
templates_letter(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, char *err, size_t errlen)
{
	json_t *ctx = context_client(cfg, g, now);
	char *text = templates_render(ts, g, TEMPLATES_TEXT, ctx, err, errlen);

	json_decref(ctx);
	return text;
}

/* ---- the lawyer's mail ------------------------------------------------ */

static const char *const lawyer_names[TEMPLATES_LAWYER_KINDS] = { "lawyer_alert",
	"lawyer_digest" };

/* Contexts with every field present, to check the templates against. */
static json_t *
lawyer_sample(const struct config *cfg, enum templates_lawyer which)
{
	if (which == TEMPLATES_LAWYER_ALERT) {
		struct lawyer_alert a = { .id = 1, .kind = "stage_sent", .lawyer_id = 1,
		    .lawyer_name = "L", .lawyer_email = "l@example.org", .invoice_id = 1,
		    .reminder_id = 1, .client_name = "C", .attempts = 1 };
		json_t *ctx, *presc;

		a.details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:[{s:s, s:s, s:s, s:s}]}",
		    "stage", "j3", "path", "/p", "why", "w", "prescribes_on", "1970-03-03",
		    "category", "other", "report_id", 1, "invoices",
		    "number", "F", "matter_ref", "D", "balance", "1.00", "currency", "EUR");
		ctx = context_alert(cfg, &a, 86400);
		/* the prescription's fields, as an alert of that kind has them */
		snprintf(a.kind, sizeof(a.kind), "prescription");
		presc = context_alert(cfg, &a, 86400);
		json_object_set(ctx, "prescription", json_object_get(presc, "prescription"));
		json_decref(presc);
		/* and a client report's (rule 12) */
		snprintf(a.kind, sizeof(a.kind), "client_report");
		presc = context_alert(cfg, &a, 86400);
		json_object_set(ctx, "report", json_object_get(presc, "report"));
		json_decref(presc);
		json_decref(a.details);
		/* "next" may be false for the last stage: check it as an object. */
		json_object_set_new(ctx, "next", json_pack("{s:s, s:b}", "stage", "j", "letter", 1));
		/* a 'legal_aid' alert's fields (024), checked as an object too */
		json_object_set_new(ctx, "legal_aid", json_pack("{s:b, s:b, s:b, s:b, s:I, s:s, "
		    "s:s, s:s}", "signed", 1, "soon", 1, "deadline", 1, "last", 1, "agreement",
		    (json_int_t)1, "matter_ref", "D", "signed_on", "1", "last_day", "2"));
		/* an 'agreement_unsigned' alert's (025) */
		json_object_set_new(ctx, "agreement", json_pack("{s:b, s:b, s:I, s:i, s:s, s:s, "
		    "s:s}", "unsigned", 1, "failed", 1, "agreement", (json_int_t)1, "days", 10,
		    "matter_ref", "D", "stage", "a1", "sent_on", "1"));
		/* a plan's alert (026), checked as an object */
		json_object_set_new(ctx, "plan", json_pack("{s:b, s:b, s:I, s:I, s:b, s:I, s:I, "
		    "s:b, s:b, s:b, s:s, s:s, s:s, s:s}", "proposed", 1, "broken", 1, "id",
		    (json_int_t)1, "instalments", (json_int_t)3, "by_client", 1, "breach_days",
		    (json_int_t)10, "min_gap", (json_int_t)5, "threshold", 1, "broken_before", 1,
		    "no_threshold", 1, "total", "1", "paid", "1", "late", "1", "first_due", "1"));
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
			it[s].why = REASON_RELAY_REFUSED;
			it[s].detail = "w";
			it[s].since = 86400;
			it[s].signed_on = 1;
			it[s].last_day = 16;
		}
		return context_digest(cfg, "L", it, DIGEST_NSECTIONS - 1, "audit head 1:00", 86400 * 2);
	}
}

/* Load templates/LANG/lawyer_{alert,digest}.{subject,txt}, LANG being
 * firm.language. */
int
templates_lawyer_load(struct templates *ts, const struct config *cfg, char *err,
    size_t errlen)
{
	ts->lawyer_fr = strcmp(cfg->firm.language, "fr") == 0;
	for (int k = 0; k < TEMPLATES_LAWYER_KINDS; k++) {
		json_t *sample = lawyer_sample(cfg, (enum templates_lawyer)k);

		for (int p = 0; p < TEMPLATES_HTML; p++) {
			char path[1024];

			config_template_path(path, sizeof(path), cfg->templates_dir,
			    cfg->firm.language, lawyer_names[k], suffixes[p]);
			template_free(ts->lawyer[k][p]);
			if (load_file(path, sample, &ts->lawyer[k][p], err, errlen) != 0) {
				json_decref(sample);
				return -1;
			}
		}
		json_decref(sample);
	}
	return 0;
}

/* Are the lawyer's subject and text of WHICH there to render? */
bool
templates_lawyer_loaded(const struct templates *ts, enum templates_lawyer which)
{
	return ts->lawyer[which][TEMPLATES_SUBJECT] != NULL &&
	    ts->lawyer[which][TEMPLATES_TEXT] != NULL;
}

/* Part P of the lawyer's mail WHICH; its partials are the French ones. */
char *
templates_lawyer_render(const struct templates *ts, enum templates_lawyer which,
    enum templates_part p, json_t *ctx, char *err, size_t errlen)
{
	struct template_error te;
	char *out;

	if ((out = template_render(ts->lawyer[which][p], ctx, false, find_partial,
	    (void *)ts->partials[0], &te)) == NULL) {
		char why[300];

		snprintf(err, errlen, "template %s.%s: %s", lawyer_names[which], suffixes[p],
		    template_error_text(&te, why, sizeof(why)));
	}
	return typography(out, ts->lawyer_fr, false, err, errlen);
}

/* ---- the plans' reminders (SPEC §2 rule 11) ------------------------------- */

static const char *const plan_names[TEMPLATES_PLAN_KINDS] = { "plan_due", "plan_late" };

/* The sample the plans' templates are checked against, in LANG. */
static json_t *
plan_sample(const struct config *cfg, const char *lang, bool late)
{
	char code[8];
	struct plan_notice n = { .id = 1, .plan_id = 1, .seq = 2, .ninstalments = 3,
	    .late = late, .client_name = "C", .email = "c@example.org", .language = code,
	    .lawyer_name = "L", .lawyer_email = "l@example.org", .invoices = "F-0001, F-0002",
	    .several = true, .currency = "EUR", .amount_cents = 30000,
	    .remaining_cents = 60000, .due_on = cal_from_ymd(2026, 3, 3), .attempts = 1 };

	snprintf(code, sizeof(code), "%s", lang);
	return context_plan(cfg, &n, cal_local_time(cal_from_ymd(2026, 3, 1), 600));
}

/* Load templates/LANG/plan_{due,late}.{subject,txt} of every language
 * present. */
int
templates_plan_load(struct templates *ts, const struct config *cfg, char *err, size_t errlen)
{
	for (int l = 0; l < NLANGS; l++) {
		if (!ts->have[l])
			continue;
		for (int k = 0; k < TEMPLATES_PLAN_KINDS; k++) {
			json_t *sample = plan_sample(cfg, langs[l], k == TEMPLATES_PLAN_LATE);

			for (int p = 0; p < TEMPLATES_HTML; p++) {
				char path[1024];
				int rc;

				config_template_path(path, sizeof(path), cfg->templates_dir, langs[l],
				    plan_names[k], suffixes[p]);
				template_free(ts->plan[l][k][p]);
				if ((rc = load_file(path, sample, &ts->plan[l][k][p], err, errlen)) == 1 &&
				    l > 0)
					continue;	/* French instead */
				if (rc != 0) {
					json_decref(sample);
					return -1;
				}
			}
			json_decref(sample);
		}
	}
	return 0;
}

/* Part P of the plan reminder WHICH in LANG (French when LANG has none). */
char *
templates_plan_render(const struct templates *ts, enum templates_plan which, const char *lang,
    enum templates_part p, json_t *ctx, char *err, size_t errlen)
{
	int l = lang != NULL && strcmp(lang, "en") == 0 && ts->have[1] &&
	    ts->plan[1][which][TEMPLATES_SUBJECT] != NULL &&
	    ts->plan[1][which][TEMPLATES_TEXT] != NULL ? 1 : 0;
	struct template_error te;
	char *out;

	if (ts->plan[l][which][p] == NULL) {
		snprintf(err, errlen, "template %s/%s.%s is not loaded", langs[l], plan_names[which],
		    suffixes[p]);
		return NULL;
	}
	if ((out = template_render(ts->plan[l][which][p], ctx, false, find_partial,
	    (void *)ts->partials[l], &te)) == NULL) {
		char why[300];

		snprintf(err, errlen, "template %s/%s.%s: %s", langs[l], plan_names[which],
		    suffixes[p], template_error_text(&te, why, sizeof(why)));
	}
	return typography(out, l == 0, false, err, errlen);
}
