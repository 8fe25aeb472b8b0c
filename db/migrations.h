/*
 * migrations — the numbered SQL files of sql/, embedded at build time.
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

#endif
