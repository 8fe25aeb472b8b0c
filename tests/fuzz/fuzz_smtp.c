/*
 * fuzz_smtp — the mailer's reading of an SMTP session (mail/mailer_trace.h):
 * the protocol trace libcurl shows it (commands out, answer lines in), the
 * phase a message's transfer stopped in, and the verdict — sent,
 * temporary, permanent, refused or in doubt — with no network.
 *
 * The input scripts a relay: for each step of a session (greeting, EHLO,
 * AUTH none/PLAIN/LOGIN with its continuation lines, MAIL, RCPT, DATA,
 * the message handed in chunks, the end of data) whether the connection
 * is cut or what the relay answers: continuation lines ("250-..."),
 * lines that end no reply (what libcurl 7.88 skips), then a final line
 * of any code.  A model of libcurl 7.88's SMTP client (smtp.c: which
 * final codes each state accepts, the CURLcode it fails with, the
 * response code it keeps, QUIT after a refusal) plays the client and
 * feeds the trace as CURLOPT_DEBUGFUNCTION does; mailer_judge then gives
 * the verdict.
 *
 * Checked: a message not wholly handed is never sent nor in doubt; a
 * final 2xx at the end of data is sent, 4xx temporary, 5xx permanent,
 * any other code or none in doubt; a 5xx at RCPT is permanent, 4xx
 * temporary; a 5xx at MAIL, refused credentials or a certificate that
 * does not verify refuse the session; in doubt and refused stop the
 * session; when the relay's answer is the status, it is the final line
 * of the reply that decided.
 *
 * Input bytes are read one at a time (0 past the end); texts are runs of
 * bytes up to a NUL, CR and LF left out.  FUZZ_SMTP_TRACE=1 prints the
 * session an input makes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mailer_trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(why) do { fprintf(stderr, "fuzz_smtp: %s (line %d)\n", why, __LINE__); \
	abort(); } while (0)

/* The session: the input, the trace, and libcurl's state in the model. */
struct sim {
	const uint8_t *p, *end;
	struct mailer_trace t;
	long code;		/* CURLINFO_RESPONSE_CODE: the last final reply */
	char final[512];	/* the last final reply line, no CRLF */
};

static uint8_t
byte(struct sim *s)
{
	return s->p < s->end ? *s->p++ : 0;
}

/* A text of the input (up to a NUL), CR and LF left out, at most N-1. */
static void
text(struct sim *s, char *buf, size_t n)
{
	size_t w = 0;

	while (s->p < s->end && *s->p != '\0') {
		uint8_t c = *s->p++;

		if (c != '\r' && c != '\n' && w + 1 < n)
			buf[w++] = (char)c;
	}
	if (s->p < s->end)
		s->p++;
	buf[w] = '\0';
}

/* A line to the relay, with its CRLF, as libcurl traces it. */
static void
send_line(struct sim *s, const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (getenv("FUZZ_SMTP_TRACE") != NULL)
		fprintf(stderr, "C: %s", buf);
	mailer_trace_command(&s->t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void
answer_line(struct sim *s, const char *line)
{
	char buf[600];
	int n = snprintf(buf, sizeof(buf), "%s\r\n", line);

	if (getenv("FUZZ_SMTP_TRACE") != NULL)
		fprintf(stderr, "S: %s", buf);
	mailer_trace_answer(&s->t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Does LINE end a reply for libcurl (smtp_endofresp): three digits, then
 * a space or nothing. */
static bool
final_line(const char *line)
{
	size_t n = strlen(line);

	return n >= 3 && g_ascii_isdigit(line[0]) && g_ascii_isdigit(line[1]) &&
	    g_ascii_isdigit(line[2]) && (n == 3 || line[3] == ' ');
}

/*
 * The relay's reply to the current command, EXPECT the code a
 * well-behaved relay gives: its final code, or -1 when the connection is
 * cut first (after some lines, maybe).  QUITTING: libcurl's QUIT state,
 * whose code it does not keep.
 */
static int
reply(struct sim *s, int expect, bool quitting)
{
	uint8_t b = byte(s);
	int code;
	char txt[300], line[600];

	/* Continuation lines, and lines that end no reply. */
	for (int i = 0; i < ((b >> 3) & 3); i++) {
		uint8_t k = byte(s);

		text(s, txt, sizeof(txt));
		if (k & 1) {
			snprintf(line, sizeof(line), "%03d-%s", expect, txt);
		} else {
			snprintf(line, sizeof(line), "%s", txt);
			if (final_line(line))
				line[0] = 'x';
		}
		answer_line(s, line);
	}
	if ((b & 7) == 0)
		return -1;	/* cut */
	if (b & 0x80) {
		uint8_t c0 = byte(s), c1 = byte(s);

		code = (c0 & 0x80 ? c0 % 10 : 2 + c0 % 4) * 100 + c1 % 100;
	} else {
		code = expect;
	}
	text(s, txt, sizeof(txt));
	if (b & 0x40 || !*txt)
		snprintf(line, sizeof(line), "%03d", code);
	else
		snprintf(line, sizeof(line), "%03d %s", code, txt);
	answer_line(s, line);
	if (!quitting) {
		s->code = code;
		snprintf(s->final, sizeof(s->final), "%s", line);
	}
	return code;
}

/* What stopped the transfer, as the model sees it. */
enum stop {
	STOP_SESSION,	/* before MAIL: connect, TLS, greeting, EHLO */
	STOP_AUTH,	/* the credentials refused */
	STOP_MAIL,	/* MAIL refused or cut */
	STOP_RCPT,
	STOP_DATA,	/* DATA refused, or cut before the whole message went */
	STOP_DOT,	/* all handed, no final reply to the end of data */
	STOP_END,	/* a final reply to the end of data */
};

/* libcurl's error for a cut connection, chosen by the input. */
static CURLcode
cut_rc(struct sim *s)
{
	static const CURLcode rcs[] = { CURLE_RECV_ERROR, CURLE_SEND_ERROR,
		CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING };

	return rcs[byte(s) % 4];
}

/* After a refusal libcurl says QUIT (when the input wants the connection
 * kept until then), and reads the answer it ignores. */
static void
quit(struct sim *s)
{
	if (byte(s) & 1) {
		send_line(s, "QUIT");
		reply(s, 221, true);
	}
}

/* Base64 of LEN bytes of DATA, for AUTH's continuation lines. */
static void
b64_line(struct sim *s, const char *data, size_t len)
{
	gchar *b = g_base64_encode((const guchar *)data, len);

	send_line(s, b);
	g_free(b);
}

/* The SASL exchange; false when refused (CURLE_LOGIN_DENIED) or cut (*RC). */
static bool
auth(struct sim *s, CURLcode *rc)
{
	uint8_t how = byte(s) % 3;
	char user[128], pass[128], plain[260];
	size_t n;
	int c;

	if (how == 0)
		return true;
	text(s, user, sizeof(user));
	text(s, pass, sizeof(pass));
	send_line(s, how == 1 ? "AUTH PLAIN" : "AUTH LOGIN");
	if ((c = reply(s, 334, false)) != 334)
		goto refused;
	if (how == 1) {
		n = (size_t)snprintf(plain, sizeof(plain), "%c%s%c%s", 0, user, 0, pass);
		b64_line(s, plain, n);
	} else {
		b64_line(s, user, strlen(user));
		if ((c = reply(s, 334, false)) != 334)
			goto refused;
		b64_line(s, pass, strlen(pass));
	}
	if ((c = reply(s, 235, false)) != 235)
		goto refused;
	return true;
refused:
	if (c < 0) {
		*rc = cut_rc(s);
	} else {
		*rc = CURLE_LOGIN_DENIED;
		quit(s);
	}
	return false;
}

/* One transfer, as libcurl 7.88 makes it: RC and where it stopped. */
static enum stop
session(struct sim *s, CURLcode *rc, int *last)
{
	static const CURLcode early[] = { CURLE_COULDNT_CONNECT, CURLE_PEER_FAILED_VERIFICATION,
		CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR, CURLE_OPERATION_TIMEDOUT,
		CURLE_COULDNT_RESOLVE_HOST };
	uint8_t b = byte(s);
	int c;

	*rc = CURLE_OK;
	if (b < 16) {
		*rc = early[b % 6];
		return STOP_SESSION;
	}
	/* A reused connection starts at MAIL. */
	if (!(b & 0x80)) {
		if ((c = reply(s, 220, false)) / 100 != 2) {
			*rc = c < 0 ? cut_rc(s) : CURLE_WEIRD_SERVER_REPLY;
			return STOP_SESSION;
		}
		send_line(s, "EHLO client.example");
		if ((c = reply(s, 250, false)) / 100 != 2) {
			*rc = c < 0 ? cut_rc(s) : CURLE_REMOTE_ACCESS_DENIED;
			return STOP_SESSION;
		}
		if (!auth(s, rc))
			return *rc == CURLE_LOGIN_DENIED ? STOP_AUTH : STOP_SESSION;
	}
	send_line(s, "MAIL FROM:<relances@cabinet.example>");
	if ((*last = c = reply(s, 250, false)) / 100 != 2) {
		*rc = c < 0 ? cut_rc(s) : CURLE_SEND_ERROR;
		if (c >= 0)
			quit(s);
		return STOP_MAIL;
	}
	send_line(s, "RCPT TO:<client@example.org>");
	if ((*last = c = reply(s, 250, false)) / 100 != 2) {
		*rc = c < 0 ? cut_rc(s) : CURLE_SEND_ERROR;
		if (c >= 0)
			quit(s);
		return STOP_RCPT;
	}
	send_line(s, "DATA");
	if ((*last = c = reply(s, 354, false)) != 354) {
		*rc = c < 0 ? cut_rc(s) : CURLE_SEND_ERROR;
		if (c >= 0)
			quit(s);
		return STOP_DATA;
	}
	/* The message handed (read_cb), maybe cut before its end. */
	b = byte(s);
	if ((b & 3) == 0) {
		*rc = CURLE_SEND_ERROR;
		return STOP_DATA;
	}
	s->t.phase = PHASE_DOT;
	if ((*last = c = reply(s, 250, false)) < 0) {
		*rc = cut_rc(s);
		return STOP_DOT;
	}
	if (c != 250) {
		*rc = CURLE_WEIRD_SERVER_REPLY;
		quit(s);
	}
	return STOP_END;
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim s = { .p = data, .end = data + size, .t = { .phase = PHASE_SESSION } };
	enum mailer_outcome o;
	enum stop stop;
	CURLcode rc;
	bool answered, go_on;
	int last = -1;

	if (size > 4096)
		return 0;
	stop = session(&s, &rc, &last);
	o = mailer_judge(s.t.phase, rc, s.code, &answered, &go_on);

	if (rc == CURLE_OK && o != MAILER_SENT)
		FAIL("a transfer libcurl calls done is not sent");
	if (stop < STOP_DOT && (o == MAILER_SENT || o == MAILER_UNKNOWN))
		FAIL("a message not wholly handed is sent or in doubt");
	if (stop == STOP_DOT && o != MAILER_UNKNOWN)
		FAIL("no verdict after the end of data is not in doubt");
	if (stop == STOP_END) {
		int cls = last / 100;
		enum mailer_outcome want = cls == 2 ? MAILER_SENT : cls == 4 ? MAILER_TEMPORARY :
		    cls == 5 ? MAILER_PERMANENT : MAILER_UNKNOWN;

		if (o != want) {
			fprintf(stderr, "fuzz_smtp: end of data answered %d: outcome %d\n", last, o);
			FAIL("the verdict is not the relay's final reply");
		}
	}
	if (stop == STOP_RCPT && last >= 500 && last < 600 && o != MAILER_PERMANENT)
		FAIL("a 5xx at RCPT is not permanent");
	if (stop == STOP_RCPT && last >= 400 && last < 500 && o != MAILER_TEMPORARY)
		FAIL("a 4xx at RCPT is not temporary");
	if (stop == STOP_MAIL && last >= 500 && last < 600 && o != MAILER_REFUSED)
		FAIL("a 5xx at MAIL does not refuse the session");
	if (stop == STOP_AUTH && o != MAILER_REFUSED)
		FAIL("refused credentials do not refuse the session");
	if ((rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) &&
	    o != MAILER_REFUSED)
		FAIL("a certificate that does not verify does not refuse the session");
	if ((o == MAILER_UNKNOWN || o == MAILER_REFUSED) && go_on)
		FAIL("the session goes on after a message in doubt or refused");
	/* The relay's words as the status: those of the reply that decided. */
	if (answered && s.t.answer[0] && (stop == STOP_END || (stop == STOP_RCPT && last >= 0)) &&
	    strncmp(s.t.answer, s.final, sizeof(s.t.answer) - 1) != 0) {
		fprintf(stderr, "fuzz_smtp: [%s] [%s]\n", s.t.answer, s.final);
		FAIL("the status is not the final line of the reply that decided");
	}
	return 0;
}
