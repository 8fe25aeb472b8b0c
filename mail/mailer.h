/*
 * mailer — one SMTP session carrying several messages, one at a time:
 * implicit TLS or STARTTLS with the chain and the host name verified,
 * AUTH as smtp.auth says (PLAIN or LOGIN when a username is set, XOAUTH2
 * with a token from mail/oauth.c, or none), and the relay's verdict on
 * each message.
 */
#ifndef DUNNING_MAILER_H
#define DUNNING_MAILER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum mailer_outcome {
	MAILER_SENT,		/* the relay answered 2xx at the end of DATA */
	MAILER_TEMPORARY,	/* 4xx, or failed before the end of DATA: retry */
	MAILER_PERMANENT,	/* 5xx: the recipient or the message is refused */
	MAILER_UNKNOWN,		/* cut after the data went out, or an answer
				 * to it that is no verdict: in doubt */
	MAILER_REFUSED,		/* the relay refused the session itself — the
				 * credentials, or the sender (5xx at MAIL):
				 * nothing was handed, none of the session's
				 * messages can leave until someone acts */
};

struct mailer_msg {
	const char *data;	/* the whole message, CRLF line ends */
	size_t len;
	const char *rcpt;	/* envelope recipient */
	/* filled by mailer_send */
	enum mailer_outcome outcome;
	char status[256];	/* the relay's answer, or the error */
	size_t sent;		/* bytes handed to the library */
	void *udata;		/* the caller's */
	/* The caller's, may be NULL: asked right before the message's last
	 * bytes are handed (the final dot follows them); false withholds the
	 * message — the transfer is cut there, before the dot, so the relay
	 * delivers nothing; the outcome is MAILER_TEMPORARY and the session
	 * goes on with the next message on a new connection. */
	bool (*before_dot)(struct mailer_msg *m, void *arg);
	void *before_dot_arg;
};

/* Called right before a message is handed: false to skip it (the caller
 * has dealt with it; DONE is not called for it). */
typedef bool (*mailer_ready_fn)(struct mailer_msg *m, void *arg);

/* Called once per message as soon as its outcome is known: right after
 * its transfer, or, for the messages a stopped session did not reach, at
 * its end (READY was not called for those). */
typedef void (*mailer_done_fn)(struct mailer_msg *m, void *arg);

/* Send the N messages in one session (connection reuse), one at a time.
 * PASSWORD (auth = "password" only), READY and DONE may be NULL.  Never
 * fails as a whole: each message not skipped gets its outcome —
 * MAILER_REFUSED for every one, with the endpoint's answer, when auth =
 * "xoauth2" gets no token. */
void mailer_send(const struct config *cfg, const char *password, struct mailer_msg *msgs,
    size_t n, mailer_ready_fn ready, mailer_done_fn done, void *arg);

/* Initialise libcurl, once for the process (the mailer and mail/oauth.c
 * both call it first): 0, or -1 with ERR set. */
int mailer_curl_init(char *err, size_t errlen);

/* The SMTP password: smtp.password_file, else the systemd credential
 * "smtp_password".  NULL when none, or when smtp.auth is not "password";
 * ERR says why if one was expected. */
char *mailer_password(const struct config *cfg, char *err, size_t errlen);

#endif
