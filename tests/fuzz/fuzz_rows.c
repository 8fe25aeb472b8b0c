/*
 * fuzz_rows — the readers that turn a result row's texts into the
 * pipeline's structs (pipeline/rows.h): the planner's facts of an invoice
 * with its list of reminders (plan.c), and the sender's client, invoice
 * and payment rows (load.c).  The rows are built in memory
 * (PQmakeEmptyPGresult, PQsetvalue): no database.
 *
 * Byte 0: the reader — 0 the facts (19 columns), 1 an invoice (13), 2 a
 * client (14), 3 payments (3 columns a row, byte 1 % 8 + 1 rows, for
 * invoice 1 + byte 1 / 8 % 3).  Then the texts, separated by NUL bytes;
 * a text of the single byte 0xff is SQL NULL, a missing one empty.
 *
 * Checked: no crash, leak or UB; a row is read only when every number,
 * epoch, date, amount, boolean and word in it is well formed as
 * PostgreSQL writes it (integers: an optional "-" and digits, in range;
 * epochs within timestamptz's range; booleans "t" or "f"; the status and
 * currency words of the schema; each reminder "id stage state scheduled
 * sent decided rejected retry" with single spaces, the last two 0 or 1),
 * and then every field holds what the text says, checked against
 * parsers written here; else the row is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "calendar.h"
#include "config.h"
#include "money.h"
#include "rows.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_rows: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

#ifndef FUZZ_TEMPLATES
#define FUZZ_TEMPLATES "templates"
#endif

#define MAXF 40

/* PostgreSQL's timestamptz range in epoch seconds (4713 BC, 294276 AD). */
#define EPOCH_MIN (-210866803200LL)
#define EPOCH_MAX 9224318015999LL

static struct config *cfg;

/* The reference readers. */
static bool
ref_i64(const char *s, int64_t *v)
{
	bool neg = false;
	int64_t r = 0;

	if (s == NULL)
		return false;
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (__builtin_mul_overflow(r, 10, &r) ||
		    __builtin_add_overflow(r, neg ? -(*s - '0') : *s - '0', &r))
			return false;
	}
	*v = r;
	return true;
}

static bool
ref_epoch(const char *s, int64_t *v)
{
	return ref_i64(s, v) && *v >= EPOCH_MIN && *v <= EPOCH_MAX;
}

static bool
ref_bool(const char *s, bool *v)
{
	if (s == NULL || (strcmp(s, "t") != 0 && strcmp(s, "f") != 0))
		return false;
	*v = *s == 't';
	return true;
}

static bool
ref_date(const char *s, cal_day *d)
{
	return s != NULL && (*d = cal_parse(s)) != CAL_NONE;
}

static bool
ref_money(const char *s, int64_t *c)
{
	return s != NULL && money_parse(s, c) == 0;
}

/* The same text, or both NULL. */
static bool
same(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* A result of NROWS rows of NCOLS text columns, from V (NULL: SQL NULL). */
static PGresult *
result(int nrows, int ncols, char **v)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc at[MAXF];
	char names[MAXF][8];

	memset(at, 0, sizeof(at));
	for (int c = 0; c < ncols; c++) {
		snprintf(names[c], sizeof(names[c]), "c%d", c);
		at[c].name = names[c];
		at[c].typid = 25;
		at[c].typlen = -1;
		at[c].atttypmod = -1;
	}
	if (res == NULL || !PQsetResultAttrs(res, ncols, at))
		FAIL("harness: PQsetResultAttrs");
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++) {
			char *x = v[r * ncols + c];

			if (!PQsetvalue(res, r, c, x, x != NULL ? (int)strlen(x) : -1))
				FAIL("harness: PQsetvalue");
		}
	return res;
}

/* One reminder of the facts' list as the reference reads it. */
static bool
ref_reminder(char *tok, struct policy_reminder *r)
{
	char *v[9];
	int64_t n[9];
	int st = -1;
	static const char *const states[] = { "planned", "held", "approved", "sending", "sent",
		"failed", "cancelled", "in_doubt" };

	for (int k = 0; k < 9; k++)
		if ((v[k] = strsep(&tok, " ")) == NULL)
			return false;
	if (tok != NULL || *v[1] == '\0')
		return false;
	if (!ref_i64(v[0], &n[0]) || !ref_epoch(v[3], &n[3]) || !ref_epoch(v[4], &n[4]) ||
	    !ref_epoch(v[5], &n[5]) || (strcmp(v[6], "0") != 0 && strcmp(v[6], "1") != 0) ||
	    (strcmp(v[7], "0") != 0 && strcmp(v[7], "1") != 0) || !ref_epoch(v[8], &n[8]))
		return false;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(v[2], states[i]) == 0 && reminder_state_parse(v[2]) >= 0)
			st = reminder_state_parse(v[2]);
	if (st < 0)
		return false;
	*r = (struct policy_reminder){ .id = n[0], .stage = config_stage_index(cfg, v[1]),
	    .state = (enum reminder_state)st, .scheduled_for = (time_t)n[3],
	    .sent_at = (time_t)n[4], .decided_at = (time_t)n[5], .rejected = *v[6] == '1',
	    .retry = *v[7] == '1', .posted_at = (time_t)n[8] };
	return true;
}

/* Mode 0: the planner's facts. */
static void
facts(char **v)
{
	PGresult *res = result(1, 19, v);
	struct policy_facts want, got;
	bool ok = true;
	int64_t n;

	memset(&want, 0, sizeof(want));
	ok &= ref_i64(v[0], &want.invoice_id);
	ok &= ref_i64(v[2], &want.client_id);
	ok &= ref_date(v[3], &want.due_on);
	ok &= ref_money(v[4], &want.balance_cents);
	ok &= v[5] != NULL && strlen(v[5]) == 3 && strspn(v[5], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3;
	if (ok)
		memcpy(want.currency, v[5], 4);
	if (same(v[6], "open"))
		want.status = INV_OPEN;
	else if (same(v[6], "cancelled"))
		want.status = INV_CANCELLED;
	else if (same(v[6], "written_off"))
		want.status = INV_WRITTEN_OFF;
	else
		ok = false;
	ok &= ref_bool(v[7], &want.disputed);
	ok &= ref_epoch(v[8], &n);
	want.dispute_cleared_at = (time_t)n;
	want.invoice_paused_until = CAL_NONE;
	want.client_paused_until = CAL_NONE;
	if (v[9] != NULL)
		ok &= ref_date(v[9], &want.invoice_paused_until);
	if (v[10] != NULL)
		ok &= ref_date(v[10], &want.client_paused_until);
	ok &= ref_bool(v[11], &want.strategic);
	ok &= ref_epoch(v[12], &n);
	want.last_payment_at = (time_t)n;
	ok &= ref_bool(v[13], &want.escalated);
	if (v[15] != NULL) {
		ok &= ref_epoch(v[15], &n);
		want.next_look = (time_t)n;
	}
	ok &= ref_bool(v[16], &want.plan_active);
	ok &= ref_epoch(v[17], &n);
	want.plan_ended_at = (time_t)n;
	ok &= ref_bool(v[18], &want.reported);
	if (ok && v[14] != NULL) {
		char *list = strdup(v[14]), *save = NULL;

		for (char *tok = strtok_r(list, ";", &save); tok != NULL && ok;
		    tok = strtok_r(NULL, ";", &save))
			ok = want.nreminders < CONFIG_MAX_STAGES &&
			    ref_reminder(tok, &want.reminders[want.nreminders++]);
		free(list);
	}

	if (plan_parse_facts(cfg, res, 0, &got) == 0) {
		if (!ok)
			FAIL("facts with a malformed column are read");
		if (got.invoice_id != want.invoice_id || got.client_id != want.client_id ||
		    got.due_on != want.due_on || got.balance_cents != want.balance_cents ||
		    strcmp(got.currency, want.currency) != 0 || got.status != want.status ||
		    got.disputed != want.disputed ||
		    got.dispute_cleared_at != want.dispute_cleared_at ||
		    got.invoice_paused_until != want.invoice_paused_until ||
		    got.client_paused_until != want.client_paused_until ||
		    got.strategic != want.strategic || got.last_payment_at != want.last_payment_at ||
		    got.escalated != want.escalated || got.next_look != want.next_look ||
		    got.plan_active != want.plan_active || got.plan_ended_at != want.plan_ended_at ||
		    got.reported != want.reported ||
		    got.nreminders != want.nreminders)
			FAIL("the facts read are not what the row says");
		for (int i = 0; i < got.nreminders; i++) {
			const struct policy_reminder *a = &got.reminders[i], *b = &want.reminders[i];

			if (a->id != b->id || a->stage != b->stage || a->state != b->state ||
			    a->scheduled_for != b->scheduled_for || a->sent_at != b->sent_at ||
			    a->decided_at != b->decided_at || a->rejected != b->rejected ||
			    a->retry != b->retry || a->posted_at != b->posted_at)
				FAIL("a reminder read is not what the list says");
		}
	} else if (ok) {
		FAIL("well-formed facts are refused");
	}
	PQclear(res);
}

/* Mode 1: an invoice of a message. */
static void
item(char **v)
{
	PGresult *res = result(1, 13, v);
	struct send_item it, want;
	struct send_group g = { .items = &it };
	bool ok = true;
	int64_t n = 0;
	int rc;

	memset(&it, 0, sizeof(it));
	memset(&want, 0, sizeof(want));
	ok &= ref_i64(v[0], &want.reminder_id);
	ok &= ref_i64(v[1], &want.invoice_id);
	ok &= ref_date(v[5], &want.issued_on);
	ok &= ref_date(v[6], &want.due_on);
	ok &= ref_money(v[7], &want.amount_cents);
	ok &= ref_money(v[8], &want.balance_cents);
	ok &= ref_i64(v[9], &n) && n >= 0 && n <= INT32_MAX;
	want.attempts = (int)n;
	ok &= ref_bool(v[10], &want.approved);
	rc = load_fill_item(res, 0, &g, &it);
	if (rc == 0) {
		if (!ok)
			FAIL("an invoice row with a malformed column is read");
		if (it.reminder_id != want.reminder_id || it.invoice_id != want.invoice_id ||
		    it.issued_on != want.issued_on || it.due_on != want.due_on ||
		    it.amount_cents != want.amount_cents || it.balance_cents != want.balance_cents ||
		    it.attempts != want.attempts || it.approved != want.approved ||
		    !same(it.number, v[2]) || !same(it.matter_ref, v[3]) ||
		    !same(it.payment_url, v[4]) || !same(g.message_id, v[11]) ||
		    !same(it.pdf_path, v[12] != NULL && *v[12] ? v[12] : NULL))
			FAIL("the invoice read is not what the row says");
	} else if (ok) {
		FAIL("a well-formed invoice row is refused");
	}
	free(it.number);
	free(it.matter_ref);
	free(it.payment_url);
	free(it.pdf_path);
	free(g.message_id);
	PQclear(res);
}

/* Mode 2: the client and the lawyer. */
static void
client(char **v)
{
	PGresult *res = result(1, 14, v);
	struct send_group g;
	int64_t id;
	bool ok = ref_i64(v[0], &id);
	char **s[] = { &g.kind, &g.first_name, &g.last_name, &g.company_name, &g.email,
		&g.language, &g.address_line1, &g.address_line2, &g.postal_code, &g.city,
		&g.country, &g.lawyer_name, &g.lawyer_email };
	const int ns = (int)(sizeof(s) / sizeof(s[0]));

	memset(&g, 0, sizeof(g));
	if (load_fill_client(res, 0, &g) == 0) {
		if (!ok)
			FAIL("a client row with a malformed id is read");
		if (g.client_id != id)
			FAIL("the client's id read is not the row's");
		for (int i = 0; i < ns; i++)
			if (!same(*s[i], v[1 + i]))
				FAIL("a client's text read is not the row's");
	} else if (ok) {
		FAIL("a well-formed client row is refused");
	}
	for (int i = 0; i < ns; i++)
		free(*s[i]);
	PQclear(res);
}

/* Mode 3: the payments of one invoice among rows of several. */
static void
payments(uint8_t b1, char **v)
{
	int nrows = b1 % 8 + 1;
	PGresult *res = result(nrows, 3, v);
	struct send_item it = { .invoice_id = 1 + b1 / 8 % 3 };
	struct interest_payment want[8];
	size_t nwant = 0;
	bool ok = true;

	for (int r = 0; r < nrows && ok; r++) {
		int64_t inv, t, c;

		if (!ref_i64(v[3 * r], &inv)) {
			ok = false;
			break;
		}
		if (inv != it.invoice_id)
			continue;
		ok = ref_epoch(v[3 * r + 1], &t) && ref_money(v[3 * r + 2], &c);
		if (ok)
			want[nwant++] = (struct interest_payment){ .on = cal_local_day((time_t)t),
			    .cents = c };
	}
	if (load_item_payments(res, &it) == 0) {
		if (!ok)
			FAIL("payments with a malformed column are read");
		if (it.npayments != nwant)
			FAIL("not as many payments read as the rows hold");
		for (size_t i = 0; i < nwant; i++)
			if (it.payments[i].on != want[i].on || it.payments[i].cents != want[i].cents)
				FAIL("a payment read is not what its row says");
	} else if (ok) {
		FAIL("well-formed payments are refused");
	}
	free(it.payments);
	PQclear(res);
}

static void
setup(void)
{
	char path[] = "/tmp/fuzz_rows.XXXXXX";
	struct config_diag diag = { 0 };
	int fd = mkstemp(path);
	static const char conf[] =
	    "database { conninfo = \"dbname=firm\" }\n"
	    "smtp { host = \"localhost\" from = \"relances@cabinet.example\" }\n"
	    "firm { name = \"Cabinet\" address = \"1 rue\" phone = \"01\" signature = \"M\" }\n"
	    "stage \"j3\"  { offset_days = 3  template = \"j03\" }\n"
	    "stage \"j10\" { offset_days = 10 template = \"j10\" }\n"
	    "stage \"j30\" { offset_days = 30 template = \"j30\" }\n"
	    "templates { dir = \"%s\" }\n";
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (f == NULL || fprintf(f, conf, FUZZ_TEMPLATES) < 0 || fclose(f) != 0)
		FAIL("harness: setup");
	cfg = config_load(path, &diag);
	remove(path);
	if (cfg == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "fuzz_rows: %s\n", diag.errors[i]);
		FAIL("harness: setup");
	}
	config_diag_free(&diag);
	cal_set_timezone("Europe/Paris");
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *v[MAXF], *p;

	if (cfg == NULL)
		setup();
	if (size < 2 || size > 4096)
		return 0;
	buf = malloc(size - 1);
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	p = buf;
	for (int i = 0; i < MAXF; i++) {
		v[i] = strcmp(p, "\xff") == 0 ? NULL : p;
		p += strlen(p);
		if (p < buf + size - 2)
			p++;
	}
	switch (data[0] % 4) {
	case 0:
		facts(v);
		break;
	case 1:
		item(v);
		break;
	case 2:
		client(v);
		break;
	default:
		payments(data[1], v);
		break;
	}
	free(buf);
	return 0;
}
