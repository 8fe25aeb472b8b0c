/*
 * statement — dunningctl import-statement FILE [--dry-run] [--unmatched]
 * and payment-assign ENTRYREF INVOICE (SPEC §3.3): a bank statement's
 * credits become payments when they name their invoice, or when their
 * amount and the debtor's IBAN point at exactly one open invoice; the rest
 * wait in dunning.statement_entry, listed, for a person to place.  Never
 * guessed below that.
 *
 * One transaction per file: the credits are copied into a temporary table
 * and matched set-based (statement_sql.c); an entry whose reference is
 * already recorded is left alone, so a statement imported twice records
 * nothing new.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "money.h"
#include "statement.h"
#include "statement_sql.h"

/* Read all of PATH (at most STMT_MAX_BYTES); NULL with errno set. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > STMT_MAX_BYTES) {
		fclose(f);
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Print one unmatched entry: its reference, day, amount, payer,
 * remittance information, and why it was not matched. */
static void
print_unmatched(const struct stmt_sql_line *l, void *arg)
{
	(void)arg;
	printf("unmatched %s  %s  %s %s  %s", l->entry_ref, l->booked_on, l->amount,
	    l->currency, l->debtor_name ? l->debtor_name : "?");
	if (l->debtor_iban != NULL)
		printf(" %s", l->debtor_iban);
	if (l->remittance != NULL)
		printf("  « %s »", l->remittance);
	printf("\n");
	if (l->why != NULL)
		printf("    %s\n", l->why);
}

/* Print one entry matched (and paid). */
static void
print_matched(const struct stmt_sql_line *l, void *arg)
{
	(void)arg;
	printf("paid      %s  %s  %s %s  → %s (%s)\n", l->entry_ref, l->booked_on, l->amount,
	    l->currency, l->invoice_number, strcmp(l->matched_by, "number") == 0 ?
	    "its number in the transfer" : "amount and the client's IBAN");
}

/* import-statement [FILE] [--dry-run] [--unmatched] */
int
cmd_import_statement(struct ctl *c, int argc, char **argv)
{
	const char *path = NULL;
	bool dry_run = false, unmatched = false;
	struct stmt st;
	struct stmt_sql_counts n = { 0 };
	char *buf;
	size_t len;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = true;
		else if (strcmp(argv[i], "--unmatched") == 0)
			unmatched = true;
		else if (path == NULL && argv[i][0] != '-')
			path = argv[i];
		else
			return ctl_usage(c);
	}
	if (path == NULL && !unmatched)
		return ctl_usage(c);
	if (path == NULL) {
		/* the entries still waiting for a person, from every statement */
		int k = stmt_sql_each_unmatched(c->store, print_unmatched, NULL);

		if (k < 0)
			return ctl_refused(c);
		printf("%d entr%s unmatched (dunningctl payment-assign ENTRYREF INVOICE)\n", k,
		    k == 1 ? "y" : "ies");
		return EX_OK;
	}
	if ((buf = slurp(path, &len)) == NULL) {
		fprintf(stderr, "dunningctl: %s: %s\n", path, errno == EFBIG ?
		    "not a regular file of at most 256 MiB" : strerror(errno));
		return EX_FAIL;
	}
	rc = stmt_parse(buf, len, &st);
	free(buf);
	if (rc < 0) {
		fprintf(stderr, "dunningctl: %s: nothing imported: %s\n", path, st.err);
		return EX_FAIL;
	}
	if (stmt_sql_apply(c->store, &st, path, dry_run, print_matched, print_unmatched, NULL,
	    &n) < 0) {
		stmt_free(&st);
		fprintf(stderr, "dunningctl: %s: nothing imported: %s\n", path, store_error(c->store));
		return EX_FAIL;
	}
	printf("%s%s %s: %zu credit%s, %lld paid (%lld by number, %lld by amount and IBAN), "
	    "%lld unmatched, %lld already imported; %zu debit%s or pending left aside\n",
	    dry_run ? "dry run, nothing written: " : "", st.format, path, st.n,
	    st.n == 1 ? "" : "s", (long long)(n.by_number + n.by_iban), (long long)n.by_number,
	    (long long)n.by_iban, (long long)n.unmatched, (long long)n.already, st.debits,
	    st.debits == 1 ? "" : "s");
	stmt_free(&st);
	if (unmatched && !dry_run) {
		int k = stmt_sql_each_unmatched(c->store, print_unmatched, NULL);

		if (k < 0)
			return ctl_refused(c);
		printf("%d entr%s unmatched in all (dunningctl payment-assign ENTRYREF INVOICE)\n",
		    k, k == 1 ? "y" : "ies");
	}
	return EX_OK;
}

/* payment-assign ENTRYREF INVOICE */
int
cmd_payment_assign(struct ctl *c, int argc, char **argv)
{
	if (argc != 3)
		return ctl_usage(c);
	if (stmt_sql_assign(c->store, argv[1], argv[2]) < 0)
		return ctl_refused(c);
	printf("entry %s: recorded as a payment of invoice %s\n", argv[1], argv[2]);
	return EX_OK;
}
