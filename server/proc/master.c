/* master.c: the master process: start-up, worker supervision, shutdown, save timers.
 *
 * The master is one libevent loop. It owns the listeners (accept.c does the accepting), the
 * shared-memory region it made before forking, one channel per worker, and the timers:
 *
 *   supervise (250 ms)  kill workers that are wedged (heartbeat older than heartbeat_timeout)
 *                       or that did not reach READY within heartbeat_timeout of their fork;
 *                       retry forks that failed.
 *   status (1 s)        STATUS= for systemd, and one summary line for refused connections.
 *   watchdog            WATCHDOG=1 every WATCHDOG_USEC/2, but only while every worker is healthy
 *                       or being replaced: a master that cannot recover stops petting, and
 *                       systemd restarts the whole service.
 *   save                scores to state_dir every save_interval (lock-free export).
 *   drain               the graceful shutdown's deadline.
 *
 * Worker slots (shm.h scoreboard) move through
 *
 *     EMPTY --spawn()--> STARTING --worker loop up--> READY --DRAIN/SHUTDOWN--> DRAINING
 *                          ^   |                        |                          |
 *                          |   +------exit/killed-------+--------------------------+
 *                          |                            v
 *                          +-------spawn() again---- DEAD --(not wanted)--> EMPTY
 *
 * and the master learns of every exit from SIGCHLD (proc_reap), logs how the worker ended,
 * releases the connections it held from the per-address table, marks the slot DEAD, bumps the
 * death counter (so the surviving workers' world_sweep detaches its players) and forks a
 * replacement into the same slot at once, unless the crash-loop guard trips.
 */
#include "master.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena-build.h"
#include "log.h"
#include "admin.h"
#include "cluster.h"
#include "master-internal.h"
#include "notify.h"
#include "upgrade.h"
#include "persist.h"
#include "util.h"
#include "worker.h"
#include "world.h"

#define SUPERVISE_MS 250
#define STATUS_MS    1000

/* The master's state stays reachable from here in forked workers too, so leak checkers in a
 * worker see it as inherited memory, not as a leak. */
static struct master *master_instance;

void master_arm_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	event_add(ev, &tv);
}

unsigned master_workers_alive(const struct master *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (m->workers[i].pid > 0)
			n++;
	return n;
}

unsigned master_workers_wanted(const struct master *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (m->workers[i].wanted)
			n++;
	return n;
}

/* SIGKILL a worker for cause (logged with why); it is replaced once reaped. */
static void kill_worker(struct mworker *w, const char *why)
{
	if (w->pid <= 0 || w->killed)
		return;
	log_error("worker.%u (pid %d) %s; killing it", w->slot, (int)w->pid, why);
	kill(w->pid, SIGKILL);
	w->killed = true;
	accept_update(w->m);
}

static const struct accept_ops accept_ops = {.worker_failed = kill_worker};

static void on_save(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	master_persist_now(m);
	master_arm_ms(m->ev_save, m->cfg.save_interval_ms);
}

/* ---- Workers ------------------------------------------------------------------------------ */

static void on_worker_message(struct channel *c, const struct channel_msg *msg, void *userdata);
static void on_worker_failed(struct channel *c, int error, const char *text, void *userdata);

static const struct channel_ops master_channel_ops = {
    .message = on_worker_message,
    .failed = on_worker_failed,
};

/* Fork a worker into slot i. Returns 0 or -errno (logged). */
static int spawn(struct master *m, unsigned i)
{
	struct mworker *w = &m->workers[i];
	struct worker_slot *slot = &m->shm->slots[i];
	struct worker_args args;
	uint64_t now = arena_now_ms();
	int keep[1] = {m->shutdown_fd};
	int chfd, r;
	pid_t pid;

	memset(&args, 0, sizeof(args));
	args.slot = i;
	args.gen = atomic_fetch_add(&slot->gen, 1) + 1; /* new owner id before the process exists */
	args.shm = m->shm;
	args.cfg = &m->cfg;
	args.clock = m->clock;
	args.shutdown_fd = m->shutdown_fd;
	atomic_store(&slot->heartbeat_ms, now);
	atomic_store(&slot->clients, 0);
	atomic_store(&slot->players, 0);
	atomic_store(&slot->in_rooms, 0);
	atomic_store(&slot->lock_wait_ms, 0);
	atomic_store(&slot->pid, 0);
	atomic_store(&slot->state, WORKER_STARTING);

	w->m = m;
	w->slot = i;
	w->ready = false;
	w->retiring = false;
	w->killed = false;
	w->wedged = false;
	w->conns = 0;
	w->cap = 0;
	w->started_ms = now;

	r = proc_spawn(worker_main, &args, keep, ELEMENTSOF(keep), &pid, &chfd);
	if (r < 0) {
		/* Retried every supervision pass: say so once, then every 10 s. */
		if (w->spawn_failures++ % 40 == 0)
			log_error("Failed to start worker.%u: %s (retrying)", i, strerror(-r));
		atomic_store(&slot->state, WORKER_DEAD);
		w->died_ms = now;
		return r;
	}
	w->pid = pid;
	w->spawn_failures = 0;
	atomic_store(&slot->pid, pid);
	r = channel_new(m->base, chfd, CH_MASK_MASTER, &master_channel_ops, w, NULL, &w->chan);
	if (r < 0) {
		safe_close(chfd);
		kill_worker(w, "has no channel (out of memory)");
		return r;
	}
	log_info("worker.%u started (pid %d)", i, (int)pid);
	return 0;
}

void master_notify_ready_if_done(struct master *m)
{
	if (m->ready_notified || m->state != MS_RUNNING)
		return;
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		const struct mworker *w = &m->workers[i];

		if (w->wanted && !w->ready)
			return;
	}
	m->ready_notified = true;
	if (m->upgrade_ctl >= 0)
		upgrade_child_ready(m); /* READY=1 once the old master let go */
	else
		notify_ready();
	if (m->reload_ready_due) {
		m->reload_ready_due = 0;
		log_info("Reload complete: %u workers ready", master_workers_wanted(m));
		return;
	}
	log_notice("arenad %s ready: %u workers, %u listeners", ARENA_VERSION,
	           master_workers_wanted(m), m->nlisteners);
}

static void on_worker_message(struct channel *c, const struct channel_msg *msg, void *userdata)
{
	struct mworker *w = userdata;
	struct master *m = w->m;

	switch (msg->type) {
	case CH_READY: {
		const struct ch_ready *r = msg->payload;

		w->ready = true;
		w->cap = r->max_conns;
		log_debug("worker.%u (pid %d) ready after %llu ms, room for %u connections",
		          w->slot, (int)w->pid,
		          (unsigned long long)(arena_now_ms() - w->started_ms), w->cap);
		accept_update(m);
		master_notify_ready_if_done(m);
		break;
	}
	case CH_CONN_CLOSED: {
		const struct ch_conn_closed *cc = msg->payload;

		peer_table_remove(m->peers, &cc->peer, w->slot);
		if (w->conns > 0)
			w->conns--;
		break;
	}
	case CH_ADMIN_DONE:
		admin_worker_done(m->admin, w->slot, msg->payload);
		break;
	default: /* the rest of CH_MASK_MASTER: CHAT_OUT, SESSIONS, RESUME_ASK, ROOMS */
		cluster_worker_msg(m->cluster, w, msg);
		break;
	}
}

static void on_worker_failed(struct channel *c, int error, const char *text, void *userdata)
{
	struct mworker *w = userdata;

	channel_free(w->chan);
	w->chan = NULL;
	if (error == -EPIPE || error == -ECONNRESET) {
		/* ECONNRESET: the worker exited with messages from us still unread (normal at
		 * shutdown); either way its exit is handled when it is reaped. */
		log_debug("worker.%u closed its channel", w->slot);
	} else {
		char why[160];

		snprintf(why, sizeof(why), "broke the channel protocol (%s: %s)", text,
		         strerror(-error));
		kill_worker(w, why);
	}
	accept_update(w->m);
}

/* One child ended: account for it and replace it if it is still wanted. */
static void on_reaped(pid_t pid, int status, void *userdata)
{
	struct master *m = userdata;
	struct mworker *w = NULL;
	struct worker_slot *slot;
	uint64_t now = arena_now_ms();
	bool clean, expected;
	unsigned released;
	char how[128];

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (m->workers[i].pid == pid)
			w = &m->workers[i];
	if (!w) {
		if (!upgrade_reaped(m, pid, status))
			log_debug("reaped unknown child %d", (int)pid);
		return;
	}
	slot = &m->shm->slots[w->slot];
	channel_free(w->chan);
	w->chan = NULL;
	released = peer_table_release_slot(m->peers, w->slot);
	w->conns = 0;
	w->pid = 0;
	w->ready = false;
	w->died_ms = now;
	atomic_store(&slot->clients, 0);
	atomic_store(&slot->players, 0);
	atomic_store(&slot->in_rooms, 0);
	atomic_store(&slot->pid, 0);
	atomic_store(&slot->state, WORKER_DEAD);
	atomic_fetch_add(&m->shm->deaths, 1);
	if (m->handed_off) /* the new master may take the slot */
		atomic_store(&slot->state, WORKER_EMPTY);

	clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	expected = m->state != MS_RUNNING || (w->retiring && clean);
	proc_describe_status(status, how, sizeof(how));
	if (expected)
		log_info("worker.%u (pid %d) %s", w->slot, (int)pid, how);
	else
		log_error("worker.%u (pid %d) %s; %u connections lost", w->slot, (int)pid, how,
		          released);
	admin_worker_gone(m->admin, w->slot);
	if (!expected && m->state == MS_RUNNING && w->wanted && ++w->restarts)
		m->stats.restarts[w->wedged   ? RESTART_WEDGED
		                  : w->killed ? RESTART_KILLED
		                              : RESTART_CRASH]++;
	w->killed = false;
	w->wedged = false;

	if (m->state != MS_RUNNING) {
		accept_update(m);
		return;
	}
	if (!expected &&
	    proc_crash_record(&m->crashes, now, m->cfg.crash_limit, m->cfg.crash_window_ms)) {
		log_error("%u unexpected worker exits within %u ms: crash loop; shutting down",
		          m->cfg.crash_limit, m->cfg.crash_window_ms);
		snprintf(m->status_note, sizeof(m->status_note), "crash loop: shutting down");
		m->exit_code = EXIT_FAILURE;
		master_begin_shutdown(m, false);
		return;
	}
	if (w->wanted)
		spawn(m, w->slot);
	else
		atomic_store(&slot->state, WORKER_EMPTY);
	accept_update(m);
}

static void finish_if_done(struct master *m)
{
	if (m->state == MS_RUNNING || master_workers_alive(m) > 0)
		return;
	if (m->handed_off) { /* the new master saves the same world */
		log_notice("Upgrade: handed over to pid %d; exiting", (int)m->successor);
		event_base_loopbreak(m->base);
		return;
	}
	master_persist_now(m);
	log_notice("shutdown complete");
	event_base_loopbreak(m->base);
}

static void on_child(void *userdata)
{
	struct master *m = userdata;

	proc_reap(on_reaped, m);
	finish_if_done(m);
}

/* Bring the number of wanted workers to n: fork into free slots, or retire the highest. */
void master_set_worker_count(struct master *m, unsigned n)
{
	unsigned have = master_workers_wanted(m);

	for (unsigned i = 0; i < ARENA_WORKERS_MAX && have < n; i++) {
		struct mworker *w = &m->workers[i];

		if (w->wanted || w->pid > 0 || w->foreign)
			continue; /* in use, still draining its last clients, or the old master's */
		w->wanted = true;
		have++;
		spawn(m, i);
	}
	for (unsigned i = ARENA_WORKERS_MAX; i-- > 0 && have > n;) {
		struct mworker *w = &m->workers[i];

		if (!w->wanted)
			continue;
		w->wanted = false;
		have--;
		if (w->pid <= 0) {
			atomic_store(&m->shm->slots[i].state, WORKER_EMPTY);
			continue;
		}
		w->retiring = true;
		if (w->chan)
			channel_send(w->chan, CH_DRAIN, NULL, 0, -1);
		log_info("worker.%u (pid %d) retiring: it keeps its %u clients until they leave", i,
		         (int)w->pid, w->conns);
	}
	accept_update(m);
}

/* After an upgrade: the old master's slots become ours once it emptied them, or once it is gone
 * (its workers die with it, PR_SET_PDEATHSIG): then their players are swept like a dead
 * worker's. A slot freed this way gets workers again through master_set_worker_count(). */
static void watch_foreign(struct master *m)
{
	bool gone = m->predecessor > 0 && kill(m->predecessor, 0) < 0 && errno == ESRCH;
	bool freed = false;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];
		struct worker_slot *slot = &m->shm->slots[i];
		pid_t pid;

		if (!w->foreign)
			continue;
		if (atomic_load(&slot->state) == WORKER_EMPTY) {
			w->foreign = false;
			freed = true;
			continue;
		}
		if (!gone)
			continue;
		pid = atomic_load(&slot->pid);
		if (pid > 0 && kill(pid, 0) == 0)
			continue; /* dying with its master */
		log_warning(
		    "slot %u: the old master's worker (pid %d) is gone; sweeping its players", i,
		    (int)pid);
		atomic_store(&slot->pid, 0);
		atomic_store(&slot->clients, 0);
		atomic_store(&slot->players, 0);
		atomic_store(&slot->in_rooms, 0);
		atomic_store(&slot->state, WORKER_DEAD);
		atomic_fetch_add(&m->shm->deaths, 1);
		atomic_store(&slot->state, WORKER_EMPTY);
		w->foreign = false;
		freed = true;
	}
	if (gone)
		m->predecessor = 0;
	if (freed)
		master_set_worker_count(m, m->cfg.workers);
}

static void on_supervise(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	uint64_t now = arena_now_ms();
	uint32_t limit = m->cfg.heartbeat_timeout_ms;

	if (m->state != MS_RUNNING)
		return;
	watch_foreign(m);
	if (!m->ready_notified && m->reload_ready_due && now >= m->reload_ready_due) {
		log_warning("Reload: not every new worker is ready yet; reporting ready anyway");
		m->reload_ready_due = 0;
		m->ready_notified = true;
		notify_ready();
	}
	struct mworker *stalest = NULL;
	uint64_t stalest_hb = 0;
	bool stalest_waits = false;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];
		char why[96];

		if (w->pid <= 0) {
			if (w->wanted)
				spawn(m, i); /* the last fork failed: try again */
			continue;
		}
		if (w->killed)
			continue;
		if (!w->ready) {
			if (now - w->started_ms > limit) {
				snprintf(why, sizeof(why), "did not start within %u ms", limit);
				kill_worker(w, why);
			}
			continue;
		}
		uint64_t hb = atomic_load(&m->shm->slots[i].heartbeat_ms);
		bool waits = atomic_load(&m->shm->slots[i].lock_wait_ms) != 0;

		if (!(now > hb && now - hb > limit))
			continue;
		if (!stalest || (stalest_waits && !waits) ||
		    (stalest_waits == waits && hb < stalest_hb)) {
			stalest = w;
			stalest_hb = hb;
			stalest_waits = waits;
		}
	}
	/* One wedged worker per pass, and none for a moment after a kill: workers blocked on a
	 * lock the killed one held recover (EOWNERDEAD) as soon as it is gone, and must not be
	 * shot for having waited on it. So a worker stuck elsewhere (holding the lock) goes
	 * before one that is only waiting for a lock; then the longest silent. */
	if (stalest && now >= m->wedge_hold_until_ms) {
		char why[96];

		snprintf(why, sizeof(why), "is wedged: no heartbeat for %llu ms",
		         (unsigned long long)(now - stalest_hb));
		if (stalest->pid > 0 && !stalest->killed)
			stalest->wedged = true;
		kill_worker(stalest, why);
		m->wedge_hold_until_ms = now + 2 * SUPERVISE_MS;
	}
}

/* Every worker is either beating (fresh heartbeat: younger than half the timeout) or being
 * replaced within its start deadline. */
static bool workers_healthy(const struct master *m)
{
	uint64_t now = arena_now_ms();
	uint32_t limit = m->cfg.heartbeat_timeout_ms;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		const struct mworker *w = &m->workers[i];

		if (w->pid <= 0) {
			if (w->wanted && m->state == MS_RUNNING && now - w->died_ms > limit)
				return false; /* should be running and is not coming back */
			continue;
		}
		if (w->killed)
			continue; /* being replaced */
		if (!w->ready) {
			if (now - w->started_ms > limit)
				return false;
			continue;
		}
		uint64_t hb = atomic_load(&m->shm->slots[i].heartbeat_ms);

		if (now > hb && now - hb > limit / 2)
			return false;
	}
	return true;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	notify_flush();
	if (workers_healthy(m))
		notify_watchdog();
	else
		log_debug("not petting the watchdog: a worker is unhealthy");
	master_arm_ms(m->ev_watchdog, m->watchdog_usec / 2000);
}

static void on_status(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	unsigned players = 0;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (m->workers[i].pid > 0)
			players += atomic_load(&m->shm->slots[i].players);
	notify_flush();
	if (m->refused_full || m->refused_ip) {
		log_info("refused %u connections in the last second: %u server full, %u ip limit",
		         m->refused_full + m->refused_ip, m->refused_full, m->refused_ip);
		m->refused_full = m->refused_ip = 0;
	}
	if (m->state == MS_RUNNING)
		notify_status("%u workers, %u players, %u connections%s%s", master_workers_alive(m),
		              players, peer_table_total(m->peers), m->status_note[0] ? "; " : "",
		              m->status_note);
	master_arm_ms(m->ev_status, STATUS_MS);
}

/* ---- Shutdown ----------------------------------------------------------------------------- */

static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];

		if (w->pid > 0 && !w->killed) {
			log_warning(
			    "worker.%u (pid %d) still running at the drain deadline; killing it", i,
			    (int)w->pid);
			kill(w->pid, SIGKILL);
			w->killed = true;
		}
	}
}

void master_begin_shutdown(struct master *m, bool fast)
{
	uint64_t one = 1;

	if (m->state == MS_FAST)
		return;
	upgrade_abort(m);
	if (fast || m->state == MS_DRAINING) {
		m->state = MS_FAST;
		atomic_store(&m->shm->shutdown, 2);
		log_notice("Fast shutdown: killing %u workers", master_workers_alive(m));
		for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
			struct mworker *w = &m->workers[i];

			if (w->pid > 0) {
				kill(w->pid, SIGKILL);
				w->killed = true;
			}
		}
		finish_if_done(m);
		return;
	}

	m->state = MS_DRAINING;
	notify_stopping();
	notify_status("Shutting down: draining %u workers", master_workers_alive(m));
	log_notice("Shutting down: draining %u workers (up to %u ms)", master_workers_alive(m),
	           m->cfg.drain_timeout_ms);
	accept_stop(m);
	atomic_store(&m->shm->shutdown, 1);
	if (write(m->shutdown_fd, &one, sizeof(one)) < 0)
		log_warning("Cannot signal the shutdown event: %s", strerror(errno));
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];

		if (w->chan)
			channel_send(w->chan, CH_SHUTDOWN, NULL, 0, -1);
	}
	master_arm_ms(m->ev_drain, m->cfg.drain_timeout_ms);
	finish_if_done(m);
}

void master_hand_off(struct master *m)
{
	m->handed_off = true;
	m->state = MS_DRAINING;
	accept_close_listeners(m); /* the new master has them */
	event_del(m->ev_save);
	event_del(m->ev_watchdog);
	log_notice("Upgrade: pid %d accepts now; telling %u workers goodbye (their players resume "
	           "on the new workers), up to %u ms",
	           (int)m->successor, master_workers_alive(m), m->cfg.drain_timeout_ms);
	/* Not the shutdown eventfd: that would say goodbye before a WELCOME (CH_HANDOVER). */
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];

		w->wanted = false;
		if (w->chan)
			channel_send(w->chan, CH_HANDOVER, NULL, 0, -1);
	}
	master_arm_ms(m->ev_drain, m->cfg.drain_timeout_ms);
	finish_if_done(m);
}

static void on_upgrade(void *userdata)
{
	struct master *m = userdata;
	char err[200];
	int r;

	log_notice("Received SIGUSR2: upgrading to the binary on disk");
	r = upgrade_begin(m, err, sizeof(err));
	if (r < 0)
		log_error("Upgrade refused: %s", err);
}

static void on_terminate(int signo, void *userdata)
{
	struct master *m = userdata;

	log_notice("Received %s", signo == SIGINT ? "SIGINT" : "SIGTERM");
	master_begin_shutdown(m, false);
}

/* ---- Start and stop ----------------------------------------------------------------------- */

/* Each listener's PROXY mode from the configuration; logs the listeners. */
static int set_proxy_modes(struct master *m)
{
	char err[200];
	int r = accept_proxy_modes(m, &m->cfg, m->proxy_mode, err, sizeof(err));

	if (r < 0) {
		log_error("Configuration: %s", err);
		return r;
	}
	for (unsigned i = 0; i < m->nlisteners; i++)
		log_info("Listening on %s%s%s%s", m->listeners[i].name,
		         m->socket_activated ? " (socket activation)" : "",
		         m->proxy_mode[i] ? ", PROXY protocol " : "",
		         m->proxy_mode[i] ? arena_proxy_mode_name(m->proxy_mode[i]) : "");
	return 0;
}

static int open_listeners(struct master *m)
{
	int bad = -1;
	int n = listen_from_systemd(m->listeners, &bad);

	if (n < 0) {
		log_error("Socket-activated fd %d is not usable (%s): expected listening stream "
		          "sockets",
		          bad, strerror(-n));
		return n;
	}
	if (n > 0) {
		m->nlisteners = (unsigned)n;
		m->socket_activated = true;
		log_info("Using %d socket(s) passed by systemd; listen= from the configuration is "
		         "ignored",
		         n);
		return set_proxy_modes(m);
	}
	for (unsigned i = 0; i < m->cfg.nlisten; i++) {
		int r = listen_bind(&m->cfg.listen[i], m->cfg.backlog, &m->listeners[i]);

		if (r < 0) {
			log_error("Failed to listen on %s: %s", m->cfg.listen[i].text,
			          strerror(-r));
			return r;
		}
		m->nlisteners = i + 1;
	}
	return set_proxy_modes(m);
}

static int make_world(struct master *m)
{
	size_t size = world_size(&m->cfg);
	uint64_t seed;
	int r;

	r = shm_create_fd(size, &m->shm, &m->shm_fd);
	if (r < 0) {
		log_error("Failed to create %zu bytes of shared memory: %s", size, strerror(-r));
		return r;
	}
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = arena_now_ms() ^ ((uint64_t)getpid() << 32);
	m->world = shm_world(m->shm);
	r = world_init(m->world, size, &m->cfg, seed);
	if (r < 0) {
		log_error("Failed to set up the world: %s", strerror(-r));
		return r;
	}
	m->clock.base_ms = m->shm->start_ms;
	m->clock.base_tick = 0;
	m->clock.tick_rate = m->cfg.tick_rate;
	return 0;
}

static const struct proc_signal_ops master_signal_ops = {
    .terminate = on_terminate,
    .reload = master_on_reload,
    .child = on_child,
    .upgrade = on_upgrade,
};

static int make_loop(struct master *m)
{
	int r;

	m->base = event_base_new();
	if (!m->base)
		return -ENOMEM;
	r = proc_signals_new(m->base, &master_signal_ops, m, &m->signals);
	if (r < 0)
		return r;
	m->shutdown_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->shutdown_fd < 0)
		return -errno;
	r = peer_table_new(&m->peers);
	if (r < 0)
		return r;
	r = accept_setup(m, &accept_ops);
	if (r < 0)
		return r;
	m->ev_supervise = event_new(m->base, -1, EV_PERSIST, on_supervise, m);
	m->ev_status = event_new(m->base, -1, 0, on_status, m);
	m->ev_watchdog = event_new(m->base, -1, 0, on_watchdog, m);
	m->ev_save = event_new(m->base, -1, 0, on_save, m);
	m->ev_drain = event_new(m->base, -1, 0, on_drain_deadline, m);
	if (!m->ev_supervise || !m->ev_status || !m->ev_watchdog || !m->ev_save || !m->ev_drain)
		return -ENOMEM;
	master_arm_ms(m->ev_supervise, SUPERVISE_MS);
	master_arm_ms(m->ev_status, STATUS_MS);
	master_arm_ms(m->ev_save, m->cfg.save_interval_ms);
	m->watchdog_usec = notify_watchdog_usec();
	if (m->watchdog_usec) {
		log_info("systemd watchdog every %llu ms",
		         (unsigned long long)m->watchdog_usec / 1000);
		master_arm_ms(m->ev_watchdog, m->watchdog_usec / 2000);
	}
	return 0;
}

static void master_free(struct master *m)
{
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		channel_free(m->workers[i].chan);
		m->workers[i].chan = NULL;
	}
	if (m->base)
		accept_teardown(m);
	for (unsigned i = 0; i < m->nlisteners; i++)
		m->listeners[i].fd = safe_close(m->listeners[i].fd);
	struct event *evs[] = {m->ev_supervise, m->ev_status, m->ev_watchdog, m->ev_save,
	                       m->ev_drain};
	for (size_t i = 0; i < ELEMENTSOF(evs); i++)
		if (evs[i])
			event_free(evs[i]);
	metrics_stop(m->metrics);
	admin_stop(m->admin);
	cluster_stop(m->cluster);
	proc_signals_free(m->signals);
	peer_table_free(m->peers);
	if (m->base)
		event_base_free(m->base);
	safe_close(m->shutdown_fd);
	upgrade_free_master(m);
	safe_close(m->shm_fd);
	free(m->scores);
	shm_destroy(m->shm);
	notify_close();
	master_instance = NULL;
	free(m);
}

int master_main(const struct arena_cli *cli, const struct arena_config *cfg)
{
	struct master *m = calloc(1, sizeof(*m));
	int r, code;

	if (!m) {
		log_error("Out of memory");
		return EXIT_FAILURE;
	}
	master_instance = m;
	m->cli = cli;
	m->cfg = *cfg;
	m->shutdown_fd = -1;
	m->reserve_fd = -1;
	m->shm_fd = -1;
	m->upgrade_ctl = -1;
	m->stats.started_ms = arena_now_ms();
	m->stats.config_loaded_s = (int64_t)time(NULL);
	for (unsigned i = 0; i < ARENA_LISTEN_MAX; i++)
		m->listeners[i].fd = -1;
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		m->workers[i].m = m;
		m->workers[i].slot = i;
	}
	log_set_role("master");
	log_set_level(m->cfg.log_level);

	r = upgrade_inherit(m);
	if (r > 0) {
		m->predecessor = getppid();
		r = set_proxy_modes(m);
	} else if (r == 0) {
		r = open_listeners(m);
		if (r == 0 && make_world(m) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		master_free(m);
		return r == -EINVAL ? ARENA_EX_CONFIG : EXIT_FAILURE;
	}
	master_persist_start(m);
	r = make_loop(m);
	if (r == 0 && m->cfg.redis.text[0])
		r = cluster_start(m, &m->cluster);
	if (r < 0) {
		log_error("Failed to set up the event loop: %s", strerror(-r));
		master_free(m);
		return EXIT_FAILURE;
	}
	if (m->cfg.metrics_listen.text[0]) {
		r = metrics_start(m, &m->cfg.metrics_listen, &m->metrics);
		if (r < 0) {
			log_error("Failed to serve metrics on %s: %s", m->cfg.metrics_listen.text,
			          strerror(-r));
			master_free(m);
			return EXIT_FAILURE;
		}
		log_info("Serving metrics on http://%s/metrics", m->cfg.metrics_listen.text);
	}
	if (m->cfg.admin_socket[0]) {
		r = admin_start(m, m->cfg.admin_socket, master_admin_ops(), &m->admin);
		if (r < 0)
			log_warning("No admin socket at %s: %s%s", m->cfg.admin_socket,
			            strerror(-r),
			            r == -EADDRINUSE ? " (another arenad answers there)" : "");
		else
			log_info("Admin socket at %s", m->cfg.admin_socket);
	}

	notify_status("Starting %u workers", m->cfg.workers);
	master_set_worker_count(m, m->cfg.workers);
	if (master_workers_alive(m) == 0) {
		log_error("No worker could be started");
		master_free(m);
		return EXIT_FAILURE;
	}

	event_base_dispatch(m->base);

	code = m->exit_code;
	master_free(m);
	return code;
}
