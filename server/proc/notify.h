/* notify.h: the master's thin layer over the sd_notify(3) protocol: readiness, status, reload,
 * watchdog.
 *
 * Every function is a no-op (returning 0) when the daemon was not started by systemd with a
 * NOTIFY_SOCKET, so callers never check. None of them ever blocks (see notify.c). Only the
 * master calls these: workers inherit the environment but never notify (the unit has
 * NotifyAccess=main anyway).
 */
#ifndef ARENA_NOTIFY_H
#define ARENA_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* Resend state changes that found the socket full earlier. Call periodically. 0 when nothing
 * is left waiting, else a negative errno. */
int notify_flush(void);

/* Close the notification socket (at exit). */
void notify_close(void);

/* READY=1: every listener open and every worker running. Sent again after each reload. */
int notify_ready(void);

/* STATUS=<text>: one human-readable line for `systemctl status`. */
int notify_status(const char *fmt, ...) _printf_(1, 2);

/* RELOADING=1 with MONOTONIC_USEC=<now>, as systemd's Type=notify-reload expects. */
int notify_reloading(void);

/* STOPPING=1: graceful shutdown has begun. */
int notify_stopping(void);

/* The watchdog period in microseconds if systemd asked for one for this process (WATCHDOG_USEC
 * and a matching WATCHDOG_PID), else 0. */
uint64_t notify_watchdog_usec(void);

/* WATCHDOG=1: "still healthy". */
int notify_watchdog(void);

/* MAINPID=pid: a live upgrade's new master takes over as the service's main process. */
int notify_mainpid(pid_t pid);

/* While held, nothing is sent (and what was queued is dropped): a process that is not, or no
 * longer, systemd's main pid must not speak for the service (NotifyAccess=main). */
void notify_hold(bool hold);

#endif /* ARENA_NOTIFY_H */
