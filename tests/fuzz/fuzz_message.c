/*
 * fuzz_message — MIME composition with hostile data: the input is split on
 * NUL bytes into the client's names, e-mail, invoice number and reference.
 * Whatever passes message_check must compose into a message whose header
 * block has exactly one To, one Subject, one From, no bare LF, and no line
 * that starts a header we did not write (no header injection).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "config.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;
static struct message_set *ms;

/* Count header lines starting with NAME in the header block HDR. */
static int
count(const char *hdr, size_t len, const char *name)
{
	size_t n = strlen(name);
	int c = 0;

	for (size_t i = 0; i + n <= len; i++)
		if ((i == 0 || hdr[i - 1] == '\n') && strncasecmp(hdr + i, name, n) == 0)
			c++;
	return c;
}

/* Load the shipped templates once, from DUNNING_TEMPLATES. */
static void
setup(void)
{
	static struct config c;
	char err[256];
	const char *dir = getenv("DUNNING_TEMPLATES");

	c.smtp.from = "Cabinet <relances@cabinet.example>";
	c.smtp.reply_to = "";
	c.firm.name = "Cabinet";
	c.firm.address = "1 rue";
	c.firm.phone = "01";
	c.firm.signature = "";
	c.templates_dir = (char *)(dir ? dir : "templates");
	c.interest.multiplier_milli = 1500;
	c.nstages = 1;
	strcpy(c.stages[0].name, "j3");
	strcpy(c.stages[0].template_name, "j03");
	c.stages[0].channel = CONFIG_CHANNEL_EMAIL;
	cfg = &c;
	cal_set_timezone("Europe/Paris");
	if ((ms = message_set_load(cfg, err, sizeof(err))) == NULL)
		abort();
}

/* One hostile group. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *f[5] = { "", "", "", "", "" }, *p, *out, *end;
	size_t len, nf = 0;
	struct send_item it = { .reminder_id = 1, .invoice_id = 1, .amount_cents = 12345,
		.balance_cents = 12345, .issued_on = 20000, .due_on = 20030, .attempts = 1 };
	struct send_group g = { .stage = 0, .currency = "EUR", .message_id = "<dunning.1.j3@x>",
		.client_id = 1, .kind = "individual", .language = "fr", .items = &it, .nitems = 1 };
	char err[256];

	if (ms == NULL)
		setup();
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf; nf < 5; nf++) {
		f[nf] = p;
		if ((p = memchr(p, '\0', buf + size - p)) == NULL || p == buf + size)
			break;
		p++;
	}
	g.first_name = f[0];
	g.last_name = f[1];
	g.email = f[2];
	it.number = f[3];
	it.matter_ref = f[4];
	if (message_check(&g, cfg) == NULL &&
	    (out = message_compose(ms, cfg, &g, 1773136800, &len, err, sizeof(err))) != NULL) {
		end = strstr(out, "\r\n\r\n");
		if (end == NULL)
			abort();
		len = (size_t)(end - out) + 2;
		for (size_t i = 0; i < len; i++)
			if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
				abort();	/* bare LF */
		if (count(out, len, "To:") != 1 || count(out, len, "Subject:") != 1 ||
		    count(out, len, "From:") != 1 || count(out, len, "Bcc:") != 0 ||
		    count(out, len, "Cc:") != 0)
			abort();	/* a header was injected */
		free(out);
	}
	free(buf);
	return 0;
}
