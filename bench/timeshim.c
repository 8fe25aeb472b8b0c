/*
 * timeshim — the daemon's wall time, split by what it waits for, for the
 * send profile of bench/bench.py (bench/sending.py, profile_send): loaded
 * with LD_PRELOAD into dunningd, it times each call the daemon makes to
 * libpq (PQexec, PQexecParams, PQprepare, PQexecPrepared: a statement's
 * round trip, its commit included when it commits) and to libcurl
 * (curl_easy_perform: one message's SMTP transfer; curl_easy_cleanup: a
 * session's QUIT), and at exit writes, to the file named by $TIMESHIM_OUT,
 * one line per statement (or call) — calls, nanoseconds, the SQL text —
 * and the process's life in nanoseconds.  Not part of the daemon: built
 * by the benchmark, used only there.
 *
 *   cc -shared -fPIC -O2 -o timeshim.so bench/timeshim.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEYS 256
#define NAMES 128
#define KEYLEN 160

struct entry {
	char key[KEYLEN];
	unsigned long long calls, ns;
};

static struct entry entries[KEYS];
static int nentries;
static struct {
	char name[64];
	char sql[KEYLEN];
} names[NAMES];
static int nnames;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long born;
static __thread int depth;	/* a call inside a timed call is not counted again */

static unsigned long long
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ULL + (unsigned long long)t.tv_nsec;
}

/* The SQL on one line, runs of white space as one blank, cut. */
static void
squeeze(char *dst, const char *prefix, const char *sql)
{
	size_t n = 0;
	int blank = 0;

	n = (size_t)snprintf(dst, KEYLEN, "%s", prefix);
	for (; sql != NULL && *sql && n < KEYLEN - 1; sql++) {
		if (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r') {
			blank = 1;
			continue;
		}
		if (blank && n > 0 && n < KEYLEN - 2)
			dst[n++] = ' ';
		blank = 0;
		dst[n++] = *sql;
	}
	dst[n] = '\0';
}

static void
add(const char *key, unsigned long long ns)
{
	int i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nentries && strcmp(entries[i].key, key) != 0; i++)
		;
	if (i == nentries && nentries < KEYS)
		snprintf(entries[nentries++].key, KEYLEN, "%s", key);
	if (i < KEYS) {
		entries[i].calls++;
		entries[i].ns += ns;
	}
	pthread_mutex_unlock(&mu);
}

static void *
next(const char *sym)
{
	void *f = dlsym(RTLD_NEXT, sym);

	if (f == NULL) {
		fprintf(stderr, "timeshim: %s: %s\n", sym, dlerror());
		abort();
	}
	return f;
}

/* The timed call: KEY built only when the call is counted. */
#define TIMED(type, call, keyexpr) do {						\
	unsigned long long t0;							\
	type r_;								\
	char k_[KEYLEN];							\
	if (depth++ > 0) {							\
		r_ = call;							\
		depth--;							\
		return r_;							\
	}									\
	t0 = now_ns();								\
	r_ = call;								\
	keyexpr;								\
	add(k_, now_ns() - t0);							\
	depth--;								\
	return r_;								\
} while (0)

void *
PQexec(void *conn, const char *query)
{
	static void *(*f)(void *, const char *);

	if (f == NULL)
		f = next("PQexec");
	TIMED(void *, f(conn, query), squeeze(k_, "", query));
}

void *
PQexecParams(void *conn, const char *command, int n, const void *types,
    const char *const *values, const int *lengths, const int *formats, int rformat)
{
	static void *(*f)(void *, const char *, int, const void *, const char *const *,
	    const int *, const int *, int);

	if (f == NULL)
		f = next("PQexecParams");
	TIMED(void *, f(conn, command, n, types, values, lengths, formats, rformat),
	    squeeze(k_, "", command));
}

void *
PQprepare(void *conn, const char *name, const char *query, int n, const void *types)
{
	static void *(*f)(void *, const char *, const char *, int, const void *);
	int i;

	if (f == NULL)
		f = next("PQprepare");
	pthread_mutex_lock(&mu);
	for (i = 0; i < nnames && strcmp(names[i].name, name) != 0; i++)
		;
	if (i == nnames && nnames < NAMES)
		nnames++;
	if (i < NAMES) {
		snprintf(names[i].name, sizeof(names[i].name), "%s", name);
		squeeze(names[i].sql, "", query);
	}
	pthread_mutex_unlock(&mu);
	TIMED(void *, f(conn, name, query, n, types), squeeze(k_, "(PREPARE) ", query));
}

void *
PQexecPrepared(void *conn, const char *name, int n, const char *const *values,
    const int *lengths, const int *formats, int rformat)
{
	static void *(*f)(void *, const char *, int, const char *const *, const int *,
	    const int *, int);

	if (f == NULL)
		f = next("PQexecPrepared");
	TIMED(void *, f(conn, name, n, values, lengths, formats, rformat), {
		int i;

		pthread_mutex_lock(&mu);
		for (i = 0; i < nnames && strcmp(names[i].name, name) != 0; i++)
			;
		snprintf(k_, KEYLEN, "%s", i < nnames ? names[i].sql : name);
		pthread_mutex_unlock(&mu);
	});
}

int
curl_easy_perform(void *curl)
{
	static int (*f)(void *);

	if (f == NULL)
		f = next("curl_easy_perform");
	TIMED(int, f(curl), snprintf(k_, KEYLEN, "(libcurl) curl_easy_perform"));
}

void
curl_easy_cleanup(void *curl)
{
	static void (*f)(void *);
	unsigned long long t0;

	if (f == NULL)
		f = next("curl_easy_cleanup");
	t0 = now_ns();
	f(curl);
	add("(libcurl) curl_easy_cleanup", now_ns() - t0);
}

__attribute__((constructor)) static void
start(void)
{
	born = now_ns();
}

__attribute__((destructor)) static void
finish(void)
{
	const char *path = getenv("TIMESHIM_OUT");
	FILE *f;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	pthread_mutex_lock(&mu);
	fprintf(f, "0\t%llu\t(life)\n", now_ns() - born);
	for (int i = 0; i < nentries; i++)
		fprintf(f, "%llu\t%llu\t%s\n", entries[i].calls, entries[i].ns, entries[i].key);
	pthread_mutex_unlock(&mu);
	fclose(f);
}
