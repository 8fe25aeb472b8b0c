/*
 * fuzz_letter — the formal notice as a PDF (mail/letter.c,
 * mail/letter_content.c) with hostile data: Cairo and Pango lay out
 * whatever the database holds.
 *
 * Byte 0: bit 0 the mode — 0: a client's letter as the sender makes it
 * (templates_letter with the shipped j45 template, then letter_write),
 * from the client's names, address, country, language, invoices; 1:
 * letter_render of a letter whose every text comes from the input (the
 * body's blocks, list items, indented lines and signature included).
 * Mode 0: bit 1 a professional client, bit 2 English, bits 3-4 the
 * number of invoices less one, bit 5 partly paid, bits 6-7 the amount's
 * scale; bytes 1-2 the amount.  Then texts separated by NUL bytes: first
 * name, last name, company, address lines 1 and 2, postal code, city,
 * country, invoice number, matter reference (mode 0); firm name, address,
 * phone, date line, mention, title, body, then up to 8 recipient lines
 * (mode 1).
 *
 * Checked: no crash, leak or UB; every letter renders (nothing can fail
 * writing to memory); the output is a PDF ("%PDF-" ... "%%EOF") with as
 * many pages as letter_render says (the measuring pass and the drawing
 * pass break the same lines).  FUZZ_LETTER_DUMP=FILE writes the last PDF
 * to FILE.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "check.h"
#include "config.h"
#include "letter.h"
#include "templates.h"

#ifndef FUZZ_TEMPLATES
#define FUZZ_TEMPLATES "templates"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_letter: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

#define NFIELDS 15

static const time_t fuzz_now = 1773136800;	/* 2026-03-10 10:00 Paris */
static struct config *cfg;
static struct templates *ms;
static char tmp[64] = "/tmp/fuzz_letter.XXXXXX", conf_path[128];

static const char fuzz_conf[] =
    "database { conninfo = \"dbname=firm\" }\n"
    "smtp { host = \"localhost\" from = \"Cabinet Martin <relances@cabinet.example>\" }\n"
    "firm { name = \"Cabinet Martin & Associés\" address = \"1 rue de la Paix, 75002 Paris\"\n"
    "  phone = \"01 23 45 67 89\" signature = \"Maître Martin\" }\n"
    "schedule { timezone = \"Europe/Paris\" }\n"
    "stage \"j3\"  { offset_days = 3  template = \"j03\" }\n"
    "stage \"j10\" { offset_days = 10 template = \"j10\" }\n"
    "stage \"j30\" { offset_days = 30 template = \"j30\" }\n"
    "stage \"j45\" { offset_days = 45 template = \"j45\" channel = \"letter\" }\n"
    "escalation { after_days = 15 }\n"
    "interest { multiplier = 1.5\n"
    "  legal_rate \"2025-H1\" { other_cases = 3.71 individual_creditor = 7.21 }\n"
    "  legal_rate \"2025-H2\" { other_cases = 2.76 individual_creditor = 6.65 }\n"
    "  legal_rate \"2026-H1\" { other_cases = 2.62 individual_creditor = 6.67 } }\n"
    "templates { dir = \"%s\" }\n";

static void
cleanup(void)
{
	remove(conf_path);
	remove(tmp);
}

static void
setup(void)
{
	const char *dir = getenv("DUNNING_TEMPLATES");
	struct config_diag diag = { 0 };
	char err[512];
	FILE *f;

	if (mkdtemp(tmp) == NULL)
		FAIL("harness: setup");
	atexit(cleanup);
	snprintf(conf_path, sizeof(conf_path), "%s/dunningd.conf", tmp);
	if ((f = fopen(conf_path, "w")) == NULL ||
	    fprintf(f, fuzz_conf, dir != NULL ? dir : FUZZ_TEMPLATES) < 0 || fclose(f) != 0)
		FAIL("harness: setup");
	if ((cfg = config_load(conf_path, &diag)) == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "fuzz_letter: %s\n", diag.errors[i]);
		FAIL("harness: setup");
	}
	config_diag_free(&diag);
	cal_set_timezone("Europe/Paris");
	if ((ms = templates_load(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_letter: %s\n", err);
		FAIL("harness: setup");
	}
}

/* The page objects among the N bytes of P: lines starting "<< /Type /Page"
 * not followed by "s", as Cairo writes them.  At the start of a line
 * only: the Title and Author, one line each, hold the input's text. */
static int
count_pages(const char *p, size_t n)
{
	static const char pat[] = "\n<< /Type /Page";
	const size_t len = sizeof(pat) - 1;
	int count = 0;

	for (const char *q = p; (q = memmem(q, n - (size_t)(q - p), pat, len)) != NULL; q += len)
		if ((size_t)(q - p) + len < n && q[len] != 's')
			count++;
	return count;
}

/* The PDF in FD, for PAGES pages. */
static void
check_pdf(int fd, int pages, const char *err)
{
	struct stat st;
	char *pdf;

	if (pages < 1) {
		fprintf(stderr, "fuzz_letter: %s\n", err);
		FAIL("a letter does not render");
	}
	if (fstat(fd, &st) != 0 || st.st_size < 16)
		FAIL("no PDF written");
	if ((pdf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
		FAIL("harness: mmap");
	if (getenv("FUZZ_LETTER_DUMP") != NULL) {
		FILE *out = fopen(getenv("FUZZ_LETTER_DUMP"), "wb");

		if (out == NULL || fwrite(pdf, 1, (size_t)st.st_size, out) != (size_t)st.st_size ||
		    fclose(out) != 0)
			FAIL("harness: cannot write FUZZ_LETTER_DUMP");
	}
	if (memcmp(pdf, "%PDF-", 5) != 0)
		FAIL("the output does not start with %PDF-");
	if (memmem(pdf + st.st_size - 16, 16, "%%EOF", 5) == NULL)
		FAIL("the output does not end with %%EOF");
	if (count_pages(pdf, (size_t)st.st_size) != pages) {
		fprintf(stderr, "fuzz_letter: %d pages drawn, %d said\n",
		    count_pages(pdf, (size_t)st.st_size), pages);
		FAIL("the pages drawn are not the pages counted");
	}
	munmap(pdf, (size_t)st.st_size);
}

/* Mode 0: the sender's letter to a client. */
static void
client(const uint8_t *data, char **f, int fd)
{
	struct send_item it[4];
	struct send_group g = { .currency = "EUR", .message_id = "<dunning.1.j45@cabinet.example>",
		.client_id = 1, .items = it, .stage = 3 };
	int64_t amount = ((int64_t)data[1] << 8 | data[2]) * (int64_t[]){ 1, 100, 10007,
	    1000003 }[data[0] >> 6];
	char err[512] = "", *text;

	g.nitems = 1 + ((data[0] >> 3) & 3);
	g.kind = data[0] & 2 ? "professional" : "individual";
	g.language = data[0] & 4 ? "en" : "fr";
	g.first_name = f[0];
	g.last_name = f[1];
	g.company_name = f[2];
	g.address_line1 = f[3];
	g.address_line2 = f[4];
	g.postal_code = f[5];
	g.city = f[6];
	g.country = f[7];
	g.email = "client@example.org";
	g.lawyer_name = "Maître Martin";
	g.lawyer_email = "martin@cabinet.example";
	for (size_t i = 0; i < g.nitems; i++) {
		it[i] = (struct send_item){ .reminder_id = 1 + (int64_t)i,
		    .invoice_id = 1 + (int64_t)i, .number = f[8], .matter_ref = f[9],
		    .amount_cents = amount + (int64_t)i,
		    .balance_cents = data[0] & 0x20 ? (amount + (int64_t)i) / 3 : amount + (int64_t)i,
		    .attempts = 1 };
		it[i].issued_on = cal_from_ymd(2025, 1, 1) + 40 * (int)i;
		it[i].due_on = it[i].issued_on + 30;
	}
	if (check_group(&g, cfg) != REASON_NONE)
		return;
	if ((text = templates_letter(ms, cfg, &g, fuzz_now, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_letter: %s\n", err);
		FAIL("no letter text for a group check_group accepts");
	}
	check_pdf(fd, letter_write(cfg, &g, fuzz_now, text, fd, err, sizeof(err)), err);
	free(text);
}

/* Mode 1: every text from the input. */
static void
render(char **f, int nrecipient, int fd)
{
	struct letter l = { .firm_name = f[0], .firm_address = f[1], .firm_phone = f[2],
		.date_line = f[3], .mention = *f[4] ? f[4] : NULL, .title = *f[5] ? f[5] : NULL,
		.body = f[6], .created = fuzz_now, .nrecipient = (size_t)nrecipient };
	char err[512] = "";

	for (int i = 0; i < nrecipient; i++)
		l.recipient[i] = f[7 + i];
	check_pdf(fd, letter_render(&l, fd, err, sizeof(err)), err);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[NFIELDS], *p;
	size_t off = 3;
	int fd, nf = 0;

	if (cfg == NULL)
		setup();
	if (size < off || size > 4096)
		return 0;
	if ((buf = malloc(size - off + 1)) == NULL)
		return 0;
	memcpy(buf, data + off, size - off);
	buf[size - off] = '\0';
	p = buf;
	for (int i = 0; i < NFIELDS; i++) {
		f[i] = p;
		if (p < buf + size - off)
			nf = i + 1;
		p += strlen(p);
		if (p < buf + size - off)
			p++;
	}
	if ((fd = memfd_create("fuzz_letter", MFD_CLOEXEC)) < 0)
		FAIL("harness: memfd_create");
	if (data[0] & 1)
		render(f, nf > 7 ? (nf - 7 > 8 ? 8 : nf - 7) : 0, fd);
	else
		client(data, f, fd);
	close(fd);
	free(buf);
	return 0;
}
