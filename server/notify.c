/* notify.c: sd_notify wrappers for the master; see notify.h.
 *
 * libsystemd already returns 0 without NOTIFY_SOCKET; the wrappers add the message formats
 * (STATUS, RELOADING with its monotonic stamp) and keep the environment intact, since the
 * watchdog settings are read more than once (at start and after nothing else).
 */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

int notify_ready(void)
{
	return sd_notify(0, "READY=1");
}

int notify_status(const char *fmt, ...)
{
	char text[256], msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	return sd_notify(0, msg);
}

int notify_reloading(void)
{
	struct timespec ts;
	uint64_t usec;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)usec);
}

int notify_stopping(void)
{
	return sd_notify(0, "STOPPING=1");
}

uint64_t notify_watchdog_usec(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
}

int notify_watchdog(void)
{
	return sd_notify(0, "WATCHDOG=1");
}
