/* harness.h: the black-box test harness: runs the real arenad, talks to it, watches its processes.
 *
 * Every black-box test is one C program that includes this header and links the static
 * `harness` library. The harness has four parts:
 *
 *   - reporting (harness.c): TAP-like "ok N - ..." lines, exit 0 pass / 1 fail / 77 skip, and
 *     the cleanup that runs on any exit path (atexit, SIGTERM/SIGINT/SIGHUP from meson);
 *   - daemons (harness-daemon.c): a temp dir with a config file, a free loopback port, arenad
 *     forked and exec'd in its own process group with stderr in a log file and NOTIFY_SOCKET
 *     pointing at a datagram socket the harness reads, readiness (READY=1 and a HELLO that gets
 *     WELCOME), reload, stop, and the log kept and printed when the test failed; watching it
 *     (harness-watch.c): its workers and processes, zombies, fd baselines, RSS, log contents;
 *   - processes (harness-proc.c): fd counts, RSS, CPU time, state and children of any pid, and
 *     which worker holds the server side of a client's connection (/proc/net/tcp inodes);
 *   - clients (harness-client.c, harness-pinger.c): blocking-with-timeout sockets using the
 *     protocol library's encoder and decoder, bulk non-blocking connects for thousands of
 *     clients, and a background "honest client" thread that PINGs and records PONG latencies.
 *
 * Conventions: functions return 0 or a negative errno like the rest of arena; every wait is
 * bounded by a timeout in milliseconds; the harness never touches anything but loopback.
 * Nothing here is thread-safe except the pinger, which owns its clients.
 */
#ifndef ARENA_HARNESS_H
#define ARENA_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena_proto.h"

#define H_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- Reporting and life cycle (harness.c) --------------------------------------------------- */

/* Start a test: print its name and purpose, install the exit and signal cleanup, raise
 * RLIMIT_NOFILE to the hard limit, make this process a child subreaper (so the workers of a
 * killed master are reaped here), ignore SIGPIPE. Skips (exit 77) when $ARENAD is not set. */
void h_init(const char *name, const char *purpose);

/* Record one assertion: prints "ok N - msg" or "not ok N - msg" (with file:line on failure).
 * Returns cond so callers can skip dependent steps. Use the CHECK/REQUIRE macros. */
bool h_check_at(const char *file, int line, bool cond, const char *fmt, ...) H_PRINTF(4, 5);
#define CHECK(cond, ...) h_check_at(__FILE__, __LINE__, (cond), __VA_ARGS__)
/* Like CHECK, but a failure ends the test at once (exit 1, with cleanup). */
#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!h_check_at(__FILE__, __LINE__, (cond), __VA_ARGS__))                          \
			h_bail("a required step failed");                                          \
	} while (0)

/* A "# ..." diagnostic line. */
void h_diag(const char *fmt, ...) H_PRINTF(1, 2);
/* Fail now: print the reason, clean up, exit 1. */
_Noreturn void h_bail(const char *fmt, ...) H_PRINTF(1, 2);
/* Skip the whole test: print the reason, clean up, exit 77. */
_Noreturn void h_skip(const char *fmt, ...) H_PRINTF(1, 2);
/* True once any check failed. */
bool h_failed(void);
/* End of main: print the plan line and return the exit code (0, or 1 if anything failed). */
int h_done(void);

/* Register a function run at exit (also on bail and on a fatal signal's orderly path), most
 * recent first. Used by the harness parts to stop daemons and pingers. */
void h_on_exit(void (*fn)(void *), void *arg);
void h_on_exit_cancel(void (*fn)(void *), void *arg);

uint64_t h_now_ms(void); /* CLOCK_MONOTONIC in milliseconds */
void h_sleep_ms(unsigned ms);
/* Milliseconds left until deadline_ms (0 if past), clamped to fit poll()'s int. */
int h_remaining(uint64_t deadline_ms);
/* True if p is one of set[0..n). */
bool h_pid_in(pid_t p, const pid_t *set, size_t n);
/* A loopback TCP port that was free a moment ago (bind to port 0, then close). 0 or -errno. */
int h_free_port(uint16_t *ret_port);
/* True if the daemon under test was built with sanitizers (meson sets ARENA_SANITIZE). */
bool h_sanitized(void);
/* For hd_opts.extra_env in tests that bound the daemon's RSS: under sanitizers, our ASAN_OPTIONS
 * plus quarantine_size_mb=0 (the quarantine holds freed memory back on purpose, so RSS would
 * measure ASan, not the daemon; LeakSanitizer still runs at exit). NULL without sanitizers. */
const char *h_asan_env_for_rss(void);

/* ---- Daemons (harness-daemon.c) ------------------------------------------------------------- */

#define HD_KV_MAX      64
#define HD_WORKERS_MAX 256 /* as ARENA_WORKERS_MAX in server/world/shm.h */

struct hd {
	pid_t pid;           /* the master (after a live upgrade: the new one, hd_follow_master) */
	pid_t pgid;          /* the daemon's process group: the first master's pid */
	uint16_t port;       /* 127.0.0.1:port */
	uint16_t port2;      /* a second listener 127.0.0.1:port2 (hd_opts.second_listener), or 0 */
	unsigned workers;    /* worker count in the config last written */
	int status;          /* wait status once the master was reaped, else -1 */
	int notify_fd;       /* our end of NOTIFY_SOCKET */
	unsigned notify_seq; /* datagrams received so far */
	char dir[128];       /* temp dir: config, log, state, notify socket */
	char conf[192];
	char log[192];
	char notify_path[192];
	char *kv[HD_KV_MAX]; /* "key=value" overrides in force, in the config file */
	unsigned nkv;
	unsigned nofile; /* RLIMIT_NOFILE for the daemon, 0 = inherited */
	char *extra_env; /* one extra "NAME=value" for the daemon, or NULL */
	int stderr_fd;   /* the daemon's stderr if > 2 (see hd_opts), else the log file */
	struct {
		unsigned seq; /* 1, 2, ... in arrival order; 0 = empty entry */
		char text[256];
	} notify[32]; /* the last datagrams received on NOTIFY_SOCKET */
};

struct hd_opts {
	const char *const *kv; /* NULL-terminated "key=value" (or "section.key=value") overrides */
	unsigned nofile;       /* RLIMIT_NOFILE soft=hard limit for arenad; 0 = inherit ours */
	const char *extra_env; /* e.g. "ASAN_OPTIONS=..."; NULL for none */
	/* If > 2: the daemon's stderr (stdout still goes to the log file), e.g. a pipe the test
	 * reads itself; the caller keeps and closes it. The log file then holds only what the
	 * test puts there. 0 = stderr in the log file too. */
	int stderr_fd;
	/* Listen on a second free port too (d->port2), e.g. for proxy_protocol = off v2: the
	 * readiness probe always uses the first. */
	bool second_listener;
};

/* Start arenad with the harness defaults (listen 127.0.0.1:<free port>, 4 workers, state_dir in
 * the temp dir, generous client caps, log_level info) overridden by kv, and wait (10 s bound)
 * until it is ready: READY=1 on NOTIFY_SOCKET, the configured number of worker children, and a
 * HELLO answered by WELCOME. Bails out of the test if it cannot. */
struct hd *hd_start(const char *const *kv);
struct hd *hd_start_opts(const struct hd_opts *opts);

/* Merge kv into the overrides in force and rewrite the config file; `extra` (may be NULL) is
 * appended verbatim, not remembered (use it to write a broken file). Returns 0 or -errno. */
int hd_write_config(struct hd *d, const char *const *kv, const char *extra);

/* Send SIGHUP and wait (bounded) for RELOADING=1 then READY=1 on the notify socket. Returns 0,
 * or -ETIMEDOUT if the notifications did not come (the caller decides if that matters). */
int hd_reload(struct hd *d, unsigned timeout_ms);

/* Wait for a notify datagram with the line `key` (e.g. "READY=1") among those received after
 * datagram number `since` (see d->notify_seq). Returns its number (> since) or -ETIMEDOUT. */
int hd_notify_wait(struct hd *d, const char *key, unsigned since, unsigned timeout_ms);

/* Wait for a notify line starting with prefix (e.g. "MAINPID=") after datagram `since`; the
 * rest of the line goes to ret. Returns the datagram's number or -ETIMEDOUT. */
int hd_notify_value(struct hd *d, const char *prefix, unsigned since, char *ret, size_t len,
                    unsigned timeout_ms);

int hd_kill(struct hd *d, int sig); /* signal the master: 0 or -errno */

/* After a live upgrade (SIGUSR2) the old master exited (reaped by hd_wait_exit): from now on
 * d stands for the new master, pid (same process group, our child as the subreaper). */
void hd_follow_master(struct hd *d, pid_t pid);

/* Wait for the master to exit and reap it: 0 with d->status set, or -ETIMEDOUT. */
int hd_wait_exit(struct hd *d, unsigned timeout_ms);

/* Stop the daemon: SIGTERM, wait up to timeout_ms, then SIGKILL the whole process group;
 * reap. Also fails the test if the log holds a sanitizer report. Returns the master's wait
 * status. Safe to call twice. */
int hd_stop(struct hd *d, unsigned timeout_ms);

/* Stop if needed, remove the temp dir (kept, with the log tail printed, if the test failed) and
 * free. NULL is fine. */
void hd_free(struct hd *d);

/* ---- Watching a daemon (harness-watch.c) ---------------------------------------------------- */

/* Live (non-zombie) worker children of the master, sorted by pid. Returns the count (may exceed
 * max; only max are stored) or -errno. */
int hd_workers(struct hd *d, pid_t *ret_pids, size_t max);

/* Wait until the master has exactly n live workers; stores them like hd_workers. Returns n or
 * -ETIMEDOUT (the pids seen last are stored anyway). */
int hd_wait_workers(struct hd *d, unsigned n, pid_t *ret_pids, size_t max, unsigned timeout_ms);

/* Every process of the daemon (its process group, plus children of the master), zombies not
 * counted. Returns the count or -errno; pids stored up to max. */
int hd_processes(struct hd *d, pid_t *ret_pids, size_t max);

/* True if exactly the n workers in before[] (sorted, as hd_workers gives them) still run: none
 * crashed, none was replaced. */
bool hd_workers_unchanged(struct hd *d, const pid_t *before, size_t n);

/* After worker `gone` died: if the master again runs exactly n workers and `gone` is not among
 * them, the pid of one that is not in before[] (its replacement); 0 while it is not there yet. */
pid_t hd_replacement(struct hd *d, const pid_t *before, size_t n, pid_t gone);

/* Zombie children of the master right now. */
int hd_zombies(struct hd *d);

/* Sum of open fds over the master and each worker (counts per process stored up to max,
 * master first then workers by pid). Returns the total or -errno. */
long hd_fd_total(struct hd *d, long *ret_counts, size_t max);

/* A stable fd baseline: sample hd_fd_total until two samples 200 ms apart agree (3 s bound).
 * Returns the total; counts stored as hd_fd_total does. */
long hd_fd_baseline(struct hd *d, long *ret_counts, size_t max);

/* Wait until every process's fd count equals base[0..n) again (same worker set assumed).
 * Returns 0, or -ETIMEDOUT after printing the counts that differ. */
int hd_wait_fd_baseline(struct hd *d, const long *base, size_t n, unsigned timeout_ms);

/* Sum of VmRSS (kB) over the master and its workers. */
long hd_rss_kb(struct hd *d);

/* True if the log file contains needle. */
bool hd_log_contains(struct hd *d, const char *needle);
/* Print the last `lines` lines of the log as diagnostics. */
void hd_log_tail(struct hd *d, unsigned lines);
/* Fail the test (CHECK) if the log holds a sanitizer report; returns true if clean. */
bool hd_log_clean(struct hd *d);

/* ---- Processes (harness-proc.c) ------------------------------------------------------------- */

int hproc_fd_count(pid_t pid);       /* entries in /proc/pid/fd, or -errno */
int hproc_lowest_free_fd(pid_t pid); /* the fd number its next open() would get, or -errno */
long hproc_rss_kb(pid_t pid);        /* VmRSS in kB, or -errno */
long hproc_rss_anon_kb(pid_t pid);   /* RssAnon in kB, or -errno */
long hproc_cpu_ms(pid_t pid);        /* utime + stime in ms, or -errno */
char hproc_state(pid_t pid);         /* 'R', 'S', 'Z'...; 0 if the process does not exist */
bool hproc_alive(pid_t pid);         /* exists and is not a zombie */
pid_t hproc_ppid(pid_t pid);         /* or -errno */
pid_t hproc_pgid(pid_t pid);         /* or -errno */
/* Children of pid (every thread's children file), any state. Count or -errno. */
int hproc_children(pid_t pid, pid_t *ret_pids, size_t max);
/* Every pid in /proc for which match(pid, arg) is true. Count (may exceed max) or -errno. */
int hproc_scan(bool (*match)(pid_t pid, void *arg), void *arg, pid_t *ret_pids, size_t max);

/* For each of n local TCP endpoints (IPv4 address in network order + port in host order) of
 * connections to 127.0.0.1:server_port, find the pid among `pids` holding the server side of
 * the connection: ret_owner[i] = pid, or 0 if none holds it (not accepted yet, or closed).
 * Returns how many were found, or -errno. */
struct hc;
int hproc_map_clients(uint16_t server_port, struct hc *const *clients, size_t n, const pid_t *pids,
                      size_t npids, pid_t *ret_owner);

/* ---- Other servers (harness-ext.c): haproxy, redis-server ---------------------------------- */

struct hx;

/* Skip the test (exit 77) unless `program` is installed; `package` names its Debian package. */
void hx_require(const char *program, const char *package);
/* A temp dir for a server called name (its config files go in hx_dir()), removed at the end
 * unless the test failed; the server is killed when the test ends in any way. */
struct hx *hx_new(const char *name);
const char *hx_dir(const struct hx *x);
/* Run argv (argv[0] looked up in PATH and sbin dirs) in the foreground in hx_dir(), output in
 * its log, and wait (10 s) until 127.0.0.1:port accepts. Bails out if it does not. */
void hx_run(struct hx *x, uint16_t port, const char *const *argv);
pid_t hx_pid(const struct hx *x);
/* Send sig to the server's process group and reap it (SIGKILL after 5 s). */
void hx_stop(struct hx *x, int sig);
/* Kill and start again with the same arguments; 0 once its port accepts, or -errno. */
int hx_restart(struct hx *x, unsigned timeout_ms);
void hx_log_tail(struct hx *x, unsigned lines);
void hx_free(struct hx *x); /* stop, clean up; NULL is fine */

/* ---- Clients (harness-client.c) ------------------------------------------------------------- */

#define HC_RBUF 16384

/* Results of hc_recv besides a message. Decode errors are the negative ARENA_E_* values. */
#define HC_EOF   (-ESHUTDOWN)  /* the server closed (FIN) */
#define HC_RESET (-ECONNRESET) /* the server reset the connection */

struct hc {
	int fd;
	uint32_t src;   /* local IPv4 address, network order */
	uint16_t lport; /* local port, host order */
	bool closed;    /* EOF or RST seen (or a fatal error) */
	int close_err;  /* HC_EOF, HC_RESET or another negative errno */
	bool welcomed;
	bool got_bye;
	uint8_t bye_reason;  /* of the first BYE seen */
	uint16_t last_error; /* code of the last ERROR seen, 0 if none */
	unsigned nerrors;    /* ERROR messages seen */
	struct arena_welcome welcome;
	uint64_t t_connect; /* h_now_ms() when the connect completed */
	uint64_t t_closed;  /* h_now_ms() when the close was seen */
	size_t roff, rlen;  /* unread bytes in rbuf[roff..rlen) */
	uint8_t rbuf[HC_RBUF];
	struct arena_decoder dec;
};

/* Connect to the daemon from src ("127.0.0.x", NULL = 127.0.0.1), 5 s bound. NULL on failure
 * (errno set). rcvbuf > 0 sets SO_RCVBUF before connecting. */
struct hc *hc_connect(struct hd *d, const char *src);
struct hc *hc_connect_opts(struct hd *d, const char *src, int rcvbuf);
/* The same to any port on 127.0.0.1 (a second listener, a load balancer in front). */
struct hc *hc_connect_port(uint16_t port, const char *src);

/* Connect n clients with non-blocking connects, `batch` in flight at a time (0 = 256), each
 * batch bounded by timeout_ms. Fills ret[0..n) (NULL where a connect failed). Returns how many
 * connected. */
size_t hc_connect_many(struct hd *d, const char *src, size_t n, size_t batch, unsigned timeout_ms,
                       struct hc **ret);
size_t hc_connect_many_port(uint16_t port, const char *src, size_t n, size_t batch,
                            unsigned timeout_ms, struct hc **ret);

/* Close and free (NULL is fine). hc_abort closes with SO_LINGER 0, so the server gets a RST. */
void hc_close(struct hc *c);
void hc_abort(struct hc *c);
void hc_close_all(struct hc **cs, size_t n);

int hc_send(struct hc *c, const struct arena_msg *m);       /* whole frame, 5 s bound */
int hc_send_raw(struct hc *c, const void *buf, size_t len); /* whole buffer, 5 s bound */

/* Receive the next message within timeout_ms: 0 and *ret, -ETIMEDOUT, HC_EOF, HC_RESET, or a
 * decode error. ERROR and BYE are also recorded in the client (last_error, got_bye...). */
int hc_recv(struct hc *c, struct arena_msg *ret, unsigned timeout_ms);

/* Receive until a message of `type`, skipping others (snapshots...). A BYE while waiting for
 * something else ends the wait with -EPROTO (the BYE is in *ret). Same other results as
 * hc_recv. */
int hc_recv_type(struct hc *c, uint8_t type, struct arena_msg *ret, unsigned timeout_ms);

/* Read and skip messages until the server closes the connection: 0, or -ETIMEDOUT. */
int hc_wait_close(struct hc *c, unsigned timeout_ms);

/* Send HELLO(name) and wait for WELCOME: 0 (c->welcome set) or an error as hc_recv_type. */
int hc_hello(struct hc *c, const char *name, unsigned timeout_ms);

/* Connect from src (NULL = 127.0.0.1) and HELLO(name), again every 50 ms for up to timeout_ms
 * while the attempt fails (e.g. BYE(server full / ip limit) until the master has counted a
 * close). The welcomed client, or NULL. */
struct hc *hc_welcome_retry(struct hd *d, const char *src, const char *name, unsigned timeout_ms);

/* PING with a stamp and wait for the PONG echoing it: the round trip in ms, or -errno. */
long hc_ping(struct hc *c, unsigned timeout_ms);

/* Send HELLO on each non-NULL client, then wait (poll over all, timeout_ms in total) for every
 * WELCOME. Returns how many were welcomed. Names are "<prefix><index>". */
size_t hc_hello_many(struct hc **cs, size_t n, const char *prefix, unsigned timeout_ms);

/* Poll over all non-NULL clients that are not closed, reading and skipping messages (recording
 * BYE/ERROR), until each has been closed by the server or timeout_ms passed. Returns how many
 * are closed. */
size_t hc_wait_close_many(struct hc **cs, size_t n, unsigned timeout_ms);

/* ---- Honest clients (harness-pinger.c) ------------------------------------------------------ */

struct hp_stat {
	uint64_t pongs;          /* PONGs received with the right stamp */
	uint64_t max_latency_ms; /* worst PING -> PONG time (an unanswered PING counts its age) */
	uint64_t last_pong_ms;   /* h_now_ms() of the last PONG */
	bool closed;             /* the server closed or reset the connection */
	int close_err;
	uint64_t closed_ms;
	bool got_bye;
	uint8_t bye_reason;
	bool bad; /* an unexpected message or a wrong stamp */
};

struct hp;

/* Connect n clients from src (NULL = 127.0.0.1), HELLO each (name "<prefix><i>"), then run a
 * thread that sends each a PING every interval_ms (never two outstanding) and records PONG
 * latencies. Bails out if the clients cannot be set up. */
struct hp *hp_start(struct hd *d, size_t n, unsigned interval_ms, const char *src,
                    const char *prefix);
/* The i-th client (for worker mapping only: the pinger thread owns its I/O). */
struct hc *hp_client(struct hp *p, size_t i);
size_t hp_count(const struct hp *p);
/* A consistent copy of client i's statistics (may be called while running). */
struct hp_stat hp_get(struct hp *p, size_t i);
/* Forget the worst latencies measured so far (e.g. after a warm-up). */
void hp_reset_latency(struct hp *p);
/* Stop the thread (outstanding PINGs count their age as latency). Clients stay open. */
void hp_stop(struct hp *p);
/* CHECK that every client is still open, got PONGs after the last reset, and its worst latency
 * is at most max_latency_ms. Returns true if so. */
bool hp_check(struct hp *p, unsigned max_latency_ms, const char *what);
/* Stop if needed, close the clients and free (NULL is fine). */
void hp_free(struct hp *p);

#endif /* ARENA_HARNESS_H */
