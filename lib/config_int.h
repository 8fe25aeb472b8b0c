/*
 * config_int — what the configuration's files share and nobody else sees:
 * the tables of keys (config_table.c), the load in progress and its messages
 * (config_diag.c), the libconfuse callbacks (config_parse.c), the syntax
 * of values (config_value.c) and the checks run after the parse
 * (config_check.c, config_templates.c).
 */
#ifndef DUNNING_CONFIG_INT_H
#define DUNNING_CONFIG_INT_H

#include <confuse.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* ASCII classes, whatever the process locale. */
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
#define LOWER(c) ((c) >= 'a' && (c) <= 'z')
#define UPPER(c) ((c) >= 'A' && (c) <= 'Z')
#define ALNUM(c) (DIGIT(c) || LOWER(c) || UPPER(c))

/* How a key's value is written, and how it is kept where it lands. */
enum config_type {
	CONFIG_T_STR,		/* text, kept as a new string (char *) */
	CONFIG_T_TEXT,		/* text, copied into a char array */
	CONFIG_T_ENUM,		/* one of choices[], kept as its index (an enum) */
	CONFIG_T_TIME,		/* "HH:MM", kept as minutes after midnight (int) */
	CONFIG_T_TIME_END,	/* the same, "24:00" allowed: an exclusive end */
	CONFIG_T_BOOL,		/* true or false (bool) */
	CONFIG_T_INT,		/* a whole number (int) */
	CONFIG_T_CENTS,		/* an amount, kept in cents (int64_t) */
	CONFIG_T_PERCENT,	/* a percentage, kept in hundredths: 2.62 is 262 (int) */
	CONFIG_T_FACTOR,	/* a factor, kept in thousandths: 1.5 is 1500 (int) */
	CONFIG_T_STAGE,		/* a stage's name, kept as its index in stages[] (int) */
	CONFIG_T_REFUSED,	/* declared only to be refused, the hint saying why */
	CONFIG_T_INT_LIST,	/* { n, … } whole numbers in min..max, kept as an int
				 * array ended by 0 (at most its size - 1 of them) */
};

/* A syntax a text value must follow: refused as "KEY \"V\" is not WHAT: HINT". */
struct config_format {
	const char *what;
	bool (*ok)(const char *v);
};

/* One key of the file: one row of a table in config_table.c says all about it. */
struct config_key {
	const char *section;	/* "smtp", or the titled section's kind, "stage" */
	const char *name;
	enum config_type type;
	const char *def;	/* the default, as written in the file; NULL: none */
	size_t at, size;	/* where the value lands: offsetof, sizeof */
	long long min, max;	/* numbers: the range, in the unit kept (cents…) */
	const char *hint;	/* how to write a good value: ends each refusal */
	const char *const *choices;	/* the values allowed, NULL-terminated */
	const struct config_format *format;
	bool nonempty;		/* "" is refused ("KEY is empty: HINT") */
	bool restart;		/* a change applies only after a restart */
	const char *need;	/* no default: the key is required, and how to add it */
};

/* A section of the file, in file order.  A titled one ("stage \"j3\"")
 * lands in an array of its own struct and has its own table of keys. */
struct config_section {
	const char *name;
	const char *parent;	/* NULL: the top level */
	const struct config_key *keys;	/* titled: its table; NULL: config_keys[] */
	size_t nkeys;
	const char *defaults;	/* titled: the blocks read when the file has none */
};

/* config_table.c: the tables, for the loader, the checks and the tests,
 * and the lookups in them. */
extern const struct config_key config_keys[];
extern const size_t config_nkeys;
extern const struct config_section config_sections[];
extern const size_t config_nsections;

/* The row of KEY in section SECTION, or NULL. */
const struct config_key *config_key_find(const char *section, const char *key);
/* The section called NAME, or NULL. */
const struct config_section *config_section_find(const char *name);
/* The block of the untitled section NAME in ROOT. */
cfg_t *config_untitled(cfg_t *root, const char *name);

/* An error gathered while loading, with its line for sorting. */
struct config_msg {
	int line;
	size_t seq;
	char *text;
};

/* The line a key or a section was read on: a key is its section and its
 * index in the section's options (libconfuse may move that array when it
 * adds an unknown key, never reorder it); a section has index -1. */
struct config_mark {
	const cfg_t *sec;
	int idx;
	int line;
	bool bad;		/* value rejected: cross-key checks skip it */
};

/* How many blocks of an untitled section were read, to spot a repeat: the
 * section kind is its parent and its index there, as for a mark. */
struct config_blocks {
	const cfg_t *parent;
	int idx;
	unsigned nblocks;
};

/* The load in progress. */
struct config_ctx {
	const char *path;
	cfg_t *root;
	bool in_defaults;	/* parsing the built-in sections */
	size_t nerrors;		/* counted even when a message could not be kept */
	struct config_msg *msgs;
	size_t nmsgs;
	char **warnings;	/* "FILE:LINE: …", handed to the diag as they are */
	size_t nwarnings;
	struct config_mark *marks;
	size_t nmarks;
	struct config_blocks blocks[16];
	size_t nblocks;
	char **titles;		/* titles of closed titled blocks (config_parse.c) */
	size_t ntitles;
	const cfg_opt_t *rejected;	/* its parse callback refused the value */
	char raw[64];		/* text of the last number read, for messages */
	size_t unknown_msg;	/* message of the last unknown key, or SIZE_MAX */
	int unknown_line;
	char unknown_name[64];
};

/*
 * The one piece of module state: libconfuse's callbacks (error, parse,
 * validate) receive no user pointer, so they find the load in progress
 * here.  Set and cleared by config_load() only.
 */
extern struct config_ctx *config_now;

/* A value made safe to quote in a message: control bytes escaped, cut. */
struct config_shown {
	char s[160];
};

/* config_diag.c: messages and the lines they name. */
char *config_msg_text(const struct config_ctx *ctx, int line, const char *msg);
__attribute__((format(printf, 3, 4)))
void config_error(struct config_ctx *ctx, int line, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void config_warning(struct config_ctx *ctx, int line, const char *fmt, ...);
const char *config_show(struct config_shown *b, const char *s);
char *config_keep(struct config_ctx *ctx, const char *s);
void config_push(char ***v, size_t *n, char *text);
void config_finish(struct config_ctx *ctx, struct config_diag *diag);
int config_opt_index(const cfg_t *sec, const cfg_opt_t *opt);
struct config_mark *config_mark_find(struct config_ctx *ctx, const cfg_t *sec, int idx);
long config_mark_add(struct config_ctx *ctx, const cfg_t *sec, int idx, int line);
void config_note_open(struct config_ctx *ctx, cfg_t *sec);
int config_sec_line(struct config_ctx *ctx, const cfg_t *sec);
int config_key_line(struct config_ctx *ctx, const cfg_t *sec, const char *key);
int config_where(struct config_ctx *ctx, const cfg_t *sec, const char *key);
bool config_usable(struct config_ctx *ctx, const cfg_t *sec, const char *key);

/* config_value.c: the syntax of values. */
int config_parse_decimal(const char *s, int scale, bool whole, long long *out);
int config_parse_number(enum config_type type, const char *s, long long *out);
const char *config_number_hint(enum config_type type);
int config_parse_hhmm(const char *s, bool end);
bool config_is_name(const char *s, size_t max, bool wide);
bool config_parse_half(const char *t, int *year, int *half);
extern const struct config_format config_fmt_address, config_fmt_template;

/* config_parse.c: the callbacks hooked onto every option. */
cfg_callback_t config_parse_cb(enum config_type type);
int config_on_key(cfg_t *sec, cfg_opt_t *opt);
int config_on_section(cfg_t *parent, cfg_opt_t *opt);
void config_restore_titles(struct config_ctx *ctx, cfg_t *from);
void config_check_repeats(struct config_ctx *ctx, cfg_t *parent, const char *name);

/* config_suggest.c: libconfuse's error callback, with "did you mean". */
__attribute__((format(printf, 2, 0)))
void config_on_error(cfg_t *sec, const char *fmt, va_list ap);

/* config_read.c: the file, its comments blanked out. */
char *config_read(struct config_ctx *ctx, const char *path);

/* config_build.c: the tree copied into a new struct config, then checked;
 * NULL when any error was found. */
struct config *config_build(struct config_ctx *ctx, cfg_t *root);

/* config_check.c: the rules that span keys, run after the parse. */
void config_check(struct config_ctx *ctx, cfg_t *root, const struct config *c);

/* config_templates.c: every stage's template files exist. */
void config_check_templates(struct config_ctx *ctx, cfg_t *root, const struct config *c);

/* Read the links' keys (web.secret_file, or the systemd credential
 * web_secret) into C->web (config_web.c); a failure is kept in
 * C->web.key_error, for the programs that need a key to refuse. */
void config_web_keys(struct config *c);

#endif
