/*
 * config_web — the keys of the clients' links (SPEC §2 rule 12) and the
 * links themselves: the secret is never in the configuration file, but in
 * web.secret_file or the systemd credential web_secret, read again at
 * each load (so a SIGHUP takes a rotated file).  One key a line: the
 * current key first, the previous one during a rotation (lib/token.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "config_int.h"

#define SECRET_MAX 4096

void
config_web_keys(struct config *c)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[1024], text[SECRET_MAX + 1], err[200];
	struct stat st;
	ssize_t len;
	int fd, n;

	c->web.nkeys = 0;
	c->web.key_error[0] = '\0';
	if (c->web.secret_file != NULL && *c->web.secret_file)
		snprintf(path, sizeof(path), "%s", c->web.secret_file);
	else if (creds != NULL && *creds)
		snprintf(path, sizeof(path), "%s/web_secret", creds);
	else {
		snprintf(c->web.key_error, sizeof(c->web.key_error), "no secret: set "
		    "web.secret_file or the systemd credential web_secret");
		return;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		snprintf(c->web.key_error, sizeof(c->web.key_error), "%s: %s", path,
		    strerror(errno));
		return;
	}
	/* A secret every user can read is no secret. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0007)) {
		snprintf(c->web.key_error, sizeof(c->web.key_error), "%s: %s", path,
		    S_ISREG(st.st_mode) ? "readable by every user: chmod o=" :
		    "not a regular file");
		close(fd);
		return;
	}
	len = read(fd, text, sizeof(text));
	close(fd);
	if (len < 0 || len > SECRET_MAX) {
		snprintf(c->web.key_error, sizeof(c->web.key_error), "%s: %s", path,
		    len < 0 ? strerror(errno) : "larger than 4096 bytes");
		OPENSSL_cleanse(text, sizeof(text));
		return;
	}
	n = token_keys_parse(text, (size_t)len, c->web.keys, err, sizeof(err));
	OPENSSL_cleanse(text, sizeof(text));
	if (n < 0) {
		snprintf(c->web.key_error, sizeof(c->web.key_error), "%s: %s", path, err);
		return;
	}
	c->web.nkeys = n;
}

int
config_web_link(const struct config *cfg, int stage, int64_t client,
    const int64_t *invoices, size_t ninvoices, time_t now, char *out, size_t n)
{
	char tok[TOKEN_MAX_LEN + 1];
	struct token t = { .client_id = client, .ninvoices = ninvoices };
	const char *base = cfg->web.base_url;
	size_t blen;
	int w;

	if (base == NULL || *base == '\0' || cfg->web.nkeys < 1 || ninvoices == 0 ||
	    ninvoices > TOKEN_MAX_INVOICES || stage < 0 || (size_t)stage >= cfg->nstages)
		return -1;
	memcpy(t.invoices, invoices, ninvoices * sizeof(*invoices));
	t.rights = token_rights_for_stage(cfg->stages[stage].offset_days);
	t.expires = (int64_t)now + (int64_t)cfg->web.link_days * 86400;
	if (token_sign(&t, &cfg->web.keys[0], tok, sizeof(tok)) < 0)
		return -1;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	w = snprintf(out, n, "%.*s/r/%s", (int)blen, base, tok);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}
