/*
 * fuzz_message — mail/ with hostile data: the client's mail (RFC 2047
 * names and subjects, HTML alternative, PDF attachment), the letter, the
 * lawyer's alert and digest, and the template field check of
 * templates_load.
 *
 * Input: two flag bytes, then fields separated by NUL bytes (see enum
 * field).  Byte 0: bits 0-1 the mode (client mail, letter, lawyer mail,
 * template check), bit 2 a professional client (a digest for the lawyer),
 * bit 3 English, bits 4-5 the stage, bits 6-7 the attachment (none, a
 * missing file, a small real file, a directory).  Byte 1: bit 0 two
 * invoices, bit 1 partly paid, bit 2 a configured Reply-To, bits 3-4 the
 * alert's kind, bits 5-7 the issue date.
 *
 * What is checked on every mail composed (what mime.c and SPEC §3.5
 * promise): no NUL; CRLF line ends only; a header block of printable
 * ASCII, of our headers only, From, To, Subject... once each (no header
 * injection); header lines of at most 78 characters (998 for the lawyer's
 * mail, which folds with GMime alone), but for a line that holds a long
 * address; the message parses back with GMime, To is the one address it
 * was sent to, and the decoded name and subject are what was rendered.
 * A group check_group accepts composes (unless its PDF is unusable).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "calendar.h"
#include "check.h"
#include "config.h"
#include "context.h"
#include "mime.h"
#include "templates.h"

#ifndef FUZZ_TEMPLATES
#define FUZZ_TEMPLATES "templates"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then crash for libFuzzer. */
#define FAIL(why) do { fprintf(stderr, "fuzz_message: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

enum mode { M_CLIENT, M_LETTER, M_LAWYER, M_CHECK };
enum field { F_FIRST, F_LAST, F_COMPANY, F_EMAIL, F_NUMBER, F_REF, F_URL, F_LNAME, F_LEMAIL,
	F_ADDR1, F_CITY, NFIELDS };

static const time_t fuzz_now = 1773136800;	/* 2026-03-10 10:00 Paris */
static struct config *cfg;
static struct templates *ms;
static char tmp[64] = "/tmp/fuzz_message.XXXXXX";
static char pdf_real[128], pdf_missing[128], check_dir[128];
static char reply_to[] = "compta@cabinet.example", *reply_none;	/* smtp.reply_to */

/* The configuration: four stages, the last a letter, legal rates around
 * the issue dates, the invoices' PDFs attached from tmp; loaded by
 * config_load, so with its defaults. */
static const char fuzz_conf[] =
    "database { conninfo = \"dbname=firm\" }\n"
    "smtp { host = \"localhost\" from = \"Cabinet Martin & Associés <relances@cabinet.example>\" }\n"
    "firm { name = \"Cabinet Martin\" address = \"1 rue de la Paix, 75002 Paris\"\n"
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
    "templates { dir = \"%s\" }\n"
    "attachments { dir = \"%s\" attach_invoice_pdf = true }\n";

/* Write LEN bytes of DATA to PATH, or abort: the harness is broken. */
static void
put(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		FAIL("harness: cannot write a file");
}

/* With FUZZ_MESSAGE_DUMP=FILE in the environment, the last message
 * composed goes to FILE, to look at what an input makes. */
static void
dump(const char *out, size_t len)
{
	const char *path = getenv("FUZZ_MESSAGE_DUMP");

	if (path != NULL)
		put(path, out, len);
}

/* Remove what setup made (at exit: a replay leaves nothing behind). */
static void
cleanup(void)
{
	static const char *const files[] = { "facture.pdf", "dunningd.conf", "tpl/fr/j03.txt",
		"tpl/fr/j03.subject", "tpl/fr/_p.txt", "tpl/fr", "tpl", "" };
	char path[192];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, files[i]);
		remove(path);
	}
}

/* The configuration, the shipped templates, the files the PDF cases use. */
static void
setup(void)
{
	const char *dir = getenv("DUNNING_TEMPLATES");
	struct config_diag diag = { 0 };
	char err[512], path[192], *text;
	int n;

	if (mkdtemp(tmp) == NULL)
		FAIL("harness: setup");
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/dunningd.conf", tmp);
	if ((n = asprintf(&text, fuzz_conf, dir != NULL ? dir : FUZZ_TEMPLATES, tmp)) < 0)
		FAIL("harness: setup");
	put(path, text, (size_t)n);
	free(text);
	if ((cfg = config_load(path, &diag)) == NULL) {
		for (size_t i = 0; i < diag.nerrors; i++)
			fprintf(stderr, "fuzz_message: %s\n", diag.errors[i]);
		FAIL("harness: setup");
	}
	config_diag_free(&diag);
	reply_none = cfg->smtp.reply_to;
	cal_set_timezone("Europe/Paris");
	if ((ms = templates_load(cfg, err, sizeof(err))) == NULL ||
	    templates_lawyer_load(ms, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_message: %s\n", err);
		FAIL("harness: setup");
	}
	/* A small "PDF", a path to nothing, a template tree to check. */
	snprintf(pdf_real, sizeof(pdf_real), "%s/facture.pdf", tmp);
	put(pdf_real, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n", 40);
	snprintf(pdf_missing, sizeof(pdf_missing), "%s/absent.pdf", tmp);
	snprintf(check_dir, sizeof(check_dir), "%s/tpl", tmp);
	snprintf(path, sizeof(path), "%s/fr", check_dir);
	if (mkdir(check_dir, 0700) != 0 || mkdir(path, 0700) != 0)
		FAIL("harness: setup");
	snprintf(path, sizeof(path), "%s/fr/j03.txt", check_dir);
	put(path, "{{salutation}}\n", 15);
}

/* Is header line LINE (LEN bytes, no CRLF) one that holds ADDR, which
 * cannot be folded: then it may be as long as the address needs. */
static bool
holds(const char *line, size_t len, const char *addr)
{
	size_t n = addr != NULL ? strlen(addr) : 0;

	if (n == 0 || len > n + 14)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(line + i, addr, n) == 0)
			return true;
	return false;
}

/* Is LINE a header of ours: NAME ":" with NAME from the list? */
static const char *
header_name(const char *line, size_t len)
{
	static const char *const ours[] = { "From", "To", "Reply-To", "Subject", "Date",
		"Message-Id", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
		"Auto-Submitted" };

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		size_t n = strlen(ours[i]);

		if (len > n && strncasecmp(line, ours[i], n) == 0 && line[n] == ':')
			return ours[i];
	}
	return NULL;
}

/* Compare A and B with all white space left out. */
static bool
same_words(const char *a, const char *b)
{
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	for (;;) {
		while (isspace((unsigned char)*a))
			a++;
		while (isspace((unsigned char)*b))
			b++;
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		a++;
		b++;
	}
}

/* The invariants of the header block of OUT (LEN bytes). */
static void
check_headers(const char *out, size_t len, size_t maxline, const char *addr, const char *addr2)
{
	const char *end, *line, *nl, *name;
	int seen[6] = { 0 };
	static const char *const once[6] = { "From", "To", "Subject", "Date", "Message-Id",
		"MIME-Version" };

	if (strlen(out) != len)
		FAIL("a NUL in the message");
	if ((end = strstr(out, "\r\n\r\n")) == NULL)
		FAIL("no end of the header block");
	for (line = out; line <= end; line = nl + 2) {
		size_t n;

		nl = strstr(line, "\r\n");
		n = (size_t)(nl - line);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)line[i] < 0x20 ? line[i] != '\t' :
			    (unsigned char)line[i] > 0x7e)
				FAIL("bare CR or LF, a control, 8-bit");
		if (n > 998 || (n > maxline && !holds(line, n, addr) && !holds(line, n, addr2)))
			FAIL("a line too long");
		if (line[0] == ' ' || line[0] == '\t') {
			if (line == out)
				FAIL("a fold before the first header");
			continue;	/* folded */
		}
		if ((name = header_name(line, n)) == NULL)
			FAIL("a header we did not write");
		for (int i = 0; i < 6; i++)
			if (strcmp(name, once[i]) == 0 && ++seen[i] > 1)
				FAIL("twice");
	}
	for (int i = 0; i < 6; i++)
		if (seen[i] != 1)
			FAIL("From, To, Subject, Date, Message-Id or MIME-Version missing");
}

/* Header value RAW decoded as RFC 2047 says, each encoded word on its own
 * (UTF-8, B or Q), white space left out: what same_words compares.
 * GMime's own decoder is not used for this: it joins adjacent words of
 * one charset before decoding, and drops what follows a word that ends in
 * base64 padding.  Malloc'ed. */
static char *
decoded(const char *raw)
{
	GString *o = g_string_new(NULL);

	while (*raw) {
		const char *q1, *q2, *end;

		if (isspace((unsigned char)*raw)) {
			raw++;
			continue;
		}
		if (strncmp(raw, "=?", 2) != 0 || (q1 = strchr(raw + 2, '?')) == NULL ||
		    q1[1] == '\0' || q1[2] != '?' || (end = strstr(q1 + 3, "?=")) == NULL ||
		    (q2 = memchr(raw + 2, ' ', (size_t)(end - raw))) != NULL) {
			g_string_append_c(o, *raw++);
			continue;
		}
		if (toupper((unsigned char)q1[1]) == 'B') {
			char *t = g_strndup(q1 + 3, (size_t)(end - q1 - 3));
			gsize n;
			guchar *b = g_base64_decode(t, &n);

			g_string_append_len(o, (const char *)b, (gssize)n);
			g_free(b);
			g_free(t);
		} else {
			for (const char *c = q1 + 3; c < end; c++) {
				if (*c == '=' && isxdigit((unsigned char)c[1]) &&
				    isxdigit((unsigned char)c[2])) {
					g_string_append_c(o, (char)(g_ascii_xdigit_value(c[1]) * 16 +
					    g_ascii_xdigit_value(c[2])));
					c += 2;
				} else {
					g_string_append_c(o, *c == '_' ? ' ' : *c);
				}
			}
		}
		raw = end + 2;
	}
	return g_string_free(o, FALSE);
}

/* OUT parsed back with GMime: one To, ADDR; the name in To decodes to
 * NAME and the Subject to SUBJECT (both as sent when valid UTF-8). */
static void
check_parse(const char *out, size_t len, const char *addr, const char *name,
    const char *subject)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(out, len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	GMimeHeaderList *hl;
	InternetAddressList *to;
	InternetAddress *ia;
	const char *raw;
	char *d;

	if (m == NULL)
		FAIL("GMime cannot parse it back");
	to = g_mime_message_get_to(m);
	if (internet_address_list_length(to) != 1)
		FAIL("not one To address");
	ia = internet_address_list_get_address(to, 0);
	if (!INTERNET_ADDRESS_IS_MAILBOX(ia) ||
	    strcmp(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)), addr) != 0)
		FAIL("To is not the address sent to");
	hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	/* A name of encoded words (message.c's own) is decoded here; any
	 * other, quoted or not, as GMime reads it. */
	if (name != NULL && g_utf8_validate(name, -1, NULL)) {
		raw = g_mime_header_get_raw_value(g_mime_header_list_get_header(hl, "To"));
		if (strncmp(raw, " =?UTF-8?B?", 11) == 0) {
			char *lt = g_strdup(raw);

			*strrchr(lt, '<') = '\0';
			d = decoded(lt);
			g_free(lt);
		} else {
			d = decoded(internet_address_get_name(ia) ? internet_address_get_name(ia) : "");
		}
		if (!same_words(d, name)) {
			fprintf(stderr, "fuzz_message: [%s] [%s]\n", d, name);
			FAIL("the name does not decode to what was sent");
		}
		g_free(d);
	}
	if (subject != NULL && g_utf8_validate(subject, -1, NULL)) {
		d = decoded(g_mime_header_get_raw_value(g_mime_header_list_get_header(hl,
		    "Subject")));
		if (!same_words(d, subject)) {
			fprintf(stderr, "fuzz_message: [%s] [%s]\n", d, subject);
			FAIL("the subject does not decode to what was rendered");
		}
		g_free(d);
	}
	g_object_unref(m);
	g_object_unref(p);
	g_object_unref(st);
}

/* The name the client mail is addressed to, as message.c builds it. */
static void
display(const struct send_group *g, char *buf, size_t n)
{
	if (strcmp(g->kind, "professional") == 0)
		snprintf(buf, n, "%s", g->company_name);
	else
		snprintf(buf, n, "%s%s%s", g->first_name, *g->first_name ? " " : "", g->last_name);
}

/* The client's mail, or the letter. */
static void
client(enum mode mode, uint8_t f0, uint8_t f1, char **f)
{
	struct send_item it[2];
	struct send_group g = { .currency = "EUR", .message_id = "<dunning.1.j3@cabinet.example>",
		.client_id = 1, .items = it, .nitems = f1 & 1 ? 2 : 1 };
	struct mime_copy copy = { NULL, NULL };
	char err[512], name[4096 * 2 + 2], *out;
	const char *pdf = NULL;
	size_t len;

	g.kind = f0 & 4 ? "professional" : "individual";
	g.language = f0 & 8 ? "en" : "fr";
	g.stage = mode == M_LETTER ? 3 : (f0 >> 4) & 3;
	if (g.stage == 3)
		g.stage = 0;
	g.first_name = f[F_FIRST];
	g.last_name = f[F_LAST];
	g.company_name = f[F_COMPANY];
	g.email = f[F_EMAIL];
	g.lawyer_name = f[F_LNAME];
	g.lawyer_email = f[F_LEMAIL];
	g.address_line1 = f[F_ADDR1];
	g.city = f[F_CITY];
	g.postal_code = "75002";
	g.country = "FR";
	switch (f0 >> 6) {
	case 1:
		pdf = pdf_missing;
		break;
	case 2:
		pdf = pdf_real;
		break;
	case 3:
		pdf = tmp;
		break;
	}
	for (int i = 0; i < 2; i++) {
		it[i] = (struct send_item){ .reminder_id = 1 + i, .invoice_id = 1 + i,
		    .number = f[F_NUMBER], .matter_ref = f[F_REF], .payment_url = f[F_URL],
		    .pdf_path = (char *)pdf, .amount_cents = 123456,
		    .balance_cents = f1 & 2 ? 23456 : 123456, .attempts = 1 };
		it[i].issued_on = cal_from_ymd(2025, 1, 1) + 60 * (f1 >> 5);
		it[i].due_on = it[i].issued_on + 30;
	}
	cfg->smtp.reply_to = f1 & 4 ? reply_to : reply_none;
	if (check_group(&g, cfg) != REASON_NONE)
		return;
	if (mode == M_LETTER) {
		if ((out = templates_letter(ms, cfg, &g, fuzz_now, err, sizeof(err))) == NULL)
			FAIL("no letter for a group check_group accepts");
		free(out);
		return;
	}
	out = mime_compose_kept(ms, cfg, &g, fuzz_now, &len, err, sizeof(err), NULL, &copy);
	if (out == NULL) {
		if (pdf == pdf_real || pdf == NULL) {
			fprintf(stderr, "fuzz_message: %s\n", err);
			FAIL("no mail for a group check_group accepts");
		}
		return;
	}
	if (pdf == pdf_missing || pdf == tmp)
		FAIL("an unusable PDF must fail the mail");
	dump(out, len);
	check_headers(out, len, 78, g.email, *cfg->smtp.reply_to ? NULL : g.lawyer_email);
	display(&g, name, sizeof(name));
	check_parse(out, len, g.email, name, copy.subject);
	free(copy.subject);
	free(copy.text);
	free(out);
}

/* The lawyer's alert or digest, to F_LNAME <F_LEMAIL>. */
static void
lawyer(uint8_t f0, uint8_t f1, char **f)
{
	static const char *const kinds[] = { "stage_sent", "letter_ready", "failed", "escalated" };
	enum templates_lawyer which = f0 & 4 ? TEMPLATES_LAWYER_DIGEST : TEMPLATES_LAWYER_ALERT;
	char err[512], *out;
	json_t *ctx;
	size_t len;

	/* Names and numbers come from a UTF-8 database, and the lawyer's mail
	 * has no encoder of its own: GMime writes a name that is not UTF-8
	 * as raw 8-bit bytes in To.  Only UTF-8 here (the client's mail takes
	 * any bytes). */
	for (int i = 0; i < NFIELDS; i++)
		if (!g_utf8_validate(f[i], -1, NULL))
			return;
	if (which == TEMPLATES_LAWYER_ALERT) {
		struct lawyer_alert a = { .id = 1, .lawyer_id = 1, .lawyer_name = f[F_LNAME],
		    .lawyer_email = f[F_LEMAIL], .invoice_id = 1, .reminder_id = 7,
		    .client_name = f[F_COMPANY], .attempts = 1, .created_at = fuzz_now - 3600 };
		json_t *inv = json_object(), *list = json_array();

		snprintf(a.kind, sizeof(a.kind), "%s", kinds[(f1 >> 3) & 3]);
		json_object_set_new(inv, "number", json_string(f[F_NUMBER]));
		json_object_set_new(inv, "matter_ref", json_string(f[F_REF]));
		json_object_set_new(inv, "balance", json_string(f[F_FIRST]));
		json_object_set_new(inv, "currency", json_string(f1 & 1 ? "CHF" : "EUR"));
		json_array_append_new(list, inv);
		if (f1 & 2)
			json_array_append(list, inv);
		a.details = json_object();
		json_object_set_new(a.details, "stage", json_string(f[F_LAST]));
		json_object_set_new(a.details, "path", json_string(f[F_URL]));
		json_object_set_new(a.details, "why", json_string(f[F_CITY]));
		json_object_set_new(a.details, "reason", json_string(reason_code((enum reason)(f1 %
		    REASON_COUNT))));
		json_object_set_new(a.details, "invoices", list);
		ctx = context_alert(cfg, &a, fuzz_now);
		json_decref(a.details);
	} else {
		struct digest_item it[5];
		int n = 1 + (f1 >> 5) % 5;

		for (int i = 0; i < n; i++) {
			it[i] = (struct digest_item){ .section = (enum digest_section)(1 +
			    (f1 + i) % (DIGEST_NSECTIONS - 1)), .reminder_id = i, .number = f[F_NUMBER],
			    .matter_ref = *f[F_REF] ? f[F_REF] : NULL, .client_name = f[F_COMPANY],
			    .balance_cents = 100 * i + 1, .currency = "EUR",
			    .stage = *f[F_LAST] ? f[F_LAST] : NULL,
			    .why = (enum reason)((f1 + i) % REASON_COUNT), .detail = f[F_CITY],
			    .attempts = i, .since = fuzz_now - 86400 * (i + 1) };
		}
		ctx = context_digest(cfg, f[F_LNAME], it, n, f[F_CITY], fuzz_now);
	}
	out = mime_lawyer_compose(ms, cfg, which, ctx, f[F_LNAME], f[F_LEMAIL],
	    "<lawyer.1@cabinet.example>", fuzz_now, &len, err, sizeof(err));
	json_decref(ctx);
	if (out == NULL) {
		if (check_address(f[F_LEMAIL]))
			FAIL("no mail to a valid lawyer address");
		return;
	}
	dump(out, len);
	check_headers(out, len, 998, f[F_LEMAIL], NULL);
	check_parse(out, len, f[F_LEMAIL], NULL, NULL);
	free(out);
}

/* A subject template and a partial checked by templates_load: loaded,
 * or refused with the file and line. */
static void
check_templates(const uint8_t *data, size_t size)
{
	const uint8_t *cut = memchr(data, '\0', size);
	size_t n = cut != NULL ? (size_t)(cut - data) : size;
	struct config c = *cfg;
	struct templates *s;
	char path[192], err[512];

	snprintf(path, sizeof(path), "%s/fr/j03.subject", check_dir);
	put(path, data, n);
	snprintf(path, sizeof(path), "%s/fr/_p.txt", check_dir);
	put(path, cut != NULL ? cut + 1 : data, cut != NULL ? size - n - 1 : 0);
	c.templates_dir = check_dir;
	c.nstages = 1;
	err[0] = '\0';
	if ((s = templates_load(&c, err, sizeof(err))) == NULL) {
		if (strncmp(err, check_dir, strlen(check_dir)) != 0)
			FAIL("an error that does not name its file");
		return;
	}
	templates_free(s);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[NFIELDS], *p;
	uint8_t f0, f1;

	if (ms == NULL)
		setup();
	if (size < 2 || size > 8192)
		return 0;
	f0 = data[0];
	f1 = data[1];
	if ((f0 & 3) == M_CHECK) {
		check_templates(data + 2, size - 2);
		return 0;
	}
	if ((buf = malloc(size - 1)) == NULL)
		return 0;
	memcpy(buf, data + 2, size - 2);
	buf[size - 2] = '\0';
	p = buf;
	for (int i = 0; i < NFIELDS; i++) {
		f[i] = p;
		p += strlen(p);
		if (p < buf + size - 2)
			p++;	/* past the NUL between fields, not the last one */
	}
	/* GMime reads an "xn--" label as punycode: a valid one goes out as
	 * written, but one that is not punycode comes out decoded, as 8-bit
	 * bytes in To (and the domain cannot exist).  Left out. */
	if (strcasestr(f[F_EMAIL], "xn--") != NULL || strcasestr(f[F_LEMAIL], "xn--") != NULL) {
		free(buf);
		return 0;
	}
	if ((f0 & 3) == M_LAWYER)
		lawyer(f0, f1, f);
	else
		client((enum mode)(f0 & 3), f0, f1, f);
	free(buf);
	return 0;
}
