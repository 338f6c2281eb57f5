/* harness.c: reporting (TAP-like lines, exit codes) and the clean-up that runs on every exit path.
 *
 * A test calls h_init() first and returns h_done() from main. Checks print "ok N - ..." or
 * "not ok N - ..." as they happen; the exit code is 0 when every check passed, 1 otherwise, and
 * 77 for a skip, which meson reports as SKIP. Clean-up functions registered with h_on_exit()
 * (daemons, pingers) run from atexit, newest first, so h_bail() and REQUIRE() can end a test
 * from anywhere without leaving a process or a socket behind. A fatal signal (meson's timeout
 * sends SIGTERM) takes a shorter path: the handler SIGKILLs every daemon's process group with
 * async-signal-safe calls and exits 1, keeping the temp dirs for a post-mortem.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "harness-private.h"

#define EXIT_FNS_MAX  32
#define EMERGENCY_MAX 16

static struct {
	const char *name;
	unsigned nchecks;
	unsigned nfailed;
	bool inited;
	struct {
		void (*fn)(void *);
		void *arg;
	} exit_fns[EXIT_FNS_MAX];
	unsigned nexit;
} h;

static volatile sig_atomic_t emergency_pgids[EMERGENCY_MAX];

void h_emergency_add(pid_t pgid)
{
	for (unsigned i = 0; i < EMERGENCY_MAX; i++) {
		if (emergency_pgids[i] == 0) {
			emergency_pgids[i] = pgid;
			return;
		}
	}
}

void h_emergency_remove(pid_t pgid)
{
	for (unsigned i = 0; i < EMERGENCY_MAX; i++)
		if (emergency_pgids[i] == pgid)
			emergency_pgids[i] = 0;
}

static void fatal_signal(int sig)
{
	static const char msg[] = "# harness: fatal signal, killing the daemons (temp dirs kept)\n";

	for (unsigned i = 0; i < EMERGENCY_MAX; i++)
		if (emergency_pgids[i] > 0)
			kill(-(pid_t)emergency_pgids[i], SIGKILL);
	(void)!write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	_exit(sig == SIGTERM || sig == SIGINT || sig == SIGHUP ? 1 : 2);
}

static void run_exit_fns(void)
{
	while (h.nexit > 0) {
		h.nexit--;
		h.exit_fns[h.nexit].fn(h.exit_fns[h.nexit].arg);
	}
	fflush(stdout);
}

void h_on_exit(void (*fn)(void *), void *arg)
{
	if (h.nexit == EXIT_FNS_MAX)
		h_bail("harness: too many exit functions");
	h.exit_fns[h.nexit].fn = fn;
	h.exit_fns[h.nexit].arg = arg;
	h.nexit++;
}

void h_on_exit_cancel(void (*fn)(void *), void *arg)
{
	for (unsigned i = h.nexit; i-- > 0;) {
		if (h.exit_fns[i].fn == fn && h.exit_fns[i].arg == arg) {
			memmove(&h.exit_fns[i], &h.exit_fns[i + 1],
			        (h.nexit - i - 1) * sizeof(h.exit_fns[0]));
			h.nexit--;
			return;
		}
	}
}

void h_init(const char *name, const char *purpose)
{
	struct sigaction sa = {.sa_handler = fatal_signal};
	struct rlimit rl;

	setvbuf(stdout, NULL, _IOLBF, 0);
	h.name = name;
	h.inited = true;
	printf("# %s: %s\n", name, purpose);
	if (atexit(run_exit_fns) != 0)
		h_bail("atexit failed");

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Thousands of client sockets: take all the fds the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Workers orphaned by a killed master are re-parented to us and reaped here. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	const char *bin = getenv("ARENAD");
	if (!bin || !*bin)
		h_skip(
		    "ARENAD is not set (run through meson test, or set it to the arenad binary)");
	if (access(bin, X_OK) < 0)
		h_skip("ARENAD=%s is not executable: %s", bin, strerror(errno));
}

H_PRINTF(4, 0) static void vreport(bool ok, const char *file, int line, const char *fmt, va_list ap)
{
	h.nchecks++;
	printf("%sok %u - ", ok ? "" : "not ", h.nchecks);
	vprintf(fmt, ap);
	putchar('\n');
	if (!ok) {
		h.nfailed++;
		printf("#   failed at %s:%d\n", file, line);
	}
}

bool h_check_at(const char *file, int line, bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, file, line, fmt, ap);
	va_end(ap);
	return cond;
}

void h_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

_Noreturn void h_bail(const char *fmt, ...)
{
	va_list ap;

	h.nfailed++;
	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(1);
}

_Noreturn void h_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("1..0 # SKIP ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(77);
}

bool h_failed(void)
{
	return h.nfailed > 0;
}

int h_done(void)
{
	run_exit_fns(); /* daemons stop here, so their final checks are counted in the plan */
	printf("1..%u\n", h.nchecks);
	if (h.nfailed)
		printf("# %s: %u of %u checks failed\n", h.name ? h.name : "test", h.nfailed,
		       h.nchecks);
	return h.nfailed ? 1 : 0;
}

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void h_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int h_remaining(uint64_t deadline_ms)
{
	uint64_t now = h_now_ms();

	if (now >= deadline_ms)
		return 0;
	if (deadline_ms - now > 1000000)
		return 1000000;
	return (int)(deadline_ms - now);
}

bool h_pid_in(pid_t p, const pid_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == p)
			return true;
	return false;
}

bool h_sanitized(void)
{
	const char *s = getenv("ARENA_SANITIZE");

	return s && *s && strcmp(s, "none") != 0;
}

const char *h_asan_env_for_rss(void)
{
	static char env[1024];
	const char *inherited = getenv("ASAN_OPTIONS");

	if (!h_sanitized())
		return NULL;
	snprintf(env, sizeof(env), "ASAN_OPTIONS=%s%squarantine_size_mb=0",
	         inherited ? inherited : "", inherited && *inherited ? ":" : "");
	return env;
}
