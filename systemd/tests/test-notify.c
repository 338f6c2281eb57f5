/* test-notify.c: arenad speaks the sd_notify protocol the way arenad.service expects.
 *
 * The test plays the service manager: it binds its own AF_UNIX datagram socket, starts arenad
 * with NOTIFY_SOCKET, WATCHDOG_USEC=1s and WATCHDOG_PID (set in the child to its own pid, as
 * systemd does), and records every line with its arrival time and the sender's pid (from
 * SCM_CREDENTIALS: with NotifyAccess=main only the master may talk). It then walks the life
 * cycle: READY=1 (and the port works at that moment), STATUS= lines, WATCHDOG=1 pings within
 * WATCHDOG_USEC, SIGHUP -> RELOADING=1 with MONOTONIC_USEC in the same datagram -> READY=1, a
 * reload with a broken config -> RELOADING=1 -> READY=1 with a STATUS saying it failed, a
 * worker frozen with SIGSTOP (pings pause while its heartbeat is stale, resume once the master
 * has replaced it), and SIGTERM -> STOPPING=1 -> exit status 0 with no process left.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-client.h"

#define WATCHDOG_USEC        1000000
#define HEARTBEAT_TIMEOUT_MS 2000
#define START_TIMEOUT_MS     15000
#define STEP_TIMEOUT_MS      5000
#define STOP_TIMEOUT_MS      20000
#define MAX_EVENTS           4096
#define MAX_WORKERS          8

struct event {
	int64_t t_ms;   /* arrival, CLOCK_MONOTONIC */
	unsigned dgram; /* datagram number: lines of one sd_notify() call share it */
	char line[256];
};

static struct event events[MAX_EVENTS];
static size_t nevents;
static unsigned ndgrams;
static int notify_fd = -1;
static pid_t daemon_pid;

static void open_notify_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int one = 1;

	TC_CHECK(strlen(path) < sizeof(sa.sun_path), "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	TC_CHECK(notify_fd >= 0, "socket: %s", strerror(errno));
	TC_CHECK(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", path,
	         strerror(errno));
	TC_CHECK(setsockopt(notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0,
	         "SO_PASSCRED: %s", strerror(errno));
}

/* Receive one datagram if there is one; split it into events. Returns true if one came. */
static bool recv_one(void)
{
	char buf[4096];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = &control,
	                    .msg_controllen = sizeof(control)};
	struct cmsghdr *cm;
	pid_t sender = 0;
	ssize_t n;

	n = recvmsg(notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return false;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;
			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			sender = uc.pid;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			tc_fail("a notification carried file descriptors: \"%s\"", buf);
		}
	}
	TC_CHECK(sender == daemon_pid,
	         "notification from pid %d, not from the master %d (NotifyAccess=main): \"%s\"",
	         (int)sender, (int)daemon_pid, buf);
	ndgrams++;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		TC_CHECK(nevents < MAX_EVENTS, "too many notifications");
		events[nevents].t_ms = tc_now_ms();
		events[nevents].dgram = ndgrams;
		snprintf(events[nevents].line, sizeof(events[0].line), "%s", line);
		if (strncmp(line, "WATCHDOG=", 9) != 0)
			printf("# +%lld ms: %s\n", (long long)(events[nevents].t_ms % 100000),
			       line);
		nevents++;
	}
	return true;
}

/* Collect notifications for ms milliseconds. */
static void pump(int ms)
{
	int64_t deadline = tc_now_ms() + ms;

	for (;;) {
		while (recv_one())
			;
		int64_t left = deadline - tc_now_ms();
		if (left <= 0)
			return;
		tc_sleep_ms(left < 10 ? (int)left : 10);
	}
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Index of the first event at or after `from` starting with prefix, waiting up to timeout_ms
 * for it; -1 if none came. */
static long wait_line(const char *prefix, size_t from, int timeout_ms)
{
	int64_t deadline = tc_now_ms() + timeout_ms;

	for (;;) {
		for (size_t i = from; i < nevents; i++)
			if (starts_with(events[i].line, prefix))
				return (long)i;
		if (tc_now_ms() >= deadline)
			return -1;
		pump(10);
	}
}

static bool contains_fail(const char *s)
{
	for (; *s; s++)
		if (strncasecmp(s, "fail", 4) == 0)
			return true;
	return false;
}

/* Times of WATCHDOG=1 between from_ms and to_ms into ret (at most max); returns the count. */
static size_t pings(int64_t from_ms, int64_t to_ms, int64_t *ret, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < nevents && n < max; i++)
		if (strcmp(events[i].line, "WATCHDOG=1") == 0 && events[i].t_ms >= from_ms &&
		    events[i].t_ms <= to_ms)
			ret[n++] = events[i].t_ms;
	return n;
}

static int64_t max_gap(const int64_t *t, size_t n)
{
	int64_t gap = 0;

	for (size_t i = 1; i < n; i++)
		if (t[i] - t[i - 1] > gap)
			gap = t[i] - t[i - 1];
	return gap;
}

static void write_config(const char *path, uint16_t port, bool broken)
{
	char text[1024];
	int r;

	snprintf(text, sizeof(text),
	         "[server]\n"
	         "listen = 127.0.0.1:%u\n"
	         "workers = 2\n"
	         "log_level = debug\n"
	         "heartbeat_timeout = %dms\n"
	         "state_dir = %s/state\n"
	         "[game]\n"
	         "%s = 20\n",
	         port, HEARTBEAT_TIMEOUT_MS, tc_tmpdir(), broken ? "tick_rat" : "tick_rate");
	r = tc_write_file(path, text);
	TC_CHECK(r == 0, "write %s: %s", path, strerror(-r));
}

static void check_reload(uint16_t port, bool broken)
{
	const char *what = broken ? "broken reload" : "reload";
	size_t mark = nevents;
	uint64_t before = tc_now_usec();
	long rel, rdy, mono = -1, st = -1;

	TC_CHECK(kill(daemon_pid, SIGHUP) == 0, "SIGHUP: %s", strerror(errno));
	rel = wait_line("RELOADING=1", mark, STEP_TIMEOUT_MS);
	TC_CHECK(rel >= 0, "%s: no RELOADING=1 within %d ms of SIGHUP", what, STEP_TIMEOUT_MS);
	for (size_t i = mark; i < nevents; i++)
		if (events[i].dgram == events[rel].dgram &&
		    starts_with(events[i].line, "MONOTONIC_USEC="))
			mono = (long)i;
	TC_CHECK(mono >= 0, "%s: RELOADING=1 without MONOTONIC_USEC= in the same message", what);
	unsigned long long usec = strtoull(events[mono].line + 15, NULL, 10);
	TC_CHECK(usec + 1000000 >= before && usec <= tc_now_usec() + 1000000,
	         "%s: MONOTONIC_USEC=%llu is not the time of the reload (now %llu)", what, usec,
	         (unsigned long long)tc_now_usec());
	rdy = wait_line("READY=1", (size_t)rel + 1, STEP_TIMEOUT_MS);
	TC_CHECK(rdy >= 0, "%s: no READY=1 after RELOADING=1 within %d ms", what, STEP_TIMEOUT_MS);
	tc_ok("%s: RELOADING=1 + MONOTONIC_USEC, then READY=1", what);
	if (broken) {
		int64_t until = events[rdy].t_ms + 3000;
		for (size_t from = (size_t)rel; st < 0 && tc_now_ms() < until;) {
			long i = wait_line("STATUS=", from, 100);
			if (i >= 0 && contains_fail(events[i].line))
				st = i;
			else if (i >= 0)
				from = (size_t)i + 1;
		}
		TC_CHECK(st >= 0, "broken reload: no STATUS= mentioning the failure");
		tc_ok("broken reload: %s", events[st].line);
	}
	int r = tc_greet("127.0.0.1", port, "afterhup", STEP_TIMEOUT_MS);
	TC_CHECK(r == 0, "%s: not serving afterwards: %s", what, strerror(-r));
	tc_ok("%s: still serving", what);
}

static void check_frozen_worker(void)
{
	pid_t before[MAX_WORKERS], now[MAX_WORKERS], victim, fresh = 0;
	size_t nbefore, nnow;
	int64_t t_stop, t_gone = 0, t_fresh = 0, t[256];
	int64_t deadline;

	nbefore = tc_children(daemon_pid, before, MAX_WORKERS);
	TC_CHECK(nbefore == 2, "expected 2 workers, found %zu", nbefore);
	victim = before[0];
	pump(1200); /* a healthy stretch right before */
	t_stop = tc_now_ms();
	TC_CHECK(kill(victim, SIGSTOP) == 0, "SIGSTOP %d: %s", (int)victim, strerror(errno));
	printf("# froze worker %d\n", (int)victim);

	/* The master must kill it after heartbeat_timeout and fork a replacement. */
	deadline = t_stop + HEARTBEAT_TIMEOUT_MS + STEP_TIMEOUT_MS;
	while (tc_now_ms() < deadline && (!t_gone || !fresh)) {
		pump(20);
		if (!t_gone && !tc_pid_alive(victim))
			t_gone = tc_now_ms();
		nnow = tc_children(daemon_pid, now, MAX_WORKERS);
		for (size_t i = 0; i < nnow && !fresh; i++)
			if (now[i] != before[0] && now[i] != before[1]) {
				fresh = now[i];
				t_fresh = tc_now_ms();
			}
	}
	if (!t_gone)
		kill(victim, SIGKILL);
	TC_CHECK(t_gone, "frozen worker %d still there %lld ms after SIGSTOP", (int)victim,
	         (long long)(tc_now_ms() - t_stop));
	TC_CHECK(fresh, "no replacement worker within %lld ms of SIGSTOP",
	         (long long)(deadline - t_stop));
	tc_ok("frozen worker killed after %lld ms, replacement %d after %lld ms",
	      (long long)(t_gone - t_stop), (int)fresh, (long long)(t_fresh - t_stop));

	pump(2500);
	size_t n = pings(t_stop - 1500, tc_now_ms(), t, 256);
	int64_t gap = max_gap(t, n), last_before = 0, first_after = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] <= t_stop)
			last_before = t[i];
		if (!first_after && t[i] >= t_fresh)
			first_after = t[i];
	}
	printf("# pings around the freeze: last before %+lld ms, first after replacement %+lld "
	       "ms, longest gap %lld ms\n",
	       (long long)(last_before - t_stop), (long long)(first_after - t_stop),
	       (long long)gap);
	TC_CHECK(last_before, "no WATCHDOG=1 in the healthy stretch before SIGSTOP");
	/* With WATCHDOG_USEC=1s the master pings every ~500 ms; a stale heartbeat must hold the
	 * pings back for longer than the watchdog interval (that is what lets systemd step in
	 * when the master cannot recover). */
	TC_CHECK(gap >= WATCHDOG_USEC / 1000,
	         "WATCHDOG=1 kept coming while a worker was frozen (longest gap %lld ms)",
	         (long long)gap);
	TC_CHECK(first_after, "WATCHDOG=1 did not resume after the replacement worker started");
	int64_t t2[64];
	size_t n2 = pings(first_after, tc_now_ms(), t2, 64);
	TC_CHECK(n2 >= 2 && max_gap(t2, n2) < WATCHDOG_USEC / 1000,
	         "WATCHDOG=1 not regular again after the replacement (%zu pings, gap %lld ms)", n2,
	         (long long)max_gap(t2, n2));
	tc_ok("WATCHDOG=1 paused for %lld ms while the heartbeat was stale, then resumed",
	      (long long)gap);
}

int main(void)
{
	char sock[512], conf[512], log[512], env_sock[600], env_wd[64];
	char *env[] = {env_sock, env_wd, NULL};
	char *argv[] = {NULL, "-c", conf, NULL};
	int64_t t[256], t_ready;
	uint16_t port;
	long ready, i;
	int r, status;

	tc_init("notify", 150);
	argv[0] = (char *)tc_arenad_path();
	r = tc_free_port(AF_INET, &port);
	TC_CHECK(r == 0, "no free port: %s", strerror(-r));
	snprintf(sock, sizeof(sock), "%s/notify", tc_tmpdir());
	snprintf(conf, sizeof(conf), "%s/arenad.conf", tc_tmpdir());
	snprintf(log, sizeof(log), "%s/arenad.log", tc_tmpdir());
	snprintf(env_sock, sizeof(env_sock), "NOTIFY_SOCKET=%s", sock);
	snprintf(env_wd, sizeof(env_wd), "WATCHDOG_USEC=%d", WATCHDOG_USEC);
	open_notify_socket(sock);
	write_config(conf, port, false);

	daemon_pid = tc_spawn(argv, env, true, log);

	/* READY=1 only once the listener is open and every worker is up. */
	ready = wait_line("READY=1", 0, START_TIMEOUT_MS);
	TC_CHECK(ready >= 0, "no READY=1 within %d ms", START_TIMEOUT_MS);
	t_ready = events[ready].t_ms;
	r = tc_greet("127.0.0.1", port, "ready", 2000);
	TC_CHECK(r == 0, "READY=1 sent but the service does not answer: %s", strerror(-r));
	tc_ok("READY=1, and the port answers HELLO with WELCOME");
	i = wait_line("STATUS=", 0, 3000);
	TC_CHECK(i >= 0, "no STATUS= line within 3 s of READY=1");
	tc_ok("STATUS= is reported: %s", events[i].line);

	/* WATCHDOG=1 regularly, well within WATCHDOG_USEC. */
	pump(3000);
	size_t n = pings(t_ready, tc_now_ms(), t, 256);
	TC_CHECK(n >= 3, "only %zu WATCHDOG=1 in the 3 s after READY=1 (WATCHDOG_USEC=1s)", n);
	TC_CHECK(max_gap(t, n) < WATCHDOG_USEC / 1000,
	         "WATCHDOG=1 gap of %lld ms exceeds WATCHDOG_USEC", (long long)max_gap(t, n));
	tc_ok("%zu WATCHDOG=1 in 3 s, longest gap %lld ms", n, (long long)max_gap(t, n));

	check_reload(port, false);
	write_config(conf, port, true);
	check_reload(port, true);
	write_config(conf, port, false);

	check_frozen_worker();

	size_t mark = nevents;
	TC_CHECK(kill(daemon_pid, SIGTERM) == 0, "SIGTERM: %s", strerror(errno));
	i = wait_line("STOPPING=1", mark, STEP_TIMEOUT_MS);
	TC_CHECK(i >= 0, "no STOPPING=1 within %d ms of SIGTERM", STEP_TIMEOUT_MS);
	tc_ok("SIGTERM -> STOPPING=1");
	r = tc_wait_exit(daemon_pid, STOP_TIMEOUT_MS, &status);
	TC_CHECK(r == 0, "arenad did not exit within %d ms of SIGTERM", STOP_TIMEOUT_MS);
	pump(0);
	for (size_t k = (size_t)i; k < nevents; k++)
		TC_CHECK(strcmp(events[k].line, "READY=1") != 0, "READY=1 after STOPPING=1");
	TC_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	         "arenad ended with %s %d, expected exit status 0",
	         WIFEXITED(status) ? "exit status" : "signal",
	         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	for (int k = 0; k < 200 && tc_group_alive(daemon_pid); k++)
		tc_sleep_ms(10);
	TC_CHECK(!tc_group_alive(daemon_pid), "a process of arenad outlived the master");
	tc_ok("exit status 0, no process left");
	close(notify_fd);
	return 0;
}
