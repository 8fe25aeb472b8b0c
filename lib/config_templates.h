/*
 * config_templates — where a template's files are (SPEC §3.4): the layout
 * DIR/LANG/NAME.EXT and its languages are written here only, for the
 * configuration's check and for the loading of the templates
 * (mail/templates.c).
 */
#ifndef DUNNING_CONFIG_TEMPLATES_H
#define DUNNING_CONFIG_TEMPLATES_H

#include <stddef.h>

/* Write into BUF (N bytes, always terminated when N > 0) the path of the
 * template file DIR/LANG/NAME.EXT ("templates/fr/j03.txt"), or of the
 * language's folder DIR/LANG when NAME is NULL.  Returns 0, or -1 when
 * the path did not fit (BUF then holds it cut short). */
/* The languages of the templates, French first (it must exist). */
#define CONFIG_TEMPLATE_NLANGS 2
extern const char *const config_template_langs[CONFIG_TEMPLATE_NLANGS];

int config_template_path(char *buf, size_t n, const char *dir, const char *lang,
    const char *name, const char *ext);

#endif
