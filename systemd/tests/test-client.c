/* test-client.c: helpers shared by the systemd integration tests (client, launcher, reporting).
 *
 * Everything here is bounded: sockets are non-blocking and every read, write and connect waits
 * in poll() against a deadline; process waits poll waitpid(WNOHANG). Daemons are started in
 * their own process group, so one kill(-pgid, SIGKILL) at exit also takes their workers down
 * even if the master misbehaves. Cleanup runs from atexit(), from SIGTERM/SIGINT (what the test
 * runner sends on timeout) and from a global SIGALRM deadline; the signal path uses only
 * async-signal-safe calls.
 */
#include "test-client.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TC_MAX_SPAWN       16
#define TC_MAX_LOGS        16
#define TC_SEND_TIMEOUT_MS 2000

static const char *test_name = "test";
static unsigned test_count;
static pid_t spawned[TC_MAX_SPAWN];
static volatile sig_atomic_t nspawned;
static char tmpdir[256];
static char logs[TC_MAX_LOGS][512];
static size_t nlogs;
static bool keep_tmpdir;

struct tc_conn {
	int fd;
	size_t off, len;
	uint8_t in[4096];
	struct arena_decoder dec;
};

/* ---- Cleanup ----------------------------------------------------------------------------- */

static void kill_groups(void)
{
	for (sig_atomic_t i = 0; i < nspawned; i++)
		if (spawned[i] > 0)
			kill(-spawned[i], SIGKILL);
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "# test killed by a signal or its deadline; daemons killed\n";

	kill_groups();
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(sig == SIGALRM ? 1 : 128 + sig);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	kill_groups();
	for (sig_atomic_t i = 0; i < nspawned; i++) {
		/* reap what is ours; bounded because SIGKILL cannot be ignored */
		for (int tries = 0; tries < 200; tries++) {
			pid_t r = waitpid(spawned[i], NULL, WNOHANG);
			if (r != 0)
				break;
			tc_sleep_ms(10);
		}
	}
	nspawned = 0;
	if (tmpdir[0] != '\0') {
		if (keep_tmpdir)
			printf("# kept %s for inspection\n", tmpdir);
		else
			nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

void tc_init(const char *name, unsigned deadline_s)
{
	struct sigaction sa = {.sa_handler = on_fatal_signal};

	test_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
	alarm(deadline_s);
	printf("# %s\n", name);
}

void tc_ok(const char *fmt, ...)
{
	va_list ap;

	printf("ok %u - ", ++test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void print_log_tail(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t n;

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	printf("# ---- tail of %s ----\n", path);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		printf("#   %s\n", line);
}

void tc_fail(const char *fmt, ...)
{
	va_list ap;

	printf("not ok %u - %s: ", ++test_count, test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	kill_groups();
	for (size_t i = 0; i < nlogs; i++)
		print_log_tail(logs[i]);
	keep_tmpdir = true;
	exit(1);
}

void tc_skip(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(77);
}

int64_t tc_now_ms(void)
{
	return (int64_t)(tc_now_usec() / 1000);
}

uint64_t tc_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tc_sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- Files ------------------------------------------------------------------------------- */

const char *tc_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/arena-%s-XXXXXX", test_name);
		if (!mkdtemp(tmpdir)) {
			tmpdir[0] = '\0';
			tc_fail("mkdtemp: %s", strerror(errno));
		}
	}
	return tmpdir;
}

int tc_write_file(const char *path, const char *text)
{
	size_t len = strlen(text), done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		done += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                     socklen_t *ret_len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*ret_len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*ret_len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int tc_free_port(int family, uint16_t *ret_port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, r;

	r = make_addr(family == AF_INET6 ? "::1" : "127.0.0.1", 0, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		r = -errno;
		close(fd);
		return r == -EADDRNOTAVAIL ? -EAFNOSUPPORT : r;
	}
	close(fd);
	*ret_port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                     : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* ---- Processes --------------------------------------------------------------------------- */

const char *tc_arenad_path(void)
{
	const char *p = getenv("ARENAD");

	if (!p || access(p, X_OK) < 0)
		tc_skip("ARENAD does not name an executable arenad");
	return p;
}

pid_t tc_spawn(char *const argv[], char *const env_add[], bool watchdog_pid, const char *log_path)
{
	pid_t pid;

	if (nspawned >= TC_MAX_SPAWN)
		tc_fail("too many processes spawned");
	if (log_path && nlogs < TC_MAX_LOGS)
		snprintf(logs[nlogs++], sizeof(logs[0]), "%s", log_path);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		tc_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd;

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
		if (log_path) {
			fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
			}
		}
		for (size_t i = 0; env_add && env_add[i]; i++)
			putenv(env_add[i]);
		if (watchdog_pid) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("WATCHDOG_PID", buf, 1);
		}
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* also from the parent, so the group exists before anyone signals it */
	setpgid(pid, pid);
	spawned[nspawned] = pid;
	nspawned = nspawned + 1;
	return pid;
}

int tc_wait_exit(pid_t pid, int timeout_ms, int *ret_status)
{
	int64_t deadline = tc_now_ms() + timeout_ms;

	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			*ret_status = status;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tc_now_ms() >= deadline)
			return -ETIMEDOUT;
		tc_sleep_ms(10);
	}
}

bool tc_group_alive(pid_t pgid)
{
	return kill(-pgid, 0) == 0 || errno != ESRCH;
}

/* Read /proc/<pid>/stat: state letter and ppid. */
static int proc_stat(pid_t pid, char *ret_state, pid_t *ret_ppid)
{
	char path[64], buf[512], *p;
	int fd, ppid;
	ssize_t n;
	char state;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2)
		return -EBADMSG;
	*ret_state = state;
	*ret_ppid = ppid;
	return 0;
}

bool tc_pid_alive(pid_t pid)
{
	char state;
	pid_t ppid;

	return proc_stat(pid, &state, &ppid) == 0 && state != 'Z' && state != 'X';
}

size_t tc_children(pid_t pid, pid_t *ret, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char *end, state;
		long v = strtol(de->d_name, &end, 10);
		pid_t ppid;

		if (*end != '\0' || v <= 0)
			continue;
		if (proc_stat((pid_t)v, &state, &ppid) == 0 && ppid == pid && state != 'Z')
			ret[n++] = (pid_t)v;
	}
	closedir(d);
	return n;
}

/* ---- Client ------------------------------------------------------------------------------ */

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int64_t left = deadline - tc_now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

int tc_connect(const char *host, uint16_t port, int timeout_ms, struct tc_conn **ret)
{
	struct sockaddr_storage ss;
	struct tc_conn *c;
	socklen_t len;
	int64_t deadline = tc_now_ms() + timeout_ms;
	int fd, r, err = 0, one = 1;
	socklen_t errlen = sizeof(err);

	r = make_addr(host, port, &ss, &len);
	if (r < 0)
		return r;
	for (;;) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		r = connect(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
		if (r == -EINPROGRESS) {
			err = 0;
			r = wait_fd(fd, POLLOUT, deadline);
			if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
				r = -errno;
			if (r == 0 && err != 0)
				r = -err;
		}
		if (r == 0)
			break;
		close(fd);
		/* a daemon that is still starting: try again until the deadline */
		if (r != -ECONNREFUSED || tc_now_ms() + 50 >= deadline)
			return r;
		tc_sleep_ms(50);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	arena_decoder_init(&c->dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	*ret = c;
	return 0;
}

void tc_close(struct tc_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

int tc_send(struct tc_conn *c, const struct arena_msg *m)
{
	uint8_t buf[ARENA_FRAME_MAX];
	ssize_t len = arena_encode(m, buf, sizeof(buf));
	int64_t deadline = tc_now_ms() + TC_SEND_TIMEOUT_MS;
	size_t done = 0;

	if (len < 0)
		return (int)len;
	while (done < (size_t)len) {
		ssize_t n = send(c->fd, buf + done, (size_t)len - done, MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		n = wait_fd(c->fd, POLLOUT, deadline);
		if (n < 0)
			return (int)n;
	}
	return 0;
}

int tc_recv(struct tc_conn *c, int timeout_ms, struct arena_msg *ret)
{
	int64_t deadline = tc_now_ms() + timeout_ms;

	for (;;) {
		while (c->off < c->len) {
			size_t used = 0;
			int r = arena_decoder_feed(&c->dec, c->in + c->off, c->len - c->off, &used,
			                           ret);

			c->off += used;
			if (r != 0)
				return r < 0 ? r : 0;
		}
		c->off = c->len = 0;

		ssize_t n = recv(c->fd, c->in, sizeof(c->in), 0);
		if (n > 0) {
			c->len = (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int r = wait_fd(c->fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

int tc_recv_type(struct tc_conn *c, uint8_t type, int timeout_ms, struct arena_msg *ret)
{
	int64_t deadline = tc_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = deadline - tc_now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = tc_recv(c, (int)left, ret);
		if (r < 0)
			return r;
		if (ret->type == type)
			return 0;
		if (ret->type == ARENA_BYE) {
			fprintf(stderr, "# got BYE(%s) \"%s\" while waiting for %s\n",
			        arena_bye_name(ret->u.bye.reason), ret->u.bye.text.s,
			        arena_msg_type_name(type));
			return -ECONNABORTED;
		}
		if (ret->type == ARENA_ERROR)
			fprintf(stderr, "# got ERROR(%s) \"%s\" while waiting for %s\n",
			        arena_error_name(ret->u.error.code), ret->u.error.text.s,
			        arena_msg_type_name(type));
	}
}

static int hello(struct tc_conn *c, const char *name, int timeout_ms, struct arena_msg *ret)
{
	struct arena_msg m = {.type = ARENA_HELLO};
	int r;

	m.u.hello.version = ARENA_PROTO_VERSION;
	m.u.hello.name.len = (uint8_t)strlen(name);
	snprintf(m.u.hello.name.s, sizeof(m.u.hello.name.s), "%s", name);
	r = tc_send(c, &m);
	if (r < 0)
		return r;
	return tc_recv_type(c, ARENA_WELCOME, timeout_ms, ret);
}

int tc_greet(const char *host, uint16_t port, const char *name, int timeout_ms)
{
	struct tc_conn *c = NULL;
	struct arena_msg m;
	int r;

	r = tc_connect(host, port, timeout_ms, &c);
	if (r < 0) {
		fprintf(stderr, "# connect %s port %u: %s\n", host, port, strerror(-r));
		return r;
	}
	r = hello(c, name, timeout_ms, &m);
	if (r < 0)
		fprintf(stderr, "# %s port %u: no WELCOME: %s\n", host, port, strerror(-r));
	tc_close(c);
	return r;
}

int tc_play(const char *host, uint16_t port, const char *name, int timeout_ms)
{
	int64_t deadline = tc_now_ms() + timeout_ms;
	struct tc_conn *c = NULL;
	struct arena_msg m;
	const char *step = "connect";
	uint16_t spawn_x;
	int r;

	r = tc_connect(host, port, timeout_ms, &c);
	if (r < 0)
		goto out;
	step = "HELLO -> WELCOME";
	r = hello(c, name, timeout_ms, &m);
	if (r < 0)
		goto out;

	step = "JOIN -> JOINED";
	m = (struct arena_msg){.type = ARENA_JOIN};
	r = tc_send(c, &m);
	if (r == 0)
		r = tc_recv_type(c, ARENA_JOINED, (int)(deadline - tc_now_ms()), &m);
	if (r < 0)
		goto out;

	step = "MOVE -> SNAPSHOT ack";
	spawn_x = m.u.joined.x;
	m = (struct arena_msg){.type = ARENA_MOVE};
	m.u.move.seq = 1;
	m.u.move.dx = spawn_x > 0 ? -1 : 1; /* towards the inside of the room */
	r = tc_send(c, &m);
	while (r == 0) {
		r = tc_recv_type(c, ARENA_SNAPSHOT, (int)(deadline - tc_now_ms()), &m);
		if (r == 0 && m.u.snapshot.ack_seq >= 1)
			break;
	}
	if (r < 0)
		goto out;

	step = "PING -> PONG";
	m = (struct arena_msg){.type = ARENA_PING};
	m.u.ping.stamp = 0x0123456789abcdefULL;
	r = tc_send(c, &m);
	if (r == 0)
		r = tc_recv_type(c, ARENA_PONG, (int)(deadline - tc_now_ms()), &m);
	if (r == 0 && m.u.ping.stamp != 0x0123456789abcdefULL)
		r = -EBADMSG;
out:
	if (r < 0)
		fprintf(stderr, "# %s port %u: %s failed: %s\n", host, port, step, strerror(-r));
	tc_close(c);
	return r;
}
