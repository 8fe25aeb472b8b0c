/*
 * message — context, rendering and MIME composition of one reminder.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gmime/gmime.h>

#include "calendar.h"
#include "check.h"
#include "context.h"
#include "message.h"
#include "template.h"

#define NLANGS 2
#define MAX_PARTIALS 16

enum part { PART_SUBJECT, PART_TEXT, PART_HTML, NPARTS };

static const char *const langs[NLANGS] = { "fr", "en" };
static const char *const suffixes[NPARTS] = { "subject", "txt", "html" };

struct partial {
	char name[64];
	char *text;
};

struct message_set {
	bool have[NLANGS];
	struct template *tpl[NLANGS][CONFIG_MAX_STAGES][NPARTS];
	struct partial partials[NLANGS][MAX_PARTIALS];
	int npartials[NLANGS];
	/* the lawyer's mail, French: message_lawyer_load() */
	struct template *lawyer[MESSAGE_LAWYER_KINDS][PART_HTML];
};

/* The whole of file PATH, malloc'ed; NULL with errno set. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
			errno = EIO;
		} else {
			buf[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Partials of a language: files "_NAME.txt" beside the templates. */
static const char *
find_partial(const char *name, void *arg)
{
	const struct partial *p = arg;

	for (int i = 0; i < MAX_PARTIALS && p[i].text != NULL; i++)
		if (strcmp(p[i].name, name) == 0)
			return p[i].text;
	return NULL;
}

/* Load the partials of DIR into MS for language L. */
static int
load_partials(struct message_set *ms, int l, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char path[1024];
		struct partial *p;

		if (e->d_name[0] != '_' || n < 6 || strcmp(e->d_name + n - 4, ".txt") != 0)
			continue;
		if (ms->npartials[l] == MAX_PARTIALS || n - 5 >= sizeof(p->name)) {
			snprintf(err, errlen, "%s: too many partials or name too long", dir);
			rc = -1;
			break;
		}
		p = &ms->partials[l][ms->npartials[l]];
		snprintf(p->name, sizeof(p->name), "%.*s", (int)(n - 5), e->d_name + 1);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((p->text = slurp(path, NULL)) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		ms->npartials[l]++;
	}
	closedir(d);
	return rc;
}

/* ERR = "PATH:12: no field "x" in the message context" from the
 * template's "line 12: unknown field 'x'", or "PATH:N: why" for any other
 * "line N: why": the file and line an operator opens. */
static void
located(char *err, size_t errlen, const char *path, const char *why)
{
	static const char unknown[] = "unknown field '";
	unsigned line;
	size_t len;
	int at = 0;

	if (sscanf(why, "line %u: %n", &line, &at) != 1 || at == 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return;
	}
	why += at;
	len = strlen(why);
	if (strncmp(why, unknown, sizeof(unknown) - 1) == 0 && len > sizeof(unknown) &&
	    why[len - 1] == '\'')
		snprintf(err, errlen, "%s:%u: no field \"%.*s\" in the message context", path,
		    line, (int)(len - sizeof(unknown)), why + sizeof(unknown) - 1);
	else
		snprintf(err, errlen, "%s:%u: %s", path, line, why);
}

/* Partials are fetched at render time, so template_check cannot see
 * into them: parse and check each one on its own. */
static int
check_partials(const struct message_set *ms, int l, const char *dir, json_t *sample,
    char *err, size_t errlen)
{
	for (int i = 0; i < ms->npartials[l]; i++) {
		const struct partial *p = &ms->partials[l][i];
		char why[256];
		struct template *t = template_parse(p->text, strlen(p->text), why, sizeof(why));

		if (t == NULL || template_check(t, sample, why, sizeof(why)) < 0) {
			char path[1024];

			snprintf(path, sizeof(path), "%s/_%s.txt", dir, p->name);
			located(err, errlen, path, why);
			template_free(t);
			return -1;
		}
		template_free(t);
	}
	return 0;
}

/* The schema the templates are checked against: the context
 * message_context builds, in language LANG, for a group with every optional
 * field filled (file reference, payment link, a partial payment, a
 * professional client, so the indemnity too).  Keys that are false when
 * their value is absent (matter_ref, payment_url, indemnity...) exist
 * either way, so the sample names every key a real message can hold. */
static json_t *
sample_context(const struct config *cfg, int stage, const char *lang)
{
	char code[8];
	struct send_item it = {
		.reminder_id = 1, .invoice_id = 1, .number = "F-0001", .matter_ref = "D-0001",
		.payment_url = "https://pay.example/1", .issued_on = cal_from_ymd(2026, 1, 1),
		.due_on = cal_from_ymd(2026, 1, 31), .amount_cents = 100000,
		.balance_cents = 50000, .attempts = 1,
	};
	struct send_group g = {
		.stage = stage, .currency = "EUR", .message_id = "<x@example>", .client_id = 1,
		.kind = "professional", .first_name = "A", .last_name = "B", .company_name = "C",
		.email = "c@example.org", .language = code, .address_line1 = "1 rue",
		.address_line2 = "bis", .postal_code = "75001", .city = "Paris", .country = "FR",
		.lawyer_name = "L", .lawyer_email = "l@example.org", .items = &it, .nitems = 1,
	};

	snprintf(code, sizeof(code), "%s", lang);
	return context_client(cfg, &g, cal_local_time(cal_from_ymd(2026, 3, 3), 600));
}

/* Parse and check one template file; a missing optional part is fine. */
static int
load_one(struct message_set *ms, const struct config *cfg, int l, int s, enum part p,
    char *err, size_t errlen)
{
	char path[1024], why[256];
	const char *name = cfg->stages[s].template_name;
	char *text;
	size_t len;
	json_t *sample;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s/%s.%s", cfg->templates_dir, langs[l], name,
	    suffixes[p]);
	if ((text = slurp(path, &len)) == NULL) {
		bool needed = p == PART_TEXT ||
		    (p == PART_SUBJECT && cfg->stages[s].channel == CONFIG_CHANNEL_EMAIL);

		if (!needed && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ms->tpl[l][s][p] = template_parse(text, len, why, sizeof(why));
	free(text);
	if (ms->tpl[l][s][p] == NULL) {
		located(err, errlen, path, why);
		return -1;
	}
	sample = sample_context(cfg, s, langs[l]);
	if (template_check(ms->tpl[l][s][p], sample, why, sizeof(why)) < 0) {
		located(err, errlen, path, why);
		rc = -1;
	}
	json_decref(sample);
	return rc;
}

/* Load every language directory present; French is required. */
struct message_set *
message_set_load(const struct config *cfg, char *err, size_t errlen)
{
	struct message_set *ms = calloc(1, sizeof(*ms));
	struct stat st;

	if (ms == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g_mime_init();
	for (int l = 0; l < NLANGS; l++) {
		char dir[1024];

		snprintf(dir, sizeof(dir), "%s/%s", cfg->templates_dir, langs[l]);
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			if (l == 0) {
				snprintf(err, errlen, "%s: no French templates", dir);
				goto fail;
			}
			continue;
		}
		ms->have[l] = true;
		if (load_partials(ms, l, dir, err, errlen) < 0)
			goto fail;
		if (cfg->nstages > 0) {
			json_t *sample = sample_context(cfg, 0, langs[l]);
			int bad = check_partials(ms, l, dir, sample, err, errlen);

			json_decref(sample);
			if (bad < 0)
				goto fail;
		}
		for (size_t s = 0; s < cfg->nstages; s++)
			for (int p = 0; p < NPARTS; p++)
				if (load_one(ms, cfg, l, (int)s, (enum part)p, err, errlen) < 0)
					goto fail;
	}
	return ms;
fail:
	message_set_free(ms);
	return NULL;
}

/* Free the templates and partials. */
void
message_set_free(struct message_set *ms)
{
	if (ms == NULL)
		return;
	for (int l = 0; l < NLANGS; l++) {
		for (int s = 0; s < CONFIG_MAX_STAGES; s++)
			for (int p = 0; p < NPARTS; p++)
				template_free(ms->tpl[l][s][p]);
		for (int i = 0; i < ms->npartials[l]; i++)
			free(ms->partials[l][i].text);
	}
	for (int k = 0; k < MESSAGE_LAWYER_KINDS; k++)
		for (int p = 0; p < PART_HTML; p++)
			template_free(ms->lawyer[k][p]);
	free(ms);
}

/* Index of the message's language, falling back to French when the
 * firm ships no set for it. */
static int
lang_index(const struct message_set *ms, const struct send_group *g)
{
	if (g->language != NULL && strcmp(g->language, "en") == 0 && ms->have[1])
		return 1;
	return 0;
}

/* Render part P for G; HTML escapes for the HTML part only. */
static char *
render(const struct message_set *ms, const struct send_group *g, json_t *ctx, enum part p,
    char *err, size_t errlen)
{
	int l = lang_index(ms, g);
	const struct template *t = ms->tpl[l][g->stage][p];

	if (t == NULL)
		return NULL;
	return template_render(t, ctx, p == PART_HTML, find_partial,
	    (void *)ms->partials[l], err, errlen);
}

/* The domain of the configured sender address. */
const char *
message_from_domain(const struct config *cfg, char *buf, size_t n)
{
	const char *at = strrchr(cfg->smtp.from, '@');
	size_t len;

	if (at == NULL) {
		snprintf(buf, n, "localhost");
		return buf;
	}
	len = strcspn(at + 1, "> \t");
	snprintf(buf, n, "%.*s", (int)len, at + 1);
	return buf;
}

/* Squeeze line breaks and runs of blanks out of a rendered subject and
 * trim it: GMime folds between words but keeps a run of blanks whole on
 * one line, which then passes 78 characters. */
static void
one_line(char *s)
{
	char *w = s;
	size_t n;

	for (char *r = s; *r; r++) {
		char c = (*r == '\r' || *r == '\n' || *r == '\t') ? ' ' : *r;

		if (c != ' ' || (w != s && w[-1] != ' '))
			*w++ = c;
	}
	*w = '\0';
	while ((n = strlen(s)) > 0 && s[n - 1] == ' ')
		s[n - 1] = '\0';
}

/* Encode the display names of LIST in UTF-8 (GMime would otherwise pick
 * the smallest charset, ISO-8859-1 for French). */
static void
utf8_names(InternetAddressList *list)
{
	for (int i = 0; i < internet_address_list_length(list); i++)
		internet_address_set_charset(internet_address_list_get_address(list, i), "utf-8");
}

/* A text part in UTF-8, quoted-printable so any relay carries it. */
static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *t = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_text(t, text);
	g_mime_text_part_set_charset(t, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(t), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(t);
}

/* The largest PDF a reminder carries: a bigger one is an error, not a
 * mail a relay would refuse or a client could not open. */
#define ATTACHMENT_MAX (10 * 1024 * 1024)

/* The attachment's file name: the invoice number, with whatever a file
 * system or a mail client would misread (separators, control characters,
 * quotes) replaced, and ".pdf".  Malloc'ed. */
static char *
attachment_name(const char *number)
{
	size_t n = number != NULL ? strlen(number) : 0;
	char *s = malloc(n + sizeof("facture.pdf"));

	if (s == NULL)
		return NULL;
	if (n == 0) {
		strcpy(s, "facture.pdf");
		return s;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)number[i];

		s[i] = c < 0x20 || c == 0x7f || strchr("/\\\"'<>:*?|", c) != NULL ? '_' : (char)c;
	}
	strcpy(s + n, ".pdf");
	return s;
}

/* The PDF of invoice IT as an application/pdf part in base64, or NULL with
 * the reason (missing, unreadable, not a file, too large) in ERR. */
static GMimeObject *
pdf_part(const struct send_item *it, char *err, size_t errlen)
{
	struct stat st;
	char *data, *name;
	size_t len;
	GMimePart *part;
	GMimeStream *stream;
	GMimeDataWrapper *content;

	if (stat(it->pdf_path, &st) != 0) {
		snprintf(err, errlen, "invoice %s: attachment %s: %s", it->number, it->pdf_path,
		    strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "invoice %s: attachment %s: not a regular file", it->number,
		    it->pdf_path);
		return NULL;
	}
	if (st.st_size > ATTACHMENT_MAX) {
		snprintf(err, errlen, "invoice %s: attachment %s: %lld bytes, more than the %d "
		    "allowed", it->number, it->pdf_path, (long long)st.st_size, ATTACHMENT_MAX);
		return NULL;
	}
	if ((data = slurp(it->pdf_path, &len)) == NULL) {
		snprintf(err, errlen, "invoice %s: attachment %s: %s", it->number, it->pdf_path,
		    strerror(errno));
		return NULL;
	}
	if (len > ATTACHMENT_MAX) {	/* grew since stat */
		snprintf(err, errlen, "invoice %s: attachment %s: more than %d bytes", it->number,
		    it->pdf_path, ATTACHMENT_MAX);
		free(data);
		return NULL;
	}
	if ((name = attachment_name(it->number)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(data);
		return NULL;
	}
	part = g_mime_part_new_with_type("application", "pdf");
	stream = g_mime_stream_mem_new_with_buffer(data, len);
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
	g_mime_part_set_filename(part, name);
	free(name);
	free(data);
	return GMIME_OBJECT(part);
}

/* The body of G: TEXT, or TEXT and HTML as alternatives, then in a
 * multipart/mixed with the PDF of every invoice that names one.  NULL with
 * the reason in ERR when a PDF cannot be attached. */
static GMimeObject *
body_parts(const struct send_group *g, const char *text, const char *html, char *err,
    size_t errlen)
{
	GMimeObject *body;
	GMimeMultipart *mixed = NULL;

	if (html != NULL) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		GMimeObject *tp = text_part("plain", text), *hp = text_part("html", html);

		g_mime_multipart_add(alt, tp);
		g_mime_multipart_add(alt, hp);
		g_object_unref(tp);
		g_object_unref(hp);
		body = GMIME_OBJECT(alt);
	} else {
		body = text_part("plain", text);
	}
	for (size_t i = 0; i < g->nitems; i++) {
		GMimeObject *pdf;

		if (g->items[i].pdf_path == NULL || *g->items[i].pdf_path == '\0')
			continue;
		if ((pdf = pdf_part(&g->items[i], err, errlen)) == NULL) {
			if (mixed != NULL)
				g_object_unref(mixed);
			g_object_unref(body);
			return NULL;
		}
		if (mixed == NULL) {
			mixed = g_mime_multipart_new_with_subtype("mixed");
			g_mime_multipart_add(mixed, body);
		}
		g_mime_multipart_add(mixed, pdf);
		g_object_unref(pdf);
	}
	if (mixed != NULL) {
		g_object_unref(body);
		return GMIME_OBJECT(mixed);
	}
	return body;
}

/* Does header text S need encoded words of our own?  Non-ASCII or control
 * bytes, more than MAX bytes, or "=?", which GMime writes as is and a
 * reader takes for an encoded word: a name or a number typed as
 * "=?utf-8?q?...?=" must read as typed. */
static bool
needs_words(const char *s, size_t max)
{
	if (strstr(s, "=?") != NULL || strlen(s) > max)
		return true;
	for (; *s; s++)
		if ((unsigned char)*s >= 0x7f || (unsigned char)*s < 0x20)
			return true;
	return false;
}

/* TEXT as RFC 2047 encoded words "=?UTF-8?B?...?=" of at most 64
 * characters, one per line, so that no line exceeds 78 after a header
 * name of up to 13; then TAIL (" <addr>") on the last line, or on a line
 * of its own when it would not fit.  Words end between characters, never
 * inside one.  The raw value of a header (" word\n word\n"), malloc'ed. */
static char *
encoded_words(const char *text, const char *tail)
{
	size_t n = strlen(text), tlen = tail != NULL ? strlen(tail) : 0;
	size_t cap = n * 2 + 80 + tlen, len = 0, last = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	do {
		size_t take = n < 39 ? n : 39;
		gchar *b64;
		int w;

		while (take > 0 && take < n && ((unsigned char)text[take] & 0xc0) == 0x80)
			take--;
		/* A run of continuation bytes is not UTF-8 and has no character
		 * boundary: cut it at the limit rather than take nothing and
		 * write empty words until the buffer is full. */
		if (take == 0)
			take = n < 39 ? n : 39;
		/* Rather before a space (the next word starts with it): a reader
		 * that wrongly keeps the fold between words still reads whole
		 * words. */
		for (size_t k = take; take < n && k > take / 2; k--)
			if (text[k] == ' ') {
				take = k;
				break;
			}
		b64 = g_base64_encode((const guchar *)text, take);
		w = snprintf(out + len, cap - len, "%s=?UTF-8?B?%s?=", len ? "\n " : " ", b64);
		g_free(b64);
		if (w < 0 || (size_t)w >= cap - len) {
			free(out);
			return NULL;
		}
		last = len == 0 ? 13 + (size_t)w : (size_t)w - 1;
		len += (size_t)w;
		text += take;
		n -= take;
	} while (n > 0);
	if (tlen > 0) {
		int w = snprintf(out + len, cap - len, "%s%s", last + tlen <= 78 ? "" : "\n", tail);

		if (w < 0 || (size_t)w >= cap - len) {
			free(out);
			return NULL;
		}
		len += (size_t)w;
	}
	out[len++] = '\n';
	out[len] = '\0';
	return out;
}

/* Write header NAME of M as the raw VALUE (from encoded_words, freed). */
static int
set_raw_header(GMimeMessage *m, const char *name, char *value)
{
	GMimeHeader *h = g_mime_header_list_get_header(
	    g_mime_object_get_header_list(GMIME_OBJECT(m)), name);

	if (h == NULL || value == NULL) {
		free(value);
		return -1;
	}
	g_mime_header_set_raw_value(h, value);
	free(value);
	return 0;
}

/* Has S a run of more than MAX bytes without a space (GMime folds one
 * into a line of 79)? */
static bool
long_word(const char *s, size_t max)
{
	for (size_t run = 0; *s; s++)
		if ((run = *s == ' ' ? 0 : run + 1) > max)
			return true;
	return false;
}

/* Has header NAME of M, as GMime folded it, a line longer than 78?  GMime
 * never splits an encoded word of its own: a short word of "/" next to a
 * non-ASCII one becomes one quoted-printable word three times as long. */
static bool
folded_too_long(GMimeMessage *m, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(
	    g_mime_object_get_header_list(GMIME_OBJECT(m)), name);
	const char *raw = h != NULL ? g_mime_header_get_raw_value(h) : NULL;
	size_t col = strlen(name) + 1;

	for (; raw != NULL && *raw; raw++) {
		col = *raw == '\n' ? 0 : *raw == '\r' ? col : col + 1;
		if (col > 78)
			return true;
	}
	return false;
}

/* To and Subject of M written by us where GMime would not write them
 * safely: a display name or a subject holding "=?" (written as is, then
 * decoded by the reader into whatever it says), and long or non-ASCII
 * names, or subjects GMime would fold into too long a line, cut between
 * characters into words that fit a line. */
static int
harden_headers(GMimeMessage *m, const char *name, const char *addr, const char *subject)
{
	if (name != NULL && *name && needs_words(name, 40)) {
		char tail[300];

		snprintf(tail, sizeof(tail), " <%s>", addr);
		if (set_raw_header(m, "To", encoded_words(name, tail)) < 0)
			return -1;
	}
	if ((strstr(subject, "=?") != NULL || long_word(subject, 40) ||
	    folded_too_long(m, "Subject")) &&
	    set_raw_header(m, "Subject", encoded_words(subject, NULL)) < 0)
		return -1;
	return 0;
}

/* M as it goes on the wire (CRLF line ends), malloc'ed, its length in LEN. */
static char *
wire_text(GMimeMessage *m, size_t *len)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	char *raw, *out = NULL;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	raw = g_mime_object_to_string(GMIME_OBJECT(m), fo);
	if (raw != NULL) {
		out = strdup(raw);
		*len = strlen(raw);
		g_free(raw);
	}
	g_mime_format_options_free(fo);
	return out;
}

/* Render and wrap G as one RFC 5322 message. */
char *
message_compose(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen)
{
	return message_compose_kept(ms, cfg, g, now, len, err, errlen, NULL);
}

/* message_compose, and the subject and text as rendered into COPY. */
char *
message_compose_kept(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    struct message_copy *copy)
{
	json_t *ctx = context_client(cfg, g, now);
	char *subject = NULL, *text = NULL, *html = NULL, *name = NULL, *out = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *body = NULL;
	InternetAddressList *from;
	GDateTime *date;
	const char *reply_to;

	if ((subject = render(ms, g, ctx, PART_SUBJECT, err, errlen)) == NULL ||
	    (text = render(ms, g, ctx, PART_TEXT, err, errlen)) == NULL)
		goto out;
	/* No HTML template is fine; one that fails to render is an error,
	 * not a mail silently without its HTML part. */
	err[0] = '\0';
	if ((html = render(ms, g, ctx, PART_HTML, err, errlen)) == NULL && err[0] != '\0')
		goto out;
	if ((body = body_parts(g, text, html, err, errlen)) == NULL)
		goto out;
	one_line(subject);
	name = context_client_name(g);

	m = g_mime_message_new(TRUE);
	if ((from = internet_address_list_parse(NULL, cfg->smtp.from)) == NULL) {
		snprintf(err, errlen, "smtp.from is not an address");
		goto out;
	}
	internet_address_list_append(g_mime_message_get_from(m), from);
	g_object_unref(from);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, name, g->email);
	utf8_names(g_mime_message_get_from(m));
	utf8_names(g_mime_message_get_to(m));
	/* Reply-To: the configured address, else the lawyer's when it is one
	 * plain address (never a list parsed out of a database field), else
	 * the firm's From. */
	reply_to = *cfg->smtp.reply_to ? cfg->smtp.reply_to : NULL;
	if (reply_to == NULL && check_address(g->lawyer_email)) {
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, g->lawyer_email);
	} else {
		InternetAddressList *rt = internet_address_list_parse(NULL,
		    reply_to != NULL ? reply_to : cfg->smtp.from);

		if (rt != NULL) {
			internet_address_list_append(g_mime_message_get_reply_to(m), rt);
			g_object_unref(rt);
		}
		utf8_names(g_mime_message_get_reply_to(m));
	}
	g_mime_message_set_subject(m, subject, "utf-8");
	date = g_date_time_new_from_unix_local(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	/* GMime wants the id without its angle brackets. */
	{
		char id[256];

		snprintf(id, sizeof(id), "%.*s", (int)strcspn(g->message_id + 1, ">"),
		    g->message_id + 1);
		g_mime_message_set_message_id(m, id);
	}
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	g_mime_message_set_mime_part(m, body);
	if (harden_headers(m, name, g->email, subject) < 0) {
		snprintf(err, errlen, "cannot encode the To or Subject header");
		goto out;
	}
	out = wire_text(m, len);
	if (out != NULL && copy != NULL) {
		copy->subject = subject;
		copy->text = text;
		subject = text = NULL;
	}
out:
	if (body != NULL)
		g_object_unref(body);
	if (m != NULL)
		g_object_unref(m);
	json_decref(ctx);
	free(subject);
	free(text);
	free(html);
	free(name);
	return out;
}

/* The letter: the text template rendered, as a document. */
char *
message_letter(const struct message_set *ms, const struct config *cfg,
    const struct send_group *g, time_t now, char *err, size_t errlen)
{
	json_t *ctx = context_client(cfg, g, now);
	char *text = render(ms, g, ctx, PART_TEXT, err, errlen);

	json_decref(ctx);
	return text;
}

/* ---- the lawyer's mail ------------------------------------------------ */

static const char *const lawyer_names[MESSAGE_LAWYER_KINDS] = { "lawyer_alert",
	"lawyer_digest" };

/* Contexts with every field present, to check the templates against. */
static json_t *
lawyer_sample(const struct config *cfg, enum message_lawyer which)
{
	if (which == MESSAGE_LAWYER_ALERT) {
		struct lawyer_alert a = { .id = 1, .kind = "stage_sent", .lawyer_id = 1,
		    .lawyer_name = "L", .lawyer_email = "l@example.org", .invoice_id = 1,
		    .reminder_id = 1, .client_name = "C", .attempts = 1 };
		json_t *ctx;

		a.details = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s}]}", "stage", "j3",
		    "path", "/p", "why", "w", "invoices", "number", "F", "matter_ref", "D",
		    "balance", "1.00", "currency", "EUR");
		ctx = context_alert(cfg, &a, 86400);
		json_decref(a.details);
		/* "next" may be false for the last stage: check it as an object. */
		json_object_set_new(ctx, "next", json_pack("{s:s, s:b}", "stage", "j", "letter", 1));
		return ctx;
	} else {
		struct digest_item it[DIGEST_NSECTIONS - 1];

		memset(it, 0, sizeof(it));
		for (int s = 0; s < DIGEST_NSECTIONS - 1; s++) {
			it[s].section = (enum digest_section)(s + 1);
			it[s].reminder_id = 1;
			it[s].number = "F";
			it[s].matter_ref = "D";
			it[s].client_name = "C";
			snprintf(it[s].currency, sizeof(it[s].currency), "EUR");
			it[s].stage = "j3";
			it[s].why = "w";
			it[s].since = 86400;
		}
		return context_digest(cfg, "L", it, DIGEST_NSECTIONS - 1, 86400 * 2);
	}
}

/* Load templates/LANG/lawyer_{alert,digest}.{subject,txt}, LANG being
 * firm.language. */
int
message_lawyer_load(struct message_set *ms, const struct config *cfg, char *err,
    size_t errlen)
{
	for (int k = 0; k < MESSAGE_LAWYER_KINDS; k++) {
		json_t *sample = lawyer_sample(cfg, (enum message_lawyer)k);

		for (int p = 0; p < PART_HTML; p++) {
			char path[1024], why[256];
			size_t len;
			char *text;

			snprintf(path, sizeof(path), "%s/%s/%s.%s", cfg->templates_dir,
			    cfg->firm.language, lawyer_names[k], suffixes[p]);
			if ((text = slurp(path, &len)) == NULL) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				json_decref(sample);
				return -1;
			}
			template_free(ms->lawyer[k][p]);
			ms->lawyer[k][p] = template_parse(text, len, why, sizeof(why));
			free(text);
			if (ms->lawyer[k][p] == NULL ||
			    template_check(ms->lawyer[k][p], sample, why, sizeof(why)) < 0) {
				located(err, errlen, path, why);
				json_decref(sample);
				return -1;
			}
		}
		json_decref(sample);
	}
	return 0;
}

/* Render the lawyer's mail WHICH and wrap it. */
char *
message_lawyer_compose(const struct message_set *ms, const struct config *cfg,
    enum message_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen)
{
	char *subject = NULL, *text = NULL, *out = NULL, id[256];
	GMimeMessage *m = NULL;
	InternetAddressList *from;
	GMimeObject *tp;
	GDateTime *date;

	if (ms->lawyer[which][PART_SUBJECT] == NULL || ms->lawyer[which][PART_TEXT] == NULL) {
		snprintf(err, errlen, "the lawyer's templates are not loaded");
		return NULL;
	}
	if (!check_address(to_addr)) {
		snprintf(err, errlen, "the lawyer has no valid e-mail address");
		return NULL;
	}
	if ((subject = template_render(ms->lawyer[which][PART_SUBJECT], ctx, false, find_partial,
	    (void *)ms->partials[0], err, errlen)) == NULL ||
	    (text = template_render(ms->lawyer[which][PART_TEXT], ctx, false, find_partial,
	    (void *)ms->partials[0], err, errlen)) == NULL)
		goto out;
	one_line(subject);

	m = g_mime_message_new(TRUE);
	if ((from = internet_address_list_parse(NULL, cfg->smtp.from)) == NULL) {
		snprintf(err, errlen, "smtp.from is not an address");
		goto out;
	}
	internet_address_list_append(g_mime_message_get_from(m), from);
	g_object_unref(from);
	/* A name with a line break would be a header of its own: drop it. */
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO,
	    to_name != NULL && !check_has_control(to_name) ? to_name : NULL, to_addr);
	utf8_names(g_mime_message_get_from(m));
	utf8_names(g_mime_message_get_to(m));
	g_mime_message_set_subject(m, subject, "utf-8");
	date = g_date_time_new_from_unix_local(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(message_id + 1, ">"), message_id + 1);
	g_mime_message_set_message_id(m, id);
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	tp = text_part("plain", text);
	g_mime_message_set_mime_part(m, tp);
	g_object_unref(tp);
	out = wire_text(m, len);
out:
	if (m != NULL)
		g_object_unref(m);
	free(subject);
	free(text);
	return out;
}
