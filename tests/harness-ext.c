/* harness-ext.c: other servers a scenario runs next to arenad (haproxy, redis-server).
 *
 * Each runs in the foreground in its own process group, stdout and stderr in a log file in
 * its own temp dir, killed with the test (PR_SET_PDEATHSIG, the emergency table, and an exit
 * hook), and is ready when its TCP port on 127.0.0.1 accepts a connection. A test that needs
 * a program that is not installed skips (exit 77) and says which package provides it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness-private.h"

#define HX_ARGS_MAX 32

struct hx {
	pid_t pid;
	char name[32];
	char dir[128];
	char log[192];
	char *argv[HX_ARGS_MAX + 1];
	uint16_t port;
};

static const char *find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	const char *dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
	static const char *const extra[] = {"/usr/sbin", "/sbin", "/usr/local/sbin"};

	while (*dirs) {
		size_t len = strcspn(dirs, ":");

		snprintf(buf, size, "%.*s/%s", (int)len, dirs, name);
		if (len && access(buf, X_OK) == 0)
			return buf;
		dirs += len + (dirs[len] == ':');
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		snprintf(buf, size, "%s/%s", extra[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

void hx_require(const char *program, const char *package)
{
	char buf[256];

	if (!find_program(program, buf, sizeof(buf)))
		h_skip("%s is not installed (Debian package %s; .ci/run installs it)", program,
		       package);
}

static bool port_open(uint16_t port)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

static void reap(struct hx *x, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	while (x->pid > 0) {
		int st;
		pid_t r = waitpid(x->pid, &st, WNOHANG);

		if (r == x->pid || (r < 0 && errno == ECHILD))
			break;
		if (h_now_ms() >= deadline) {
			kill(-x->pid, SIGKILL);
			waitpid(x->pid, &st, 0);
			break;
		}
		h_sleep_ms(10);
	}
	if (x->pid > 0)
		h_emergency_remove(x->pid);
	x->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void exit_cb(void *arg)
{
	hx_free(arg);
}

static int hx_spawn(struct hx *x)
{
	char exe[256];
	int logfd, nullfd;
	pid_t parent = getpid();
	pid_t pid;

	if (!find_program(x->argv[0], exe, sizeof(exe)))
		return -ENOENT;
	logfd = open(x->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		int r = -errno;

		if (logfd >= 0)
			close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		return r;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sigset_t none;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
			_exit(127);
		if (chdir(x->dir) < 0)
			_exit(127);
		execv(exe, x->argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	if (pid < 0)
		return -errno;
	setpgid(pid, pid);
	x->pid = pid;
	h_emergency_add(pid);
	return 0;
}

static int hx_wait_port(struct hx *x, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int st;

		if (port_open(x->port))
			return 0;
		if (waitpid(x->pid, &st, WNOHANG) == x->pid) {
			h_emergency_remove(x->pid);
			x->pid = 0;
			return -ECHILD;
		}
		if (h_now_ms() >= deadline)
			return -ETIMEDOUT;
		h_sleep_ms(20);
	}
}

struct hx *hx_new(const char *name)
{
	struct hx *x = calloc(1, sizeof(*x));

	if (!x)
		h_bail("out of memory");
	snprintf(x->name, sizeof(x->name), "%s", name);
	snprintf(x->dir, sizeof(x->dir), "/tmp/arena-%s.XXXXXX", name);
	if (!mkdtemp(x->dir))
		h_bail("mkdtemp: %s", strerror(errno));
	snprintf(x->log, sizeof(x->log), "%s/log", x->dir);
	h_on_exit(exit_cb, x);
	return x;
}

void hx_run(struct hx *x, uint16_t port, const char *const *argv)
{
	size_t n = 0;
	int r;

	for (; argv[n] && n < HX_ARGS_MAX; n++)
		if (!(x->argv[n] = strdup(argv[n])))
			h_bail("out of memory");
	x->argv[n] = NULL;
	x->port = port;
	r = hx_spawn(x);
	if (r < 0)
		h_bail("cannot start %s: %s", argv[0], strerror(-r));
	r = hx_wait_port(x, 10000);
	if (r < 0) {
		hx_log_tail(x, 20);
		h_bail("%s did not listen on 127.0.0.1:%u: %s", x->name, port, strerror(-r));
	}
}

const char *hx_dir(const struct hx *x)
{
	return x->dir;
}

pid_t hx_pid(const struct hx *x)
{
	return x->pid;
}

void hx_stop(struct hx *x, int sig)
{
	if (!x || x->pid <= 0)
		return;
	kill(-x->pid, sig);
	reap(x, 5000);
}

int hx_restart(struct hx *x, unsigned timeout_ms)
{
	int r;

	hx_stop(x, SIGKILL);
	r = hx_spawn(x);
	return r < 0 ? r : hx_wait_port(x, timeout_ms);
}

void hx_log_tail(struct hx *x, unsigned lines)
{
	char buf[16384];
	FILE *f = fopen(x->log, "re");
	size_t n;
	unsigned seen = 0;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = n; i > 0; i--)
		if (buf[i - 1] == '\n' && ++seen > lines) {
			memmove(buf, buf + i, n - i + 1);
			break;
		}
	h_diag("%s log:\n%s", x->name, buf);
}

void hx_free(struct hx *x)
{
	if (!x)
		return;
	h_on_exit_cancel(exit_cb, x);
	if (h_failed() && x->pid > 0)
		hx_log_tail(x, 30);
	hx_stop(x, SIGTERM);
	if (!h_failed())
		nftw(x->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < HX_ARGS_MAX && x->argv[i]; i++)
		free(x->argv[i]);
	free(x);
}
