/*
 * gdpr — the GDPR tools: export-client (the client's access request)
 * and purge (anonymise the files closed for longer than the retention
 * period, and remove their letters from the spool).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_db.h"
#include "gdpr_spool.h"
#include "gdpr_sql.h"

/* Write LEN bytes of BUF to FD, whole. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Where the export goes: FILE created owner-only (0600, whatever the
 * umask; never an existing file or a symbolic link), or the standard
 * output — which, when the shell made it a file others may read, is made
 * owner-only first, or refused.  A descriptor, or -1 with the reason said. */
static int
export_open(const char *file)
{
	struct stat st;
	int fd;

	if (file != NULL) {
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "dunningctl: cannot create %s: %s%s\n", file, strerror(errno),
			    errno == EEXIST ? " (an export never overwrites a file)" : "");
			return -1;
		}
		/* The umask only takes bits away; a mode is set exactly. */
		if (fchmod(fd, 0600) != 0) {
			fprintf(stderr, "dunningctl: %s: %s\n", file, strerror(errno));
			close(fd);
			unlink(file);
			return -1;
		}
		return fd;
	}
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 &&
	    fchmod(STDOUT_FILENO, st.st_mode & 0700) != 0) {
		fprintf(stderr, "dunningctl: the standard output is a file others may read "
		    "(mode %04o) whose mode cannot be changed (%s): use --output FILE\n",
		    (unsigned)(st.st_mode & 07777), strerror(errno));
		return -1;
	}
	return STDOUT_FILENO;
}

/* export-client ID [--output FILE]: the document in FILE (0600) or on
 * stdout, the confirmation on stderr. */
int
cmd_export_client(struct ctl *c, int argc, char **argv)
{
	static const struct { const char *key, *what; } parts[] = {
		{ "invoices", "invoice" }, { "payments", "payment" }, { "reminders", "reminder" },
		{ "messages", "message" }, { "audit", "audit row" },
	};
	const char *file = NULL, *idarg = NULL;
	json_t *doc = NULL;
	char *text = NULL;
	int64_t id;
	int fd, rc = EX_FAIL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output") == 0 && i + 1 < argc && file == NULL)
			file = argv[++i];
		else if (argv[i][0] != '-' && idarg == NULL)
			idarg = argv[i];
		else
			return ctl_usage(c);
	}
	if (idarg == NULL || (file != NULL && file[0] == '\0'))
		return ctl_usage(c);
	if (!ctl_parse_id(idarg, "a client id", &id))
		return EX_USAGE;
	/* Before the export is audited: a file that cannot be made leaves
	 * nothing behind. */
	if ((fd = export_open(file)) < 0)
		return EX_FAIL;
	if ((doc = gdpr_sql_export_client(c->store, id)) == NULL) {
		rc = ctl_refused(c);
		goto out;
	}
	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		fprintf(stderr, "dunningctl: out of memory\n");
		goto out;
	}
	if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    (file != NULL && fsync(fd) != 0)) {
		fprintf(stderr, "dunningctl: writing the export failed: %s\n", strerror(errno));
		goto out;
	}
	fprintf(stderr, "client %lld exported", (long long)id);
	if (file != NULL)
		fprintf(stderr, " to %s", file);
	fprintf(stderr, ":");
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t n = json_array_size(json_object_get(doc, parts[i].key));

		fprintf(stderr, "%s %zu %s%s", i ? "," : "", n, parts[i].what, n == 1 ? "" : "s");
	}
	fprintf(stderr, "\n");
	rc = EX_OK;
out:
	if (file != NULL) {
		if (close(fd) != 0 && rc == EX_OK) {
			fprintf(stderr, "dunningctl: writing the export failed: %s\n",
			    strerror(errno));
			rc = EX_FAIL;
		}
		if (rc != EX_OK)
			unlink(file);
	}
	free(text);
	json_decref(doc);
	return rc;
}

/* ------------------------------------------------------------ purge -- */

/* How many of P's letters have FATE, for CLIENT (0: every client). */
static int
letters_of(const struct gdpr_sql_purge *p, int64_t client, int fate)
{
	int n = 0;

	for (size_t i = 0; i < p->nletters; i++)
		n += p->letters[i].fate == fate && (client == 0 || p->letters[i].client_id == client);
	return n;
}

/* Each letter of P removed from the spool DIR (a dry run: looked at), its
 * fate recorded in P. */
static void
purge_spool(struct gdpr_sql_purge *p, const char *dir)
{
	char why[256] = "";
	int dfd;

	if (p->nletters == 0)
		return;
	dfd = gdpr_spool_open(dir, why, sizeof(why));
	for (size_t i = 0; i < p->nletters; i++) {
		struct gdpr_sql_letter *l = &p->letters[i];

		snprintf(l->why, sizeof(l->why), "%s", why);
		l->fate = gdpr_spool_remove(dfd, dir, l->path, p->dry_run, l->why, sizeof(l->why));
	}
	gdpr_spool_close(dfd);
}

/* The letters of P: removed or missing on stdout, kept on stderr with the
 * reason. */
static void
print_letters(const struct gdpr_sql_purge *p)
{
	for (size_t i = 0; i < p->nletters; i++) {
		const struct gdpr_sql_letter *l = &p->letters[i];

		if (l->fate == GDPR_SPOOL_KEPT)
			fprintf(stderr, "dunningctl: letter %s (client %lld, reminder %lld) "
			    "not removed: %s\n", l->path, (long long)l->client_id,
			    (long long)l->reminder_id, l->why);
		else
			printf("letter %s: %s (client %lld, reminder %lld)\n",
			    l->fate == GDPR_SPOOL_MISSING ? "already gone" :
			    p->dry_run ? "would be removed" : "removed", l->path,
			    (long long)l->client_id, (long long)l->reminder_id);
	}
}

/* The clients of P, one line each under a header. */
static void
print_purged(const struct gdpr_sql_purge *p)
{
	if (p->nclients > 0)
		printf("%-8s %-10s  %8s  %14s  %11s  %7s\n", "CLIENT", "CLOSED ON", "INVOICES",
		    "MESSAGE COPIES", "AUDIT TEXTS", "LETTERS");
	for (size_t i = 0; i < p->nclients; i++) {
		const struct gdpr_sql_purged *c = &p->clients[i];

		printf("%-8lld %-10s  %8d  %14d  %11d  %7d\n", (long long)c->client_id,
		    c->closed_on, c->invoices, c->copies, c->texts,
		    letters_of(p, c->client_id, GDPR_SPOOL_REMOVED));
	}
}

/* purge [--dry-run]: the clients anonymised, then their letters removed
 * from the spool, both recorded in one transaction; exit 1 when a letter
 * could not be removed (the rest is done, and the next purge tries it
 * again). */
int
cmd_purge(struct ctl *c, int argc, char **argv)
{
	struct gdpr_sql_purge p;
	bool dry = false;
	int years = c->cfg->retention_years, removed, missing, kept;
	size_t n;

	if (argc == 2 && strcmp(argv[1], "--dry-run") == 0)
		dry = true;
	else if (argc != 1)
		return ctl_usage(c);
	if (gdpr_sql_purge(c->store, years, dry, &p) < 0)
		return ctl_refused(c);
	purge_spool(&p, c->cfg->spool_dir);
	if (gdpr_sql_purge_end(c->store, &p) < 0) {
		if (!dry && letters_of(&p, 0, GDPR_SPOOL_REMOVED) > 0)
			fprintf(stderr, "dunningctl: nothing was anonymised; the letters "
			    "removed are recorded by the next purge\n");
		gdpr_sql_purge_free(&p);
		return ctl_refused(c);
	}
	print_purged(&p);
	fflush(stdout);
	print_letters(&p);
	removed = letters_of(&p, 0, GDPR_SPOOL_REMOVED);
	missing = letters_of(&p, 0, GDPR_SPOOL_MISSING);
	kept = letters_of(&p, 0, GDPR_SPOOL_KEPT);
	if (p.nletters > 0)
		printf("%d letter%s %s from the spool %s, %d already gone, %d not removed\n",
		    removed, removed == 1 ? "" : "s", dry ? "would be removed" : "removed",
		    c->cfg->spool_dir, missing, kept);
	n = p.nclients;
	if (dry)
		printf("%zu client%s would be anonymised (closed more than %d year%s ago); "
		    "nothing changed\n", n, n == 1 ? "" : "s", years, years == 1 ? "" : "s");
	else
		printf("%zu client%s anonymised (closed more than %d year%s ago)\n", n,
		    n == 1 ? "" : "s", years, years == 1 ? "" : "s");
	gdpr_sql_purge_free(&p);
	return kept > 0 ? EX_FAIL : EX_OK;
}
