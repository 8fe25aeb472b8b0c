/*
 * letter_content — what the formal notice says, before letter.c lays it
 * out: the client's postal block and the dated heading letter_write()
 * fills in, and every text made safe to lay out (letter_clean(), French
 * typography in the body).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <glib.h>

#include "config_templates.h"
#include "calendar.h"
#include "letter.h"
#include "letter_int.h"

#define MENTION "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION"

/* Characters that would change the layout behind the reader's back:
 * bidirectional embeddings, overrides and isolates, the BOM. */
static bool
invisible(gunichar c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Make TEXT printable: see letter.h. */
char *
letter_clean(const char *text, bool keep_lines)
{
	gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid) + 1);
	char *res;

	for (const gchar *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '\r' && keep_lines) {
			if (p[1] != '\n')
				g_string_append_c(out, '\n');
		} else if (c == '\n' || c == 0x2028 || c == 0x2029) {
			g_string_append_c(out, keep_lines ? '\n' : ' ');
		} else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
			g_string_append_c(out, ' ');
		} else if (!invisible(c)) {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
	}
	if (!keep_lines) {
		/* One line: the spaces that replaced a line break collapse. */
		size_t w = 0;

		for (size_t r = 0; r < out->len; r++)
			if (out->str[r] != ' ' || (w > 0 && out->str[w - 1] != ' '))
				out->str[w++] = out->str[r];
		while (w > 0 && out->str[w - 1] == ' ')
			w--;
		g_string_truncate(out, w);
	}
	res = strdup(out->str);
	g_string_free(out, TRUE);
	g_free(valid);
	return res;
}

/* French typography in place of the template's plain spaces: no line
 * break before ":" ";" "!" "?" "»", after "«", nor between "n°" and its
 * number.  Malloc'ed. */
static char *
french_spaces(const char *text)
{
	static const char *const glue[][2] = {
		{ " :", "\u00a0:" }, { " ;", "\u00a0;" }, { " !", "\u00a0!" },
		{ " ?", "\u00a0?" }, { " »", "\u00a0»" }, { "« ", "«\u00a0" },
		{ "n° ", "n°\u00a0" },
	};
	GString *s = g_string_new(text);
	char *res;

	for (size_t i = 0; i < sizeof(glue) / sizeof(glue[0]); i++)
		g_string_replace(s, glue[i][0], glue[i][1], 0);
	res = strdup(s->str);
	g_string_free(s, TRUE);
	return res;
}

/* Free the cleaned texts. */
void
letter_texts_free(struct letter_texts *t)
{
	free(t->firm_name);
	free(t->firm_address);
	free(t->firm_phone);
	free(t->date_line);
	free(t->mention);
	free(t->body);
	free(t->title);
	free(t->recipient);
}

/* Clean every text of L into T. */
int
letter_texts_clean(const struct letter *l, struct letter_texts *t)
{
	GString *r = g_string_new(NULL);
	char *body;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < l->nrecipient && i < LETTER_MAX_RECIPIENT; i++) {
		char *line = letter_clean(l->recipient[i], false);

		if (line != NULL && *line) {
			if (r->len > 0)
				g_string_append_c(r, '\n');
			g_string_append(r, line);
		}
		free(line);
	}
	t->recipient = strdup(r->str);
	g_string_free(r, TRUE);
	t->firm_name = letter_clean(l->firm_name, false);
	t->firm_address = letter_clean(l->firm_address, true);
	t->firm_phone = letter_clean(l->firm_phone, false);
	t->date_line = letter_clean(l->date_line, false);
	t->mention = letter_clean(l->mention, false);
	if ((body = letter_clean(l->body, true)) != NULL)
		t->body = french_spaces(body);
	free(body);
	t->title = letter_clean(l->title, false);
	if (t->recipient == NULL || t->firm_name == NULL || t->firm_address == NULL ||
	    t->firm_phone == NULL || t->date_line == NULL || t->mention == NULL ||
	    t->body == NULL || t->title == NULL) {
		letter_texts_free(t);
		return -1;
	}
	return 0;
}

/* The postal name of a country, as La Poste wants it on the last line
 * (in French, in capitals); the code itself when unknown. */
static const char *
country_name(const char *code)
{
	static const char *const names[][2] = {
		{ "BE", "BELGIQUE" }, { "CH", "SUISSE" }, { "LU", "LUXEMBOURG" },
		{ "MC", "MONACO" }, { "DE", "ALLEMAGNE" }, { "ES", "ESPAGNE" },
		{ "IT", "ITALIE" }, { "GB", "ROYAUME-UNI" }, { "NL", "PAYS-BAS" },
		{ "PT", "PORTUGAL" }, { "IE", "IRLANDE" }, { "AT", "AUTRICHE" },
		{ "US", "ÉTATS-UNIS" }, { "CA", "CANADA" }, { "AD", "ANDORRE" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(code, names[i][0]) == 0)
			return names[i][1];
	return code;
}

/* S, or "" for NULL. */
static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* The formal notice of G: see letter.h. */
int
letter_write(const struct config *cfg, const struct send_group *g, time_t now,
    const char *text, int fd, char *err, size_t errlen)
{
	struct letter l = { 0 };
	bool pro = g->kind != NULL && strcmp(g->kind, "professional") == 0;
	char *name = NULL, *person = NULL, *attn = NULL, *city = NULL, *date_line = NULL;
	char *title, day[64], dir[1100];
	struct stat st;
	const char *lang = "fr";
	int rc;

	/* The client's language when the firm ships templates in it, as
	 * templates_letter() chooses the body's. */
	config_template_path(dir, sizeof(dir), cfg->templates_dir, "en", NULL, NULL);
	if (g->language != NULL && strcmp(g->language, "en") == 0 && stat(dir, &st) == 0)
		lang = "en";
	person = g_strjoin(*nz(g->first_name) && *nz(g->last_name) ? " " : "",
	    nz(g->first_name), nz(g->last_name), NULL);
	if (pro && *nz(g->company_name)) {
		name = g_strdup(g->company_name);
		if (*person)
			attn = g_strconcat(strcmp(lang, "en") == 0 ? "For the attention of " :
			    "À l'attention de ", person, NULL);
	} else {
		name = g_strdup(*person ? person : nz(g->company_name));
	}
	l.recipient[l.nrecipient++] = name;
	if (attn != NULL)
		l.recipient[l.nrecipient++] = attn;
	l.recipient[l.nrecipient++] = nz(g->address_line1);
	l.recipient[l.nrecipient++] = nz(g->address_line2);
	city = g_strjoin(*nz(g->postal_code) && *nz(g->city) ? " " : "", nz(g->postal_code),
	    nz(g->city), NULL);
	l.recipient[l.nrecipient++] = city;
	if (*nz(g->country) && strcasecmp(g->country, "FR") != 0)
		l.recipient[l.nrecipient++] = country_name(g->country);

	cal_format_long(cal_local_day(now), lang, false, day, sizeof(day));
	date_line = strcmp(lang, "en") == 0 ? g_strdup(day) : g_strconcat("Le ", day, NULL);
	l.firm_name = cfg->firm.name;
	l.firm_address = cfg->firm.address;
	l.firm_phone = cfg->firm.phone;
	l.date_line = date_line;
	l.mention = MENTION;
	l.body = text;
	l.created = now;
	/* The subject line (the body's first line) names the document. */
	title = g_strndup(text, strcspn(text, "\n"));
	l.title = title;

	rc = letter_render(&l, fd, err, errlen);
	g_free(name);
	g_free(person);
	g_free(attn);
	g_free(city);
	g_free(date_line);
	g_free(title);
	return rc;
}
