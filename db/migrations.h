/*
 * migrations — the SQL of sql/, embedded at build time (sql/embed.py): the
 * numbered migrations and the repeatable files of functions and views.
 */
#ifndef DUNNING_MIGRATIONS_H
#define DUNNING_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct migration migrations[];
extern const int migrations_count;

/* When a repeatable file runs: base/ also before the pending numbered
 * migrations (the tables need it), the others only after them. */
enum repeatable_phase {
	REPEATABLE_EARLY,
	REPEATABLE_LATE,
};

struct repeatable {
	const char *name;		/* "functions/lawyer_actions": its path in sql/ */
	enum repeatable_phase phase;
	const char *checksum;		/* SHA-256 of SQL, lower-case hex */
	const char *const *views;	/* the views it creates, NULL-terminated */
	const char *sql;
};

extern const struct repeatable repeatables[];
extern const int repeatables_count;

#endif
