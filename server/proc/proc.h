/* proc.h: process lifecycle: fork with a channel, signals, reaping, crash accounting.
 *
 * This is the only place that forks. proc_spawn() makes the master<->worker channel pair,
 * blocks every signal around fork() so that no handler inherited from the master (libevent's
 * signal pipe) can run in the child, and in the child: asks for SIGKILL when the parent dies
 * (PR_SET_PDEATHSIG) and checks the parent is still the master right after (the parent may have
 * died before the prctl took effect), restores default signal dispositions, closes every fd it
 * did not ask to keep, then calls the child's main function and exits with its return value.
 *
 * The master's signals are libevent signal events (TERM, INT, HUP, CHLD, USR2; PIPE, USR1
 * ignored). SIGCHLD handling is proc_reap(): waitpid(WNOHANG) until nothing is left, so no
 * zombie survives a coalesced signal.
 */
#ifndef ARENA_PROC_H
#define ARENA_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;

/* ---- Spawning ------------------------------------------------------------------------------ */

/* The child's main: runs in the new process with its end of the channel; its return value is
 * the exit status. */
typedef int (*proc_child_fn)(void *arg, int channel_fd);

/* Fork a child. keep_fds lists fds (besides 0-2 and the channel) the child keeps open. On
 * success the parent gets the child's pid and its own channel end (non-blocking, cloexec).
 * Returns 0 or -errno (nothing left behind on failure). Never returns in the child. */
int proc_spawn(proc_child_fn fn, void *arg, const int *keep_fds, size_t nkeep, pid_t *ret_pid,
               int *ret_channel_fd);

/* Fork and exec path (argv, plus the "NAME=value" strings of env, NULL-terminated) in a child
 * that keeps exactly fds 0-2 and keep_fds open across exec (at the same numbers) and has no
 * parent-death signal; WATCHDOG_PID follows it if systemd's watchdog is on. The parent gets
 * the pid; an exec failure shows as exit status 127. 0 or -errno. */
int proc_exec(const char *path, char *const argv[], const char *const *env, const int *keep_fds,
              size_t nkeep, pid_t *ret_pid);

/* ---- Signals (master) ---------------------------------------------------------------------- */

struct proc_signal_ops {
	void (*terminate)(int signo, void *userdata); /* SIGTERM, SIGINT */
	void (*reload)(void *userdata);               /* SIGHUP */
	void (*child)(void *userdata);                /* SIGCHLD: call proc_reap() */
	void (*upgrade)(void *userdata);              /* SIGUSR2: live binary upgrade */
};

struct proc_signals;

/* Install the master's signal events on base. 0 or -errno. */
int proc_signals_new(struct event_base *base, const struct proc_signal_ops *ops, void *userdata,
                     struct proc_signals **ret);

/* Remove the events (dispositions stay as libevent left them). NULL is fine. */
void proc_signals_free(struct proc_signals *s);

/* Ignore SIGPIPE (and the user signals) for this process. Call first thing in main. */
void proc_ignore_signals(void);

/* ---- Reaping and accounting ------------------------------------------------------------------ */

/* Reap every exited child without blocking, calling fn(pid, wait status) for each. Returns the
 * number reaped. */
unsigned proc_reap(void (*fn)(pid_t pid, int status, void *userdata), void *userdata);

/* Describe a wait status: "exited with status 1", "killed by signal 9 (Killed)",
 * "killed by signal 11 (Segmentation fault), core dumped". Returns buf. */
const char *proc_describe_status(int status, char *buf, size_t len);

/* Crash-loop guard: remembers the times of the last `limit` unexpected exits. */
#define PROC_CRASH_MAX 1000
struct proc_crash_guard {
	uint64_t times[PROC_CRASH_MAX]; /* ring of exit times, ms */
	unsigned next;
	unsigned count;
};

/* Record an unexpected exit at now_ms; returns true when `limit` of them happened within
 * window_ms (the daemon should give up). */
bool proc_crash_record(struct proc_crash_guard *g, uint64_t now_ms, unsigned limit,
                       uint64_t window_ms);

#endif /* ARENA_PROC_H */
