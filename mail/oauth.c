/*
 * oauth — the access token of SMTP AUTH XOAUTH2, asked of
 * smtp.oauth.token_url with libcurl (RFC 6749: §4.4 client credentials,
 * Microsoft 365's way; §6 a refresh token, Google's), the answer read
 * with jansson.
 *
 * The token is kept process-wide — the sender thread's sessions share it,
 * under a mutex — until a minute before it expires by the real clock (a
 * --now clock may stand still), and forgotten when the relay refuses it.
 * The mutex is held while the endpoint is asked, so that two sessions
 * never spend the same refresh token twice.  A refresh token the endpoint
 * replaces is saved in place of the old one (temporary file beside it,
 * fsync, rename); one read from a systemd credential cannot be: the new
 * one is kept in memory, and the operator warned.
 *
 * No token nor secret is ever logged or put in an error: the errors carry
 * the endpoint's address and its own words (error, error_description).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "mailer.h"
#include "oauth.h"

#define CONNECT_TIMEOUT 30L	/* seconds to reach the endpoint, TLS included */
#define TRANSFER_TIMEOUT 60L	/* seconds for the whole request */
#define MARGIN 60		/* a token is renewed this many seconds before it expires */
#define MAX_ANSWER 65536	/* bytes of the endpoint's answer read, at most */
#define MAX_SECRET 16384	/* bytes of a secret file read, at most */

/* A secret and where it came from. */
struct secret {
	char *value;		/* its first line; NULL: none configured */
	char path[1024];
	bool credential;	/* a systemd credential: read-only */
};

/* The endpoint's answer as it arrives. */
struct answer {
	char *data;
	size_t len;
	bool too_long;
};

/* What outlives a session, under LOCK. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *key;		/* the endpoint, client and scope of TOKEN */
	char *token;
	time_t expires;		/* real time after which TOKEN is not shown */
	char *refresh;		/* a replaced refresh token that could not be saved, */
	char *refresh_key;	/* for this endpoint, client and source */
} kept;


/* Wipe and free S. */
static void
wipe(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Wipe and free a token oauth_token returned. */
void
oauth_free(char *token)
{
	wipe(token);
}

/* The real time: a token's life is the endpoint's, not the --now clock's. */
static time_t
real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* S made fit for a log line into BUF: control characters become blanks,
 * runs of blanks one, none at the ends (Microsoft's descriptions end with
 * CRLF-separated trace lines). */
static void
clean(char *buf, size_t n, const char *s)
{
	size_t j = 0;
	bool blank = false;

	for (; s != NULL && *s != '\0' && j + 1 < n; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == ' ') {
			blank = j > 0;
			continue;
		}
		if (blank && j + 2 < n)
			buf[j++] = ' ';
		blank = false;
		buf[j++] = (char)ch;
	}
	if (n > 0)
		buf[j] = '\0';
}

/* Can S be shown to the relay: visible ASCII only (the SASL string is
 * cut at \x01, so nothing else may hide in it)? */
static bool
token_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* The secret of FILE, else of the systemd credential NAME: the first line.
 * 0 with S->value NULL when neither is there; -1 with ERR when a file
 * named cannot be read or is empty.  KEY names FILE's key. */
static int
secret_read(struct secret *s, const char *file, const char *name, const char *key, char *err,
    size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	size_t n;
	FILE *f;

	*s = (struct secret){ 0 };
	if (file != NULL && *file != '\0') {
		snprintf(s->path, sizeof(s->path), "%s", file);
	} else if (creds != NULL && *creds != '\0') {
		snprintf(s->path, sizeof(s->path), "%s/%s", creds, name);
		s->credential = true;
	} else {
		return 0;
	}
	if ((f = fopen(s->path, "re")) == NULL) {
		if (s->credential && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "smtp.oauth.%s %s: %s", s->credential ? name : key, s->path,
		    strerror(errno));
		return -1;
	}
	if ((s->value = malloc(MAX_SECRET + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(s->value, 1, MAX_SECRET, f);
	fclose(f);
	s->value[n] = '\0';
	s->value[strcspn(s->value, "\r\n")] = '\0';
	for (n = strlen(s->value); n > 0 && (s->value[n - 1] == ' ' || s->value[n - 1] == '\t');)
		s->value[--n] = '\0';
	if (s->value[0] == '\0') {
		wipe(s->value);
		s->value = NULL;
		snprintf(err, errlen, "smtp.oauth.%s %s is empty", s->credential ? name : key,
		    s->path);
		return -1;
	}
	return 0;
}

/* Append NAME=VALUE, URL-encoded, to the form *BODY; false when out of
 * memory (*BODY is then wiped and NULL). */
static bool
form_add(CURL *c, char **body, const char *name, const char *value)
{
	char *v = curl_easy_escape(c, value, 0), *nb = NULL;
	size_t have = *body ? strlen(*body) : 0;

	if (v != NULL && (nb = malloc(have + strlen(name) + strlen(v) + 3)) != NULL)
		sprintf(nb, "%s%s%s=%s", *body ? *body : "", have ? "&" : "", name, v);
	if (v != NULL) {
		explicit_bzero(v, strlen(v));
		curl_free(v);
	}
	wipe(*body);
	*body = nb;
	return nb != NULL;
}

/* libcurl's write callback: the answer, up to MAX_ANSWER bytes. */
static size_t
answer_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nitems;
	char *nd;

	if (a->len + n > MAX_ANSWER) {
		a->too_long = true;
		return 0;
	}
	if ((nd = realloc(a->data, a->len + n + 1)) == NULL)
		return 0;
	a->data = nd;
	memcpy(a->data + a->len, data, n);
	a->len += n;
	a->data[a->len] = '\0';
	return n;
}

/* The endpoint's "expires_in": a number, or digits in a string (older
 * Microsoft endpoints); -1 when absent or unreadable. */
static long
expires_of(json_t *v)
{
	const char *s;
	char *end;
	long n;

	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? (long)json_integer_value(v) : -1;
	if ((s = json_string_value(v)) == NULL || *s == '\0')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	return *end == '\0' && errno == 0 && n >= 0 ? n : -1;
}

/* Read the answer A (HTTP status HTTP) of the endpoint URL: 0 with
 * *TOKEN, *EXPIRES_IN (-1: not said) and *ROTATED (a new refresh token, or
 * NULL); -1 with ERR in the endpoint's words. */
static int
read_answer(const char *url, long http, const struct answer *a, char **token, long *expires_in,
    char **rotated, char *err, size_t errlen)
{
	json_t *root = a->data ? json_loadb(a->data, a->len, 0, NULL) : NULL;
	const char *e = NULL, *d = NULL, *t, *type, *r;
	char ce[128], cd[512], first[512];
	int rc = -1;

	if (json_is_object(root)) {
		e = json_string_value(json_object_get(root, "error"));
		d = json_string_value(json_object_get(root, "error_description"));
	}
	t = json_is_object(root) ? json_string_value(json_object_get(root, "access_token")) : NULL;
	if (e != NULL && (http != 200 || t == NULL)) {
		clean(ce, sizeof(ce), e);
		/* its first line: Microsoft's next ones are trace and
		 * correlation ids, past what a reminder's error keeps */
		snprintf(first, sizeof(first), "%.*s", d ? (int)strcspn(d, "\r\n") : 0,
		    d ? d : "");
		clean(cd, sizeof(cd), first);
		snprintf(err, errlen, "the token endpoint %s refused: %s%s%s", url, ce,
		    cd[0] ? ": " : "", cd);
	} else if (http != 200) {
		snprintf(err, errlen, "the token endpoint %s answered HTTP %ld", url, http);
	} else if (!token_ok(t)) {
		snprintf(err, errlen, "the token endpoint %s gave no usable access_token", url);
	} else if ((type = json_string_value(json_object_get(root, "token_type"))) != NULL &&
	    strcasecmp(type, "Bearer") != 0) {
		clean(ce, sizeof(ce), type);
		snprintf(err, errlen, "the token endpoint %s gave a token of type \"%s\", not "
		    "Bearer", url, ce);
	} else if ((*token = strdup(t)) == NULL) {
		snprintf(err, errlen, "out of memory");
	} else {
		*expires_in = expires_of(json_object_get(root, "expires_in"));
		r = json_string_value(json_object_get(root, "refresh_token"));
		*rotated = token_ok(r) ? strdup(r) : NULL;
		rc = 0;
	}
	json_decref(root);
	return rc;
}

/*
 * POST the grant to the endpoint: client credentials with SECRET, or the
 * refresh token REFRESH (with SECRET when there is one).  0 with *TOKEN,
 * *EXPIRES_IN and *ROTATED; -1 with ERR.
 */
static int
fetch(const struct config *cfg, const char *secret, const char *refresh, char **token,
    long *expires_in, char **rotated, char *err, size_t errlen)
{
	const char *url = cfg->smtp.oauth.token_url, *scope = cfg->smtp.oauth.scope;
	bool clear = strncasecmp(url, "http://", 7) == 0;
	struct curl_slist *headers = NULL, *h;
	struct answer a = { 0 };
	char curl_err[CURL_ERROR_SIZE] = "", why[CURL_ERROR_SIZE], *body = NULL;
	long http = 0;
	CURLcode rc;
	CURL *c;
	int ret = -1;
	bool ok;

	if (mailer_curl_init(err, errlen) < 0)
		return -1;
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	if (refresh != NULL)
		ok = form_add(c, &body, "grant_type", "refresh_token") &&
		    form_add(c, &body, "refresh_token", refresh);
	else
		ok = form_add(c, &body, "grant_type", "client_credentials");
	ok = ok && form_add(c, &body, "client_id", cfg->smtp.oauth.client_id);
	if (ok && secret != NULL)
		ok = form_add(c, &body, "client_secret", secret);
	if (ok && scope != NULL && *scope != '\0')
		ok = form_add(c, &body, "scope", scope);
	if (ok && (h = curl_slist_append(NULL, "Accept: application/json")) != NULL) {
		headers = h;
		if ((h = curl_slist_append(headers,
		    "Content-Type: application/x-www-form-urlencoded")) != NULL)
			headers = h;
		else
			ok = false;
	} else {
		ok = false;
	}
	if (!ok) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* http:// only reaches here for a loopback host (config_check.c),
	 * which no proxy of the environment stands between */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, clear ? "http" : "https");
	if (clear)
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, TRANSFER_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dunningd");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, answer_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	if (rc != CURLE_OK) {
		clean(why, sizeof(why), curl_err[0] ? curl_err : curl_easy_strerror(rc));
		if (a.too_long)
			snprintf(err, errlen, "the token endpoint %s answered more than %d bytes", url,
			    MAX_ANSWER);
		else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
		    rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_PROXY)
			snprintf(err, errlen, "the token endpoint %s cannot be reached: %s", url, why);
		else
			snprintf(err, errlen, "the token endpoint %s: %s", url, why);
		goto out;
	}
	ret = read_answer(url, http, &a, token, expires_in, rotated, err, errlen);
out:
	if (a.data != NULL)
		explicit_bzero(a.data, a.len);
	free(a.data);
	wipe(body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return ret;
}

/* Put TOKEN in place of the file PATH: a temporary file beside it (mode
 * 0600), fsync, rename over PATH, fsync of the directory.  -1 with ERR. */
static int
save_refresh(const char *path, const char *token, char *err, size_t errlen)
{
	char tmp[1100], dir[1024];
	const char *slash = strrchr(path, '/');
	size_t len = strlen(token);
	int fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) < 0 || write(fd, token, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		unlink(tmp);
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* The endpoint replaced the refresh token read from R with ROTATED (taken):
 * save it where R came from, else keep it in memory for RKEY.  Under LOCK. */
static void
keep_rotated(const struct secret *r, char *rotated, char *rkey)
{
	char err[256];

	wipe(kept.refresh);
	free(kept.refresh_key);
	kept.refresh = NULL;
	kept.refresh_key = NULL;
	if (r->credential) {
		log_warnx("smtp.oauth: the token endpoint replaced the refresh token, which came "
		    "from the systemd credential %s and cannot be rewritten: the new one is kept in "
		    "memory until dunningd stops, and the old one may no longer work; give "
		    "oauth.refresh_token_file in a directory dunningd can write (doc/oauth.md)",
		    r->path);
	} else if (save_refresh(r->path, rotated, err, sizeof(err)) < 0) {
		log_warnx("smtp.oauth: the token endpoint replaced the refresh token, but %s could "
		    "not be rewritten (%s): the new one is kept in memory until dunningd stops, and "
		    "the old one may no longer work", r->path, err);
	} else {
		log_info("smtp.oauth: the token endpoint replaced the refresh token; saved in %s",
		    r->path);
		wipe(rotated);
		free(rkey);
		return;
	}
	kept.refresh = rotated;
	kept.refresh_key = rkey;
}

/* "URL\nCLIENT\nSCOPE[\nMORE]": what a kept token or refresh token is for. */
static char *
key_of(const struct config *cfg, const char *more)
{
	char *k;

	if (asprintf(&k, "%s\n%s\n%s%s%s", cfg->smtp.oauth.token_url, cfg->smtp.oauth.client_id,
	    cfg->smtp.oauth.scope, more ? "\n" : "", more ? more : "") < 0)
		return NULL;
	return k;
}

/* Drop the kept access token.  Under LOCK. */
static void
drop_token(void)
{
	wipe(kept.token);
	free(kept.key);
	kept.token = NULL;
	kept.key = NULL;
	kept.expires = 0;
}

/*
 * Ask the endpoint for a token, with the secrets as configured (a refresh
 * token replaced earlier and not saved wins over its source).  Keeps it
 * under KEY (taken) and returns a copy; NULL with ERR.  Under LOCK.
 */
static char *
renew(const struct config *cfg, char *key, time_t now, char *err, size_t errlen)
{
	struct secret secret, refresh;
	char *token = NULL, *rotated = NULL, *rkey = NULL, *out = NULL;
	long expires_in = -1;

	if (secret_read(&secret, cfg->smtp.oauth.client_secret_file, "oauth_client_secret",
	    "client_secret_file", err, errlen) < 0) {
		free(key);
		return NULL;
	}
	if (secret_read(&refresh, cfg->smtp.oauth.refresh_token_file, "oauth_refresh_token",
	    "refresh_token_file", err, errlen) < 0)
		goto out;
	if (secret.value == NULL && refresh.value == NULL) {
		snprintf(err, errlen, "smtp.oauth: no client secret nor refresh token to show the "
		    "token endpoint (client_secret_file, refresh_token_file, or the systemd "
		    "credentials oauth_client_secret, oauth_refresh_token)");
		goto out;
	}
	if (refresh.value != NULL && (rkey = key_of(cfg, refresh.path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (refresh.value != NULL && kept.refresh != NULL && strcmp(kept.refresh_key, rkey) == 0) {
		wipe(refresh.value);
		if ((refresh.value = strdup(kept.refresh)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (fetch(cfg, secret.value, refresh.value, &token, &expires_in, &rotated, err,
	    errlen) < 0)
		goto out;
	log_info("smtp.oauth: a new access token from %s%s", cfg->smtp.oauth.token_url,
	    expires_in < 0 ? ", its life not said: used for this session only" : "");
	if (rotated != NULL && refresh.value != NULL && strcmp(rotated, refresh.value) != 0) {
		keep_rotated(&refresh, rotated, rkey);
		rotated = NULL;
		rkey = NULL;
	}
	if ((out = strdup(token)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (expires_in > MARGIN) {
		kept.key = key;
		kept.token = token;
		kept.expires = now + expires_in - MARGIN;
		key = NULL;
		token = NULL;
	}
out:
	wipe(secret.value);
	wipe(refresh.value);
	wipe(token);
	wipe(rotated);
	free(rkey);
	free(key);
	return out;
}

/* The token kept for CFG's endpoint, client and scope while it lives,
 * else a new one. */
char *
oauth_token(const struct config *cfg, char *err, size_t errlen)
{
	time_t now = real_now();
	char *key, *out;

	err[0] = '\0';
	if ((key = key_of(cfg, NULL)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&lock);
	if (kept.token != NULL && strcmp(kept.key, key) == 0 && now < kept.expires) {
		if ((out = strdup(kept.token)) == NULL)
			snprintf(err, errlen, "out of memory");
		free(key);
	} else {
		drop_token();
		out = renew(cfg, key, now, err, errlen);
	}
	pthread_mutex_unlock(&lock);
	return out;
}

/* Forget TOKEN if it is the one kept (the relay refused it). */
void
oauth_forget(const char *token)
{
	pthread_mutex_lock(&lock);
	if (token != NULL && kept.token != NULL && strcmp(kept.token, token) == 0)
		drop_token();
	pthread_mutex_unlock(&lock);
}
