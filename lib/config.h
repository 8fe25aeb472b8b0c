/*
 * config — the operator's configuration file (libconfuse), validated and
 * turned into an immutable struct config.  SPEC §3.2 is the contract for the
 * keys; every option is declared once, with its default, in config_table.c.
 */
#ifndef DUNNING_CONFIG_H
#define DUNNING_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "token.h"

#define CONFIG_MAX_STAGES 8
#define CONFIG_MAX_ALERT_DAYS 8	/* prescription.alert_days */
#define CONFIG_MAX_AGREEMENT_STAGES 4	/* agreement { stage … } */

enum config_tls {
	CONFIG_TLS_NONE,
	CONFIG_TLS_STARTTLS,
	CONFIG_TLS_IMPLICIT,
};

/* How the daemon signs in to the relay (smtp.auth). */
enum config_auth {
	CONFIG_AUTH_PASSWORD,	/* AUTH PLAIN or LOGIN when username is set */
	CONFIG_AUTH_XOAUTH2,	/* AUTH XOAUTH2 with a token from smtp.oauth */
	CONFIG_AUTH_NONE,	/* no AUTH, even with a username */
};

enum config_encoding {
	CONFIG_ENCODING_UTF8,
	CONFIG_ENCODING_CP1252,
};

enum config_channel {
	CONFIG_CHANNEL_EMAIL,
	CONFIG_CHANNEL_LETTER,
};

struct config_stage {
	char name[32];		/* "j3": the title of the stage section */
	int offset_days;	/* calendar days after the due date */
	char template_name[64];	/* "j03": templates/LANG/j03.{subject,txt,html} */
	enum config_channel channel;
	bool notify_lawyer;
	bool requires_approval;
};

struct config_threshold {
	char currency[4];	/* ISO 4217, upper case */
	int64_t amount_cents;
};

/* One row of the legal-rate table: a half-year and its two rates, in
 * hundredths of a percent (2.62 % is 262). */
struct config_legal_rate {
	int year;
	int half;		/* 1 (January–June) or 2 (July–December) */
	int other_cases_bp;	/* "pour tous les autres cas": the firm as creditor */
	int individual_creditor_bp;
	int line;		/* 0: shipped; else its line in the configuration file */
	const struct config_legal_rate *replaces;	/* the shipped row of its half-year */
};

/* The rows shipped with this release, sorted (data/legal_rates.conf, built
 * in by data/embed_rates.py): the configuration adds to them (SPEC §2.1). */
extern const struct config_legal_rate config_shipped_rates[];
extern const size_t config_nshipped_rates;

struct config {
	char *path;		/* the file it was read from */

	char *conninfo;
	int idle_close;		/* seconds; 0: the planner and sender keep theirs */

	struct {
		char *host;
		int port;
		enum config_tls tls;
		char *ca_file;	/* "" = system trust store */
		enum config_auth auth;
		char *username;
		char *password_file;
		/* auth = "xoauth2": where the access token comes from (RFC 6749) */
		struct {
			char *token_url;	/* https://, or http:// to a loopback host */
			char *client_id;
			char *client_secret_file;	/* "" = credential oauth_client_secret */
			char *refresh_token_file;	/* "" = credential oauth_refresh_token */
			char *scope;	/* "" = none sent */
		} oauth;
		char *from;
		char *reply_to;	/* "" = the responsible lawyer */
		int retry_base;	/* seconds before the first retry of a 4xx, doubled after */
		int retry_max;	/* seconds: the cap of that doubling wait */
		int max_attempts;	/* failed attempts before "failed"; 0 = never */
		int messages_per_session;	/* messages sent on one connection before QUIT */
	} smtp;

	struct {
		char *name;
		char *address;
		char *phone;
		char *signature;
		char *bar;		/* « barreau de Paris »: the formal notice (SPEC §2.1) */
		char *iban, *bic;	/* shown for payment by transfer; "" none */
		char *mediator;	/* the consumer mediator, named to individuals */
		char language[3];	/* "fr" or "en": the lawyers' alerts and digest */
	} firm;

	struct {
		char *timezone;
		int window_start_min;	/* minutes after local midnight */
		int window_end_min;	/* exclusive */
		bool business_days_only;
		int poll_interval;	/* seconds */
		int min_gap_days;
		int payment_grace_hours;
	} schedule;

	int approval_from_stage;	/* index into stages[] */
	struct config_threshold *thresholds;
	size_t nthresholds;

	struct config_stage stages[CONFIG_MAX_STAGES];	/* in file order, offsets increasing */
	size_t nstages;

	int escalation_after_days;
	int escalation_dispute_reminder_days;	/* the digest lists disputes this old */

	struct {
		int multiplier_milli;	/* 1.5 is 1500 */
		int start_after_days;
		/* SPEC §2.1: the floor for professional clients, 0 off */
		int professional_min_milli;
		struct config_legal_rate *rates;	/* sorted by (year, half) */
		size_t nrates;
	} interest;

	/* SPEC §2 rule 14: the lawyer is told this many days before an unpaid
	 * invoice prescribes, each threshold once per period; ended by 0 */
	struct {
		int alert_days[CONFIG_MAX_ALERT_DAYS + 1];
	} prescription;

	/* SPEC §2 rule 13: the chase of fee agreements sent and not signed,
	 * each stage offset_days calendar days after sent_on (its template an
	 * e-mail; channel, notify_lawyer and requires_approval refused), then
	 * the lawyer told unsigned_alert_days calendar days after sent_on */
	struct {
		struct config_stage stages[CONFIG_MAX_AGREEMENT_STAGES];	/* offsets increasing */
		size_t nstages;
		int unsigned_alert_days;
	} agreement;
	/* SPEC §2 rule 11: payment plans */
	struct {
		int max_instalments;
		int interval_months;
		struct config_threshold *auto_accept;	/* auto_accept_max per currency */
		size_t nauto_accept;
		int reminder_days_before;
		int late_days;
		int breach_after_days;
	} plan;
	/* SPEC §2 rule 12: the clients' page (dunningweb) and its links */
	struct {
		char *listen;	/* ADDRESS:PORT */
		char *conninfo;	/* dunningweb's own connection, role dunning_web */
		char *base_url;	/* "" = no links in messages, dunningweb refuses to start */
		char *secret_file;	/* "" = the systemd credential web_secret */
		int link_days;	/* a link works this many days after its message */
		/* The links' keys, read from secret_file or the credential at
		 * each load (config_web.c): the current one first; 0 keys and
		 * the reason in key_error when there is none to be had. */
		struct token_key keys[2];
		int nkeys;
		char key_error[256];
	} web;

	/* SPEC rule 9: the invoices' PDFs, off unless switched on */
	struct {
		char *dir;	/* absolute; pdf_path must resolve inside it */
		bool attach_invoice_pdf;
	} attachments;

	/* dunningctl import: how the firm's CSV export is written */
	struct {
		char separator[2];	/* "," or ";" */
		int encoding;		/* enum config_encoding */
		char decimal_mark[2];	/* "." or "," */
		int date_format;	/* enum csv_date_format: 0 ISO, 1 dd/mm/yyyy */
		char *columns;		/* "ours = theirs, …": the export's names */
	} import;

	char *templates_dir;
	char *spool_dir;
	int retention_years;
};

/* Errors and warnings gathered while loading: one line each, already
 * formatted as "FILE:LINE: message" where a line is known. */
struct config_diag {
	char **errors;
	size_t nerrors;
	char **warnings;
	size_t nwarnings;
};

/* Parse and validate PATH.  Returns the configuration, or NULL with every
 * error in DIAG (never just the first).  Warnings may be set either way. */
struct config *config_load(const char *path, struct config_diag *diag);

/* Warnings that depend on the date: the legal-rate half-year of NOW missing. */
void config_check_date(const struct config *cfg, time_t now, struct config_diag *diag);

/* The link of rule 12 to the page of client CLIENT's invoices
 * INVOICES[0..N) of a message of stage STAGE composed at NOW, into OUT (N
 * bytes): web.base_url/r/TOKEN.  0, or -1 when base_url is empty, there
 * is no key or the link does not fit (config_web.c). */
int config_web_link(const struct config *cfg, int stage, int64_t client,
    const int64_t *invoices, size_t ninvoices, time_t now, char *out, size_t n);

/* Index of the stage called NAME, or -1. */
int config_stage_index(const struct config *cfg, const char *name);

/* Index of the fee agreements' stage called NAME, or -1. */
int config_agreement_stage_index(const struct config *cfg, const char *name);

/* Approval threshold for CURRENCY in cents, or -1 when none is configured
 * (SPEC §2 rule 5: treated as above the threshold). */
int64_t config_threshold(const struct config *cfg, const char *currency);

/* Write into BUF (N bytes, always terminated when N > 0) the keys that
 * differ between OLD and CUR but take effect only after a restart, as
 * "database.conninfo, ..."; returns how many (BUF may be cut short).
 * On SIGHUP the daemon logs them: the rest of CUR applies at once. */
int config_restart_keys(const struct config *old, const struct config *cur, char *buf,
    size_t n);

void config_free(struct config *cfg);
void config_diag_free(struct config_diag *diag);

#endif
