/* test-client.h: helpers shared by the systemd integration tests (client, launcher, reporting).
 *
 * The tests run the real arenad binary the way systemd would (socket activation, the notify
 * socket, the watchdog variables) and talk to it over loopback with the protocol library, so
 * these helpers stay small and boring: a poll()-bounded client built on struct arena_decoder,
 * a launcher that puts every daemon in its own process group and kills those groups on any exit
 * (normal, failure, SIGTERM from the test runner, or the global alarm), and TAP-like reporting
 * that prints the daemon's log when something fails. Every wait has a deadline.
 */
#ifndef ARENA_TEST_CLIENT_H
#define ARENA_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena_proto.h"

/* ---- Reporting ------------------------------------------------------------------------- */

/* Start a test program: install the cleanup handlers and a global deadline of `deadline_s`
 * seconds after which every daemon is killed and the test fails. */
void tc_init(const char *name, unsigned deadline_s);

/* Print "ok N - what". */
void tc_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "not ok", the tail of every daemon log, keep the temp dir, kill daemons, exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void tc_fail(const char *fmt, ...);

/* Print the reason, clean up, exit 77 (skipped). */
__attribute__((noreturn, format(printf, 1, 2))) void tc_skip(const char *fmt, ...);

#define TC_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			tc_fail(__VA_ARGS__);                                                      \
	} while (0)

/* CLOCK_MONOTONIC in milliseconds and microseconds. */
int64_t tc_now_ms(void);
uint64_t tc_now_usec(void);

/* Sleep for ms milliseconds (restarted after signals). */
void tc_sleep_ms(int ms);

/* ---- Files ----------------------------------------------------------------------------- */

/* The test's private directory (created on first use, removed at a successful exit). */
const char *tc_tmpdir(void);

/* Write text to path (created 0600, truncated). Returns 0 or a negative errno. */
int tc_write_file(const char *path, const char *text);

/* A free TCP port on the loopback address of `family` (AF_INET or AF_INET6), found by binding
 * port 0. Returns 0 or a negative errno (-EAFNOSUPPORT when that family has no loopback). */
int tc_free_port(int family, uint16_t *ret_port);

/* ---- Processes ------------------------------------------------------------------------- */

/* Path of the arenad binary under test ($ARENAD); skips the test when unset. */
const char *tc_arenad_path(void);

/* Fork and exec argv[0] (searched in PATH) in a new process group, stdin from /dev/null,
 * stdout and stderr appended to log_path, with the NAME=VALUE strings of env_add added to the
 * environment. With watchdog_pid, WATCHDOG_PID is set to the child's own pid before exec. The
 * pid is remembered so the group is killed at exit. Fails the test if fork fails. */
pid_t tc_spawn(char *const argv[], char *const env_add[], bool watchdog_pid, const char *log_path);

/* Wait up to timeout_ms for a spawned pid to exit. Returns 0 with the waitpid status, or
 * -ETIMEDOUT. */
int tc_wait_exit(pid_t pid, int timeout_ms, int *ret_status);

/* True while any process of the group pgid exists (zombies of other parents included). */
bool tc_group_alive(pid_t pgid);

/* True if pid exists and is not a zombie. */
bool tc_pid_alive(pid_t pid);

/* The live children of pid (scanning /proc/<n>/stat). Returns how many were stored in ret
 * (at most max). */
size_t tc_children(pid_t pid, pid_t *ret, size_t max);

/* ---- Client ---------------------------------------------------------------------------- */

struct tc_conn;

/* Connect to host ("127.0.0.1", "::1") port within timeout_ms, retrying while the connection
 * is refused (a daemon still starting). Returns 0 or a negative errno. */
int tc_connect(const char *host, uint16_t port, int timeout_ms, struct tc_conn **ret);

void tc_close(struct tc_conn *c);

/* Encode and send one message (the whole frame within 2 s). Returns 0 or a negative errno. */
int tc_send(struct tc_conn *c, const struct arena_msg *m);

/* Receive the next message within timeout_ms. Returns 0, -ETIMEDOUT, -ECONNRESET on EOF or
 * reset, or the decoder's negative ARENA_E_* error. */
int tc_recv(struct tc_conn *c, int timeout_ms, struct arena_msg *ret);

/* Receive until a message of `type` arrives within timeout_ms, skipping others. A BYE ends
 * the wait with -ECONNABORTED (unless BYE is the type asked for). */
int tc_recv_type(struct tc_conn *c, uint8_t type, int timeout_ms, struct arena_msg *ret);

/* A whole short game session against host:port: connect, HELLO -> WELCOME, JOIN (matchmaking)
 * -> JOINED, MOVE seq 1 -> a SNAPSHOT acknowledging it, PING -> PONG, close. Prints what went
 * wrong to stderr. Returns 0 or a negative errno. */
int tc_play(const char *host, uint16_t port, const char *name, int timeout_ms);

/* Connect and HELLO -> WELCOME only. Returns 0 or a negative errno. */
int tc_greet(const char *host, uint16_t port, const char *name, int timeout_ms);

#endif /* ARENA_TEST_CLIENT_H */
