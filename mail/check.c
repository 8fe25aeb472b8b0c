/*
 * check — the address and the data of a group, checked before anything
 * is composed from them.
 */
#include <ctype.h>
#include <string.h>

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
	return REASON_NONE;
}
