/*
 * loop — the daemon's event loop (libevent): signals, timers, the LISTEN
 * connection, the workers' reports and the systemd watchdog.
 */
#ifndef DUNNING_LOOP_H
#define DUNNING_LOOP_H

#include "daemon.h"

/* Run until SIGTERM or SIGINT; SIGHUP reloads the configuration at PATH.
 * Returns the exit status. */
int loop_run(struct daemon *d, const char *path);

#endif
