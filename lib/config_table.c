/*
 * config_table — every key of the configuration file, declared once, in one
 * row of the tables below: its section, name, type, default, range or
 * choices, whether a change needs a restart, and where it lands in struct
 * config.  A titled section ("stage \"j3\"") lands in an array of its own
 * struct, so it has a table of its own.
 *
 * The loader (config.c) generates libconfuse's options from the rows; the
 * per-key checks (config_parse.c), the copy into struct config
 * (config_build.c), config_restart_keys() and config_free()
 * (config_object.c) read them too.  This file calls none of them.
 */
#include <stddef.h>
#include <string.h>

#include "config_int.h"

/* Where a key lands: its offset and size in struct config, or in the
 * struct of a titled section. */
#define AT(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define IN(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define NOWHERE 0, 0

#define ADDRESS_HINT "write \"Name <address@domain>\" or \"address@domain\""
#define DAYS "write 0 to 3650 (days)"

/* The choices of a text key; an enum's are in the order of its values. */
static const char *const tls_choices[] = { "none", "starttls", "tls", NULL };
static const char *const auth_choices[] = { "password", "xoauth2", "none", NULL };
static const char *const channel_choices[] = { "email", "letter", NULL };
static const char *const language_choices[] = { "fr", "en", NULL };
static const char *const separator_choices[] = { ",", ";", NULL };
static const char *const encoding_choices[] = { "utf-8", "windows-1252", NULL };
static const char *const decimal_choices[] = { ".", ",", NULL };
static const char *const date_format_choices[] = { "iso", "dd/mm/yyyy", NULL };

_Static_assert(CONFIG_TLS_NONE == 0 && CONFIG_TLS_STARTTLS == 1 && CONFIG_TLS_IMPLICIT == 2,
    "tls_choices[] follows enum config_tls");
_Static_assert(CONFIG_AUTH_PASSWORD == 0 && CONFIG_AUTH_XOAUTH2 == 1 && CONFIG_AUTH_NONE == 2,
    "auth_choices[] follows enum config_auth");
_Static_assert(CONFIG_ENCODING_UTF8 == 0 && CONFIG_ENCODING_CP1252 == 1,
    "encoding_choices[] follows enum config_encoding");
_Static_assert(CONFIG_CHANNEL_EMAIL == 0 && CONFIG_CHANNEL_LETTER == 1,
    "channel_choices[] follows enum config_channel");

/* A row names the columns that apply to its key; the others are zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/*
 * The keys of the untitled sections (SPEC §3.2), in file order.  Columns:
 * section, key, type, default (as written in the file; NULL: none), where
 * it lands, range (in the unit kept: cents, hundredths, thousandths) and
 * the hint that ends a refusal; then what applies: choices, a syntax,
 * nonempty, restart.
 */
const struct config_key config_keys[] = {
	{ "database", "conninfo", CONFIG_T_STR, "dbname=dunning user=dunning_daemon",
	  AT(conninfo), .restart = true },	/* the connection is opened once, at start */
	/* Issue 21: an idle planner's and sender's connections closed after
	 * this long, opened again when work comes (the listener's stays). */
	{ "database", "idle_close", CONFIG_T_INT, "0", AT(idle_close),
	  0, 86400, "write 0 (keep the connections) to 86400 (seconds)" },

	{ "smtp", "host", CONFIG_T_STR, "localhost", AT(smtp.host),
	  .hint = "write the mail relay's name, e.g. \"localhost\"", .nonempty = true },
	{ "smtp", "port", CONFIG_T_INT, "587", AT(smtp.port),
	  1, 65535, "write a port from 1 to 65535" },
	{ "smtp", "tls", CONFIG_T_ENUM, "starttls", AT(smtp.tls),
	  .hint = "write \"starttls\", \"tls\" (implicit) or \"none\"", .choices = tls_choices },
	{ "smtp", "ca_file", CONFIG_T_STR, "", AT(smtp.ca_file) },
	{ "smtp", "auth", CONFIG_T_ENUM, "password", AT(smtp.auth),
	  .hint = "write \"password\", \"xoauth2\" or \"none\"", .choices = auth_choices },
	{ "smtp", "username", CONFIG_T_STR, "", AT(smtp.username) },
	{ "smtp", "password_file", CONFIG_T_STR, "", AT(smtp.password_file) },
	{ "smtp", "password", CONFIG_T_REFUSED, NULL, NOWHERE,
	  .hint = "passwords do not belong in this file: use password_file or the systemd "
	  "credential smtp_password" },
	/* smtp { oauth { … } }: the token endpoint of auth = "xoauth2" */
	{ "oauth", "token_url", CONFIG_T_STR, "", AT(smtp.oauth.token_url) },
	{ "oauth", "client_id", CONFIG_T_STR, "", AT(smtp.oauth.client_id) },
	{ "oauth", "client_secret_file", CONFIG_T_STR, "", AT(smtp.oauth.client_secret_file) },
	{ "oauth", "refresh_token_file", CONFIG_T_STR, "", AT(smtp.oauth.refresh_token_file) },
	{ "oauth", "scope", CONFIG_T_STR, "", AT(smtp.oauth.scope) },
	{ "oauth", "client_secret", CONFIG_T_REFUSED, NULL, NOWHERE,
	  .hint = "secrets do not belong in this file: use client_secret_file or the systemd "
	  "credential oauth_client_secret" },
	{ "oauth", "refresh_token", CONFIG_T_REFUSED, NULL, NOWHERE,
	  .hint = "secrets do not belong in this file: use refresh_token_file or the systemd "
	  "credential oauth_refresh_token" },
	{ "smtp", "from", CONFIG_T_STR, "Cabinet <relances@cabinet.example>", AT(smtp.from),
	  .hint = ADDRESS_HINT, .format = &config_fmt_address, .nonempty = true },
	{ "smtp", "reply_to", CONFIG_T_STR, "", AT(smtp.reply_to),
	  .hint = ADDRESS_HINT, .format = &config_fmt_address },
	{ "smtp", "retry_base", CONFIG_T_INT, "300", AT(smtp.retry_base),
	  1, 86400, "write 1 to 86400 (seconds)" },
	{ "smtp", "retry_max", CONFIG_T_INT, "7200", AT(smtp.retry_max),
	  1, 604800, "write 1 to 604800 (seconds), at least retry_base" },
	{ "smtp", "max_attempts", CONFIG_T_INT, "12", AT(smtp.max_attempts),
	  0, 1000, "write 0 to 1000 (0: never give up)" },
	{ "smtp", "messages_per_session", CONFIG_T_INT, "20", AT(smtp.messages_per_session),
	  1, 1000, "write 1 to 1000" },

	{ "firm", "name", CONFIG_T_STR, "", AT(firm.name) },
	{ "firm", "address", CONFIG_T_STR, "", AT(firm.address) },
	{ "firm", "phone", CONFIG_T_STR, "", AT(firm.phone) },
	{ "firm", "signature", CONFIG_T_STR, "", AT(firm.signature) },
	{ "firm", "bar", CONFIG_T_STR, "", AT(firm.bar) },
	{ "firm", "iban", CONFIG_T_STR, "", AT(firm.iban) },
	{ "firm", "bic", CONFIG_T_STR, "", AT(firm.bic) },
	{ "firm", "mediator", CONFIG_T_STR, "", AT(firm.mediator) },
	{ "firm", "language", CONFIG_T_TEXT, "fr", AT(firm.language),
	  .hint = "write \"fr\" or \"en\"", .choices = language_choices },

	{ "schedule", "timezone", CONFIG_T_STR, "Europe/Paris", AT(schedule.timezone) },
	{ "schedule", "window_start", CONFIG_T_TIME, "09:00", AT(schedule.window_start_min),
	  .hint = "write HH:MM, e.g. \"09:00\"" },
	{ "schedule", "window_end", CONFIG_T_TIME_END, "18:00", AT(schedule.window_end_min),
	  .hint = "write HH:MM, e.g. \"09:00\"" },
	{ "schedule", "business_days_only", CONFIG_T_BOOL, "true",
	  AT(schedule.business_days_only) },
	{ "schedule", "poll_interval", CONFIG_T_INT, "60", AT(schedule.poll_interval),
	  1, 86400, "write 1 to 86400 (seconds)" },
	{ "schedule", "min_gap_days", CONFIG_T_INT, "5", AT(schedule.min_gap_days),
	  0, 3650, DAYS },
	{ "schedule", "payment_grace_hours", CONFIG_T_INT, "24", AT(schedule.payment_grace_hours),
	  0, 8760, "write 0 to 8760 (hours)" },

	{ "approval", "approval_from_stage", CONFIG_T_STAGE, "j30", AT(approval_from_stage) },

	{ "escalation", "after_days", CONFIG_T_INT, "15", AT(escalation_after_days),
	  0, 3650, DAYS },
	{ "escalation", "dispute_reminder_days", CONFIG_T_INT, "14",
	  AT(escalation_dispute_reminder_days), 0, 3650, DAYS },

	{ "interest", "multiplier", CONFIG_T_FACTOR, "1.5", AT(interest.multiplier_milli),
	  1, 100000, "write a factor above 0, at most 100, e.g. 1.5" },
	{ "interest", "start_after_days", CONFIG_T_INT, "30", AT(interest.start_after_days),
	  0, 3650, DAYS },
	{ "interest", "professional_min_multiplier", CONFIG_T_FACTOR, "0",
	  AT(interest.professional_min_milli), 0, 100000,
	  "write 0 (off) or a factor, at most 100, e.g. 3" },

	/* SPEC rule 9: invoices' PDFs are read only when switched on, only
	 * from inside dir (mail/mime.c) */
	{ "attachments", "dir", CONFIG_T_STR, "", AT(attachments.dir),
	  .hint = "write an absolute directory" },
	{ "attachments", "attach_invoice_pdf", CONFIG_T_BOOL, "false",
	  AT(attachments.attach_invoice_pdf) },

	/* SPEC §2 rule 14: days before an unpaid invoice prescribes */
	{ "prescription", "alert_days", CONFIG_T_INT_LIST, "{90, 30}",
	  AT(prescription.alert_days), 1, 3650,
	  "write positive whole numbers of days, at most 3650, at most 8 of them, "
	  "e.g. { 90, 30 }" },

	/* SPEC §2 rule 13: the lawyer told of an agreement still unsigned */
	{ "agreement", "unsigned_alert_days", CONFIG_T_INT, "10",
	  AT(agreement.unsigned_alert_days), 1, 3650,
	  "write 1 to 3650 (calendar days after the agreement was sent)" },
	/* SPEC §2 rule 11: payment plans (the daemon publishes max_instalments,
	 * interval_months and auto_accept_max to dunning.setting for SQL) */
	{ "plan", "max_instalments", CONFIG_T_INT, "3", AT(plan.max_instalments),
	  2, 12, "write 2 to 12 (instalments)" },
	{ "plan", "interval_months", CONFIG_T_INT, "1", AT(plan.interval_months),
	  1, 12, "write 1 to 12 (months between two instalments)" },
	{ "plan", "reminder_days_before", CONFIG_T_INT, "3", AT(plan.reminder_days_before),
	  0, 30, "write 0 to 30 (days before an instalment)" },
	{ "plan", "late_days", CONFIG_T_INT, "3", AT(plan.late_days),
	  1, 60, "write 1 to 60 (days after a missed instalment)" },
	{ "plan", "breach_after_days", CONFIG_T_INT, "10", AT(plan.breach_after_days),
	  1, 365, "write 1 to 365 (days after a missed instalment), more than late_days" },
	/* SPEC §2 rule 12, §3.3: dunningweb and the links in the clients' mail.
	 * listen and conninfo are dunningweb's, read at its start (it has no
	 * reload); the daemon, whose SIGHUP the restart column is for, never
	 * uses them. */
	{ "web", "listen", CONFIG_T_STR, "127.0.0.1:8080", AT(web.listen),
	  .hint = "write ADDRESS:PORT, e.g. \"127.0.0.1:8080\"", .nonempty = true },
	{ "web", "conninfo", CONFIG_T_STR, "dbname=dunning user=dunning_web", AT(web.conninfo) },
	{ "web", "base_url", CONFIG_T_STR, "", AT(web.base_url),
	  .hint = "write the page's public address, e.g. \"https://pay.cabinet.example\"" },
	{ "web", "secret_file", CONFIG_T_STR, "", AT(web.secret_file) },
	{ "web", "secret", CONFIG_T_REFUSED, NULL, NOWHERE,
	  .hint = "secrets do not belong in this file: use secret_file or the systemd "
	  "credential web_secret" },
	{ "web", "link_days", CONFIG_T_INT, "60", AT(web.link_days),
	  1, 3650, "write 1 to 3650 (days)" },
	/* dunningctl import: the firm's CSV export (SPEC §3.3) */
	{ "import", "separator", CONFIG_T_TEXT, ",", AT(import.separator),
	  .hint = "write \",\" or \";\"", .choices = separator_choices },
	{ "import", "encoding", CONFIG_T_ENUM, "utf-8", AT(import.encoding),
	  .hint = "write \"utf-8\" or \"windows-1252\"", .choices = encoding_choices },
	{ "import", "decimal_mark", CONFIG_T_TEXT, ".", AT(import.decimal_mark),
	  .hint = "write \".\" or \",\"", .choices = decimal_choices },
	{ "import", "date_format", CONFIG_T_ENUM, "iso", AT(import.date_format),
	  .hint = "write \"iso\" (2026-03-15) or \"dd/mm/yyyy\" (15/03/2026)",
	  .choices = date_format_choices },
	{ "import", "columns", CONFIG_T_STR, "", AT(import.columns),
	  .hint = "write \"number = N° facture, due_on = Échéance\": our name, =, the "
	  "export's, pairs separated by commas" },

	{ "templates", "dir", CONFIG_T_STR, "/usr/share/dunningd/templates", AT(templates_dir),
	  .hint = "write a directory", .nonempty = true },
	{ "spool", "dir", CONFIG_T_STR, "/var/spool/dunningd", AT(spool_dir),
	  .hint = "write a directory", .nonempty = true },
	{ "retention", "years", CONFIG_T_INT, "3", AT(retention_years),
	  1, 100, "write 1 to 100 (years)" },
};
const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

/* stage "NAME" { … }: one step of the escalation (struct config_stage). */
static const struct config_key stage_keys[] = {
	{ "stage", "offset_days", CONFIG_T_INT, NULL, IN(struct config_stage, offset_days),
	  1, 3650, "write 1 to 3650 (days after the due date)",
	  .need = "add e.g. offset_days = 3" },
	{ "stage", "template", CONFIG_T_TEXT, NULL, IN(struct config_stage, template_name),
	  .hint = "write 1 to 63 letters, digits, '_' or '-', e.g. \"j03\"",
	  .format = &config_fmt_template, .need = "add e.g. template = \"j03\"" },
	{ "stage", "channel", CONFIG_T_ENUM, "email", IN(struct config_stage, channel),
	  .hint = "write \"email\" or \"letter\"", .choices = channel_choices },
	{ "stage", "notify_lawyer", CONFIG_T_BOOL, "false",
	  IN(struct config_stage, notify_lawyer) },
	/* a formal notice waits unless written false: see stage_requires_approval() */
	{ "stage", "requires_approval", CONFIG_T_BOOL, "false",
	  IN(struct config_stage, requires_approval) },
};

/* threshold "CUR" { … } in approval: one currency's threshold. */
static const struct config_key threshold_keys[] = {
	{ "threshold", "amount", CONFIG_T_CENTS, NULL,
	  IN(struct config_threshold, amount_cents), 0, 100000000000000LL,
	  "write 0 or more, e.g. 5000", .need = "add e.g. amount = 5000" },
};

/* auto_accept_max "CUR" { … } in plan: a plan below it is accepted at once. */
static const struct config_key auto_accept_keys[] = {
	{ "auto_accept_max", "amount", CONFIG_T_CENTS, NULL,
	  IN(struct config_threshold, amount_cents), 0, 100000000000000LL,
	  "write 0 or more, e.g. 1500", .need = "add e.g. amount = 1500" },
};

/* legal_rate "YYYY-Hn" { … } in interest: one half-year's rates, added to
 * the shipped table (config_shipped_rates[]). */
static const struct config_key rate_keys[] = {
	{ "legal_rate", "other_cases", CONFIG_T_PERCENT, NULL,
	  IN(struct config_legal_rate, other_cases_bp), 0, 10000,
	  "write a percentage from 0 to 100, e.g. 2.62",
	  .need = "add the rate \"pour tous les autres cas\", e.g. other_cases = 2.62" },
	{ "legal_rate", "individual_creditor", CONFIG_T_PERCENT, NULL,
	  IN(struct config_legal_rate, individual_creditor_bp), 0, 10000,
	  "write a percentage from 0 to 100, e.g. 6.67",
	  .need = "add the rate for an individual creditor, e.g. individual_creditor = 6.67" },
};

#define TABLE(t) t, sizeof(t) / sizeof(t[0])

/* The sections in file order, each titled one with the SPEC's default
 * blocks, read when the file declares none of its kind (a file that
 * declares some replaces the whole list) — but legal_rate, whose rows add
 * to the shipped ones. */
const struct config_section config_sections[] = {
	{ "database", NULL },
	{ "smtp", NULL },
	{ "oauth", "smtp" },
	{ "firm", NULL },
	{ "schedule", NULL },
	{ "approval", NULL },
	{ "threshold", "approval", TABLE(threshold_keys),
	  "approval { threshold \"EUR\" { amount = 5000 } }\n" },
	{ "stage", NULL, TABLE(stage_keys),
	  "stage \"j3\"  { offset_days = 3  template = \"j03\" channel = \"email\" }\n"
	  "stage \"j10\" { offset_days = 10 template = \"j10\" channel = \"email\" }\n"
	  "stage \"j30\" { offset_days = 30 template = \"j30\" channel = \"email\""
	  " notify_lawyer = true }\n"
	  "stage \"j45\" { offset_days = 45 template = \"j45\" channel = \"letter\""
	  " requires_approval = true notify_lawyer = true }\n" },
	{ "escalation", NULL },
	{ "interest", NULL },
	/* no defaults: the shipped rows (data/legal_rates.conf) are always in
	 * force, and the file's rows add to them (config_build.c) */
	{ "legal_rate", "interest", TABLE(rate_keys) },
	{ "attachments", NULL },
	{ "prescription", NULL },
	/* agreement { stage "a1" { … } }: the same keys as an invoice's stage
	 * (one table, as config_section_find() finds a kind by its name);
	 * config_check.c refuses there all but offset_days and template */
	{ "agreement", NULL },
	{ "stage", "agreement", TABLE(stage_keys),
	  "agreement {\n"
	  "  stage \"a1\" { offset_days = 1 template = \"a01\" }\n"
	  "  stage \"a3\" { offset_days = 3 template = \"a03\" }\n"
	  "  stage \"a7\" { offset_days = 7 template = \"a07\" }\n"
	  "}\n" },
	{ "plan", NULL },
	{ "auto_accept_max", "plan", TABLE(auto_accept_keys),
	  "plan { auto_accept_max \"EUR\" { amount = 1500 } }\n" },
	{ "web", NULL },
	{ "import", NULL },
	{ "templates", NULL },
	{ "spool", NULL },
	{ "retention", NULL },
};
const size_t config_nsections = sizeof(config_sections) / sizeof(config_sections[0]);

#pragma GCC diagnostic pop

/* The section called NAME, or NULL. */
const struct config_section *
config_section_find(const char *name)
{
	for (size_t i = 0; i < config_nsections; i++)
		if (strcmp(config_sections[i].name, name) == 0)
			return &config_sections[i];
	return NULL;
}

/* The row of KEY in section SECTION, or NULL. */
const struct config_key *
config_key_find(const char *section, const char *key)
{
	const struct config_section *s = config_section_find(section);
	const struct config_key *keys = config_keys;
	size_t n = config_nkeys;

	if (s == NULL)
		return NULL;
	if (s->keys != NULL) {
		keys = s->keys;
		n = s->nkeys;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, key) == 0)
			return &keys[i];
	return NULL;
}

/* The block of the untitled section NAME in ROOT. */
cfg_t *
config_untitled(cfg_t *root, const char *name)
{
	const struct config_section *s = config_section_find(name);

	if (s != NULL && s->parent != NULL)
		root = config_untitled(root, s->parent);
	return cfg_getsec(root, name);
}
