/* notify.c: the sd_notify protocol for the master, never blocking; see notify.h.
 *
 * libsystemd's sd_notify() sends with a blocking sendmsg(): if the receiver does not read its
 * socket (PID 1 busy, a test harness that reads only now and then), the 11th queued datagram
 * (net.unix.max_dgram_qlen) would stop the master's whole event loop inside a STATUS update.
 * So the datagrams are sent here on a non-blocking socket instead, to the same NOTIFY_SOCKET
 * address (a path, or "@name" for the abstract namespace), with the same message format. The
 * kernel attaches our pid for systemd. Periodic messages (STATUS, WATCHDOG) that do not fit are
 * dropped, since the next one supersedes them; state changes (READY, RELOADING, STOPPING) are
 * kept in a short queue and resent by notify_flush(). libsystemd still answers
 * sd_watchdog_enabled().
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define NOTIFY_QUEUE 4

static int notify_fd = -1;
static char notify_queue[NOTIFY_QUEUE][96];
static unsigned notify_queued;
static bool notify_held; /* not the service's main process (live upgrade): send nothing */

static int notify_address(struct sockaddr_un *sa, socklen_t *ret_len)
{
	const char *e = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!e || !*e)
		return 0;
	n = strlen(e);
	if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa->sun_path))
		return -EAFNOSUPPORT;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@')
		sa->sun_path[0] = '\0';
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 1;
}

/* One datagram, now or never: 0 sent (or no NOTIFY_SOCKET), -EAGAIN full, -errno. */
static int notify_send(const char *msg)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	int r = notify_address(&sa, &len);

	if (r <= 0 || notify_held)
		return r < 0 ? r : 0;
	if (notify_fd < 0) {
		notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (notify_fd < 0)
			return -errno;
	}
	if (sendto(notify_fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL,
	           (const struct sockaddr *)&sa, len) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

int notify_flush(void)
{
	while (notify_queued > 0) {
		int r = notify_send(notify_queue[0]);

		if (r == -EAGAIN)
			return r;
		memmove(notify_queue[0], notify_queue[1],
		        sizeof(notify_queue[0]) * (NOTIFY_QUEUE - 1));
		notify_queued--;
		if (r < 0)
			return r; /* not deliverable at all: dropped */
	}
	return 0;
}

/* A state change: sent in order after anything still queued, queued if the socket is full. */
static int notify_state(const char *msg)
{
	int r = notify_flush();

	if (r == 0) {
		r = notify_send(msg);
		if (r != -EAGAIN)
			return r;
	}
	if (notify_queued == NOTIFY_QUEUE) {
		/* Keep the newest: drop the oldest. */
		memmove(notify_queue[0], notify_queue[1],
		        sizeof(notify_queue[0]) * (NOTIFY_QUEUE - 1));
		notify_queued--;
	}
	snprintf(notify_queue[notify_queued++], sizeof(notify_queue[0]), "%s", msg);
	return -EAGAIN;
}

int notify_ready(void)
{
	return notify_state("READY=1");
}

int notify_status(const char *fmt, ...)
{
	char text[256], msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	if (notify_queued > 0)
		return -EAGAIN; /* a state change is still waiting: do not overtake it */
	return notify_send(msg);
}

int notify_reloading(void)
{
	struct timespec ts;
	char msg[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	         (unsigned long long)ts.tv_sec * 1000000ull +
	             (unsigned long long)ts.tv_nsec / 1000u);
	return notify_state(msg);
}

int notify_stopping(void)
{
	return notify_state("STOPPING=1");
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
	if (notify_queued > 0)
		return -EAGAIN;
	return notify_send("WATCHDOG=1");
}

void notify_hold(bool hold)
{
	notify_held = hold;
	if (hold)
		notify_queued = 0;
}

int notify_mainpid(pid_t pid)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "MAINPID=%d", (int)pid);
	return notify_state(msg);
}

void notify_close(void)
{
	if (notify_fd >= 0) {
		int fd = notify_fd;

		notify_fd = -1;
		close(fd);
	}
}
