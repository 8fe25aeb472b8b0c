/*
 * preview — dunningctl preview REMINDER: the message exactly as the
 * sender would send it, built by the same code (load_group,
 * mime_compose, templates_letter) on the group the claim would form, and
 * with the Message-ID it would carry.  Nothing is written or locked.
 *
 * preview --invoice NUMBER --stage NAME shows that invoice's reminder of
 * that stage the same way; when none is planned yet, the message the
 * stage would be with this invoice alone, when the stage is due.
 *
 * By default the headers a reader needs are shown decoded, then the text
 * part; --raw prints the RFC 5322 bytes as they would reach the relay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gmime/gmime.h>

#include "check.h"
#include "ctl.h"
#include "mime.h"
#include "ctl_db.h"
#include "preview_sql.h"
#include "templates.h"

/* Local time T as "2026-03-05 10:00". */
static void
local_time(time_t t, char *buf, size_t n)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M", &tm);
}

/* TEXT with its CRLF line ends as LF, to stdout. */
static void
put_lf(const char *text)
{
	for (const char *p = text; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			putchar(*p);
}

/* The first text/plain part under OBJ, or NULL. */
static GMimeTextPart *
plain_part(GMimeObject *obj)
{
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			GMimeTextPart *t = plain_part(g_mime_multipart_get_part(mp, i));

			if (t != NULL)
				return t;
		}
		return NULL;
	}
	if (GMIME_IS_TEXT_PART(obj) &&
	    g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", "plain"))
		return GMIME_TEXT_PART(obj);
	return NULL;
}

/* An address header of M, decoded, if present. */
static void
put_addresses(GMimeMessage *m, const char *name, GMimeAddressType type)
{
	InternetAddressList *l = g_mime_message_get_addresses(m, type);
	char *s;

	if (l == NULL || internet_address_list_length(l) == 0)
		return;
	s = internet_address_list_to_string(l, NULL, FALSE);
	printf("%s: %s\n", name, s);
	g_free(s);
}

/* The composed message RAW, read back as a mail reader shows it; a
 * message not planned yet has no Message-ID (PLANNED false). */
static int
show_decoded(const char *raw, size_t len, bool planned)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GMimeTextPart *t;
	const char *v;
	char *text;

	g_object_unref(parser);
	g_object_unref(st);
	if (m == NULL)
		return -1;
	put_addresses(m, "From", GMIME_ADDRESS_TYPE_FROM);
	put_addresses(m, "To", GMIME_ADDRESS_TYPE_TO);
	put_addresses(m, "Reply-To", GMIME_ADDRESS_TYPE_REPLY_TO);
	if ((v = g_mime_message_get_subject(m)) != NULL)
		printf("Subject: %s\n", v);
	if ((v = g_mime_object_get_header(GMIME_OBJECT(m), "Date")) != NULL)
		printf("Date: %s\n", v);
	if (!planned)
		printf("Message-ID: (given when the reminder is planned)\n");
	else if ((v = g_mime_message_get_message_id(m)) != NULL)
		printf("Message-ID: <%s>\n", v);
	printf("\n");
	if ((t = plain_part(g_mime_message_get_mime_part(m))) == NULL) {
		g_object_unref(m);
		return -1;
	}
	text = g_mime_text_part_get_text(t);
	put_lf(text);
	if (*text && text[strlen(text) - 1] != '\n')
		putchar('\n');
	g_free(text);
	g_object_unref(m);
	return 0;
}

/* S when set and not empty. */
static bool
has(const char *s)
{
	return s != NULL && *s != '\0';
}

/* A letter's addressee, as the document sets it above the text. */
static void
print_recipient(const struct send_group *g)
{
	if (g->kind != NULL && strcmp(g->kind, "professional") == 0 && has(g->company_name))
		printf("to: %s\n", g->company_name);
	else
		printf("to: %s%s%s\n", has(g->first_name) ? g->first_name : "",
		    has(g->first_name) ? " " : "", has(g->last_name) ? g->last_name : "");
	if (has(g->address_line1))
		printf("    %s\n", g->address_line1);
	if (has(g->address_line2))
		printf("    %s\n", g->address_line2);
	if (has(g->postal_code) || has(g->city))
		printf("    %s%s%s\n", has(g->postal_code) ? g->postal_code : "",
		    has(g->postal_code) ? " " : "", has(g->city) ? g->city : "");
	if (has(g->country) && strcmp(g->country, "FR") != 0)
		printf("    %s\n", g->country);
}

/* What the reader should know before the message itself. */
static void
print_preface(const struct ctl *c, const struct send_group *g, const struct preview_sql *pv)
{
	const struct config_stage *st = &c->cfg->stages[g->stage];
	char at[32];

	local_time(pv->leaves_at, at, sizeof(at));
	if (pv->reminder_id == 0)
		printf("invoice %s at stage %s (not planned yet)", g->items[0].number, st->name);
	else
		printf("reminder %lld (stage %s, %s)", (long long)pv->reminder_id, st->name,
		    pv->state);
	printf(": %s %s at %s (%s) at the earliest, with %zu invoice%s:",
	    st->channel == CONFIG_CHANNEL_LETTER ? "a letter for registered mail," : "one message,",
	    st->channel == CONFIG_CHANNEL_LETTER ? "written" : "leaves", at,
	    c->cfg->schedule.timezone, g->nitems, g->nitems == 1 ? "" : "s");
	for (size_t i = 0; i < g->nitems; i++)
		printf("%s %s", i ? "," : "", g->items[i].number);
	printf("\n");
	if (pv->reminder_id == 0)
		printf("note: this is the message the stage would be with this invoice alone; "
		    "other invoices of the client at the same stage then travel with it\n");
	if (pv->sent_before != NULL)
		printf("note: a reminder of this stage was already sent on %s; this is how it "
		    "would read today\n", pv->sent_before);
	if (strcmp(pv->state, "held") == 0)
		printf("note: held for approval: it leaves only once approved\n");
	else if (strcmp(pv->state, "failed") == 0 || strcmp(pv->state, "in_doubt") == 0)
		printf("note: %s: it leaves again only if resent (dunningctl resend)\n", pv->state);
	if (pv->held_siblings != NULL)
		printf("note: also held for approval, and would travel in this message if approved "
		    "too: %s\n", pv->held_siblings);
	if (pv->note != NULL)
		printf("note: at that time the policy would not send it: %s\n", pv->note);
	if (st->channel == CONFIG_CHANNEL_LETTER)
		print_recipient(g);
	printf("--\n");
}

/* preview [--raw] REMINDER | preview [--raw] --invoice NUMBER --stage NAME */
int
cmd_preview(struct ctl *c, int argc, char **argv)
{
	struct templates *ms;
	struct send_group g;
	struct preview_sql pv;
	const char *arg = NULL, *invoice = NULL, *stage = NULL;
	enum reason why;
	char err[512], domain[256];
	bool raw = false;
	int64_t id = 0;
	int rc = EX_FAIL, got;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--raw") == 0)
			raw = true;
		else if (strcmp(argv[i], "--invoice") == 0 && i + 1 < argc && invoice == NULL)
			invoice = argv[++i];
		else if (strcmp(argv[i], "--stage") == 0 && i + 1 < argc && stage == NULL)
			stage = argv[++i];
		else if (arg == NULL && argv[i][0] != '-')
			arg = argv[i];
		else
			return ctl_usage(c);
	}
	if ((arg == NULL) == (invoice == NULL) || (invoice == NULL) != (stage == NULL))
		return ctl_usage(c);
	if (arg != NULL && !ctl_parse_id(arg, "a reminder id", &id))
		return EX_USAGE;
	if ((ms = templates_load(c->cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dunningctl: templates: %s\n", err);
		return EX_FAIL;
	}
	mime_from_domain(c->cfg, domain, sizeof(domain));
	if (arg != NULL)
		got = preview_sql_group(c->store, c->cfg, id, c->now, domain, &g, &pv);
	else
		got = preview_sql_invoice(c->store, c->cfg, invoice, stage, c->now, domain, &g,
		    &pv);
	if (got < 0) {
		templates_free(ms);
		return ctl_refused(c);
	}
	if ((why = check_group(&g, c->cfg)) != REASON_NONE) {
		if (pv.reminder_id != 0)
			fprintf(stderr, "dunningctl: reminder %lld would not be sent: %s\n",
			    (long long)pv.reminder_id, reason_text(why, true));
		else
			fprintf(stderr, "dunningctl: invoice %s at stage %s would not be sent: "
			    "%s\n", invoice, stage, reason_text(why, true));
		goto out;
	}
	err[0] = '\0';
	if (c->cfg->stages[g.stage].channel == CONFIG_CHANNEL_LETTER) {
		char *text = templates_letter(ms, c->cfg, &g, pv.leaves_at, err, sizeof(err));

		if (text == NULL) {
			fprintf(stderr, "dunningctl: the letter: %s\n",
			    err[0] ? err : "out of memory");
			goto out;
		}
		if (!raw)
			print_preface(c, &g, &pv);
		fputs(text, stdout);
		free(text);
	} else {
		size_t len = 0;
		char *msg = mime_compose(ms, c->cfg, &g, pv.leaves_at, &len, err, sizeof(err));

		if (msg == NULL) {
			fprintf(stderr, "dunningctl: composing: %s\n",
			    err[0] ? err : "out of memory");
			goto out;
		}
		if (raw) {
			if (pv.reminder_id == 0)
				fprintf(stderr, "dunningctl: not planned yet: the Message-ID "
				    "shown is a placeholder, given when the reminder is planned\n");
			fwrite(msg, 1, len, stdout);
		} else {
			print_preface(c, &g, &pv);
			if (show_decoded(msg, len, pv.reminder_id != 0) < 0) {
				free(msg);
				fprintf(stderr, "dunningctl: the composed message cannot be "
				    "read back\n");
				goto out;
			}
		}
		free(msg);
	}
	rc = EX_OK;
out:
	preview_sql_free(&g, &pv);
	templates_free(ms);
	return rc;
}
