/* master-internal.h: the master's state, shared by master.c (lifecycle, supervision,
 * shutdown), master-reload.c (reload, the admin socket's requests), accept.c (accepting and
 * dispatching connections) and the master's other files. Not a public interface.
 *
 * The dependency points one way: master.c calls accept.c; accept.c calls back only through
 * struct accept_ops, which master.c fills.
 */
#ifndef ARENA_MASTER_INTERNAL_H
#define ARENA_MASTER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena_config.h"
#include "channel.h"
#include "listen.h"
#include "peer.h"
#include "proc.h"
#include "shm.h"

struct event;
struct event_base;
struct world;
struct world_score;

/* The master's view of one scoreboard slot. */
struct mworker {
	struct master *m;
	unsigned slot;
	pid_t pid;               /* 0: no process in this slot */
	struct channel *chan;    /* NULL once the channel failed or the process is gone */
	bool wanted;             /* part of the configured worker set: replaced if it exits */
	bool ready;              /* READY received from this process */
	bool retiring;           /* told to DRAIN (surplus after a reload) */
	bool killed;             /* SIGKILLed by us (wedged, no start, bad channel) */
	bool wedged;             /* ... because its heartbeat stopped */
	unsigned restarts;       /* replacements of this slot's worker after unexpected exits */
	uint64_t started_ms;     /* fork time */
	uint64_t died_ms;        /* last exit (0: never) */
	uint32_t conns;          /* connections handed over and not yet reported closed */
	uint32_t cap;            /* how many it can hold (from READY) */
	unsigned spawn_failures; /* forks failed in a row (retried; logged now and then) */
	bool foreign;            /* the slot belongs to the master we took over from (upgrade) */
};

enum master_state {
	MS_RUNNING,
	MS_DRAINING, /* graceful shutdown: waiting for workers */
	MS_FAST,     /* second signal: workers SIGKILLed, waiting to reap */
};

/* Why accepting is paused (bits); accepting runs when none is set. */
enum {
	ACCEPT_NO_WORKER = 1u << 0, /* no worker READY yet */
	ACCEPT_FD_LIMIT = 1u << 1,  /* back-off: EMFILE/ENFILE or an unexpected accept error */
	ACCEPT_CONGESTED = 1u << 2, /* every channel full: connections waiting in `pending` */
	ACCEPT_STOPPED = 1u << 3,   /* shutting down */
};

#define MASTER_PENDING_MAX 64
#define PROXY_WAIT_MAX     4096 /* connections reading their PROXY header at once */

struct accept_src {
	struct master *m;
	unsigned index; /* of the listener */
};
struct proxy_wait;

/* Why a connection was refused, for the metrics (docs/DEPLOY.md, "Metrics"). */
enum reject_why {
	REJECT_FULL,      /* max_clients */
	REJECT_IP,        /* max_clients_per_ip */
	REJECT_NO_WORKER, /* no worker could take it (all full, congested for too long, none) */
	REJECT_FD_LIMIT,  /* the master was out of file descriptors */
	REJECT_SHUTDOWN,  /* shutting down */
	REJECT_PROXY_BAD, /* PROXY header malformed, too long, wrong version, cut short */
	REJECT_PROXY_UNTRUSTED, /* PROXY header (or a PROXY listener) from outside proxy_trusted */
	REJECT_PROXY_TIMEOUT,   /* PROXY header not whole within handshake_timeout */
	REJECT_N,
};

/* Why a worker was replaced. */
enum restart_why {
	RESTART_CRASH,  /* it exited or died on its own */
	RESTART_WEDGED, /* killed: no heartbeat */
	RESTART_KILLED, /* killed for another cause: no READY in time, a broken channel */
	RESTART_N,
};

/* The master's own counters, since start. Plain fields: only the master's thread touches them. */
struct master_stats {
	uint64_t accepted; /* connections handed to a worker (each one fd handoff) */
	uint64_t rejected[REJECT_N];
	uint64_t restarts[RESTART_N];
	uint64_t reloads_ok, reloads_failed;
	uint64_t upgrades_failed;
	uint64_t saves_ok, saves_failed;
	uint64_t started_ms;     /* CLOCK_MONOTONIC */
	int64_t config_loaded_s; /* CLOCK_REALTIME of the last good load */
};

struct metrics;

struct pending_conn {
	int fd;
	struct peer_addr peer;
	uint64_t since_ms;
};

struct master {
	struct event_base *base;
	const struct arena_cli *cli;
	struct arena_config cfg; /* in force (restart-only keys keep their start values) */
	enum master_state state;
	int exit_code;

	struct shm_header *shm;
	struct world *world;
	struct ch_tick_clock clock;
	int shutdown_fd; /* eventfd every worker watches */

	struct listener listeners[ARENA_LISTEN_MAX];
	struct event *ev_accept[ARENA_LISTEN_MAX];
	struct accept_src accept_src[ARENA_LISTEN_MAX];
	enum arena_proxy_mode proxy_mode[ARENA_LISTEN_MAX]; /* per listener, from the config */
	unsigned nlisteners;
	bool socket_activated;
	unsigned accept_paused; /* ACCEPT_* bits */
	bool accept_on;         /* events currently added */
	int reserve_fd;         /* /dev/null, given up to accept one client at EMFILE */
	uint32_t backoff_ms;
	struct event *ev_accept_resume;
	struct pending_conn pending[MASTER_PENDING_MAX];
	unsigned npending;
	struct event *ev_pending;
	struct proxy_wait *proxy_waits; /* proxywait.c: reading their PROXY header */
	unsigned nproxy_waits;
	struct peer_table *peers;
	const struct accept_ops *accept_ops;
	unsigned refused_full, refused_ip; /* since the last status tick, for one summary line */

	struct mworker workers[ARENA_WORKERS_MAX];
	struct proc_signals *signals;
	struct proc_crash_guard crashes;
	bool ready_notified;
	uint64_t reload_ready_due; /* a reload's READY=1 waits for new workers until then */
	char status_note[160];     /* e.g. the last reload failure, shown in STATUS */

	uint64_t wedge_hold_until_ms; /* no wedge kill before this: give lock waiters a moment */
	struct event *ev_supervise;
	struct event *ev_status;
	struct event *ev_watchdog;
	struct event *ev_save;
	struct event *ev_drain;
	uint64_t watchdog_usec;

	bool persist_on;
	struct world_score *scores;
	size_t scores_cap;

	struct master_stats stats;
	struct metrics *metrics; /* metrics.c: the /metrics listener, NULL when off */
	struct admin *admin;     /* admin.c: the admin socket, NULL when off */
	struct cluster *cluster; /* cluster.c: the Redis link, NULL on a single node */

	/* upgrade.c: a live upgrade (SIGUSR2) */
	int shm_fd;              /* the memfd behind shm, handed to a new master */
	struct upgrade *upgrade; /* old side: the new master being started, NULL if none */
	pid_t successor;         /* old side: the new master we handed over to */
	bool handed_off;         /* old side: draining after the handover */
	bool adopted;            /* new side: listeners and world came from the old master */
	pid_t predecessor;       /* new side: the old master, while its slots are foreign */
	int upgrade_ctl;         /* new side: the handshake socket until "go", else -1 */
	struct event *ev_upgrade;
};

/* master.c: hand over to the new master (upgrade.c, after its "ready"): stop accepting, tell
 * the workers goodbye, exit once they are gone. */
void master_hand_off(struct master *m);
/* master.c, for master-reload.c: (re)arm a one-shot timer ms from now; the workers alive and
 * the workers wanted; fork or retire workers until n are wanted; send READY=1 once every
 * wanted worker is ready (start-up and the end of a reload); start the graceful shutdown
 * (fast: kill the workers instead). */
void master_arm_ms(struct event *ev, uint64_t ms);
unsigned master_workers_alive(const struct master *m);
unsigned master_workers_wanted(const struct master *m);
void master_set_worker_count(struct master *m, unsigned n);
void master_notify_ready_if_done(struct master *m);
void master_begin_shutdown(struct master *m, bool fast);

/* master-reload.c: reload the configuration (SIGHUP, or arenactl reload: `why`). 0, or a
 * negative errno with the reason in ret_err->text. */
struct arena_config_error;
int master_reload(struct master *m, const char *why, struct arena_config_error *ret_err);
/* The SIGHUP handler (proc.c's signal table): master_reload(userdata, "SIGHUP"). */
void master_on_reload(void *userdata);
/* The admin socket's reload, drain-worker and shutdown requests, for admin_start(). */
struct admin_ops;
const struct admin_ops *master_admin_ops(void);

/* accept.c: called by master.c, never calling it back but through these. */
struct accept_ops {
	/* Worker w cannot take connections (its channel failed for cause `why`): the master
	 * kills and replaces it. Runs inside the accept path; must not re-enter it but through
	 * accept_update(). */
	void (*worker_failed)(struct mworker *w, const char *why);
};

/* Open the accept events on m's listeners. ops must outlive m. 0 or a negative errno. */
int accept_setup(struct master *m, const struct accept_ops *ops);
void accept_teardown(struct master *m);
/* Recompute whether accept events should be on (after any ACCEPT_* or worker change). */
void accept_update(struct master *m);
/* Stop accepting and close our listener fds; connections already accepted go on as usual. */
void accept_close_listeners(struct master *m);
/* Close the listeners for good and refuse connections still waiting for a worker. */
void accept_stop(struct master *m);
/* Admit (hand to a worker) or refuse one accepted connection from peer. Takes fd. */
void accept_dispatch(struct master *m, int fd, const struct peer_addr *peer);
/* Refuse fd with the BYE for `why` and count it. Takes fd. */
void accept_refuse(struct master *m, int fd, enum reject_why why);
/* The PROXY mode of each of m's listeners under cfg into ret; -EINVAL (err filled) if cfg's
 * list does not match the listeners. */
int accept_proxy_modes(const struct master *m, const struct arena_config *cfg,
                       enum arena_proxy_mode ret[ARENA_LISTEN_MAX], char *err, size_t errlen);

/* proxywait.c: read the PROXY header of fd (accepted from `self` on a listener in `mode`),
 * then accept_dispatch() it under the real client's address, or close and count it. */
void proxy_wait_begin(struct master *m, int fd, const struct peer_addr *self,
                      enum arena_proxy_mode mode);
/* Close every connection still reading its header. */
void proxy_wait_stop(struct master *m);

/* master-persist.c: load the saved scores (before the workers start); save them now. */
void master_persist_start(struct master *m);
void master_persist_now(struct master *m);

/* metrics.c: the Prometheus endpoint (metrics_listen), served from the master's loop. It reads
 * the scoreboard's atomics, the master's counters and world_rooms_open(); it never takes a lock
 * in shared memory. */
struct evbuffer;
/* Bind `where` and serve GET /metrics from m's loop. 0 and *ret, or a negative errno. */
int metrics_start(struct master *m, const struct arena_listen *where, struct metrics **ret);
void metrics_stop(struct metrics *mx); /* NULL is fine */
/* Append the exposition text (format 0.0.4) to o. */
int metrics_render(struct master *m, struct evbuffer *o);

#endif /* ARENA_MASTER_INTERNAL_H */
