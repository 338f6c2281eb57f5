/* test-socket-activate.c: arenad started the way arenad.socket starts it serves on the passed fds.
 *
 * systemd-socket-activate(1) binds the sockets, waits for the first connection and execs arenad
 * in the same process with LISTEN_FDS/LISTEN_PID set, exactly like a socket unit does. The
 * config names a different port in listen=, which must stay closed: with passed sockets the
 * daemon uses exactly those. Each address gets a whole short game session (HELLO, JOIN, MOVE
 * acknowledged in a SNAPSHOT, PING), then a reload, then SIGTERM must end everything with
 * status 0. Run once with one IPv4 socket and once with IPv4 + IPv6 (the IPv6 half is skipped
 * when the machine has no ::1). ARENA_TEST_WRAPPER, if set, is a command prefix put in front of
 * arenad: test-syscalls.py uses it to run the daemon under strace, and the privnet variant runs
 * it under `unshare -n` to show that passed sockets work from a private network namespace
 * (PrivateNetwork=yes in a drop-in, as docs/DEPLOY.md suggests for socket-only setups).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test-client.h"

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS  20000
#define MAX_ARGS         64

struct listen_addr {
	const char *host; /* for the client: "127.0.0.1" or "::1" */
	int family;
	uint16_t port;
};

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		tc_fail("out of memory");
	return p;
}

/* Build: systemd-socket-activate -l A... [-E VAR=...]... [wrapper...] arenad -c conf */
static size_t build_argv(char **argv, const struct listen_addr *addrs, size_t naddrs,
                         const char *conf)
{
	static const char *const pass_env[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
	                                       "MALLOC_PERTURB_"};
	const char *activate = getenv("SYSTEMD_SOCKET_ACTIVATE");
	const char *wrapper = getenv("ARENA_TEST_WRAPPER");
	size_t n = 0;
	char buf[512];

	argv[n++] = xstrdup(activate && *activate ? activate : "systemd-socket-activate");
	for (size_t i = 0; i < naddrs; i++) {
		argv[n++] = xstrdup("-l");
		if (addrs[i].family == AF_INET6)
			snprintf(buf, sizeof(buf), "[%s]:%u", addrs[i].host, addrs[i].port);
		else
			snprintf(buf, sizeof(buf), "%s:%u", addrs[i].host, addrs[i].port);
		argv[n++] = xstrdup(buf);
	}
	for (size_t i = 0; i < sizeof(pass_env) / sizeof(pass_env[0]); i++) {
		const char *v = getenv(pass_env[i]);
		if (!v)
			continue;
		snprintf(buf, sizeof(buf), "%s=%s", pass_env[i], v);
		argv[n++] = xstrdup("-E");
		argv[n++] = xstrdup(buf);
	}
	if (wrapper && *wrapper) {
		char *copy = xstrdup(wrapper), *save = NULL;
		for (char *w = strtok_r(copy, " \t", &save); w && n < MAX_ARGS - 4;
		     w = strtok_r(NULL, " \t", &save))
			argv[n++] = xstrdup(w);
		free(copy);
	}
	argv[n++] = xstrdup(tc_arenad_path());
	argv[n++] = xstrdup("-c");
	argv[n++] = xstrdup(conf);
	argv[n] = NULL;
	return n;
}

static void run_case(const char *label, struct listen_addr *addrs, size_t naddrs)
{
	char conf[512], log[512], text[1024], *argv[MAX_ARGS];
	uint16_t decoy;
	pid_t pid;
	int r, status;

	for (size_t i = 0; i < naddrs; i++) {
		r = tc_free_port(addrs[i].family, &addrs[i].port);
		TC_CHECK(r == 0, "%s: no free port: %s", label, strerror(-r));
	}
	r = tc_free_port(AF_INET, &decoy);
	TC_CHECK(r == 0, "%s: no free port: %s", label, strerror(-r));

	snprintf(conf, sizeof(conf), "%s/%s.conf", tc_tmpdir(), label);
	snprintf(log, sizeof(log), "%s/%s.log", tc_tmpdir(), label);
	snprintf(text, sizeof(text),
	         "[server]\n"
	         "listen = 127.0.0.1:%u\n"
	         "workers = 2\n"
	         "log_level = debug\n"
	         "state_dir = %s/state-%s\n",
	         decoy, tc_tmpdir(), label);
	r = tc_write_file(conf, text);
	TC_CHECK(r == 0, "write %s: %s", conf, strerror(-r));

	size_t argc = build_argv(argv, addrs, naddrs, conf);
	printf("# %s:", label);
	for (size_t i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	putchar('\n');
	pid = tc_spawn(argv, NULL, false, log);
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);

	/* The first connection makes systemd-socket-activate exec arenad; it waits in the backlog
	 * meanwhile, so the first session has the start-up time in its deadline. */
	for (size_t i = 0; i < naddrs; i++) {
		r = tc_play(addrs[i].host, addrs[i].port, "sockact", START_TIMEOUT_MS);
		TC_CHECK(r == 0, "%s: session on the passed socket %s port %u failed: %s", label,
		         addrs[i].host, addrs[i].port, strerror(-r));
		tc_ok("%s: HELLO/JOIN/MOVE/PING on the passed socket %s port %u", label,
		      addrs[i].host, addrs[i].port);
	}
	r = tc_play(addrs[0].host, addrs[0].port, "again", START_TIMEOUT_MS);
	TC_CHECK(r == 0, "%s: second session failed: %s", label, strerror(-r));

	struct tc_conn *c = NULL;
	r = tc_connect("127.0.0.1", decoy, 500, &c);
	tc_close(c);
	TC_CHECK(r == -ECONNREFUSED, "%s: listen= port %u from the config is open (%s)", label,
	         decoy, r == 0 ? "connected" : strerror(-r));
	tc_ok("%s: listen= from the config is ignored with passed sockets", label);

	TC_CHECK(kill(pid, SIGHUP) == 0, "%s: SIGHUP: %s", label, strerror(errno));
	r = -ETIMEDOUT;
	for (int64_t deadline = tc_now_ms() + START_TIMEOUT_MS; r < 0 && tc_now_ms() < deadline;) {
		tc_sleep_ms(200);
		r = tc_greet(addrs[naddrs - 1].host, addrs[naddrs - 1].port, "reloaded", 5000);
	}
	TC_CHECK(r == 0, "%s: not serving after SIGHUP: %s", label, strerror(-r));
	tc_ok("%s: still serving the passed sockets after a reload", label);

	TC_CHECK(kill(pid, SIGTERM) == 0, "%s: SIGTERM: %s", label, strerror(errno));
	r = tc_wait_exit(pid, STOP_TIMEOUT_MS, &status);
	TC_CHECK(r == 0, "%s: arenad did not exit within %d ms of SIGTERM", label, STOP_TIMEOUT_MS);
	TC_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	         "%s: arenad ended with %s %d, expected exit status 0", label,
	         WIFEXITED(status) ? "exit status" : "signal",
	         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	for (int i = 0; i < 200 && tc_group_alive(pid); i++)
		tc_sleep_ms(10);
	TC_CHECK(!tc_group_alive(pid), "%s: a process of arenad outlived the master", label);
	tc_ok("%s: SIGTERM -> exit status 0, no process left", label);
}

/* A wrapper that cannot run here (unshare without privileges, no strace) skips the test. */
static void probe_wrapper(void)
{
	const char *wrapper = getenv("ARENA_TEST_WRAPPER");
	char *argv[MAX_ARGS], *copy, *save = NULL;
	size_t n = 0;
	int r, status;
	pid_t pid;

	if (!wrapper || !*wrapper)
		return;
	copy = xstrdup(wrapper);
	for (char *w = strtok_r(copy, " \t", &save); w && n < MAX_ARGS - 2;
	     w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	argv[n++] = "true";
	argv[n] = NULL;
	pid = tc_spawn(argv, NULL, false, NULL);
	r = tc_wait_exit(pid, 10000, &status);
	free(copy);
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		tc_skip("the wrapper '%s' cannot run here", wrapper);
}

int main(void)
{
	struct listen_addr one[] = {{"127.0.0.1", AF_INET, 0}};
	struct listen_addr two[] = {{"127.0.0.1", AF_INET, 0}, {"::1", AF_INET6, 0}};
	uint16_t port;

	tc_init("socket-activate", 150);
	probe_wrapper();
	run_case("ipv4", one, 1);
	if (tc_free_port(AF_INET6, &port) < 0) {
		printf("ok - ipv4+ipv6 # SKIP no IPv6 loopback on this machine\n");
		return 0;
	}
	run_case("ipv4-ipv6", two, 2);
	return 0;
}
