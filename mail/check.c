/*
 * check — the address and the data of a group, checked before anything
 * is composed from them.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "check.h"

/* One address: local@domain, printable ASCII, no spaces or specials
 * that would need quoting. */
bool
check_address(const char *addr)
{
	const char *at, *p;
	size_t len;

	if (addr == NULL || (len = strlen(addr)) < 3 || len > 254)
		return false;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL || at == addr ||
	    at - addr > 64)
		return false;
	for (p = addr; p < at; p++)
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-/=?^_`{|}~.", *p) == NULL)
			return false;
	if (addr[0] == '.' || at[-1] == '.' || strstr(addr, "..") != NULL)
		return false;
	if (strchr(at + 1, '.') == NULL || at[1] == '.' || at[1] == '-' ||
	    addr[len - 1] == '.' || addr[len - 1] == '-')
		return false;
	for (p = at + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return true;
}

/* Does S hold a control character (CR, LF, NUL-adjacent...)? */
bool
check_has_control(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Is S (NULL: none) valid UTF-8?  PostgreSQL checks the text of a UTF8
 * database, not that of an SQL_ASCII one (which dunningd refuses at
 * connection, db/store.c): a byte that is not UTF-8 would otherwise blank
 * the whole field in the message (jansson refuses it), unseen. */
bool
check_utf8(const char *s)
{
	return s == NULL || g_utf8_validate(s, -1, NULL);
}

/* Is URL a payment link fit for an href: see check.h. */
bool
check_payment_url(const char *url)
{
	const char *host, *p;
	size_t len;

	if (url == NULL || (len = strlen(url)) > CHECK_URL_MAX || strncasecmp(url, "https://", 8))
		return false;
	host = url + 8;
	/* A host, and no user-info ("https://bank.example@evil.example/"). */
	if (*host == '\0' || strchr("/?#:", *host) != NULL)
		return false;
	for (p = host; *p && strchr("/?#", *p) == NULL; p++)
		if (*p == '@')
			return false;
	/* RFC 3986's characters only: nothing that ends an attribute, opens
	 * a tag or a script, or breaks a line; non-ASCII is percent-encoded. */
	for (p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    strchr("\"'<>\\`{}|^", *p) != NULL)
			return false;
	return true;
}

/* The data that will reach headers or the body must be clean: why G
 * cannot become a message, or REASON_NONE. */
enum reason
check_group(const struct send_group *g, const struct config *cfg)
{
	const char *fields[] = { g->first_name, g->last_name, g->company_name, g->lawyer_name,
		g->lawyer_email };

	if (cfg->stages[g->stage].channel == CONFIG_CHANNEL_EMAIL) {
		if (g->email == NULL || *g->email == '\0')
			return REASON_NO_EMAIL;
		if (!check_address(g->email))
			return REASON_INVALID_EMAIL;
	} else if (g->address_line1 == NULL || *g->address_line1 == '\0' ||
	    g->city == NULL || *g->city == '\0') {
		return REASON_NO_POSTAL_ADDRESS;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (check_has_control(fields[i]))
			return REASON_CONTROL_IN_NAME;
	if (check_has_control(g->address_line1) || check_has_control(g->address_line2) ||
	    check_has_control(g->postal_code) || check_has_control(g->city) ||
	    check_has_control(g->country))
		return REASON_CONTROL_IN_ADDRESS;
	for (size_t i = 0; i < g->nitems; i++)
		if (check_has_control(g->items[i].number) ||
		    check_has_control(g->items[i].matter_ref) ||
		    check_has_control(g->items[i].payment_url))
			return REASON_CONTROL_IN_NUMBER;
	/* Every field a template or a header can show. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!check_utf8(fields[i]))
			return REASON_INVALID_TEXT;
	if (!check_utf8(g->email) || !check_utf8(g->address_line1) ||
	    !check_utf8(g->address_line2) || !check_utf8(g->postal_code) ||
	    !check_utf8(g->city) || !check_utf8(g->country))
		return REASON_INVALID_TEXT;
	for (size_t i = 0; i < g->nitems; i++)
		if (!check_utf8(g->items[i].number) || !check_utf8(g->items[i].matter_ref) ||
		    !check_utf8(g->items[i].payment_url))
			return REASON_INVALID_TEXT;
	/* A payment link becomes an href in the HTML part: https:// only. */
	for (size_t i = 0; i < g->nitems; i++)
		if (g->items[i].payment_url != NULL && *g->items[i].payment_url &&
		    !check_payment_url(g->items[i].payment_url))
			return REASON_PAYMENT_URL_REFUSED;
	return REASON_NONE;
}
