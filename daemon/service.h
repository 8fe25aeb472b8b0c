/*
 * service — the systemd notify protocol (sd_notify), a no-op without
 * libsystemd.
 */
#ifndef DUNNING_SERVICE_H
#define DUNNING_SERVICE_H

/* Tell systemd what we are doing ("READY=1", "STATUS=…"). */
void service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
