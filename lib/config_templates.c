/*
 * config_templates — the layout of the templates directory, and the check
 * that every stage's template files are there (SPEC §3.4).
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>

#include "config_int.h"
#include "config_templates.h"

const char *const config_template_langs[CONFIG_TEMPLATE_NLANGS] = { "fr", "en" };

/* The path of a template's file, or of a language's folder. */
int
config_template_path(char *buf, size_t n, const char *dir, const char *lang,
    const char *name, const char *ext)
{
	int r;

	if (name == NULL)
		r = snprintf(buf, n, "%s/%s", dir, lang);
	else
		r = snprintf(buf, n, "%s/%s/%s.%s", dir, lang, name, ext);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* Is PATH an existing directory? */
static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Check that DIR/LANG/TEMPLATE.EXT of stage ST exists; errors on LINE. */
static void
need_file(struct config_ctx *ctx, const char *dir, const char *lang,
    const struct config_stage *st, const char *ext, int line)
{
	char path[PATH_MAX];
	struct stat sb;
	struct config_shown s, p;

	if (config_template_path(path, sizeof(path), dir, lang, st->template_name, ext) < 0)
		config_error(ctx, line, "stage \"%s\": the template path is too long",
		    config_show(&s, st->name));
	else if (stat(path, &sb) != 0)
		config_error(ctx, line, "stage \"%s\": template file %s is missing: create it or "
		    "change template", config_show(&s, st->name), config_show(&p, path));
	else if (!S_ISREG(sb.st_mode))
		config_error(ctx, line, "stage \"%s\": template %s is not a file",
		    config_show(&s, st->name), config_show(&p, path));
}

/* Every stage's templates must exist in fr/ (and in en/ when it exists):
 * NAME.txt, plus NAME.subject for e-mail. */
void
config_check_templates(struct config_ctx *ctx, cfg_t *root, const struct config *c)
{
	const char *const *langs = config_template_langs;
	cfg_t *t = cfg_getsec(root, "templates");
	int dirline = config_key_line(ctx, t, "dir");
	char path[PATH_MAX];
	struct config_shown s;

	if (*c->templates_dir == '\0')
		return;
	config_template_path(path, sizeof(path), c->templates_dir, "fr", NULL, NULL);
	if (!is_dir(path)) {
		config_error(ctx, dirline, "templates dir \"%s\" has no fr/ folder: write the "
		    "folder that holds fr/ and en/", config_show(&s, c->templates_dir));
		return;
	}
	for (size_t l = 0; l < CONFIG_TEMPLATE_NLANGS; l++) {
		config_template_path(path, sizeof(path), c->templates_dir, langs[l], NULL, NULL);
		if (!is_dir(path))
			continue;
		for (size_t i = 0; i < c->nstages; i++) {
			const struct config_stage *st = &c->stages[i];
			cfg_t *sec = cfg_getnsec(root, "stage", (unsigned)i);
			int line = config_where(ctx, sec, "template");

			if (*st->template_name == '\0' || !config_usable(ctx, sec, "template"))
				continue;
			if (line == 0)
				line = dirline;
			need_file(ctx, c->templates_dir, langs[l], st, "txt", line);
			if (st->channel == CONFIG_CHANNEL_EMAIL)
				need_file(ctx, c->templates_dir, langs[l], st, "subject", line);
		}
		/* the fee agreements' reminders (rule 13): e-mails */
		for (size_t i = 0; i < c->agreement.nstages; i++) {
			const struct config_stage *st = &c->agreement.stages[i];
			cfg_t *sec = cfg_getnsec(cfg_getsec(root, "agreement"), "stage", (unsigned)i);
			int line = config_where(ctx, sec, "template");

			if (*st->template_name == '\0' || !config_usable(ctx, sec, "template"))
				continue;
			if (line == 0)
				line = dirline;
			need_file(ctx, c->templates_dir, langs[l], st, "txt", line);
			need_file(ctx, c->templates_dir, langs[l], st, "subject", line);
		}
	}
}
