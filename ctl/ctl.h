/*
 * ctl — what dunningctl's command files share: the program's state, the
 * exit statuses, and the small helpers every command uses (ctl.c).
 */
#ifndef DUNNING_CTL_H
#define DUNNING_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "store.h"

/* Exit statuses (doc/dunningctl.1, EXIT STATUS). */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2, EX_BROKEN = 3 };

struct ctl {
	struct config *cfg;
	struct store *store;
	time_t now;
	bool clock_set;		/* --now was given */
	const struct ctl_command *command;	/* the one typed, for its usage */
};

/* One command: how it is typed, what it does, who runs it (one row of
 * dunningctl.c's table). */
struct ctl_command {
	const char *name;
	const char *args;
	const char *summary;
	int (*run)(struct ctl *c, int argc, char **argv);
	bool lawyer;		/* listed with the lawyers' commands */
};

/* Print the usage of command K to OUT. */
void ctl_command_usage(FILE *out, const struct ctl_command *k);

/* Print the usage of the current command to stderr and return EX_USAGE. */
int ctl_usage(const struct ctl *c);

/* Print "dunningctl: " and the store's error to stderr; return EX_FAIL. */
int ctl_refused(const struct ctl *c);

/* Parse a positive id; on error print why and return false. */
bool ctl_parse_id(const char *s, const char *what, int64_t *id);

/* Write S padded with spaces to WIDTH columns (UTF-8 characters, not
 * bytes), then SEP. */
void ctl_pad(const char *s, int width, const char *sep);

/* The commands (argc/argv start at the command's name). */
int cmd_dispute(struct ctl *c, int argc, char **argv);
int cmd_clear_dispute(struct ctl *c, int argc, char **argv);
int cmd_acknowledge(struct ctl *c, int argc, char **argv);
int cmd_approve(struct ctl *c, int argc, char **argv);
int cmd_reject(struct ctl *c, int argc, char **argv);
int cmd_pause(struct ctl *c, int argc, char **argv);
int cmd_pending(struct ctl *c, int argc, char **argv);
int cmd_history(struct ctl *c, int argc, char **argv);
int cmd_letter_sent(struct ctl *c, int argc, char **argv);
int cmd_agreement(struct ctl *c, int argc, char **argv);
int cmd_preview(struct ctl *c, int argc, char **argv);
int cmd_export_client(struct ctl *c, int argc, char **argv);
int cmd_purge(struct ctl *c, int argc, char **argv);
int cmd_rates(struct ctl *c, int argc, char **argv);
/* ctl/plans.c: payment plans (SPEC §2 rule 11) */
int cmd_plans(struct ctl *c, int argc, char **argv);
int cmd_plan_propose(struct ctl *c, int argc, char **argv);
int cmd_plan_decide(struct ctl *c, int argc, char **argv);
int cmd_reports(struct ctl *c, int argc, char **argv);
int cmd_report_handle(struct ctl *c, int argc, char **argv);
int cmd_import(struct ctl *c, int argc, char **argv);
int cmd_import_statement(struct ctl *c, int argc, char **argv);
int cmd_payment_assign(struct ctl *c, int argc, char **argv);

#endif
