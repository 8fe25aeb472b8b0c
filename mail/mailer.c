/*
 * mailer — libesmtp, which runs a whole SMTP session in one blocking
 * call: the daemon calls it from its sender thread, never from the loop.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* libesmtp declares smtp_starttls_set_ctx only after OpenSSL's header. */
#include <openssl/ssl.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "log.h"
#include "mailer.h"

struct session_ctx {
	const char *username;
	const char *password;
	char note[128];		/* why the session stopped early, if known */
	mailer_done_fn done;	/* told of each message's verdict */
	void *done_arg;
	int port;		/* the relay's */
};

/* One message of the session and what libesmtp made of it. */
struct slot {
	struct mailer_msg *m;
	smtp_message_t sm;
	smtp_recipient_t rcpt;
	bool told;		/* done() was called */
};

static void verdict(struct slot *sl);

/* Give the caller SL's verdict, once. */
static void
tell(struct session_ctx *sc, struct slot *sl)
{
	if (sl->told)
		return;
	sl->told = true;
	if (sc->done != NULL)
		sc->done(sl->m, sc->done_arg);
}

/* libesmtp reads the message in chunks: all of it at once, rewinding on
 * demand (LEN NULL). */
static const char *
message_cb(void **ctx, int *len, void *arg)
{
	struct mailer_msg *m = arg;

	(void)ctx;
	if (len == NULL) {
		m->rewinds++;
		m->sent = 0;
		return NULL;
	}
	if (m->sent >= m->len) {
		*len = 0;
		return NULL;
	}
	*len = (int)(m->len - m->sent);
	m->sent = m->len;
	return m->data;
}

/* AUTH: answer the mechanism's questions with the configured user and
 * password. */
static int
interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct session_ctx *sc = arg;

	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = (char *)sc->password;
		else if (req[i].flags & AUTH_USER)
			result[i] = (char *)sc->username;
		else
			result[i] = NULL;
		if (result[i] == NULL)
			return 0;
	}
	return 1;
}

/*
 * libesmtp writes a message through a 2 KB buffer, so its last piece
 * leaves as a small segment while the previous one is not acknowledged
 * yet: Nagle's algorithm holds it until the relay's delayed ACK (40 ms on
 * Linux), as the relay says nothing before the end of DATA — 40 ms per
 * message.  libesmtp does not expose its socket: on SMTP_EV_CONNECT, set
 * TCP_NODELAY on this process's TCP sockets connected to the relay's port
 * (only the session's own in practice; on any other TCP socket the option
 * is harmless).
 */
/* Set TCP_NODELAY on FD if it is a TCP socket connected to PORT. */
static void
nodelay_fd(int fd, int port)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int one = 1, p;

	if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
		return;
	if (peer.ss_family == AF_INET)
		p = ntohs(((struct sockaddr_in *)&peer)->sin_port);
	else if (peer.ss_family == AF_INET6)
		p = ntohs(((struct sockaddr_in6 *)&peer)->sin6_port);
	else
		return;
	if (p == port)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The open descriptors from /proc/self/fd (a handful), else the first
 * 1024. */
static void
nodelay(int port)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL) {
		for (int fd = 3; fd < 1024; fd++)
			nodelay_fd(fd, port);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);

		if (*end == '\0' && end != e->d_name && fd > 2 && fd != dirfd(d))
			nodelay_fd((int)fd, port);
	}
	closedir(d);
}

/* Certificates are always verified: refuse every override libesmtp
 * offers for a bad or missing one. */
static void
event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct session_ctx *sc = arg;
	smtp_message_t sm;
	struct slot *sl;
	va_list ap;
	int *ok;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		nodelay(sc->port);
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		(void)va_arg(ap, long);
		ok = va_arg(ap, int *);
		*ok = 0;
		snprintf(sc->note, sizeof(sc->note), "the relay's TLS certificate does not verify");
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		snprintf(sc->note, sizeof(sc->note),
		    "the relay's TLS certificate is missing or names another host");
		break;
	case SMTP_EV_WEAK_CIPHER:
		(void)va_arg(ap, int);
		ok = va_arg(ap, int *);
		*ok = 0;
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		snprintf(sc->note, sizeof(sc->note), "the relay does not offer STARTTLS");
		break;
	case SMTP_EV_MESSAGESENT:
		/* The relay answered the end of DATA: the caller records it
		 * now and releases the invoice, not at the end of the session. */
		sm = va_arg(ap, smtp_message_t);
		if ((sl = smtp_message_get_application_data(sm)) != NULL) {
			verdict(sl);
			tell(sc, sl);
		}
		break;
	default:
		break;
	}
	va_end(ap);
}

/* OpenSSL refuses an unverifiable relay during the handshake, before
 * libesmtp reports anything: keep OpenSSL's reason for the operator. */
static int
verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct session_ctx *sc = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

	if (!ok && sc != NULL && sc->note[0] == '\0')
		snprintf(sc->note, sizeof(sc->note), "the relay's TLS certificate does not verify: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
	return ok;
}

/* A TLS context that verifies the relay against CA_FILE or the system
 * store. */
static SSL_CTX *
tls_context(const char *ca_file, struct session_ctx *sc)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_app_data(ctx, sc);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if ((ca_file != NULL && *ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) :
	    SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Mark every message with OUTCOME and STATUS, and tell. */
static void
all(struct session_ctx *sc, struct mailer_msg *msgs, size_t n, enum mailer_outcome outcome,
    const char *status)
{
	for (size_t i = 0; i < n; i++) {
		msgs[i].outcome = outcome;
		snprintf(msgs[i].status, sizeof(msgs[i].status), "%s", status);
		if (sc->done != NULL)
			sc->done(&msgs[i], sc->done_arg);
	}
}

/* The verdict on one message from the statuses libesmtp recorded. */
static void
verdict(struct slot *sl)
{
	struct mailer_msg *m = sl->m;
	const smtp_status_t *rs = smtp_recipient_status(sl->rcpt);
	const smtp_status_t *ms = smtp_message_transfer_status(sl->sm);
	const smtp_status_t *st = ms;

	if (rs != NULL && rs->code >= 400)
		st = rs;
	snprintf(m->status, sizeof(m->status), "%d %s", st ? st->code : 0,
	    st && st->text ? st->text : "");
	m->status[strcspn(m->status, "\r\n")] = '\0';
	if (st != NULL && st->code >= 200 && st->code < 300)
		m->outcome = MAILER_SENT;
	else if (st != NULL && st->code >= 500)
		m->outcome = MAILER_PERMANENT;
	else if (st != NULL && st->code >= 400)
		m->outcome = MAILER_TEMPORARY;
	else if (m->sent == m->len && m->len > 0)
		/* The data went out but no answer came back (libesmtp may
		 * still call the session a success). */
		m->outcome = MAILER_UNKNOWN;
	else
		m->outcome = MAILER_TEMPORARY;
}

/* Everything the envelope's reverse path needs: the bare address of
 * smtp.from. */
static void
bare_from(const char *from, char *buf, size_t n)
{
	const char *lt = strrchr(from, '<');

	if (lt != NULL)
		snprintf(buf, n, "%.*s", (int)strcspn(lt + 1, ">"), lt + 1);
	else
		snprintf(buf, n, "%s", from);
}

/* One session for all N messages, each reported to DONE as soon as its
 * verdict is known. */
void
mailer_send(const struct config *cfg, const char *password, struct mailer_msg *msgs, size_t n,
    mailer_done_fn done, void *done_arg)
{
	struct session_ctx sc = { cfg->smtp.username, password, "", done, done_arg,
	    cfg->smtp.port };
	smtp_session_t session;
	struct slot *slots = NULL;
	auth_context_t auth = NULL;
	SSL_CTX *tls = NULL;
	char hostport[300], from[256], ebuf[128];
	bool ok;

	if (n == 0)
		return;
	if ((session = smtp_create_session()) == NULL) {
		all(&sc, msgs, n, MAILER_TEMPORARY, "cannot create an SMTP session");
		return;
	}
	snprintf(hostport, sizeof(hostport), "%s:%d", cfg->smtp.host, cfg->smtp.port);
	smtp_set_server(session, hostport);
	smtp_set_eventcb(session, event_cb, &sc);
	if (cfg->smtp.tls != CONFIG_TLS_NONE) {
		if ((tls = tls_context(cfg->smtp.ca_file, &sc)) == NULL) {
			all(&sc, msgs, n, MAILER_TEMPORARY, "cannot load the CA certificates");
			goto out;
		}
		smtp_starttls_set_ctx(session, tls);
		smtp_starttls_enable(session, Starttls_REQUIRED);
	}
	if (cfg->smtp.username != NULL && *cfg->smtp.username) {
		auth_client_init();
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, &sc);
		smtp_auth_set_context(session, auth);
	}
	bare_from(cfg->smtp.from, from, sizeof(from));
	if ((slots = calloc(n, sizeof(*slots))) == NULL) {
		all(&sc, msgs, n, MAILER_TEMPORARY, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		msgs[i].sent = 0;
		msgs[i].rewinds = 0;
		slots[i].m = &msgs[i];
		slots[i].sm = smtp_add_message(session);
		smtp_set_reverse_path(slots[i].sm, from);
		slots[i].rcpt = smtp_add_recipient(slots[i].sm, msgs[i].rcpt);
		smtp_set_messagecb(slots[i].sm, message_cb, &msgs[i]);
		smtp_message_set_application_data_release(slots[i].sm, &slots[i], NULL);
	}
	ok = smtp_start_session(session) != 0;
	if (!ok)
		log_warnx("smtp %s: %s", hostport,
		    smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
	if (sc.note[0])
		log_warnx("smtp %s: %s", hostport, sc.note);
	for (size_t i = 0; i < n; i++) {
		if (slots[i].told)
			continue;
		verdict(&slots[i]);
		/* No SMTP answer to show: say why the session stopped. */
		if (msgs[i].outcome != MAILER_SENT && strncmp(msgs[i].status, "0 ", 2) == 0)
			snprintf(msgs[i].status, sizeof(msgs[i].status), "%s: %s", hostport,
			    sc.note[0] ? sc.note : smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
		tell(&sc, &slots[i]);
	}
out:
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	if (tls != NULL)
		SSL_CTX_free(tls);
	free(slots);
}

/* Read the password from its file, first line only. */
char *
mailer_password(const struct config *cfg, char *err, size_t errlen)
{
	char path[1024], line[512];
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	FILE *f;

	err[0] = '\0';
	if (cfg->smtp.password_file != NULL && *cfg->smtp.password_file)
		snprintf(path, sizeof(path), "%s", cfg->smtp.password_file);
	else if (creds != NULL)
		snprintf(path, sizeof(path), "%s/smtp_password", creds);
	else
		return NULL;
	if ((f = fopen(path, "r")) == NULL) {
		if (cfg->smtp.password_file != NULL && *cfg->smtp.password_file)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return strdup(line);
}
