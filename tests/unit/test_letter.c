/*
 * test_letter — the formal notice's PDF: text cleaning, hostile bytes,
 * pages and page numbers, write errors.  The PDFs are read back with
 * pdftotext (poppler-utils).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "letter.h"
#include "tap.h"

static char dir[] = "/tmp/test_letter.XXXXXX";

/* letter_clean(IN, KEEP) gives WANT. */
static void
clean(const char *in, bool keep, const char *want, const char *what)
{
	char *got = letter_clean(in, keep);

	if (!tap_ok(got != NULL && strcmp(got, want) == 0, "letter_clean: %s", what))
		tap_diag("want \"%s\", got \"%s\"", want, got ? got : "(null)");
	free(got);
}

/* A letter with sensible defaults and BODY. */
static struct letter
sample(const char *body)
{
	struct letter l = {
		.firm_name = "Cabinet Test", .firm_address = "1 rue de la Paix\n75002 Paris",
		.firm_phone = "01 23 45 67 89",
		.recipient = { "Paul Lefèvre", "12 avenue des Tilleuls", "69003 Lyon" },
		.nrecipient = 3, .date_line = "Le 3 mars 2026",
		.mention = "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION",
		.body = body, .title = "Objet : mise en demeure", .created = 1772528400,
	};

	return l;
}

/* Render L into DIR/NAME; the number of pages, or -1. */
static int
render(const struct letter *l, const char *name, char *path, size_t n)
{
	char err[256] = "";
	int fd, pages;

	snprintf(path, n, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return -1;
	pages = letter_render(l, fd, err, sizeof(err));
	close(fd);
	if (pages < 0)
		tap_diag("letter_render: %s", err);
	return pages;
}

/* The output of COMMAND, malloc'ed ("" when it fails). */
static char *
run(const char *command)
{
	FILE *p = popen(command, "r");
	GString *s = g_string_new(NULL);
	char buf[4096];
	size_t n;
	char *out;

	while (p != NULL && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		g_string_append_len(s, buf, (gssize)n);
	if (p != NULL)
		pclose(p);
	out = strdup(s->str);
	g_string_free(s, TRUE);
	return out;
}

/* The text of the PDF at PATH, by pdftotext -layout. */
static char *
pdf_text(const char *path)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "pdftotext -layout '%s' - 2>/dev/null", path);
	return run(cmd);
}

/* Does the file at PATH start with "%PDF-"? */
static bool
is_pdf(const char *path)
{
	char head[5] = "";
	FILE *f = fopen(path, "rb");
	bool ok = f != NULL && fread(head, 1, 5, f) == 5 && memcmp(head, "%PDF-", 5) == 0;

	if (f != NULL)
		fclose(f);
	return ok;
}

static void
test_clean(void)
{
	clean("Dupont & Fils <b>", false, "Dupont & Fils <b>", "markup characters kept as text");
	clean("Jean\r\nDupont ", false, "Jean Dupont", "CR LF in a one-line field: one space");
	clean("a\r\nb\rc\nd", true, "a\nb\nc\nd", "CR LF and CR as line breaks in the body");
	clean("a\tb\x01" "c\x7f" "d", false, "a b c d", "C0 controls and DEL: spaces");
	clean("a\t\t b", true, "a   b", "spaces kept in the body");
	clean("a\xc2\x85" "b", false, "a b", "C1 control (NEL): a space");
	clean("a\xe2\x80\xa8" "b", true, "a\nb", "LINE SEPARATOR: a line break");
	clean("ab\xe2\x80\xae" "cd", false, "abcd", "bidirectional override dropped");
	clean("rue \xff\xfe" "de Lyon", false, "rue \xef\xbf\xbd\xef\xbf\xbd" "de Lyon",
	    "invalid UTF-8 replaced by U+FFFD");
	clean("caf\xc3", false, "caf\xef\xbf\xbd", "truncated sequence replaced");
	clean("Lefèvre Œuvre 1\xe2\x80\xaf" "234,56\xc2\xa0€", false,
	    "Lefèvre Œuvre 1\xe2\x80\xaf" "234,56\xc2\xa0€", "French text untouched");
	clean(NULL, false, "", "NULL is empty");
}

static void
test_one_page(void)
{
	const char *body = "Objet : mise en demeure de payer\n\nMadame, Monsieur,\n\n"
	    "Nous vous mettons en demeure de régler la somme de 1\xe2\x80\xaf" "234,56\xc2\xa0€ "
	    "dans un délai de huit jours.\n\n- note d'honoraires n° F-1 : reste dû 1\xe2\x80\xaf"
	    "234,56\xc2\xa0€\n\nMaître Alice Martin\nCabinet Test\n";
	struct letter l = sample(body);
	char path[1100], *text;
	int pages = render(&l, "one.pdf", path, sizeof(path));

	tap_ok(pages == 1, "a short letter is one page (%d)", pages);
	tap_ok(is_pdf(path), "the file is a PDF");
	text = pdf_text(path);
	tap_ok(strstr(text, "Cabinet Test") != NULL, "letterhead: firm name");
	tap_ok(strstr(text, "75002 Paris") != NULL, "letterhead: address, second line");
	tap_ok(strstr(text, "01 23 45 67 89") != NULL, "letterhead: phone");
	tap_ok(strstr(text, "69003 Lyon") != NULL, "recipient block");
	tap_ok(strstr(text, "Le 3 mars 2026") != NULL, "date line");
	tap_ok(strstr(text, "LETTRE RECOMMANDÉE AVEC DEMANDE D'AVIS DE RÉCEPTION") != NULL,
	    "registered-mail mention");
	tap_ok(strstr(text, "– note d'honoraires n° F-1") != NULL, "list item with a dash");
	tap_ok(strstr(text, "Maître Alice Martin") != NULL, "signature");
	tap_ok(strstr(text, "page 1/") == NULL, "no page number on a one-page letter");
	free(text);
}

static void
test_hostile(void)
{
	const char *body = "Objet : <b>mise</b> en demeure & <i>\n\nMadame, Monsieur,\n\n"
	    "Texte <span foreground=\"red\">&amp; &lt;</span> \xff\xfe fin.\n\n\xc3\n";
	struct letter l = sample(body);
	char path[1100], *text;
	int pages;

	l.recipient[0] = "Dupont\r\nBcc: x <b>&";
	l.recipient[1] = "rue \xff\xfe\x01 de <Lyon>";
	l.recipient[2] = "\xe2\x80\xae" "69003 Lyon";
	l.firm_name = "Cabinet <b>&</b>";
	pages = render(&l, "hostile.pdf", path, sizeof(path));
	tap_ok(pages == 1, "hostile texts render (%d page)", pages);
	tap_ok(is_pdf(path), "hostile texts: still a PDF");
	text = pdf_text(path);
	tap_ok(strstr(text, "Dupont Bcc: x <b>&") != NULL, "CR LF in the name: one line, markup as text");
	tap_ok(strstr(text, "de <Lyon>") != NULL, "invalid bytes in the address: the rest kept");
	tap_ok(strstr(text, "Cabinet <b>&</b>") != NULL, "markup in the firm name printed as is");
	tap_ok(strstr(text, "<span foreground=\"red\">&amp; &lt;</span>") != NULL,
	    "markup in the body printed as is");
	tap_ok(strstr(text, "69003 Lyon") != NULL, "bidirectional override dropped");
	free(text);
}

static void
test_pages(void)
{
	GString *b = g_string_new("Objet : mise en demeure de payer – 60 notes d'honoraires\n\n"
	    "Madame, Monsieur,\n\n");
	struct letter l;
	char path[1100], *text, want[64];
	int pages;

	for (int i = 1; i <= 60; i++)
		g_string_append_printf(b, "- note d'honoraires n° F-%03d, émise le 1er janvier 2026, "
		    "échue le 31 janvier 2026, d'un montant de 100,00 € : reste dû 100,00 €\n", i);
	g_string_append(b, "\nNous vous prions d'agréer, Madame, Monsieur, l'expression de nos "
	    "salutations distinguées.\n\nMaître Alice Martin\nCabinet Test\n");
	l = sample(b->str);
	pages = render(&l, "long.pdf", path, sizeof(path));
	tap_ok(pages >= 2, "60 invoices flow onto further pages (%d)", pages);
	text = pdf_text(path);
	snprintf(want, sizeof(want), "page 1/%d", pages);
	tap_ok(strstr(text, want) != NULL, "\"%s\" on the first page", want);
	snprintf(want, sizeof(want), "page %d/%d", pages, pages);
	tap_ok(strstr(text, want) != NULL, "\"%s\" on the last page", want);
	tap_ok(strstr(text, "F-001") != NULL && strstr(text, "F-060") != NULL,
	    "every item printed");
	tap_ok(strstr(text, "F-060") != NULL &&
	    strstr(strstr(text, "F-060"), "Maître Alice Martin") != NULL,
	    "the signature after the last item");
	free(text);
	g_string_free(b, TRUE);
}

static void
test_write_error(void)
{
	struct letter l = sample("Objet : x\n\nCorps.\n");
	char err[256] = "";
	int fd = open("/dev/full", O_WRONLY), rc;

	if (fd < 0) {
		tap_ok(1, "# SKIP no /dev/full");
		return;
	}
	errno = 0;
	rc = letter_render(&l, fd, err, sizeof(err));
	close(fd);
	tap_ok(rc == -1 && errno == ENOSPC, "a full disk is an error with its errno (%d, %s)", rc,
	    err);
	tap_ok(strstr(err, "No space left") != NULL, "the reason names it: %s", err);
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_clean();
	test_one_page();
	test_hostile();
	test_pages();
	test_write_error();
	/* TEST_LETTER_KEEP=1 keeps the PDFs, to look at them. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (getenv("TEST_LETTER_KEEP") != NULL)
		tap_diag("PDFs kept in %s", dir);
	else if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
