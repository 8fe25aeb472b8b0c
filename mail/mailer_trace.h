/*
 * mailer_trace — how mailer.c reads libcurl's protocol trace and judges a
 * transfer, apart from any I/O: the commands sent and the answers
 * received move a message through its phases, and the phase it stopped
 * in, libcurl's result and the relay's last reply code give its outcome.
 * The mailer feeds it from CURLOPT_DEBUGFUNCTION; tests/fuzz/fuzz_smtp.c
 * from a scripted session.
 */
#ifndef DUNNING_MAILER_TRACE_H
#define DUNNING_MAILER_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "mailer.h"

/* Where the transfer of the current message stands. */
enum phase {
	PHASE_SESSION,		/* connection, EHLO, STARTTLS, AUTH */
	PHASE_MAIL,		/* MAIL FROM sent */
	PHASE_RCPT,		/* RCPT TO sent */
	PHASE_DATA,		/* DATA sent, the message not handed yet */
	PHASE_DOT,		/* the whole message handed: the verdict is next */
	PHASE_ANSWERED,		/* the relay answered the end of DATA */
};

/* What the trace of one message's transfer said so far. */
struct mailer_trace {
	enum phase phase;
	bool closing;			/* QUIT or RSET sent: the answers are over */
	bool challenge;			/* a 334: the next line is AUTH's answer */
	char answer[256];		/* the final line of the relay's last reply */
};

/* A line LINE (LEN bytes) sent to the relay. */
void mailer_trace_command(struct mailer_trace *t, const char *line, size_t len);

/* A line LINE (LEN bytes, its CRLF included or not) from the relay. */
void mailer_trace_answer(struct mailer_trace *t, const char *line, size_t len);

/* The outcome of a transfer that ended with libcurl's RC, having stopped
 * in PHASE with CODE the relay's last reply code (CURLINFO_RESPONSE_CODE).
 * *ANSWERED: the relay's answer (not libcurl's error) is the status;
 * *GO_ON: the session can go on to the next message. */
enum mailer_outcome mailer_judge(enum phase phase, CURLcode rc, long code, bool *answered,
    bool *go_on);

#endif
