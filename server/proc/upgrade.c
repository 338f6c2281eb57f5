/* upgrade.c: the live binary upgrade (SIGUSR2, nginx style), both halves; see upgrade.h.
 *
 * The old master forks and execs the binary it was started from (the path /proc/self/exe named
 * at start, so a package that replaced the file runs the new one) with the same arguments and
 * ARENA_UPGRADE in its environment naming the fds it inherits:
 *
 *     ARENA_UPGRADE=world=<fd>,ctl=<fd>,activated=<0|1>,clock=<base_ms>:<base_tick>:<rate>,
 *                   listen=<fd>:<fd>...
 *
 * world is the memfd of the shared region (shm_adopt()), so the new master serves the same
 * world: players, rooms, resumable sessions, scores, chat. Its workers take scoreboard slots the
 * old master does not use ("foreign" slots, watched until they are free). ctl is a SEQPACKET
 * socketpair for the handshake:
 *
 *     new -> old  "ready"   every new worker is READY and the listeners are being accepted on
 *     old -> new  "go"      the old master has sent MAINPID=<new> to systemd and stopped
 *
 * Both masters accept on the same listening sockets until "go", so a connect is never refused
 * during the swap. After "go" the old master closes its copies of the listeners, tells its
 * workers to say goodbye (their players stay resumable in the shared world and resume on the
 * new workers), and exits once they are gone, without saving (the new master saves). Until
 * "go" the new master sends nothing to systemd (NotifyAccess=main); after it, READY=1 and the
 * rest as usual. The metrics listener and the admin socket are closed by the old master just
 * before the exec and bound again by the new one (reopened by the old if the upgrade fails).
 *
 * If the new master fails before "ready" (exec error, bad configuration, a world it cannot
 * adopt: another version or geometry), or is not ready within UPGRADE_TIMEOUT_MS, the old
 * master kills it if needed, logs why and keeps serving as if nothing happened.
 */
#include "upgrade.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"
#include "master-internal.h"
#include "notify.h"
#include "util.h"
#include "world.h"

#define UPGRADE_TIMEOUT_MS 30000
#define ENV_NAME           "ARENA_UPGRADE"

static char exe_path[PATH_MAX];
static char **saved_argv;

void upgrade_remember_argv(char **argv)
{
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	exe_path[n > 0 ? n : 0] = '\0';
	saved_argv = argv;
}

struct upgrade {
	struct master *m;
	pid_t pid;
	int ctl; /* our end of the handshake */
	bool ready;
	struct event *ev_ctl;
	struct event *ev_timeout;
};

static void upgrade_free(struct upgrade *u)
{
	if (!u)
		return;
	if (u->ev_ctl)
		event_free(u->ev_ctl);
	if (u->ev_timeout)
		event_free(u->ev_timeout);
	safe_close(u->ctl);
	free(u);
}

/* Bring back what the old master closed for the exec. */
static void reopen_side_listeners(struct master *m)
{
	int r;

	if (m->cfg.metrics_listen.text[0] && !m->metrics) {
		r = metrics_start(m, &m->cfg.metrics_listen, &m->metrics);
		if (r < 0)
			log_error("Cannot serve metrics on %s again: %s",
			          m->cfg.metrics_listen.text, strerror(-r));
	}
	if (m->cfg.admin_socket[0] && !m->admin) {
		r = admin_start(m, m->cfg.admin_socket, master_admin_ops(), &m->admin);
		if (r < 0)
			log_warning("No admin socket at %s: %s", m->cfg.admin_socket, strerror(-r));
	}
}

static void on_ctl(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade *u = arg;
	struct master *m = u->m;
	char buf[16];
	ssize_t n = recv(u->ctl, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The new master went away: its exit (reaped) says how. */
		event_del(u->ev_ctl);
		return;
	}
	buf[n] = '\0';
	if (u->ready || strcmp(buf, "ready") != 0)
		return;
	u->ready = true;
	event_del(u->ev_timeout);
	log_notice("Upgrade: the new master (pid %d) is ready; handing over", (int)u->pid);
	notify_mainpid(u->pid);
	notify_flush();
	notify_hold(true);
	if (send(u->ctl, "go", 2, MSG_DONTWAIT | MSG_NOSIGNAL) != 2)
		log_warning("Upgrade: cannot tell the new master to go on: %s", strerror(errno));
	m->successor = u->pid;
	m->upgrade = NULL;
	upgrade_free(u);
	master_hand_off(m);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct upgrade *u = arg;

	log_error("Upgrade: the new master (pid %d) was not ready within %u ms; killing it",
	          (int)u->pid, UPGRADE_TIMEOUT_MS);
	kill(u->pid, SIGKILL);
}

int upgrade_begin(struct master *m, char *err, size_t errlen)
{
	char env[512], *e = env;
	const char *envv[2] = {env, NULL};
	int keep[ARENA_LISTEN_MAX + 2], fds[2], r;
	size_t nkeep = 0, left = sizeof(env);
	struct upgrade *u;
	struct timeval tv = {.tv_sec = UPGRADE_TIMEOUT_MS / 1000};

	if (m->state != MS_RUNNING) {
		snprintf(err, errlen, "shutting down");
		return -EBUSY;
	}
	if (m->upgrade) {
		snprintf(err, errlen, "an upgrade is already under way (pid %d)",
		         (int)m->upgrade->pid);
		return -EBUSY;
	}
	if (m->cluster) {
		snprintf(err, errlen,
		         "not with redis set: upgrade the nodes one at a time behind "
		         "the load balancer (docs/SCALE.md)");
		return -ENOTSUP;
	}
	if (!exe_path[0] || !saved_argv || m->shm_fd < 0) {
		snprintf(err, errlen, "the binary's path is unknown");
		return -ENOENT;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
		r = -errno;
		snprintf(err, errlen, "socketpair: %s", strerror(-r));
		return r;
	}
#define APPEND(...)                                                                                \
	do {                                                                                       \
		int k_ = snprintf(e, left, __VA_ARGS__);                                           \
		if (k_ > 0 && (size_t)k_ < left) {                                                 \
			e += k_;                                                                   \
			left -= (size_t)k_;                                                        \
		}                                                                                  \
	} while (0)
	APPEND(ENV_NAME "=world=%d,ctl=%d,activated=%d,clock=%" PRIu64 ":%" PRIu32 ":%" PRIu32
	                ",listen=",
	       m->shm_fd, fds[1], m->socket_activated ? 1 : 0, m->clock.base_ms, m->clock.base_tick,
	       m->clock.tick_rate);
	for (unsigned i = 0; i < m->nlisteners; i++) {
		APPEND("%s%d", i ? ":" : "", m->listeners[i].fd);
		keep[nkeep++] = m->listeners[i].fd;
	}
#undef APPEND
	keep[nkeep++] = m->shm_fd;
	keep[nkeep++] = fds[1];

	u = calloc(1, sizeof(*u));
	if (!u) {
		close(fds[0]);
		close(fds[1]);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->m = m;
	u->ctl = fds[0];
	u->ev_ctl = event_new(m->base, u->ctl, EV_READ | EV_PERSIST, on_ctl, u);
	u->ev_timeout = event_new(m->base, -1, 0, on_timeout, u);
	if (!u->ev_ctl || !u->ev_timeout || event_add(u->ev_ctl, NULL) < 0) {
		close(fds[1]);
		upgrade_free(u);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}

	/* The new master binds these itself. */
	metrics_stop(m->metrics);
	m->metrics = NULL;
	admin_stop(m->admin);
	m->admin = NULL;

	r = proc_exec(exe_path, saved_argv, envv, keep, nkeep, &u->pid);
	close(fds[1]);
	if (r < 0) {
		upgrade_free(u);
		reopen_side_listeners(m);
		snprintf(err, errlen, "cannot start %s: %s", exe_path, strerror(-r));
		return r;
	}
	event_add(u->ev_timeout, &tv);
	m->upgrade = u;
	log_notice("Upgrade: started %s as pid %d; it adopts %u listeners and the world", exe_path,
	           (int)u->pid, m->nlisteners);
	return 0;
}

bool upgrade_reaped(struct master *m, pid_t pid, int status)
{
	char how[128];

	if (m->successor && pid == m->successor) {
		log_warning("Upgrade: the new master (pid %d) %s after taking over", (int)pid,
		            proc_describe_status(status, how, sizeof(how)));
		m->successor = 0;
		return true;
	}
	if (!m->upgrade || pid != m->upgrade->pid)
		return false;
	log_error("Upgrade failed: the new master (pid %d) %s before it was ready (its own log "
	          "lines say why); this master (pid %d) keeps serving",
	          (int)pid, proc_describe_status(status, how, sizeof(how)), (int)getpid());
	snprintf(m->status_note, sizeof(m->status_note), "upgrade failed");
	m->stats.upgrades_failed++;
	upgrade_free(m->upgrade);
	m->upgrade = NULL;
	reopen_side_listeners(m);
	return true;
}

void upgrade_abort(struct master *m)
{
	if (!m->upgrade)
		return;
	log_warning("Upgrade: abandoned (shutting down); stopping the new master (pid %d)",
	            (int)m->upgrade->pid);
	kill(m->upgrade->pid, SIGKILL);
	m->upgrade->pid = -1;
	upgrade_free(m->upgrade);
	m->upgrade = NULL;
}

/* ---- The new master's half ------------------------------------------------------------------ */

static int parse_fd(const char **p, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || end == *p || v < 3 || v > INT_MAX)
		return -EINVAL;
	*p = end;
	*ret = (int)v;
	return 0;
}

static int set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* Parse ARENA_UPGRADE into m (listeners, ctl, world fd, clock). -EINVAL if malformed. */
static int parse_env(struct master *m, const char *s, int *ret_world_fd)
{
	const char *p = s;
	int world_fd = -1, ctl = -1, activated = -1;
	unsigned long long base_ms;
	unsigned base_tick, rate;
	int k;

	while (*p) {
		if (strncmp(p, "world=", 6) == 0) {
			p += 6;
			if (parse_fd(&p, &world_fd) < 0)
				return -EINVAL;
		} else if (strncmp(p, "ctl=", 4) == 0) {
			p += 4;
			if (parse_fd(&p, &ctl) < 0)
				return -EINVAL;
		} else if (strncmp(p, "activated=", 10) == 0) {
			if (p[10] != '0' && p[10] != '1')
				return -EINVAL;
			activated = p[10] - '0';
			p += 11;
		} else if (strncmp(p, "clock=", 6) == 0) {
			if (sscanf(p + 6, "%llu:%u:%u%n", &base_ms, &base_tick, &rate, &k) != 3 ||
			    rate < 1 || rate > 1000)
				return -EINVAL;
			p += 6 + k;
			m->clock.base_ms = base_ms;
			m->clock.base_tick = base_tick;
			m->clock.tick_rate = rate;
		} else if (strncmp(p, "listen=", 7) == 0) {
			p += 7;
			m->nlisteners = 0;
			do {
				int fd;

				if (*p == ':')
					p++;
				if (m->nlisteners == ARENA_LISTEN_MAX || parse_fd(&p, &fd) < 0)
					return -EINVAL;
				m->listeners[m->nlisteners++].fd = fd;
			} while (*p == ':');
		} else {
			return -EINVAL;
		}
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	if (world_fd < 0 || ctl < 0 || activated < 0 || m->nlisteners == 0 ||
	    m->clock.tick_rate == 0)
		return -EINVAL;
	m->socket_activated = activated == 1;
	m->upgrade_ctl = ctl;
	*ret_world_fd = world_fd;
	return 0;
}

int upgrade_inherit(struct master *m)
{
	const char *s = getenv(ENV_NAME);
	char copy[512];
	int world_fd = -1, r;

	if (!s)
		return 0;
	snprintf(copy, sizeof(copy), "%s", s);
	unsetenv(ENV_NAME);
	r = parse_env(m, copy, &world_fd);
	if (r < 0) {
		log_error("Upgrade: %s is malformed: %s", ENV_NAME, copy);
		return r;
	}
	if (set_cloexec(m->upgrade_ctl) < 0 || set_cloexec(world_fd) < 0) {
		log_error("Upgrade: the inherited fds are not open");
		return -EBADF;
	}
	for (unsigned i = 0; i < m->nlisteners; i++) {
		int fd = m->listeners[i].fd;

		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 || set_cloexec(fd) < 0) {
			log_error("Upgrade: inherited fd %d is not a listening stream socket", fd);
			return -EBADF;
		}
		listen_name(fd, m->listeners[i].name);
	}
	r = shm_adopt(world_fd, &m->shm);
	if (r < 0) {
		log_error("Upgrade: cannot adopt the shared region: %s%s", strerror(-r),
		          r == -EPROTO ? " (made by a build with another layout: restart instead)"
		                       : "");
		close(world_fd);
		return r;
	}
	m->shm_fd = world_fd;
	m->world = shm_world(m->shm);
	r = world_adopt(m->world, m->shm->world_size, &m->cfg);
	if (r < 0) {
		log_error("Upgrade: cannot adopt the world: %s",
		          r == -EPROTO ? "it was made by a build with another world layout; "
		                         "restart instead"
		                       : "max_players, max_rooms, room_width, room_height, "
		                         "room_capacity or gems_per_room differ from the running "
		                         "world's; restart to change them");
		return r;
	}
	world_set_resume_grace(m->world, m->cfg.resume_grace_ms);
	if (m->clock.tick_rate != m->cfg.tick_rate)
		log_warning("Upgrade: tick_rate %u stays at the running %u until a reload",
		            m->cfg.tick_rate, m->clock.tick_rate);
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		m->workers[i].foreign = atomic_load(&m->shm->slots[i].state) != WORKER_EMPTY;
	m->adopted = true;
	notify_hold(true);
	log_notice("Upgrade: adopted %u listeners and the world of pid %d", m->nlisteners,
	           (int)getppid());
	return 1;
}

/* The handshake is over (or cannot go on): close it and speak for the service from now on. */
static void end_handshake(struct master *m)
{
	if (m->ev_upgrade)
		event_free(m->ev_upgrade);
	m->ev_upgrade = NULL;
	m->upgrade_ctl = safe_close(m->upgrade_ctl);
	notify_hold(false);
	notify_ready();
}

static void on_go(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	char buf[16];
	ssize_t n = recv(m->upgrade_ctl, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 2 && memcmp(buf, "go", 2) == 0)
		log_notice("Upgrade complete: pid %d serves", (int)getpid());
	else
		log_warning("Upgrade: the old master went away without handing over; serving "
		            "anyway as pid %d",
		            (int)getpid());
	end_handshake(m);
}

void upgrade_child_ready(struct master *m)
{
	if (m->upgrade_ctl < 0 || m->ev_upgrade)
		return;
	m->ev_upgrade = event_new(m->base, m->upgrade_ctl, EV_READ | EV_PERSIST, on_go, m);
	if (!m->ev_upgrade || event_add(m->ev_upgrade, NULL) < 0 ||
	    send(m->upgrade_ctl, "ready", 5, MSG_DONTWAIT | MSG_NOSIGNAL) != 5) {
		log_error("Upgrade: cannot tell the old master we are ready: %s", strerror(errno));
		end_handshake(m);
	}
}

void upgrade_free_master(struct master *m)
{
	if (m->ev_upgrade)
		event_free(m->ev_upgrade);
	m->ev_upgrade = NULL;
	m->upgrade_ctl = safe_close(m->upgrade_ctl);
	if (m->upgrade && m->upgrade->pid > 0)
		kill(m->upgrade->pid, SIGKILL);
	upgrade_free(m->upgrade);
	m->upgrade = NULL;
}
