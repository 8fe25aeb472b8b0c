/*
 * letter_content — what the formal notice says, before letter.c lays it
 * out: the client's postal block and the dated heading letter_write()
 * fills in.
 */
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <glib.h>

#include "config_templates.h"
#include "calendar.h"
#include "letter.h"

#define MENTION "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION"

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
