/*
 * mime — composing the wire message with GMime: the client's reminder
 * and the lawyer's mail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "attachment.h"
#include "check.h"
#include "context.h"
#include "mime.h"

/* The domain of the configured sender address. */
const char *
mime_from_domain(const struct config *cfg, char *buf, size_t n)
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

/* A text part in UTF-8, quoted-printable so any relay carries it.  The
 * bytes are set as they are: g_mime_text_part_set_text() would convert a
 * text that fits in ISO-8859-1 (French without "€") to it, under the
 * charset=utf-8 set here. */
static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *t = g_mime_text_part_new_with_subtype(subtype);
	GMimeStream *mem = g_mime_stream_mem_new_with_buffer(text, strlen(text));
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(mem,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(GMIME_PART(t), w);
	g_object_unref(w);
	g_object_unref(mem);
	g_mime_text_part_set_charset(t, "utf-8");
	g_mime_part_set_content_encoding(GMIME_PART(t), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(t);
}

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
 * the reason in ERR (attachment_read: only from inside attachments.dir). */
static GMimeObject *
pdf_part(const struct config *cfg, const struct send_item *it, char *err, size_t errlen)
{
	char why[160], *data, *name;
	size_t len;
	GMimePart *part;
	GMimeStream *stream;
	GMimeDataWrapper *content;

	if ((data = attachment_read(cfg, it->pdf_path, &len, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "invoice %s: attachment %s: %s", it->number, it->pdf_path,
		    why);
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
 * multipart/mixed with the PDF of every invoice that names one when
 * attachments.attach_invoice_pdf is on (off: no file is opened, pdf_path
 * is ignored).  NULL with the reason in ERR when a PDF cannot be attached,
 * *REFUSED then true. */
static GMimeObject *
body_parts(const struct config *cfg, const struct send_group *g, const char *text,
    const char *html, char *err, size_t errlen, bool *refused)
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
	for (size_t i = 0; cfg->attachments.attach_invoice_pdf && i < g->nitems; i++) {
		GMimeObject *pdf;

		if (!context_attached(cfg, &g->items[i]))
			continue;
		if ((pdf = pdf_part(cfg, &g->items[i], err, errlen)) == NULL) {
			if (mixed != NULL)
				g_object_unref(mixed);
			g_object_unref(body);
			*refused = true;
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
	size_t n = strlen(text), tlen = tail != NULL ? strlen(tail) : 0, last = 0;
	/* Grown as needed: a word cut before a space may carry only 20 bytes
	 * (42 characters on the wire), so no fixed ratio of the text's length
	 * bounds the result (issue 17: 1.2 KB of 19-letter words). */
	GString *out = g_string_sized_new(n * 2 + 80 + tlen);
	char *res;

	do {
		size_t take = n < 39 ? n : 39;
		gchar *b64;

		while (take > 0 && take < n && ((unsigned char)text[take] & 0xc0) == 0x80)
			take--;
		/* A run of continuation bytes is not UTF-8 and has no character
		 * boundary: cut it at the limit rather than take nothing and
		 * write empty words for ever. */
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
		/* The last line's length: " =?UTF-8?B?" "?=" around the
		 * word, after a header name of up to 13 on the first line. */
		last = (out->len == 0 ? 13 : 0) + 13 + strlen(b64);
		if (out->len > 0)
			g_string_append(out, "\n");
		g_string_append_printf(out, " =?UTF-8?B?%s?=", b64);
		g_free(b64);
		text += take;
		n -= take;
	} while (n > 0);
	if (tlen > 0) {
		if (last + tlen > 78)
			g_string_append_c(out, '\n');
		g_string_append(out, tail);
	}
	g_string_append_c(out, '\n');
	res = strdup(out->str);
	g_string_free(out, TRUE);
	return res;
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

/* A message from smtp.from to TO_NAME <TO_ADDR>, with SUBJECT, dated
 * NOW, MESSAGE_ID ("<...>") and Auto-Submitted: the envelope the client's
 * reminder and the lawyer's mail share.  NULL with the reason in ERR. */
static GMimeMessage *
envelope(const struct config *cfg, const char *to_name, const char *to_addr,
    const char *subject, const char *message_id, time_t now, char *err, size_t errlen)
{
	GMimeMessage *m = g_mime_message_new(TRUE);
	InternetAddressList *from;
	GDateTime *date;
	char id[256];

	if ((from = internet_address_list_parse(NULL, cfg->smtp.from)) == NULL) {
		snprintf(err, errlen, "smtp.from is not an address");
		g_object_unref(m);
		return NULL;
	}
	internet_address_list_append(g_mime_message_get_from(m), from);
	g_object_unref(from);
	g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_TO, to_name, to_addr);
	utf8_names(g_mime_message_get_from(m));
	utf8_names(g_mime_message_get_to(m));
	g_mime_message_set_subject(m, subject, "utf-8");
	date = g_date_time_new_from_unix_local(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	/* GMime wants the id without its angle brackets. */
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(message_id + 1, ">"), message_id + 1);
	g_mime_message_set_message_id(m, id);
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	return m;
}

/* Render and wrap G as one RFC 5322 message. */
char *
mime_compose(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen)
{
	return mime_compose_kept(ts, cfg, g, now, len, err, errlen, NULL, NULL);
}

/* Reply-To of a client's message: the configured address, else the
 * lawyer's LAWYER_EMAIL when it is one plain address, else smtp.from. */
static void
client_reply_to(GMimeMessage *m, const struct config *cfg, const char *lawyer_email)
{
	const char *reply_to = *cfg->smtp.reply_to ? cfg->smtp.reply_to : NULL;

	if (reply_to == NULL && check_address(lawyer_email)) {
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, lawyer_email);
	} else {
		InternetAddressList *rt = internet_address_list_parse(NULL,
		    reply_to != NULL ? reply_to : cfg->smtp.from);

		if (rt != NULL) {
			internet_address_list_append(g_mime_message_get_reply_to(m), rt);
			g_object_unref(rt);
		}
		utf8_names(g_mime_message_get_reply_to(m));
	}
}

/* The last steps of a client's message M to NAME <EMAIL>: its headers
 * hardened, then the wire text (*LEN bytes), or NULL with ERR; COPY (may
 * be NULL) takes *SUBJECT and *TEXT as rendered. */
static char *
seal(GMimeMessage *m, const char *name, const char *email, char **subject, char **text,
    struct mime_copy *copy, size_t *len, char *err, size_t errlen)
{
	char *out;

	if (harden_headers(m, name, email, *subject) < 0) {
		snprintf(err, errlen, "cannot encode the To or Subject header");
		return NULL;
	}
	out = wire_text(m, len);
	if (out != NULL && copy != NULL) {
		copy->subject = *subject;
		copy->text = *text;
		*subject = *text = NULL;
	}
	return out;
}

/* mime_compose, and the subject and text as rendered into COPY; when it
 * fails, *WHY says whether for an attachment. */
char *
mime_compose_kept(const struct templates *ts, const struct config *cfg,
    const struct send_group *g, time_t now, size_t *len, char *err, size_t errlen,
    enum reason *why, struct mime_copy *copy)
{
	json_t *ctx = context_client(cfg, g, now);
	char *subject = NULL, *text = NULL, *html = NULL, *name = NULL, *out = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *body = NULL;
	bool refused = false;

	if ((subject = templates_render(ts, g, TEMPLATES_SUBJECT, ctx, err, errlen)) == NULL ||
	    (text = templates_render(ts, g, TEMPLATES_TEXT, ctx, err, errlen)) == NULL)
		goto out;
	/* No HTML template is fine; one that fails to render is an error,
	 * not a mail silently without its HTML part. */
	err[0] = '\0';
	html = templates_render(ts, g, TEMPLATES_HTML, ctx, err, errlen);
	if (html == NULL && err[0] != '\0')
		goto out;
	if ((body = body_parts(cfg, g, text, html, err, errlen, &refused)) == NULL)
		goto out;
	one_line(subject);
	name = context_client_name(g);

	if ((m = envelope(cfg, name, g->email, subject, g->message_id, now, err,
	    errlen)) == NULL)
		goto out;
	client_reply_to(m, cfg, g->lawyer_email);
	g_mime_message_set_mime_part(m, body);
	out = seal(m, name, g->email, &subject, &text, copy, len, err, errlen);
out:
	if (why != NULL)
		*why = out != NULL ? REASON_NONE :
		    refused ? REASON_ATTACHMENT_REFUSED : REASON_NOT_COMPOSED;
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

/* Render a fee agreement's reminder and wrap it: no attachment ever. */
char *
mime_agreement_compose(const struct templates *ts, const struct config *cfg,
    const struct agreement_mail *a, time_t now, size_t *len, char *err, size_t errlen,
    struct mime_copy *copy)
{
	json_t *ctx = context_agreement(cfg, a, now);
	struct send_group none = { 0 };
	char *subject = NULL, *text = NULL, *html = NULL, *name = NULL, *out = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *body = NULL;
	bool refused = false;

	if ((subject = templates_agreement_render(ts, a->language, a->stage, TEMPLATES_SUBJECT,
	    ctx, err, errlen)) == NULL ||
	    (text = templates_agreement_render(ts, a->language, a->stage, TEMPLATES_TEXT, ctx,
	    err, errlen)) == NULL)
		goto out;
	err[0] = '\0';
	html = templates_agreement_render(ts, a->language, a->stage, TEMPLATES_HTML, ctx, err,
	    errlen);
	if (html == NULL && err[0] != '\0')
		goto out;
	if ((body = body_parts(cfg, &none, text, html, err, errlen, &refused)) == NULL)
		goto out;
	one_line(subject);
	name = context_agreement_name(a);
	if ((m = envelope(cfg, name, a->email, subject, a->message_id, now, err, errlen)) == NULL)
		goto out;
	client_reply_to(m, cfg, a->lawyer_email);
	g_mime_message_set_mime_part(m, body);
	out = seal(m, name, a->email, &subject, &text, copy, len, err, errlen);
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

/* Render the lawyer's mail WHICH and wrap it. */
char *
mime_lawyer_compose(const struct templates *ts, const struct config *cfg,
    enum templates_lawyer which, json_t *ctx, const char *to_name, const char *to_addr,
    const char *message_id, time_t now, size_t *len, char *err, size_t errlen)
{
	char *subject = NULL, *text = NULL, *out = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *tp;

	if (!templates_lawyer_loaded(ts, which)) {
		snprintf(err, errlen, "the lawyer's templates are not loaded");
		return NULL;
	}
	if (!check_address(to_addr)) {
		snprintf(err, errlen, "the lawyer has no valid e-mail address");
		return NULL;
	}
	if ((subject = templates_lawyer_render(ts, which, TEMPLATES_SUBJECT, ctx, err,
	    errlen)) == NULL ||
	    (text = templates_lawyer_render(ts, which, TEMPLATES_TEXT, ctx, err, errlen)) == NULL)
		goto out;
	one_line(subject);

	/* A name with a line break would be a header of its own: drop it. */
	if ((m = envelope(cfg, to_name != NULL && !check_has_control(to_name) ? to_name : NULL,
	    to_addr, subject, message_id, now, err, errlen)) == NULL)
		goto out;
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

/* A payment plan's instalment reminder N (SPEC §2 rule 11) to the client,
 * in their language, text only; Reply-To as for a reminder.  COPY (may be
 * NULL) gets the subject and text as rendered. */
char *
mime_plan_compose(const struct templates *ts, const struct config *cfg,
    const struct plan_notice *n, time_t now, size_t *len, char *err, size_t errlen,
    struct mime_copy *copy)
{
	enum templates_plan which = n->late ? TEMPLATES_PLAN_LATE : TEMPLATES_PLAN_DUE;
	json_t *ctx = context_plan(cfg, n, now);
	char *subject = NULL, *text = NULL, *out = NULL;
	const char *name;
	GMimeMessage *m = NULL;
	GMimeObject *tp;

	if (!check_address(n->email)) {
		snprintf(err, errlen, "the client has no valid e-mail address");
		goto out;
	}
	if ((subject = templates_plan_render(ts, which, n->language, TEMPLATES_SUBJECT, ctx, err,
	    errlen)) == NULL ||
	    (text = templates_plan_render(ts, which, n->language, TEMPLATES_TEXT, ctx, err,
	    errlen)) == NULL)
		goto out;
	one_line(subject);
	name = n->client_name != NULL && !check_has_control(n->client_name) ? n->client_name :
	    NULL;
	if ((m = envelope(cfg, name, n->email, subject, n->message_id, now, err, errlen)) == NULL)
		goto out;
	client_reply_to(m, cfg, n->lawyer_email);
	tp = text_part("plain", text);
	g_mime_message_set_mime_part(m, tp);
	g_object_unref(tp);
	out = seal(m, name, n->email, &subject, &text, copy, len, err, errlen);
out:
	if (m != NULL)
		g_object_unref(m);
	json_decref(ctx);
	free(subject);
	free(text);
	return out;
}

/* A plain-text message to a client that no template makes (the
 * acknowledgement of a report, mail/ack.c): SUBJECT and TEXT as given,
 * Reply-To REPLY_TO when it is an address. */
char *
mime_plain_compose(const struct config *cfg, const char *to_name, const char *to_addr,
    const char *reply_to, const char *subject, const char *text, const char *message_id,
    time_t now, size_t *len, char *err, size_t errlen)
{
	GMimeMessage *m;
	GMimeObject *tp;
	char *subj, *out;

	if (!check_address(to_addr)) {
		snprintf(err, errlen, "no valid e-mail address");
		return NULL;
	}
	if ((subj = strdup(subject)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	one_line(subj);
	m = envelope(cfg, to_name != NULL && !check_has_control(to_name) ? to_name : NULL,
	    to_addr, subj, message_id, now, err, errlen);
	free(subj);
	if (m == NULL)
		return NULL;
	if (reply_to != NULL && check_address(reply_to))
		g_mime_message_add_mailbox(m, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, reply_to);
	tp = text_part("plain", text);
	g_mime_message_set_mime_part(m, tp);
	g_object_unref(tp);
	out = wire_text(m, len);
	g_object_unref(m);
	return out;
}
