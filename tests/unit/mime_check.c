/*
 * mime_check — read each file named on the command line as one RFC 5322
 * message with GMime, the library many mail tools parse with, and report
 * every issue its parser raises (duplicated headers, bad RFC 2047 words,
 * address lists, content types, multiparts, truncation), plus what a
 * reader would hit: 8-bit bytes in a header, a text part that does not
 * decode to UTF-8, a multipart with no part, a part with no content.
 *
 *   mime_check FILE...    prints "FILE: N parts" or "FILE: ISSUE" lines;
 *                         exit 0 when no file has an issue, 1 otherwise.
 *
 * The e2e suite runs it on every message a replayed month delivered.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

/* What one file's parse found. */
struct found {
	const char *path;
	int issues, parts;
};

static const char *
warning_name(GMimeParserWarning w)
{
	switch (w) {
	case GMIME_WARN_DUPLICATED_HEADER: return "duplicated header";
	case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated parameter";
	case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded 8-bit header";
	case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid content type";
	case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: return "invalid RFC 2047 header value";
	case GMIME_WARN_MALFORMED_MULTIPART: return "malformed multipart";
	case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message";
	case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
	case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
	case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting header";
	case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting parameter";
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without boundary";
	case GMIME_WARN_INVALID_PARAMETER: return "invalid parameter";
	case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
	case GMIME_CRIT_NESTING_OVERFLOW: return "nesting overflow";
	case GMIME_WARN_PART_WITHOUT_CONTENT: return "part without content";
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part without headers or content";
	}
	return "unknown issue";
}

static void
on_warning(gint64 offset, GMimeParserWarning w, const gchar *item, gpointer arg)
{
	struct found *f = arg;

	printf("%s: offset %lld: %s%s%s\n", f->path, (long long)offset, warning_name(w),
	    item ? ": " : "", item ? item : "");
	f->issues++;
}

static void
issue(struct found *f, const char *what, const char *detail)
{
	printf("%s: %s%s%s\n", f->path, what, detail ? ": " : "", detail ? detail : "");
	f->issues++;
}

/* RFC 5322 headers are 7-bit: anything else must travel as RFC 2047
 * words (GMime itself accepts raw UTF-8 silently). */
static void
seven_bit(struct found *f, GMimeObject *obj)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(obj);

	for (int i = 0; i < g_mime_header_list_get_count(l); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(l, i);
		const char *v = g_mime_header_get_raw_value(h);

		for (const unsigned char *p = (const unsigned char *)v; p && *p; p++)
			if (*p >= 0x80) {
				issue(f, "8-bit byte in header", g_mime_header_get_name(h));
				break;
			}
	}
}

/* Each leaf: its text decodes to valid UTF-8; each multipart has parts. */
static void
walk(GMimeObject *parent, GMimeObject *part, gpointer arg)
{
	struct found *f = arg;
	GMimeContentType *ct = g_mime_object_get_content_type(part);

	(void)parent;
	f->parts++;
	seven_bit(f, part);
	if (GMIME_IS_MULTIPART(part)) {
		if (g_mime_multipart_get_count(GMIME_MULTIPART(part)) == 0)
			issue(f, "empty multipart", NULL);
		return;
	}
	if (!GMIME_IS_PART(part))
		return;
	if (g_mime_part_get_content(GMIME_PART(part)) == NULL) {
		issue(f, "part without content", NULL);
		return;
	}
	if (GMIME_IS_TEXT_PART(part)) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		const char *cs = g_mime_object_get_content_type_parameter(part, "charset");

		if (cs == NULL || g_ascii_strcasecmp(cs, "utf-8") != 0)
			issue(f, "text part not declared UTF-8", cs);
		if (text == NULL || !g_utf8_validate(text, -1, NULL))
			issue(f, "text part does not decode to UTF-8",
			    g_mime_content_type_get_mime_type(ct));
		g_free(text);
	} else if (g_mime_part_get_filename(GMIME_PART(part)) == NULL) {
		issue(f, "attachment without a file name", NULL);
	}
}

/* The headers a reader decodes: they must be valid UTF-8 once decoded. */
static void
check_headers(struct found *f, GMimeMessage *m)
{
	static const GMimeAddressType types[] = { GMIME_ADDRESS_TYPE_FROM,
		GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_REPLY_TO };
	const char *subject = g_mime_message_get_subject(m);

	seven_bit(f, GMIME_OBJECT(m));
	if (subject == NULL || !g_utf8_validate(subject, -1, NULL))
		issue(f, "no readable Subject", NULL);
	if (g_mime_message_get_message_id(m) == NULL)
		issue(f, "no Message-ID", NULL);
	if (g_mime_object_get_header(GMIME_OBJECT(m), "Date") == NULL)
		issue(f, "no Date", NULL);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		InternetAddressList *l = g_mime_message_get_addresses(m, types[i]);

		for (int k = 0; l != NULL && k < internet_address_list_length(l); k++) {
			InternetAddress *a = internet_address_list_get_address(l, k);
			const char *name = internet_address_get_name(a);

			if (name != NULL && !g_utf8_validate(name, -1, NULL))
				issue(f, "address name not UTF-8", NULL);
			if (INTERNET_ADDRESS_IS_MAILBOX(a) &&
			    strchr(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)),
			    '@') == NULL)
				issue(f, "address without a domain",
				    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
		}
	}
	if (g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_FROM) == NULL ||
	    internet_address_list_length(g_mime_message_get_addresses(m,
	    GMIME_ADDRESS_TYPE_FROM)) != 1)
		issue(f, "not exactly one From", NULL);
	if (internet_address_list_length(g_mime_message_get_addresses(m,
	    GMIME_ADDRESS_TYPE_TO)) != 1)
		issue(f, "not exactly one To", NULL);
}

static int
check(const char *path)
{
	struct found f = { path, 0, 0 };
	GMimeParserOptions *opt = g_mime_parser_options_new();
	GMimeStream *st = g_mime_stream_fs_open(path, O_RDONLY, 0, NULL);
	GMimeParser *parser;
	GMimeMessage *m;

	if (st == NULL) {
		printf("%s: cannot open\n", path);
		g_mime_parser_options_free(opt);
		return 1;
	}
	g_mime_parser_options_set_warning_callback(opt, on_warning, &f);
	parser = g_mime_parser_new_with_stream(st);
	m = g_mime_parser_construct_message(parser, opt);
	if (m == NULL) {
		issue(&f, "not a message", NULL);
	} else {
		check_headers(&f, m);
		g_mime_message_foreach(m, walk, &f);
		if (f.issues == 0)
			printf("%s: %d parts\n", path, f.parts);
		g_object_unref(m);
	}
	g_object_unref(parser);
	g_object_unref(st);
	g_mime_parser_options_free(opt);
	return f.issues != 0;
}

int
main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: mime_check FILE...\n");
		return 2;
	}
	g_mime_init();
	for (int i = 1; i < argc; i++)
		bad += check(argv[i]);
	g_mime_shutdown();
	return bad != 0;
}
