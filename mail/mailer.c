/*
 * mailer — libcurl's SMTP: one message per transfer on a connection
 * kept open across the session's messages (libcurl reuses it, and opens
 * a new one after an error).  The daemon calls it from its sender
 * thread, never from the loop.
 *
 * What libcurl gives: implicit TLS (smtps://) or STARTTLS required
 * (CURLUSESSL_ALL, never downgraded), the chain and the configured host
 * name verified, SNI, SASL PLAIN and LOGIN, XOAUTH2 (the token from
 * oauth.c), TCP_NODELAY.  What it does
 * not: the relay's words.  They come from the protocol trace
 * (CURLOPT_DEBUGFUNCTION): the last command sent and the last answer,
 * which say where a transfer stopped — before the message was handed
 * (nothing left: retry), at the end of DATA (the relay's verdict), or
 * after the data went out with no answer (in doubt).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "mailer.h"
#include "mailer_trace.h"
#include "oauth.h"

#define CONNECT_TIMEOUT 30L	/* seconds to open the connection and TLS */
#define ANSWER_TIMEOUT 300L	/* seconds for each answer (RFC 5321 4.5.3.2) */

struct mailer {
	CURL *curl;
	struct curl_slist *rcpt;
	char url[512];
	char from[256];
	char where[300];		/* host:port, for the messages */
	char error[CURL_ERROR_SIZE];
	struct mailer_trace trace;	/* phase, closing, the relay's last answer */
	bool asked;			/* before_dot asked for this message */
	bool withheld;			/* and it said no: the transfer was cut */
	struct mailer_msg *m;		/* the message in transfer */
	char *bearer;			/* auth = "xoauth2": the token shown */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_ready;

static void
curl_init(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* libcurl initialised, once for the process (mailer.h). */
int
mailer_curl_init(char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init);
	if (curl_ready == CURLE_OK)
		return 0;
	snprintf(err, errlen, "cannot initialise libcurl: %s", curl_easy_strerror(curl_ready));
	return -1;
}

/* Hand the message to libcurl: all of it at once — but, before its last
 * bytes (then the final dot) go, the caller may withhold it
 * (before_dot): the transfer is aborted short of the dot. */
static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct mailer *mx = arg;
	struct mailer_msg *m = mx->m;
	size_t n = size * nitems;

	if (n > m->len - m->sent)
		n = m->len - m->sent;
	if (m->sent + n == m->len && !mx->asked && m->before_dot != NULL) {
		mx->asked = true;
		if (!m->before_dot(m, m->before_dot_arg)) {
			mx->withheld = true;
			return CURL_READFUNC_ABORT;
		}
	}
	memcpy(buf, m->data + m->sent, n);
	m->sent += n;
	/* All of it handed: from now on, a failure with no answer leaves the
	 * message in doubt. */
	if (m->sent == m->len)
		mx->trace.phase = PHASE_DOT;
	return n;
}

/* The command a line sent to the relay starts with.  The line after a
 * 334 is AUTH's answer to a challenge (credentials in base64, which may
 * well start with "QUIt" or "RCpT"), not a command: never looked at. */
void
mailer_trace_command(struct mailer_trace *t, const char *line, size_t len)
{
	if (t->challenge) {
		t->challenge = false;
		return;
	}
	if (len >= 4 && strncasecmp(line, "MAIL", 4) == 0)
		t->phase = PHASE_MAIL;
	else if (len >= 4 && strncasecmp(line, "RCPT", 4) == 0)
		t->phase = PHASE_RCPT;
	else if (len >= 4 && strncasecmp(line, "DATA", 4) == 0)
		t->phase = PHASE_DATA;
	else if (len >= 4 && (strncasecmp(line, "QUIT", 4) == 0 ||
	    strncasecmp(line, "RSET", 4) == 0))
		t->closing = true;
}

/* An answer line from the relay.  Only the line that ends a reply counts,
 * as libcurl reads it (three digits, then a space or nothing): it is kept
 * (the final line of a multi-line answer), and it is the verdict on a
 * handed message.  A continuation line ("250-...") or a line that ends
 * no reply is not: a connection cut after it leaves the message in
 * doubt, not refused for now. */
void
mailer_trace_answer(struct mailer_trace *t, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (t->closing || len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) || !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' '))
		return;
	/* A 334 is a challenge only while signing in: after the data it is
	 * no verdict, and the QUIT that follows is a command. */
	t->challenge = t->phase == PHASE_SESSION && strncmp(line, "334", 3) == 0;
	if (len >= sizeof(t->answer))
		len = sizeof(t->answer) - 1;
	memcpy(t->answer, line, len);
	t->answer[len] = '\0';
	if (t->phase == PHASE_DOT)
		t->phase = PHASE_ANSWERED;
}

static int
trace_cb(CURL *curl, curl_infotype type, char *data, size_t size, void *arg)
{
	struct mailer *mx = arg;

	(void)curl;
	if (type == CURLINFO_HEADER_OUT)
		mailer_trace_command(&mx->trace, data, size);
	else if (type == CURLINFO_HEADER_IN)
		mailer_trace_answer(&mx->trace, data, size);
	return 0;
}

/* The envelope's reverse path: the bare address of smtp.from. */
static void
bare_from(const char *from, char *buf, size_t n)
{
	const char *lt = strrchr(from, '<');

	if (lt != NULL)
		snprintf(buf, n, "<%.*s>", (int)strcspn(lt + 1, ">"), lt + 1);
	else
		snprintf(buf, n, "<%s>", from);
}

/* The URL: smtps:// for implicit TLS, smtp:// otherwise; the path is the
 * name given in EHLO (this host's). */
static void
relay_url(const struct config *cfg, char *buf, size_t n)
{
	char host[256] = "localhost";
	const char *scheme = cfg->smtp.tls == CONFIG_TLS_IMPLICIT ? "smtps" : "smtp";
	bool ipv6 = strchr(cfg->smtp.host, ':') != NULL;

	if (gethostname(host, sizeof(host)) != 0 || host[strcspn(host, "/?#% ")] != '\0')
		snprintf(host, sizeof(host), "localhost");
	snprintf(buf, n, "%s://%s%s%s:%d/%s", scheme, ipv6 ? "[" : "", cfg->smtp.host,
	    ipv6 ? "]" : "", cfg->smtp.port, host);
}

/* How the session signs in (smtp.auth): PLAIN or LOGIN with PASSWORD when
 * a user is set, XOAUTH2 with a token from the endpoint, or not at all.
 * -1 with ERR when no token can be had: the session is refused. */
static int
auth_setup(struct mailer *mx, const struct config *cfg, const char *password, char *err,
    size_t errlen)
{
	CURL *c = mx->curl;

	switch (cfg->smtp.auth) {
	case CONFIG_AUTH_PASSWORD:
		if (cfg->smtp.username == NULL || *cfg->smtp.username == '\0')
			break;
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp.username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password != NULL ? password : "");
		curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=PLAIN;AUTH=LOGIN");
		break;
	case CONFIG_AUTH_XOAUTH2:
		if ((mx->bearer = oauth_token(cfg, err, errlen)) == NULL)
			return -1;
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->smtp.username);
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, mx->bearer);
		curl_easy_setopt(c, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
		break;
	case CONFIG_AUTH_NONE:
		break;
	}
	return 0;
}

/* A handle for the session, or NULL with ERR set: *REFUSED when the
 * session cannot sign in (no token), else it failed to start. */
static struct mailer *
mailer_open(const struct config *cfg, const char *password, bool *refused, char *err,
    size_t errlen)
{
	struct mailer *mx;
	CURL *c;

	if (mailer_curl_init(err, errlen) < 0)
		return NULL;
	if ((mx = calloc(1, sizeof(*mx))) == NULL || (mx->curl = curl_easy_init()) == NULL) {
		free(mx);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c = mx->curl;
	relay_url(cfg, mx->url, sizeof(mx->url));
	bare_from(cfg->smtp.from, mx->from, sizeof(mx->from));
	snprintf(mx->where, sizeof(mx->where), "%s:%d", cfg->smtp.host, cfg->smtp.port);
	curl_easy_setopt(c, CURLOPT_URL, mx->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, ANSWER_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, mx->error);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, trace_cb);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, mx);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, mx);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, mx->from);
	if (cfg->smtp.tls != CONFIG_TLS_NONE) {
		/* STARTTLS required: a relay that does not offer it gets
		 * nothing, never the message in clear. */
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		if (cfg->smtp.ca_file != NULL && *cfg->smtp.ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, cfg->smtp.ca_file);
	}
	if (auth_setup(mx, cfg, password, err, errlen) < 0) {
		*refused = true;
		curl_easy_cleanup(c);
		free(mx);
		return NULL;
	}
	return mx;
}

static void
mailer_close(struct mailer *mx)
{
	if (mx == NULL)
		return;
	curl_easy_cleanup(mx->curl);
	curl_slist_free_all(mx->rcpt);
	oauth_free(mx->bearer);
	free(mx);
}

/* The relay's answer, else libcurl's reason, in M's status. */
static void
status(struct mailer *mx, struct mailer_msg *m, bool answered, CURLcode rc)
{
	if (answered && mx->trace.answer[0])
		snprintf(m->status, sizeof(m->status), "%s", mx->trace.answer);
	else
		snprintf(m->status, sizeof(m->status), "%s: %s", mx->where,
		    mx->error[0] ? mx->error : curl_easy_strerror(rc));
}

/* STATUS without the "host:port: " it starts with when no answer came. */
static const char *
without_where(const struct mailer *mx, const char *status)
{
	size_t n = strlen(mx->where);

	return strncmp(status, mx->where, n) == 0 && strncmp(status + n, ": ", 2) == 0 ?
	    status + n + 2 : status;
}

/* The outcome of a transfer: see mailer_trace.h. */
enum mailer_outcome
mailer_judge(enum phase phase, CURLcode rc, long code, bool *answered, bool *go_on)
{
	*answered = true;
	*go_on = true;
	if (rc == CURLE_OK)
		return MAILER_SENT;
	switch (phase) {
	case PHASE_ANSWERED:
		/* The relay's verdict on the message: any 2xx took it (libcurl
		 * fails on all but 250: a 251 retried would leave twice).  A
		 * code that is no verdict (3xx, or none of SMTP's) leaves it
		 * in doubt, and the session in a state nobody knows. */
		if (code >= 200 && code < 300)
			return MAILER_SENT;
		if (code >= 400 && code < 600)
			return code >= 500 ? MAILER_PERMANENT : MAILER_TEMPORARY;
		*go_on = false;
		return MAILER_UNKNOWN;
	case PHASE_DOT:
		/* The data went out, no verdict came back. */
		*answered = *go_on = false;
		return MAILER_UNKNOWN;
	case PHASE_RCPT:
		/* The recipient refused (5xx) or deferred (4xx). */
		if (code >= 400)
			return code >= 500 ? MAILER_PERMANENT : MAILER_TEMPORARY;
		break;
	case PHASE_DATA:
		/* Refused before any of the message went out: retry it. */
		if (code >= 400)
			return MAILER_TEMPORARY;
		break;
	default:
		break;
	}
	/* Nothing handed: the session failed.  Refused credentials, a
	 * refused sender (a 5xx at MAIL is about the session: 530 5.7.57
	 * "client not authenticated", 550 5.7.1 "sender not allowed"), or a
	 * certificate that does not verify (an unknown CA, another name:
	 * nothing a retry changes, and nothing was sent to that relay) wait
	 * for a person; the rest (connection, a TLS handshake cut, a 4xx)
	 * for the backoff. */
	*go_on = false;
	if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
		*answered = false;
		return MAILER_REFUSED;
	}
	if (rc == CURLE_LOGIN_DENIED || (phase == PHASE_MAIL && code >= 500))
		return MAILER_REFUSED;
	*answered = code >= 400;
	return MAILER_TEMPORARY;
}

/*
 * Hand M to the relay and judge the transfer.  Returns true when the
 * session can go on to the next message, false when the relay refused
 * the session itself (connection, TLS, authentication, the sender):
 * the next messages would meet the same.
 */
static bool
mailer_one(struct mailer *mx, struct mailer_msg *m)
{
	struct curl_slist *r;
	CURLcode rc;
	long code = 0;
	bool answered, go_on;

	m->sent = 0;
	mx->m = m;
	mx->trace = (struct mailer_trace){ .phase = PHASE_SESSION };
	mx->asked = mx->withheld = false;
	mx->error[0] = '\0';
	if ((r = curl_slist_append(NULL, m->rcpt)) == NULL) {
		m->outcome = MAILER_TEMPORARY;
		snprintf(m->status, sizeof(m->status), "out of memory");
		return true;
	}
	curl_slist_free_all(mx->rcpt);
	mx->rcpt = r;
	curl_easy_setopt(mx->curl, CURLOPT_MAIL_RCPT, mx->rcpt);
	curl_easy_setopt(mx->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
	rc = curl_easy_perform(mx->curl);
	curl_easy_getinfo(mx->curl, CURLINFO_RESPONSE_CODE, &code);
	mx->m = NULL;

	if (mx->withheld) {
		/* Cut before the dot: nothing was delivered.  libcurl closes
		 * that connection; the next message opens another. */
		m->outcome = MAILER_TEMPORARY;
		snprintf(m->status, sizeof(m->status), "%s: withheld before the end of DATA",
		    mx->where);
		return true;
	}
	m->outcome = mailer_judge(mx->trace.phase, rc, code, &answered, &go_on);
	/* A refused token is not shown again: the next session asks the
	 * endpoint for a new one. */
	if (m->outcome == MAILER_REFUSED && rc == CURLE_LOGIN_DENIED && mx->bearer != NULL)
		oauth_forget(mx->bearer);
	status(mx, m, answered, rc);
	return go_on;
}

/* One session for the N messages, one at a time: each first to READY
 * (which may skip it), then handed, then reported to DONE; after the
 * session stopped, the rest are reported with its reason, not handed. */
void
mailer_send(const struct config *cfg, const char *password, struct mailer_msg *msgs, size_t n,
    mailer_ready_fn ready, mailer_done_fn done, void *arg)
{
	enum mailer_outcome outcome = MAILER_TEMPORARY;
	struct mailer *mx;
	char err[256];
	size_t i = 0;
	bool refused = false;

	if (n == 0)
		return;
	if ((mx = mailer_open(cfg, password, &refused, err, sizeof(err))) == NULL) {
		/* No token: refused before the relay was reached, which the
		 * sender says once. */
		if (refused)
			outcome = MAILER_REFUSED;
		else
			log_warnx("smtp %s:%d: %s", cfg->smtp.host, cfg->smtp.port, err);
	}
	for (; mx != NULL && i < n; i++) {
		bool go_on;

		if (ready != NULL && !ready(&msgs[i], arg))
			continue;
		go_on = mailer_one(mx, &msgs[i]);
		if (done != NULL)
			done(&msgs[i], arg);
		if (!go_on) {
			/* A refusal is the sender's to say, once. */
			if (msgs[i].outcome != MAILER_REFUSED)
				log_warnx("smtp %s: %s", mx->where, without_where(mx, msgs[i].status));
			snprintf(err, sizeof(err), "%s", msgs[i].status);
			outcome = msgs[i].outcome == MAILER_REFUSED ? MAILER_REFUSED :
			    MAILER_TEMPORARY;
			i++;
			break;
		}
	}
	/* The rest were not handed: they wait, with the reason the session
	 * stopped. */
	for (; i < n; i++) {
		msgs[i].sent = 0;
		msgs[i].outcome = outcome;
		snprintf(msgs[i].status, sizeof(msgs[i].status), "%s", err);
		if (done != NULL)
			done(&msgs[i], arg);
	}
	mailer_close(mx);
}

/* Read the password from its file, first line only. */
char *
mailer_password(const struct config *cfg, char *err, size_t errlen)
{
	char path[1024], line[4096];
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;
	FILE *f;

	err[0] = '\0';
	if (cfg->smtp.auth != CONFIG_AUTH_PASSWORD)
		return NULL;
	if (cfg->smtp.password_file != NULL && *cfg->smtp.password_file)
		snprintf(path, sizeof(path), "%s", cfg->smtp.password_file);
	else if (creds != NULL)
		snprintf(path, sizeof(path), "%s/smtp_password", creds);
	else
		return NULL;
	if ((f = fopen(path, "re")) == NULL) {
		if (cfg->smtp.password_file != NULL && *cfg->smtp.password_file)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* A secret every user can read is no secret: refused, as is an
	 * empty one (it would log in with nothing) or one too long to be
	 * read whole (it would log in with part of it). */
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007)) {
		snprintf(err, errlen, "%s: readable by every user (mode %04o): chmod o=", path,
		    (unsigned)(st.st_mode & 07777));
		fclose(f);
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	if (line[strcspn(line, "\r\n")] == '\0' && strlen(line) == sizeof(line) - 1) {
		snprintf(err, errlen, "%s: its first line is longer than %zu bytes", path,
		    sizeof(line) - 2);
		return NULL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0') {
		snprintf(err, errlen, "%s: empty: write the password on its first line", path);
		return NULL;
	}
	return strdup(line);
}
