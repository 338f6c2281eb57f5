/* proc.c: fork, the child's start-up hygiene, the master's signal events, reaping, and the
 * crash-loop guard; see proc.h.
 *
 * The child sequence after fork() is ordered for safety:
 *   1. PR_SET_PDEATHSIG(SIGKILL), then getppid() == the master's pid, else exit at once (the
 *      master died before the prctl and we were reparented: nobody would ever stop us);
 *   2. every signal handler reset to SIG_DFL (ignored signals stay ignored): the master's
 *      libevent handlers write to a socketpair shared with the master and must never run here;
 *   3. every fd above 2 closed except the channel and keep_fds (listeners, the other workers'
 *      channels, the master's epoll instance and reserve fd do not belong to a worker);
 *   4. the signal mask restored, then the child's main runs.
 * Signals stay blocked from before fork() until step 4, so none can arrive in between.
 *
 * proc_exec() is the other fork: a live upgrade's next master (proc/upgrade.c). It skips the
 * parent-death signal (the child is to outlive us), keeps only the fds it is given, open across
 * exec, and execs at once.
 */
#include "proc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "util.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every fd >= 3 that is not in keep[0..n) (sorted in place). */
static void close_all_but(int *keep, size_t n)
{
	unsigned from = 3;

	qsort(keep, n, sizeof(int), cmp_int);
	for (size_t i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)keep[i] : ~0u;

		if (i < n && keep[i] < 3)
			continue;
		if (to > from) {
			if (close_range(from, to - 1, 0) < 0) {
				/* Old kernel: walk the range we can reasonably have. */
				long max = sysconf(_SC_OPEN_MAX);
				unsigned last = to - 1;

				if (max > 0 && (unsigned long)max - 1 < last)
					last = (unsigned)max - 1;
				for (unsigned fd = from; fd <= last && fd >= from; fd++)
					close((int)fd);
			}
		}
		if (i < n)
			from = (unsigned)keep[i] + 1;
	}
}

static void reset_signal_handlers(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) &&
		    (sa.sa_handler == SIG_IGN || sa.sa_handler == SIG_DFL))
			continue;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(sig, &sa, NULL);
	}
}

int proc_spawn(proc_child_fn fn, void *arg, const int *keep_fds, size_t nkeep, pid_t *ret_pid,
               int *ret_channel_fd)
{
	sigset_t all, saved;
	pid_t parent = getpid(), pid;
	int fds[2], r;

	if (nkeep > 8)
		return -EINVAL;
	r = channel_socketpair(fds);
	if (r < 0)
		return r;

	fflush(NULL); /* nothing buffered may be written twice */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		sigprocmask(SIG_SETMASK, &saved, NULL);
		safe_close(fds[0]);
		safe_close(fds[1]);
		return r;
	}

	if (pid == 0) {
		int keep[10];
		size_t n = 0;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(EXIT_FAILURE);
		reset_signal_handlers();
		keep[n++] = fds[1];
		for (size_t i = 0; i < nkeep; i++)
			keep[n++] = keep_fds[i];
		close_all_but(keep, n);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		exit(fn(arg, fds[1]));
	}

	sigprocmask(SIG_SETMASK, &saved, NULL);
	safe_close(fds[1]);
	*ret_pid = pid;
	*ret_channel_fd = fds[0];
	return 0;
}

int proc_exec(const char *path, char *const argv[], const char *const *env, const int *keep_fds,
              size_t nkeep, pid_t *ret_pid)
{
	sigset_t all, saved;
	pid_t pid;
	int r;

	if (nkeep > 16)
		return -EINVAL;
	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return r;
	}
	if (pid == 0) {
		/* No PR_SET_PDEATHSIG: this child is to outlive us. The master is one thread, so
		 * setenv() after fork() is safe. */
		int keep[16];
		char pidbuf[32];

		reset_signal_handlers();
		memcpy(keep, keep_fds, nkeep * sizeof(int));
		close_all_but(keep, nkeep);
		for (size_t i = 0; i < nkeep; i++) {
			int fl = fcntl(keep_fds[i], F_GETFD);

			if (fl < 0 || fcntl(keep_fds[i], F_SETFD, fl & ~FD_CLOEXEC) < 0)
				_exit(127);
		}
		for (size_t i = 0; env && env[i]; i++)
			if (putenv((char *)env[i]) < 0)
				_exit(127);
		if (getenv("WATCHDOG_USEC")) { /* systemd's watchdog follows the main pid */
			snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
			setenv("WATCHDOG_PID", pidbuf, 1);
		}
		sigprocmask(SIG_SETMASK, &saved, NULL);
		execv(path, argv);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
	*ret_pid = pid;
	return 0;
}

/* ---- Signals ------------------------------------------------------------------------------ */

struct proc_signals {
	const struct proc_signal_ops *ops;
	void *userdata;
	struct event *ev[5];
};

static const int proc_signos[5] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2};

static void on_signal(evutil_socket_t signo, short what, void *arg)
{
	struct proc_signals *s = arg;

	switch (signo) {
	case SIGTERM:
	case SIGINT:
		s->ops->terminate((int)signo, s->userdata);
		break;
	case SIGHUP:
		s->ops->reload(s->userdata);
		break;
	case SIGCHLD:
		s->ops->child(s->userdata);
		break;
	case SIGUSR2:
		s->ops->upgrade(s->userdata);
		break;
	default:
		break;
	}
}

void proc_ignore_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
}

void proc_signals_free(struct proc_signals *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < ELEMENTSOF(s->ev); i++)
		if (s->ev[i])
			event_free(s->ev[i]);
	free(s);
}

int proc_signals_new(struct event_base *base, const struct proc_signal_ops *ops, void *userdata,
                     struct proc_signals **ret)
{
	struct proc_signals *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->userdata = userdata;
	for (size_t i = 0; i < ELEMENTSOF(proc_signos); i++) {
		s->ev[i] = evsignal_new(base, proc_signos[i], on_signal, s);
		if (!s->ev[i] || event_add(s->ev[i], NULL) < 0) {
			proc_signals_free(s);
			return -ENOMEM;
		}
	}
	*ret = s;
	return 0;
}

/* ---- Reaping ------------------------------------------------------------------------------ */

unsigned proc_reap(void (*fn)(pid_t pid, int status, void *userdata), void *userdata)
{
	unsigned n = 0;

	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return n; /* 0: children left but none exited; -1/ECHILD: no children */
		n++;
		fn(pid, status, userdata);
	}
}

const char *proc_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
		         strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with wait status 0x%x", (unsigned)status);
	return buf;
}

bool proc_crash_record(struct proc_crash_guard *g, uint64_t now_ms, unsigned limit,
                       uint64_t window_ms)
{
	unsigned oldest;

	if (limit == 0)
		return false;
	if (limit > PROC_CRASH_MAX)
		limit = PROC_CRASH_MAX;
	g->times[g->next] = now_ms;
	g->next = (g->next + 1) % PROC_CRASH_MAX;
	if (g->count < PROC_CRASH_MAX)
		g->count++;
	if (g->count < limit)
		return false;
	/* The limit-th most recent exit, counting this one. */
	oldest = (g->next + PROC_CRASH_MAX - limit) % PROC_CRASH_MAX;
	return now_ms - g->times[oldest] <= window_ms;
}
