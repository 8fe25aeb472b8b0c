/*
 * letter — the formal notice laid out on A4 with Pango, written as PDF by
 * Cairo, once every text is made safe to lay out (letter_clean()); what
 * it says comes from letter_content.c, its French typography from
 * mail/templates.c (typo_french(), as for every French text).
 *
 * No markup is ever parsed: every text goes to pango_layout_set_text()
 * after letter_clean(), and bold is a font, so a name such as "<b>&" is
 * printed as it is written.  The document is laid out twice, first to
 * count the pages ("page 1/3" needs the total), then to draw.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>

#include "letter.h"

/* The texts of a letter once cleaned, as they are laid out. */
struct letter_texts {
	char *firm_name, *firm_address, *firm_phone, *date_line, *mention, *body, *title;
	char *recipient;	/* the lines joined by '\n' */
};

/* Characters that would change the layout behind the reader's back:
 * bidirectional embeddings, overrides and isolates, the BOM. */
static bool
invisible(gunichar c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* Unicode's noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF): valid
 * UTF-8 for GLib, and a PostgreSQL text may hold them, but Cairo refuses
 * them ("input string not valid UTF-8") and the whole PDF with them. */
static bool
noncharacter(gunichar c)
{
	return (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe;
}

/* Make TEXT printable: see letter.h. */
char *
letter_clean(const char *text, bool keep_lines)
{
	gchar *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid) + 1);
	char *res;

	for (const gchar *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '\r' && keep_lines) {
			if (p[1] != '\n')
				g_string_append_c(out, '\n');
		} else if (c == '\n' || c == 0x2028 || c == 0x2029) {
			g_string_append_c(out, keep_lines ? '\n' : ' ');
		} else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
			g_string_append_c(out, ' ');
		} else if (noncharacter(c)) {
			g_string_append(out, "\xef\xbf\xbd");	/* U+FFFD, as invalid UTF-8 */
		} else if (!invisible(c)) {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
	}
	if (!keep_lines) {
		/* One line: the spaces that replaced a line break collapse. */
		size_t w = 0;

		for (size_t r = 0; r < out->len; r++)
			if (out->str[r] != ' ' || (w > 0 && out->str[w - 1] != ' '))
				out->str[w++] = out->str[r];
		while (w > 0 && out->str[w - 1] == ' ')
			w--;
		g_string_truncate(out, w);
	}
	res = strdup(out->str);
	g_string_free(out, TRUE);
	g_free(valid);
	return res;
}

/* Free the cleaned texts. */
static void
letter_texts_free(struct letter_texts *t)
{
	free(t->firm_name);
	free(t->firm_address);
	free(t->firm_phone);
	free(t->date_line);
	free(t->mention);
	free(t->body);
	free(t->title);
	free(t->recipient);
}

/* Clean every text of L into T (the body's French typography is the
 * template's, typo_french() in mail/templates.c).  0, or
 * -1 when out of memory, T then holding nothing to free. */
static int
letter_texts_clean(const struct letter *l, struct letter_texts *t)
{
	GString *r = g_string_new(NULL);

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < l->nrecipient && i < LETTER_MAX_RECIPIENT; i++) {
		char *line = letter_clean(l->recipient[i], false);

		if (line != NULL && *line) {
			if (r->len > 0)
				g_string_append_c(r, '\n');
			g_string_append(r, line);
		}
		free(line);
	}
	t->recipient = strdup(r->str);
	g_string_free(r, TRUE);
	t->firm_name = letter_clean(l->firm_name, false);
	t->firm_address = letter_clean(l->firm_address, true);
	t->firm_phone = letter_clean(l->firm_phone, false);
	t->date_line = letter_clean(l->date_line, false);
	t->mention = letter_clean(l->mention, false);
	t->body = letter_clean(l->body, true);
	t->title = letter_clean(l->title, false);
	if (t->recipient == NULL || t->firm_name == NULL || t->firm_address == NULL ||
	    t->firm_phone == NULL || t->date_line == NULL || t->mention == NULL ||
	    t->body == NULL || t->title == NULL) {
		letter_texts_free(t);
		return -1;
	}
	return 0;
}

/* Geometry, in PostScript points (1 mm = 72 / 25.4 pt). */
#define MM(x) ((x) * 72.0 / 25.4)
#define PAGE_W MM(210)
#define PAGE_H MM(297)
#define MARGIN MM(25)			/* left, right, and top of the next pages */
#define BOTTOM (PAGE_H - MM(20))	/* where the text stops */
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define HEAD_Y MM(18)			/* the letterhead, page 1 */
#define HEAD_W MM(75)
#define WIN_X MM(105)			/* the address in a DL window envelope */
#define WIN_Y MM(50)
#define WIN_W (PAGE_W - MARGIN - WIN_X)
#define WIN_BOTTOM MM(95)
#define FOOT_Y (PAGE_H - MM(13))	/* "page 1/2" */
#define GAP MM(3.2)			/* between blocks of the body */
#define INDENT MM(6)			/* list items and indented lines */

#define FONT_BODY "DejaVu Serif 11"
#define FONT_BOLD "DejaVu Serif Bold 11"
#define FONT_FIRM "DejaVu Serif Bold 13"
#define FONT_MENTION "DejaVu Serif Bold 10"
#define FONT_HEAD "DejaVu Serif 9"
#define FONT_FOOT "DejaVu Serif 8"

enum font { F_BODY, F_BOLD, F_FIRM, F_MENTION, F_HEAD, F_FOOT, NFONTS };

/* One pass over the document: measuring (DRAW false) or drawing. */
struct flow {
	cairo_t *cr;
	PangoContext *pc;
	PangoFontDescription *font[NFONTS];
	bool draw;
	double y;		/* top of the next line on the current page */
	int page;		/* 1-based */
	int pages;		/* the total, known when drawing */
};

/* Where the PDF's bytes go, and the first write error. */
struct sink {
	int fd;
	int err;
};

/* Cairo's stream callback: write everything, keep errno. */
static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct sink *s = closure;

	while (len > 0) {
		ssize_t n = write(s->fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->err = n < 0 ? errno : EIO;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		data += n;
		len -= (unsigned int)n;
	}
	return CAIRO_STATUS_SUCCESS;
}

/* A layout of TEXT in FONT, wrapped at WIDTH; HANG indents every line
 * but the first. */
static PangoLayout *
layout(struct flow *f, const char *text, enum font font, double width, double hang)
{
	PangoLayout *lo = pango_layout_new(f->pc);

	pango_layout_set_font_description(lo, f->font[font]);
	pango_layout_set_width(lo, (int)(width * PANGO_SCALE));
	pango_layout_set_wrap(lo, PANGO_WRAP_WORD_CHAR);
	if (hang > 0)
		pango_layout_set_indent(lo, -(int)(hang * PANGO_SCALE));
	pango_layout_set_text(lo, text, -1);
	return lo;
}

/* The height of LO in points. */
static double
height(PangoLayout *lo)
{
	int h;

	pango_layout_get_size(lo, NULL, &h);
	return (double)h / PANGO_SCALE;
}

/* TEXT placed at X, Y (its top), not flowing: the first page's blocks.
 * Its height. */
static double
place(struct flow *f, const char *text, enum font font, double x, double y, double width,
    PangoAlignment align)
{
	PangoLayout *lo;
	double h;

	if (*text == '\0')
		return 0;
	lo = layout(f, text, font, width, 0);
	pango_layout_set_alignment(lo, align);
	if (f->draw) {
		cairo_move_to(f->cr, x, y);
		pango_cairo_show_layout(f->cr, lo);
	}
	h = height(lo);
	g_object_unref(lo);
	return h;
}

/* "page 2/3" at the foot of the current page, when there are several. */
static void
footer(struct flow *f)
{
	char buf[32];

	if (!f->draw || f->pages < 2)
		return;
	snprintf(buf, sizeof(buf), "page %d/%d", f->page, f->pages);
	place(f, buf, F_FOOT, MARGIN, FOOT_Y, TEXT_W, PANGO_ALIGN_RIGHT);
}

/* End the current page, start the next. */
static void
new_page(struct flow *f)
{
	if (f->draw) {
		footer(f);
		cairo_show_page(f->cr);
	}
	f->page++;
	f->y = MARGIN;
}

/* TEXT flowing from the current position, line by line onto further
 * pages; KEEP moves it whole to the next page when it does not fit. */
static void
flow_text(struct flow *f, const char *text, enum font font, double x, double width,
    double hang, bool keep)
{
	PangoLayout *lo = layout(f, text, font, width, hang);
	PangoLayoutIter *it;

	if (keep && f->y + height(lo) > BOTTOM && f->y > MARGIN)
		new_page(f);
	it = pango_layout_get_iter(lo);
	do {
		PangoRectangle r;
		double lh, base;

		pango_layout_iter_get_line_extents(it, NULL, &r);
		lh = (double)r.height / PANGO_SCALE;
		base = (double)(pango_layout_iter_get_baseline(it) - r.y) / PANGO_SCALE;
		if (f->y + lh > BOTTOM && f->y > MARGIN)
			new_page(f);
		if (f->draw) {
			cairo_move_to(f->cr, x + (double)r.x / PANGO_SCALE, f->y + base);
			pango_cairo_show_layout_line(f->cr, pango_layout_iter_get_line_readonly(it));
		}
		f->y += lh;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
	g_object_unref(lo);
}

/* The width of TEXT in FONT. */
static double
text_width(struct flow *f, const char *text, enum font font)
{
	PangoLayout *lo = layout(f, text, font, TEXT_W, 0);
	int w;

	pango_layout_get_size(lo, &w, NULL);
	g_object_unref(lo);
	return (double)w / PANGO_SCALE;
}

/* Is line L blank? */
static bool
blank(const char *l)
{
	return l[strspn(l, " ")] == '\0';
}

/* The text of a list item ("- text" or "– text"), or NULL. */
static const char *
list_item(const char *l)
{
	if (strncmp(l, "- ", 2) == 0)
		return l + 2;
	if (strncmp(l, "– ", strlen("– ")) == 0)
		return l + strlen("– ");
	return NULL;
}

/* The signature, lines [FROM, TO) of the body, in the right-hand column
 * and never split across pages. */
static void
flow_signature(struct flow *f, char **lines, size_t from, size_t to)
{
	GString *s = g_string_new(NULL);

	for (size_t i = from; i < to; i++) {
		const char *l = lines[i] + strspn(lines[i], " ");

		if (*l == '\0')
			continue;
		if (s->len > 0)
			g_string_append_c(s, '\n');
		g_string_append(s, l);
	}
	flow_text(f, s->str, F_BODY, WIN_X, WIN_W, 0, true);
	g_string_free(s, TRUE);
}

/* The body: one paragraph per line, blank lines as space between blocks;
 * the first block in bold (the subject), the last in the right-hand
 * column (the signature). */
static void
flow_body(struct flow *f, char *body)
{
	char **lines = g_strsplit(body, "\n", -1);
	size_t n = g_strv_length(lines), first = 0, last, subject_end, sig_start;
	double dash = text_width(f, "– ", F_BODY);
	bool pending = false;

	while (first < n && blank(lines[first]))
		first++;
	while (n > first && blank(lines[n - 1]))
		n--;
	for (subject_end = first; subject_end < n &&
	    !blank(lines[subject_end]); subject_end++)
		;
	for (last = n; last > subject_end && !blank(lines[last - 1]);
	    last--)
		;
	/* A body of one block is plain text: no subject, no signature. */
	sig_start = last > subject_end ? last : n;
	if (subject_end == n)
		subject_end = first;

	for (size_t i = first; i < sig_start; i++) {
		const char *l = lines[i], *rest;
		size_t ind = strspn(l, " ");

		if (blank(l)) {
			pending = true;
			continue;
		}
		if (pending && f->y > MARGIN)
			f->y += GAP;
		pending = false;
		l += ind;
		if ((rest = list_item(l)) != NULL) {
			char *item = g_strconcat("– ", rest, NULL);

			flow_text(f, item, F_BODY, MARGIN + INDENT, TEXT_W - INDENT, dash, false);
			g_free(item);
		} else {
			double x = ind > 0 ? MARGIN + INDENT : MARGIN;

			flow_text(f, l, i < subject_end ? F_BOLD : F_BODY, x, PAGE_W - MARGIN - x,
			    0, false);
		}
	}
	if (sig_start < n) {
		if (f->y > MARGIN)
			f->y += 2 * GAP;
		flow_signature(f, lines, sig_start, n);
	}
	g_strfreev(lines);
}

/* The whole letter, page 1's blocks then the flowing body. */
static void
flow_letter(struct flow *f, const struct letter_texts *t)
{
	double y, h, date_y;

	f->page = 1;
	y = HEAD_Y;
	y += place(f, t->firm_name, F_FIRM, MARGIN, y, HEAD_W, PANGO_ALIGN_LEFT);
	y += MM(1.5);
	y += place(f, t->firm_address, F_HEAD, MARGIN, y, HEAD_W, PANGO_ALIGN_LEFT);
	if (*t->firm_phone) {
		char *tel = g_strconcat("Tél. ", t->firm_phone, NULL);

		y += place(f, tel, F_HEAD, MARGIN, y, HEAD_W, PANGO_ALIGN_LEFT);
		g_free(tel);
	}
	h = place(f, t->recipient, F_BODY, WIN_X, WIN_Y, WIN_W, PANGO_ALIGN_LEFT);
	date_y = WIN_Y + h + MM(8) > WIN_BOTTOM ? WIN_Y + h + MM(8) : WIN_BOTTOM;
	h = place(f, t->date_line, F_BODY, WIN_X, date_y, WIN_W, PANGO_ALIGN_LEFT);
	f->y = (y > date_y + h ? y : date_y + h) + MM(7);
	if (*t->mention) {
		f->y += place(f, t->mention, F_MENTION, MARGIN, f->y, TEXT_W, PANGO_ALIGN_LEFT);
		f->y += MM(6);
	}
	flow_body(f, t->body);
	if (f->draw)
		footer(f);
}

/* "2026-03-03T10:00:00+01:00" for the PDF's dates, in the firm's zone. */
static void
pdf_date(time_t t, char *buf, size_t n)
{
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

/* Render L into FD: see letter.h. */
int
letter_render(const struct letter *l, int fd, char *err, size_t errlen)
{
	static const char *const fonts[NFONTS] = { FONT_BODY, FONT_BOLD, FONT_FIRM,
		FONT_MENTION, FONT_HEAD, FONT_FOOT };
	struct sink sink = { fd, 0 };
	struct flow f;
	struct letter_texts t;
	cairo_surface_t *surface;
	cairo_font_options_t *fo;
	PangoFontMap *fm;
	cairo_status_t st;
	char date[40];
	int pages = -1;

	if (letter_texts_clean(l, &t) < 0) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	memset(&f, 0, sizeof(f));
	surface = cairo_pdf_surface_create_for_stream(sink_write, &sink, PAGE_W, PAGE_H);
	cairo_pdf_surface_restrict_to_version(surface, CAIRO_PDF_VERSION_1_5);
	pdf_date(l->created, date, sizeof(date));
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, date);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, date);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "dunningd");
	if (*t.title)
		cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, t.title);
	if (*t.firm_name)
		cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, t.firm_name);
	f.cr = cairo_create(surface);
	/* A font map of this letter's own, freed with it: the thread's
	 * default one keeps every font it ever loaded. */
	fm = pango_cairo_font_map_new();
	f.pc = pango_font_map_create_context(fm);
	pango_cairo_update_context(f.cr, f.pc);
	/* Unhinted metrics: the PDF is scaled on paper, and the measuring
	 * pass must give the drawing pass's line breaks. */
	fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(f.pc, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_round_glyph_positions(f.pc, FALSE);
	/* One user unit is one point: 11 pt must be 11 units, not 96 dpi's
	 * 14.7. */
	pango_cairo_context_set_resolution(f.pc, 72);
	for (int i = 0; i < NFONTS; i++)
		f.font[i] = pango_font_description_from_string(fonts[i]);
	cairo_set_source_rgb(f.cr, 0, 0, 0);

	flow_letter(&f, &t);
	f.pages = f.page;
	f.draw = true;
	flow_letter(&f, &t);
	cairo_show_page(f.cr);

	for (int i = 0; i < NFONTS; i++)
		pango_font_description_free(f.font[i]);
	g_object_unref(f.pc);
	g_object_unref(fm);
	st = cairo_status(f.cr);
	cairo_destroy(f.cr);
	cairo_surface_finish(surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	letter_texts_free(&t);
	if (sink.err != 0) {
		snprintf(err, errlen, "writing the PDF: %s", strerror(sink.err));
		errno = sink.err;
	} else if (st != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "rendering the PDF: %s", cairo_status_to_string(st));
		errno = st == CAIRO_STATUS_NO_MEMORY ? ENOMEM : EIO;
	} else {
		pages = f.pages;
	}
	return pages;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1	/* clang's name for it */
#endif
#endif
#ifdef __SANITIZE_ADDRESS__
/*
 * LeakSanitizer: fontconfig loses a few hundred bytes once per process
 * while parsing its configuration (FcInitLoadConfigAndFonts, under
 * expat); not ours to free and not growing.  Debian's fontconfig has no
 * frame pointers, so the report names only the library.  Built with
 * -fsanitize=address only (GCC's __SANITIZE_ADDRESS__, clang's
 * __has_feature: the fuzz targets are built with clang).
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

/* ...without a "Suppressions used" table in every program's stderr. */
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}
#endif
