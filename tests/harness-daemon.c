/* harness-daemon.c: run the real arenad for a test: config, port, fork/exec, readiness, stop.
 *
 * Each daemon lives in its own temp dir (/tmp/arena-test-XXXXXX) holding arenad.conf, the log
 * (the daemon's stdout and stderr), the state dir and the NOTIFY_SOCKET datagram socket. The
 * config is written from harness defaults merged with the test's "key=value" overrides; the
 * port is a free one found by binding port 0 on 127.0.0.1, and a start that fails because the
 * port got taken in between is retried with another. The child gets its own process group, so
 * "every process of the daemon" is a /proc scan for that group, and PR_SET_PDEATHSIG(SIGKILL)
 * so that not even a SIGKILLed test leaves a daemon behind. Ready means: READY=1 received (the
 * daemon sends it once every worker is up), the configured number of live worker children, and
 * a HELLO from a probe client answered with WELCOME, all within 10 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness-private.h"

#define START_ATTEMPTS   5
#define READY_TIMEOUT_MS 10000

extern char **environ;

/* Which section each configuration key lives in (config/arenad.conf). */
static const struct {
	const char *key;
	const char *section;
} keys[] = {
    {"listen", "server"},
    {"workers", "server"},
    {"max_clients", "server"},
    {"max_clients_per_ip", "server"},
    {"backlog", "server"},
    {"log_level", "server"},
    {"state_dir", "server"},
    {"drain_timeout", "server"},
    {"heartbeat_timeout", "server"},
    {"crash_limit", "server"},
    {"crash_window", "server"},
    {"save_interval", "server"},
    {"metrics_listen", "server"},
    {"admin_socket", "server"},
    {"proxy_protocol", "server"},
    {"proxy_trusted", "server"},
    {"redis", "server"},
    {"max_payload", "limits"},
    {"handshake_timeout", "limits"},
    {"idle_timeout", "limits"},
    {"output_buffer", "limits"},
    {"input_rate", "limits"},
    {"input_burst", "limits"},
    {"chat_rate", "limits"},
    {"chat_burst", "limits"},
    {"request_rate", "limits"},
    {"request_burst", "limits"},
    {"flood_kick", "limits"},
    {"tick_rate", "game"},
    {"max_players", "game"},
    {"max_rooms", "game"},
    {"room_width", "game"},
    {"room_height", "game"},
    {"room_capacity", "game"},
    {"gems_per_room", "game"},
    {"resume_grace", "game"},
    {"leaderboard_size", "game"},
    {"fault_injection", "testing"},
};

static const char *const sections[] = {"server", "limits", "game", "testing"};

static const char *key_section(const char *kv, size_t keylen)
{
	const char *dot = memchr(kv, '.', keylen);

	if (dot) {
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
			if (strlen(sections[i]) == (size_t)(dot - kv) &&
			    strncmp(kv, sections[i], (size_t)(dot - kv)) == 0)
				return sections[i];
		return NULL;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == keylen && strncmp(kv, keys[i].key, keylen) == 0)
			return keys[i].section;
	return NULL;
}

/* Length of the key part of "key=value" (or "section.key=value"). */
static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq)
		h_bail("harness: config override '%s' is not key=value", kv);
	return (size_t)(eq - kv);
}

static void kv_set(struct hd *d, const char *kv)
{
	size_t klen = key_len(kv);

	if (!key_section(kv, klen))
		h_bail("harness: unknown config key in '%s'", kv);
	for (unsigned i = 0; i < d->nkv; i++) {
		if (key_len(d->kv[i]) == klen && strncmp(d->kv[i], kv, klen) == 0) {
			free(d->kv[i]);
			d->kv[i] = strdup(kv);
			if (!d->kv[i])
				h_bail("out of memory");
			return;
		}
	}
	if (d->nkv == HD_KV_MAX)
		h_bail("harness: too many config overrides");
	d->kv[d->nkv] = strdup(kv);
	if (!d->kv[d->nkv])
		h_bail("out of memory");
	d->nkv++;
}

static const char *kv_get(const struct hd *d, const char *key)
{
	size_t klen = strlen(key);

	for (unsigned i = 0; i < d->nkv; i++)
		if (key_len(d->kv[i]) == klen && strncmp(d->kv[i], key, klen) == 0)
			return d->kv[i] + klen + 1;
	return NULL;
}

int hd_write_config(struct hd *d, const char *const *kv, const char *extra)
{
	char tmp[sizeof(d->conf) + 8];
	FILE *f;

	for (size_t i = 0; kv && kv[i]; i++)
		kv_set(d, kv[i]);
	const char *w = kv_get(d, "workers");
	d->workers = w ? (unsigned)strtoul(w, NULL, 10) : 4;

	snprintf(tmp, sizeof(tmp), "%s.tmp", d->conf);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# written by the arena test harness\n");
	for (size_t s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		bool header = false;

		for (unsigned i = 0; i < d->nkv; i++) {
			size_t klen = key_len(d->kv[i]);
			const char *key = d->kv[i];

			if (key_section(key, klen) != sections[s])
				continue;
			const char *dot = memchr(key, '.', klen);
			if (dot) {
				klen -= (size_t)(dot + 1 - key);
				key = dot + 1;
			}
			if (!header)
				fprintf(f, "\n[%s]\n", sections[s]);
			header = true;
			fprintf(f, "%.*s = %s\n", (int)klen, key, key + klen + 1);
		}
	}
	if (extra)
		fprintf(f, "\n%s\n", extra);
	if (fclose(f) != 0)
		return -errno;
	/* rename() so a reload never reads a half-written file */
	if (rename(tmp, d->conf) < 0)
		return -errno;
	return 0;
}

int h_free_port(uint16_t *ret_port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		r = -errno;
	close(fd);
	if (r == 0)
		*ret_port = ntohs(sin.sin_port);
	return r;
}

static void notify_read(struct hd *d)
{
	char buf[1024];

	for (;;) {
		ssize_t n = recv(d->notify_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0)
			return;
		d->notify_seq++;
		unsigned slot = d->notify_seq % (sizeof(d->notify) / sizeof(d->notify[0]));
		size_t len = (size_t)n < sizeof(d->notify[slot].text) - 1
		                 ? (size_t)n
		                 : sizeof(d->notify[slot].text) - 1;
		d->notify[slot].seq = d->notify_seq;
		memcpy(d->notify[slot].text, buf, len);
		d->notify[slot].text[len] = 0;
	}
}

static bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == 0))
			return true;
	return false;
}

static int notify_find(struct hd *d, const char *key, unsigned since)
{
	unsigned best = 0;

	notify_read(d);
	for (size_t i = 0; i < sizeof(d->notify) / sizeof(d->notify[0]); i++)
		if (d->notify[i].seq > since && has_line(d->notify[i].text, key) &&
		    (best == 0 || d->notify[i].seq < best))
			best = d->notify[i].seq;
	return (int)best;
}

int hd_notify_wait(struct hd *d, const char *key, unsigned since, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int seq = notify_find(d, key, since);

		if (seq > 0)
			return seq;
		if (h_now_ms() >= deadline)
			return -ETIMEDOUT;
		h_sleep_ms(10);
	}
}

int hd_notify_value(struct hd *d, const char *prefix, unsigned since, char *ret, size_t len,
                    unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	size_t plen = strlen(prefix);

	for (;;) {
		notify_read(d);
		for (size_t i = 0; i < sizeof(d->notify) / sizeof(d->notify[0]); i++) {
			const char *t = d->notify[i].text;

			if (d->notify[i].seq <= since)
				continue;
			for (const char *p = t; p && *p;
			     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
				if (strncmp(p, prefix, plen) != 0)
					continue;
				size_t n = strcspn(p + plen, "\n");

				if (n >= len)
					n = len - 1;
				memcpy(ret, p + plen, n);
				ret[n] = '\0';
				return (int)d->notify[i].seq;
			}
		}
		if (h_now_ms() >= deadline)
			return -ETIMEDOUT;
		h_sleep_ms(10);
	}
}

int hd_reload(struct hd *d, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	unsigned since;
	int seq;

	notify_read(d);
	since = d->notify_seq;
	if (hd_kill(d, SIGHUP) < 0)
		return -ESRCH;
	seq = hd_notify_wait(d, "RELOADING=1", since, (unsigned)h_remaining(deadline));
	if (seq < 0)
		return seq;
	seq = hd_notify_wait(d, "READY=1", (unsigned)seq, (unsigned)h_remaining(deadline));
	return seq < 0 ? seq : 0;
}

int hd_kill(struct hd *d, int sig)
{
	if (d->status != -1)
		return -ESRCH;
	return kill(d->pid, sig) < 0 ? -errno : 0;
}

/* Reap whatever of the daemon's process group has exited (the master, and workers re-parented
 * to us as subreaper). */
static void reap_group(struct hd *d)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-d->pgid, &st, WNOHANG);

		if (p <= 0)
			return;
		if (p == d->pid)
			d->status = st;
	}
}

void hd_follow_master(struct hd *d, pid_t pid)
{
	d->pid = pid;
	d->status = -1;
}

int hd_wait_exit(struct hd *d, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		if (d->status == -1) {
			int st;
			pid_t p = waitpid(d->pid, &st, WNOHANG);

			if (p == d->pid)
				d->status = st;
			else if (p < 0 && errno == ECHILD)
				d->status = 0x7f00; /* reaped elsewhere; should not happen */
		}
		if (d->status != -1) {
			reap_group(d);
			return 0;
		}
		if (h_now_ms() >= deadline)
			return -ETIMEDOUT;
		h_sleep_ms(5);
	}
}

static char **build_env(const struct hd *d)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		h_bail("out of memory");
	size_t extra_len = 0;
	if (d->extra_env) {
		const char *eq = strchr(d->extra_env, '=');
		extra_len = eq ? (size_t)(eq - d->extra_env) + 1 : 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e = environ[i];

		/* Nothing of a service manager we may run under reaches the daemon but our socket.
		 */
		if (strncmp(e, "NOTIFY_SOCKET=", 14) == 0 || strncmp(e, "LISTEN_", 7) == 0 ||
		    strncmp(e, "WATCHDOG_", 9) == 0 || strncmp(e, "JOURNAL_STREAM=", 15) == 0)
			continue;
		if (extra_len && strncmp(e, d->extra_env, extra_len) == 0)
			continue;
		env[k++] = (char *)e;
	}
	static char notify[sizeof(d->notify_path) + 16];
	snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", d->notify_path);
	env[k++] = notify;
	if (d->extra_env)
		env[k++] = d->extra_env;
	env[k] = NULL;
	return env;
}

/* ARENA_TEST_WRAPPER (e.g. "valgrind --leak-check=full ..." from tests/valgrind.sh): words put
 * before arenad's command line, split on blanks (no quoting); the first is looked up in PATH
 * here, before fork. ARENA_TEST_TIMEOUT_SCALE (1..100, default 1) multiplies the harness's own
 * start and stop deadlines for such slow runs; the tests' own deadlines are not scaled. */
#define WRAP_ARGS_MAX 32

static unsigned timeout_scale(void)
{
	const char *s = getenv("ARENA_TEST_TIMEOUT_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;

	return v >= 1 && v <= 100 ? (unsigned)v : 1;
}

/* Fill argv (WRAP_ARGS_MAX + 4 entries) and return the program to execve. */
static const char *wrap_argv(const char *bin, char *conf, char **argv)
{
	static char words[1024], path[PATH_MAX];
	const char *w = getenv("ARENA_TEST_WRAPPER");
	size_t n = 0;

	if (w && *w && strlen(w) < sizeof(words)) {
		char *save = NULL;

		memcpy(words, w, strlen(w) + 1);
		for (char *t = strtok_r(words, " \t", &save); t && n < WRAP_ARGS_MAX;
		     t = strtok_r(NULL, " \t", &save))
			argv[n++] = t;
	}
	argv[n] = n ? (char *)bin : (char *)"arenad";
	argv[n + 1] = (char *)"-c";
	argv[n + 2] = conf;
	argv[n + 3] = NULL;
	if (n == 0 || strchr(argv[0], '/'))
		return n ? argv[0] : bin;
	const char *p = getenv("PATH");
	for (const char *dir = p ? p : "/usr/bin:/bin"; *dir;) {
		size_t len = strcspn(dir, ":");

		snprintf(path, sizeof(path), "%.*s/%s", (int)len, dir, argv[0]);
		if (access(path, X_OK) == 0)
			return path;
		dir += len + (dir[len] == ':');
	}
	return argv[0];
}

static int spawn(struct hd *d)
{
	char *argv[WRAP_ARGS_MAX + 4];
	const char *exe = wrap_argv(getenv("ARENAD"), d->conf, argv);
	char **env = build_env(d);
	pid_t parent = getpid();
	int logfd, nullfd;
	pid_t pid;

	logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		int r = -errno;
		if (logfd >= 0)
			close(logfd);
		free(env);
		return r;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Child: async-signal-safe calls only until execve. */
		sigset_t none;
		struct rlimit rl = {d->nofile, d->nofile};

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 ||
		    dup2(d->stderr_fd > 2 ? d->stderr_fd : logfd, 2) < 0)
			_exit(127);
		if (d->nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(127);
		if (chdir(d->dir) < 0)
			_exit(127);
		execve(exe, argv, env);
		_exit(127);
	}
	int r = pid < 0 ? -errno : 0;
	close(logfd);
	close(nullfd);
	free(env);
	if (r < 0)
		return r;
	setpgid(pid, pid); /* also in the parent: no window where the group does not exist yet */
	d->pid = pid;
	d->pgid = pid;
	d->status = -1;
	h_emergency_add(pid);
	return 0;
}

/* 0 when ready; -EADDRINUSE if the daemon died because the port was taken; -EIO otherwise. */
static int wait_ready(struct hd *d)
{
	uint64_t deadline = h_now_ms() + (uint64_t)READY_TIMEOUT_MS * timeout_scale();
	bool welcomed = false, ready = false;
	int nworkers = -1;

	for (;;) {
		int st;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->status = st;
			h_emergency_remove(d->pgid);
			reap_group(d);
			if (hd_log_contains(d, "Address already in use"))
				return -EADDRINUSE;
			h_diag("arenad exited during start-up (wait status 0x%x)", st);
			return -EIO;
		}
		if (!ready)
			ready = notify_find(d, "READY=1", 0) > 0;
		nworkers = hd_workers(d, NULL, 0);
		if (!welcomed && ready) {
			struct hc *c = hc_connect(d, NULL);

			if (c) {
				welcomed = hc_hello(c, "probe", 1000) == 0;
				hc_close(c);
			}
		}
		if (welcomed && ready && nworkers == (int)d->workers)
			return 0;
		if (h_now_ms() >= deadline)
			break;
		h_sleep_ms(ready ? 20 : 10);
	}
	if (!ready && !welcomed) {
		/* Maybe only the notification is missing: see if the daemon serves anyway. */
		struct hc *c = hc_connect(d, NULL);

		if (c) {
			welcomed = hc_hello(c, "probe", 1000) == 0;
			hc_close(c);
		}
	}
	h_diag("arenad not ready within %d ms: READY=1 %s, HELLO %s, %d workers (want %u)",
	       READY_TIMEOUT_MS, ready ? "received" : "never received",
	       welcomed ? "welcomed" : "not welcomed", nworkers, d->workers);
	if (welcomed && nworkers == (int)d->workers) {
		/* Serving: report the missing READY=1 as a failure and go on with the test. */
		CHECK(ready, "arenad sent READY=1 on NOTIFY_SOCKET once its workers were up");
		return 0;
	}
	return -EIO;
}

static void hd_exit_cb(void *arg)
{
	struct hd *d = arg;

	h_on_exit_cancel(hd_exit_cb, d); /* hd_free cancels; harmless if already gone */
	hd_free(d);
}

struct hd *hd_start(const char *const *kv)
{
	struct hd_opts o = {.kv = kv};

	return hd_start_opts(&o);
}

struct hd *hd_start_opts(const struct hd_opts *opts)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[256];
	struct hd *d;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		h_bail("out of memory");
	d->status = 0;
	d->notify_fd = -1;
	d->nofile = opts->nofile;
	d->stderr_fd = opts->stderr_fd;
	d->port2 = 0;
	if (opts->extra_env && !(d->extra_env = strdup(opts->extra_env)))
		h_bail("out of memory");
	snprintf(d->dir, sizeof(d->dir), "/tmp/arena-test-XXXXXX");
	if (!mkdtemp(d->dir))
		h_bail("mkdtemp: %s", strerror(errno));
	h_on_exit(hd_exit_cb, d);
	snprintf(d->conf, sizeof(d->conf), "%s/arenad.conf", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/arenad.log", d->dir);
	snprintf(d->notify_path, sizeof(d->notify_path), "%s/notify", d->dir);
	snprintf(buf, sizeof(buf), "%s/state", d->dir);
	if (mkdir(buf, 0700) < 0)
		h_bail("mkdir %s: %s", buf, strerror(errno));

	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (strlen(d->notify_path) >= sizeof(sun.sun_path))
		h_bail("notify socket path too long: %s", d->notify_path);
	memcpy(sun.sun_path, d->notify_path, strlen(d->notify_path) + 1);
	if (d->notify_fd < 0 || bind(d->notify_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		h_bail("notify socket %s: %s", d->notify_path, strerror(errno));

	/* The request limit is raised so that the pingers (20 PINGs a second) are never limited;
	 * the request-flood scenario sets its own. */
	static const char *const defaults[] = {
	    "workers=4",
	    "max_clients=10000",
	    "max_clients_per_ip=10000",
	    "log_level=info",
	    "request_rate=1000",
	    "request_burst=10000",
	    NULL,
	};
	for (size_t i = 0; defaults[i]; i++)
		kv_set(d, defaults[i]);
	snprintf(buf, sizeof(buf), "state_dir=%s/state", d->dir);
	kv_set(d, buf);
	snprintf(buf, sizeof(buf), "admin_socket=%s/admin.sock", d->dir);
	kv_set(d, buf);
	for (size_t i = 0; opts->kv && opts->kv[i]; i++)
		kv_set(d, opts->kv[i]);

	for (int attempt = 1;; attempt++) {
		if ((r = h_free_port(&d->port)) < 0)
			h_bail("no free port: %s", strerror(-r));
		snprintf(buf, sizeof(buf), "listen=127.0.0.1:%u", d->port);
		if (opts->second_listener) {
			do
				if ((r = h_free_port(&d->port2)) < 0)
					h_bail("no free port: %s", strerror(-r));
			while (d->port2 == d->port);
			snprintf(buf, sizeof(buf), "listen=127.0.0.1:%u 127.0.0.1:%u", d->port,
			         d->port2);
		}
		kv_set(d, buf);
		if ((r = hd_write_config(d, NULL, NULL)) < 0)
			h_bail("writing %s: %s", d->conf, strerror(-r));
		if ((r = spawn(d)) < 0)
			h_bail("starting %s: %s", getenv("ARENAD"), strerror(-r));
		r = wait_ready(d);
		if (r == 0)
			break;
		if (r == -EADDRINUSE && attempt < START_ATTEMPTS) {
			h_diag("port %u was taken, retrying with another", d->port);
			continue;
		}
		if (d->status == -1)
			hd_stop(d, 2000);
		hd_log_tail(d, 40);
		h_bail("arenad did not start (config %s)", d->conf);
	}
	h_diag("arenad started: pid %d, port %u, %u workers, dir %s", (int)d->pid, d->port,
	       d->workers, d->dir);
	return d;
}

int hd_stop(struct hd *d, unsigned timeout_ms)
{
	timeout_ms *= timeout_scale();
	if (d->status == -1) {
		hd_kill(d, SIGTERM);
		if (hd_wait_exit(d, timeout_ms) < 0) {
			h_diag("arenad (pid %d) did not exit within %u ms of SIGTERM: SIGKILL",
			       (int)d->pid, timeout_ms);
			kill(-d->pgid, SIGKILL);
			hd_wait_exit(d, 5000);
		}
	}
	/* Anything of the group still around after the master is gone: kill and reap it. */
	if (d->pid > 0 && hd_processes(d, NULL, 0) > 0) {
		h_diag("processes of arenad left after its master exited: SIGKILL");
		kill(-d->pgid, SIGKILL);
		for (int i = 0; i < 500 && hd_processes(d, NULL, 0) > 0; i++) {
			reap_group(d);
			h_sleep_ms(2);
		}
	}
	reap_group(d);
	if (d->pid > 0)
		h_emergency_remove(d->pgid);
	return d->status;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void hd_free(struct hd *d)
{
	if (!d)
		return;
	h_on_exit_cancel(hd_exit_cb, d);
	if (d->pid > 0 && d->status == -1) {
		int st = hd_stop(d, 10000);

		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "arenad exits with status 0 on SIGTERM at the end (wait status 0x%x)", st);
	}
	if (d->pid > 0)
		hd_log_clean(d);
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	if (h_failed()) {
		if (d->pid > 0)
			hd_log_tail(d, 30);
		h_diag("kept %s for inspection (config, log, state)", d->dir);
	} else {
		nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	for (unsigned i = 0; i < d->nkv; i++)
		free(d->kv[i]);
	free(d->extra_env);
	free(d);
}
