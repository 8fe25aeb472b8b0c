/*
 * oauth — the access token that SMTP AUTH XOAUTH2 presents to the relay
 * (smtp.auth = "xoauth2"): asked of smtp.oauth.token_url, kept
 * process-wide until shortly before it expires, forgotten when the relay
 * refuses it.  doc/oauth.md says how to set it up.
 */
#ifndef DUNNING_OAUTH_H
#define DUNNING_OAUTH_H

#include <stddef.h>

#include "config.h"

/* The access token for CFG's relay: the one kept, or a new one from the
 * token endpoint (client credentials, or a refresh token).  NULL with ERR
 * set when none can be had: the endpoint's refusal in its own words, or
 * why it could not be asked — never a secret.  Free it with oauth_free. */
char *oauth_token(const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The relay refused TOKEN: forget it if it is the one kept, so that the
 * next session asks the endpoint for a new one. */
void oauth_forget(const char *token);

/* Wipe and free a token oauth_token returned; NULL is allowed. */
void oauth_free(char *token);

#endif
