/* worker.c: the worker process: its event loop, the channel from the master, ticks, heartbeat,
 * and the drain.
 *
 * One libevent loop holds: the channel (NEW_CONN fds, SHUTDOWN, RELOAD, DRAIN), the shutdown
 * eventfd shared by all workers (the master writes it once and never reads it, so it stays
 * readable for everyone), a signalfd for SIGTERM and the test-only SIGUSR2 (libevent's own
 * signal handling is process-global and belongs to the master's base, which this process
 * inherited and must not touch), the tick timer, and a 100 ms heartbeat timer. The client
 * connections themselves live in the sessions set (sessions.h).
 *
 * Ticks follow the shared clock (channel.h, struct ch_tick_clock): tick n starts at
 * base_ms + (n - base_tick) * 1000 / tick_rate, the same instant in every worker. The timer is
 * one-shot, re-armed for the next boundary each time; a tick that starts more than one period
 * late is counted in the scoreboard and the ticks missed meanwhile are skipped, not replayed.
 *
 * Modes: RUNNING (serving, getting new fds), RETIRING (after DRAIN: no new fds, current clients
 * served until they leave, then exit 0), SHUTTING_DOWN (BYE(shutdown) to all, flush, exit 0 at
 * the latest at the drain deadline).
 */
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "admin.h"
#include "arena-build.h"
#include "lock.h"
#include "log.h"
#include "play.h"
#include "sessions.h"
#include "shm.h"
#include "tick.h"
#include "util.h"
#include "worker-cluster.h"
#include "world.h"

#define HEARTBEAT_MS 100

enum worker_mode {
	WM_RUNNING,
	WM_RETIRING,
	WM_SHUTTING_DOWN,
};

struct worker {
	struct event_base *base;
	struct arena_config cfg;
	struct session_env env;
	struct shm_header *shm;
	struct worker_slot *slot;
	struct channel *chan;
	struct sessions *sessions;
	struct tick_ctx *tick;
	struct worker_cluster *cluster; /* NULL on a single node */
	struct event *ev_tick;
	struct event *ev_heartbeat;
	struct event *ev_shutdown;
	struct event *ev_signal;
	struct event *ev_deadline;
	int shutdown_fd;
	int signal_fd;
	struct ch_tick_clock clock;
	struct ch_tick_clock next_clock;
	bool clock_pending;
	uint32_t next_tick;
	enum worker_mode mode;
	unsigned sweep_failures; /* in a row, for rate-limited logging */
	bool got_shutdown_msg;   /* the master's SHUTDOWN: nothing more comes after it */
	bool handover;           /* the shutdown is a live upgrade's (CH_HANDOVER) */
	uint64_t drain_deadline_ms;
	size_t told_goodbye;
	size_t cut_at_deadline;
	int exit_status;
};

/* ---- Health ------------------------------------------------------------------------------- */

static void heartbeat(struct worker *w, uint64_t now)
{
	unsigned repaired;

	atomic_store(&w->slot->heartbeat_ms, now);
	sessions_log_flush(now);
	repaired = world_take_repairs();
	if (repaired) {
		atomic_fetch_add(&w->shm->lock_repairs, repaired);
		log_warning("repaired %u world lock(s) left inconsistent by a dead worker",
		            repaired);
	}
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = arena_now_ms();

	heartbeat(w, now);
	if (w->cluster)
		worker_cluster_heartbeat(w->cluster, now);
}

/* ---- Ticks -------------------------------------------------------------------------------- */

static void schedule_tick(struct worker *w, uint64_t now)
{
	uint64_t due;
	struct timeval tv;

	if (w->clock_pending && w->next_tick >= w->next_clock.base_tick) {
		w->clock = w->next_clock;
		w->clock_pending = false;
	}
	due = tick_clock_time(&w->clock, w->next_tick);
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000) * 1000;
	event_add(w->ev_tick, &tv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = arena_now_ms();
	uint64_t t0 = arena_now_us(), t1, t2;
	uint64_t due = tick_clock_time(&w->clock, w->next_tick);
	uint64_t period = 1000u / w->clock.tick_rate;
	struct session **arr;
	size_t n;
	int r;

	if (now > due + period)
		atomic_fetch_add(&w->slot->late_ticks, 1);
	heartbeat(w, now);
	r = world_sweep(w->env.world, w->shm, now);
	if (r < 0 && w->sweep_failures++ % 100 == 0) /* every tick: do not flood the log */
		log_warning("world sweep failed: %s", strerror(-r));
	else if (r >= 0)
		w->sweep_failures = 0;
	arr = sessions_array(w->sessions, &n);
	t1 = arena_now_us();
	tick_run(w->tick, w->next_tick, now, arr, n, sessions_generation(w->sessions));
	atomic_fetch_add(&w->slot->ticks, 1);
	t2 = arena_now_us();
	shm_hist_observe(&w->slot->fanout_us, t2 - t1);
	shm_hist_observe(&w->slot->tick_us, t2 - t0);

	w->next_tick++;
	now = arena_now_ms();
	if (tick_clock_time(&w->clock, w->next_tick) + period <= now)
		w->next_tick =
		    tick_clock_at(&w->clock, now) + 1; /* fell behind: skip, do not replay */
	schedule_tick(w, now);
}

/* A reload may bring a new clock (tick_rate changed): take it from its base tick on. */
static void set_clock(struct worker *w, const struct ch_tick_clock *c)
{
	if (c->tick_rate == 0 || memcmp(c, &w->clock, sizeof(*c)) == 0)
		return;
	w->next_clock = *c;
	w->clock_pending = true;
	if (w->mode != WM_SHUTTING_DOWN)
		schedule_tick(w, arena_now_ms());
}

/* ---- Leaving ------------------------------------------------------------------------------ */

static void maybe_done(struct worker *w)
{
	if (w->mode == WM_RUNNING || sessions_open(w->sessions) > 0)
		return;
	/* In a daemon-wide shutdown, connections the master handed over just before it stopped
	 * may still sit in the channel, ahead of its SHUTDOWN message: take them (and say
	 * goodbye) before leaving. The drain deadline bounds the wait. */
	if (w->mode == WM_SHUTTING_DOWN && atomic_load(&w->shm->shutdown) && !w->got_shutdown_msg)
		return;
	event_base_loopexit(w->base, NULL);
}

static uint32_t worker_drain_ms(const struct arena_config *cfg)
{
	/* Finish a little before the master's deadline so it never has to SIGKILL us. */
	uint32_t margin = MIN(250u, cfg->drain_timeout_ms / 4);

	return cfg->drain_timeout_ms - margin;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	w->cut_at_deadline = sessions_open(w->sessions);
	sessions_abort_all(w->sessions);
	event_base_loopexit(w->base, NULL);
}

/* Goodbye to the sessions: every one, or in a handover the welcomed ones now and the rest right
 * after their WELCOME (sessions_goodbye_welcomed). */
static size_t say_goodbye(struct worker *w)
{
	if (w->handover)
		return sessions_goodbye_welcomed(w->sessions, ARENA_BYE_SHUTDOWN,
		                                 "server upgraded: reconnect to resume",
		                                 w->drain_deadline_ms);
	return sessions_goodbye_all(w->sessions, ARENA_BYE_SHUTDOWN, "server shutting down",
	                            w->drain_deadline_ms);
}

static void begin_shutdown(struct worker *w, const char *why)
{
	uint64_t now = arena_now_ms();
	uint32_t ms = worker_drain_ms(&w->cfg);
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	if (w->mode == WM_SHUTTING_DOWN)
		return;
	w->mode = WM_SHUTTING_DOWN;
	w->drain_deadline_ms = now + ms;
	atomic_store(&w->slot->state, WORKER_DRAINING);
	event_del(w->ev_tick);
	event_del(w->ev_shutdown);
	w->told_goodbye = say_goodbye(w);
	log_debug("shutting down (%s): %zu clients told goodbye", why, w->told_goodbye);
	event_add(w->ev_deadline, &tv);
	maybe_done(w);
}

static void on_shutdown_fd(evutil_socket_t fd, short what, void *arg)
{
	begin_shutdown(arg, "shutdown event");
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct signalfd_siginfo si;

	while (read(w->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM) {
			begin_shutdown(w, "SIGTERM");
		} else if (si.ssi_signo == SIGUSR2) {
#if ARENA_TEST_FAULTS
			if (w->cfg.fault_injection) {
				log_warning(
				    "test fault armed: the next move blocks inside its room lock");
				world_test_arm_lock_fault();
				continue;
			}
#endif
			log_debug("SIGUSR2 ignored (fault injection is off)");
		}
	}
}

/* ---- Channel ------------------------------------------------------------------------------ */

static void on_session_closed(const struct peer_addr *peer, void *userdata)
{
	struct worker *w = userdata;
	struct ch_conn_closed m;

	memset(&m, 0, sizeof(m));
	m.peer = *peer;
	if (w->chan) {
		int r = channel_send(w->chan, CH_CONN_CLOSED, &m, sizeof(m), -1);

		if (r < 0 && r != -EPIPE)
			log_warning("cannot report a closed connection to the master: %s",
			            strerror(-r));
	}
	maybe_done(w);
}

static const struct sessions_ops worker_sessions_ops = {
    .closed = on_session_closed,
};

static void handle_new_conn(struct worker *w, const struct channel_msg *m)
{
	const struct ch_new_conn *nc = m->payload;
	char text[PEER_TEXT_MAX];

	atomic_fetch_add(&w->slot->accepted, 1);
	if (m->truncated) {
		/* The kernel could not give us the socket (fd limit): it is gone; say so. */
		log_warning("connection from %s lost: its socket could not be received (fd limit?)",
		            peer_format(&nc->peer, text));
		on_session_closed(&nc->peer, w);
		return;
	}
	if (sessions_add(w->sessions, m->fd, &nc->peer) < 0) {
		log_warning("cannot serve %s: out of memory", peer_format(&nc->peer, text));
		return;
	}
	if (w->mode == WM_SHUTTING_DOWN) /* crossed the SHUTDOWN in flight: goodbye at once */
		w->told_goodbye += say_goodbye(w);
}

static void on_channel_message(struct channel *c, const struct channel_msg *m, void *userdata)
{
	struct worker *w = userdata;

	switch (m->type) {
	case CH_NEW_CONN:
		handle_new_conn(w, m);
		break;
	case CH_HANDOVER:
	case CH_SHUTDOWN:
		if (m->type == CH_HANDOVER)
			w->handover = true;
		w->got_shutdown_msg = true;
		begin_shutdown(w, "told by the master");
		maybe_done(
		    w); /* if the eventfd came first, this may be the last thing we wait for */
		break;
	case CH_RELOAD: {
		const struct ch_reload *r = m->payload;

		w->cfg = r->cfg; /* sessions read limits through env.cfg, which points here */
		log_set_level(w->cfg.log_level);
		set_clock(w, &r->clock);
		log_debug("configuration reloaded");
		break;
	}
	case CH_ADMIN: {
		struct ch_admin_done done = {.req = ((const struct ch_admin *)m->payload)->req};

		done.result = admin_worker_run(w->env.world, w->sessions, m->payload, m->fd);
		if (m->fd >= 0)
			close(m->fd);
		if (channel_send(w->chan, CH_ADMIN_DONE, &done, sizeof(done), -1) < 0)
			log_warning("cannot answer an admin request");
		break;
	}
	case CH_CHAT_IN:
	case CH_BOARD:
	case CH_RESUME_ANSWER:
		if (w->cluster)
			worker_cluster_message(w->cluster, m);
		break;
	case CH_DRAIN:
		if (w->mode == WM_RUNNING) {
			w->mode = WM_RETIRING;
			atomic_store(&w->slot->state, WORKER_DRAINING);
			log_info("retiring: serving %zu clients until they leave",
			         sessions_open(w->sessions));
			maybe_done(w);
		}
		break;
	default:
		/* channel.c only delivers accepted types; anything else is a bug: stop. */
		log_error("unexpected channel message %u; exiting", m->type);
		w->exit_status = EXIT_FAILURE;
		event_base_loopexit(w->base, NULL);
		break;
	}
}

static void on_channel_failed(struct channel *c, int error, const char *text, void *userdata)
{
	struct worker *w = userdata;

	if (error == -EPIPE) {
		log_notice("the master went away; exiting");
	} else {
		log_error("channel to the master failed: %s (%s); exiting", text, strerror(-error));
		w->exit_status = EXIT_FAILURE;
	}
	sessions_abort_all(w->sessions);
	event_base_loopexit(w->base, NULL);
}

static const struct channel_ops worker_channel_ops = {
    .message = on_channel_message,
    .failed = on_channel_failed,
};

/* ---- Set-up ------------------------------------------------------------------------------- */

/* How many client connections fit under RLIMIT_NOFILE next to what is open now. */
static uint32_t connection_capacity(void)
{
	struct rlimit rl;
	unsigned long open_fds = 0, limit;
	DIR *d;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT32_MAX;
	limit = rl.rlim_cur;
	d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				open_fds++;
		closedir(d);
		if (open_fds > 0)
			open_fds--; /* the directory's own fd */
	} else {
		for (unsigned long fd = 0; fd < MIN(limit, 4096ul); fd++)
			if (fcntl((int)fd, F_GETFD) >= 0)
				open_fds++;
	}
	/* A few spare fds for libevent internals and the fd being received. */
	if (limit <= open_fds + 8)
		return 0;
	return (uint32_t)MIN(limit - open_fds - 8, (unsigned long)UINT32_MAX);
}

static int setup_signals(struct worker *w)
{
	struct sigaction sa;
	sigset_t mask;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN; /* the master handles these for the whole group */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	w->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->signal_fd < 0)
		return -errno;
	return 0;
}

static void worker_teardown(struct worker *w)
{
	sessions_free(w->sessions);
	w->sessions = NULL;
	worker_cluster_free(w->cluster);
	w->cluster = NULL;
	if (w->tick)
		tick_free(w->tick);
	channel_free(w->chan);
	w->chan = NULL;
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_heartbeat)
		event_free(w->ev_heartbeat);
	if (w->ev_shutdown)
		event_free(w->ev_shutdown);
	if (w->ev_signal)
		event_free(w->ev_signal);
	if (w->ev_deadline)
		event_free(w->ev_deadline);
	if (w->base)
		event_base_free(w->base);
	safe_close(w->signal_fd);
	safe_close(w->shutdown_fd);
}

static int worker_setup(struct worker *w, const struct worker_args *a, int channel_fd)
{
	struct timeval hb = {.tv_sec = 0, .tv_usec = HEARTBEAT_MS * 1000};
	uint64_t now = arena_now_ms();
	int r;

	r = setup_signals(w);
	if (r < 0) {
		log_error("cannot set up signals: %s", strerror(-r));
		return r;
	}
	w->base = event_base_new();
	if (!w->base) {
		log_error("cannot create the event loop");
		return -ENOMEM;
	}
	r = channel_new(w->base, channel_fd, CH_MASK_WORKER, &worker_channel_ops, w,
	                &w->slot->ctrunc, &w->chan);
	if (r < 0) {
		safe_close(channel_fd);
		log_error("cannot set up the channel: %s", strerror(-r));
		return r;
	}
	r = sessions_new(w->base, &w->env, &worker_sessions_ops, w, &w->sessions);
	if (r < 0) {
		log_error("cannot set up sessions: %s", strerror(-r));
		return r;
	}
	if (w->cfg.redis.text[0] &&
	    worker_cluster_new(&w->env, w->chan, w->sessions, w->shm, &w->cluster) < 0) {
		log_error("cannot set up the cluster hooks: out of memory");
		return -ENOMEM;
	}
	r = tick_new(&w->env, &w->tick);
	if (r == 0)
		w->env.tick = w->tick;
	if (r < 0) {
		log_error("cannot set up ticks: %s", strerror(-r));
		return r;
	}
	w->ev_tick = event_new(w->base, -1, 0, on_tick, w);
	w->ev_heartbeat = event_new(w->base, -1, EV_PERSIST, on_heartbeat, w);
	w->ev_shutdown = event_new(w->base, w->shutdown_fd, EV_READ, on_shutdown_fd, w);
	w->ev_signal = event_new(w->base, w->signal_fd, EV_READ | EV_PERSIST, on_signal, w);
	w->ev_deadline = event_new(w->base, -1, 0, on_deadline, w);
	if (!w->ev_tick || !w->ev_heartbeat || !w->ev_shutdown || !w->ev_signal ||
	    !w->ev_deadline || event_add(w->ev_heartbeat, &hb) < 0 ||
	    event_add(w->ev_shutdown, NULL) < 0 || event_add(w->ev_signal, NULL) < 0) {
		log_error("cannot set up the event loop");
		return -ENOMEM;
	}
	w->next_tick = tick_clock_at(&w->clock, now) + 1;
	schedule_tick(w, now);
	return 0;
}

int worker_main(void *args, int channel_fd)
{
	const struct worker_args *a = args;
	struct worker *w;
	struct ch_ready ready;
	char role[32];
	int r, status;

	w = calloc(1, sizeof(*w));
	if (!w) {
		safe_close(channel_fd);
		safe_close(a->shutdown_fd);
		return EXIT_FAILURE;
	}
	w->cfg = *a->cfg;
	w->shm = a->shm;
	w->slot = &a->shm->slots[a->slot];
	w->clock = a->clock;
	w->shutdown_fd = a->shutdown_fd;
	w->signal_fd = -1;
	w->env.world = shm_world(a->shm);
	w->env.shm = a->shm;
	w->env.cfg = &w->cfg;
	w->env.slot = a->slot;
	w->env.gen = a->gen;
	w->env.stats = w->slot;
	w->env.game = &play_game;

	arena_lock_set_wait_flag(&w->slot->lock_wait_ms);
	snprintf(role, sizeof(role), "worker.%u", a->slot);
	log_set_role(role);
	log_set_level(w->cfg.log_level);
	heartbeat(w, arena_now_ms());

	r = worker_setup(w, a, channel_fd);
	if (r < 0) {
		worker_teardown(w);
		free(w);
		return EXIT_FAILURE;
	}

	r = world_sweep(w->env.world, w->shm, arena_now_ms());
	if (r < 0)
		log_warning("world sweep failed: %s", strerror(-r));
	memset(&ready, 0, sizeof(ready));
	ready.max_conns = connection_capacity();
	heartbeat(w, arena_now_ms());
	atomic_store(&w->slot->state, WORKER_READY);
	r = channel_send(w->chan, CH_READY, &ready, sizeof(ready), -1);
	if (r < 0) {
		log_error("cannot tell the master we are ready: %s", strerror(-r));
		worker_teardown(w);
		free(w);
		return EXIT_FAILURE;
	}
	log_debug("ready (room for %u connections)", ready.max_conns);

	event_base_dispatch(w->base);

	if (w->mode == WM_SHUTTING_DOWN)
		log_info(
		    "shutdown complete: %zu clients told goodbye, %zu cut at the drain deadline",
		    w->told_goodbye, w->cut_at_deadline);
	else if (w->mode == WM_RETIRING && w->exit_status == 0)
		log_info("retired: all clients left");
	status = w->exit_status;
	worker_teardown(w);
	free(w);
	return status;
}
