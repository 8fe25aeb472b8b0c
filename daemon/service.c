/*
 * service — what the daemon tells systemd (Type=notify): READY, RELOADING,
 * STOPPING, STATUS and WATCHDOG; nothing without libsystemd.
 */
#include <stdarg.h>
#include <stdio.h>

#include "build_config.h"
#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include "service.h"

/* Tell systemd (Type=notify) what we are doing; a no-op elsewhere. */
void
service_notify(const char *fmt, ...)
{
#if HAVE_LIBSYSTEMD
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notify(0, buf);
#else
	(void)fmt;
#endif
}
