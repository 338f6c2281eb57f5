/* master-reload.c: the master's configuration reload and the admin socket's requests.
 *
 * A reload (SIGHUP, or `arenactl reload`) loads the file again with the same command line. A
 * file that does not load changes nothing: "Reload failed" is logged and STATUS= says so. A
 * good one keeps the running values of the keys that need a restart (named in a warning),
 * moves the tick clock to a boundary at least 100 ms ahead if tick_rate changed, sends the
 * new configuration to every worker (CH_RELOAD) and grows or shrinks the worker set; READY=1
 * ends the reload once every wanted worker is ready. The admin socket's drain-worker and
 * shutdown requests are here too, as admin.c's struct admin_ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "log.h"
#include "master-internal.h"
#include "notify.h"
#include "util.h"

/* ---- Reload ------------------------------------------------------------------------------- */

/* Keep the running values of keys that need a restart; list the ones that changed. */
static void keep_restart_only(const struct master *m, struct arena_config *nc, char *changed,
                              size_t len)
{
	const struct arena_config *oc = &m->cfg;
	size_t used = 0;

#define RESTART_ONLY(cond, name)                                                                   \
	do {                                                                                       \
		if (cond) {                                                                        \
			int k =                                                                    \
			    snprintf(changed + used, len - used, "%s%s", used ? ", " : "", name);  \
			if (k > 0 && (size_t)k < len - used)                                       \
				used += (size_t)k;                                                 \
		}                                                                                  \
	} while (0)

	bool listen_changed = nc->nlisten != oc->nlisten;

	for (unsigned i = 0; !listen_changed && i < nc->nlisten; i++)
		listen_changed = strcmp(nc->listen[i].text, oc->listen[i].text) != 0;
	RESTART_ONLY(listen_changed && !m->socket_activated, "listen");
	RESTART_ONLY(nc->backlog != oc->backlog, "backlog");
	RESTART_ONLY(strcmp(nc->state_dir, oc->state_dir) != 0, "state_dir");
	RESTART_ONLY(strcmp(nc->metrics_listen.text, oc->metrics_listen.text) != 0,
	             "metrics_listen");
	RESTART_ONLY(strcmp(nc->admin_socket, oc->admin_socket) != 0, "admin_socket");
	RESTART_ONLY(strcmp(nc->redis.text, oc->redis.text) != 0, "redis");
	RESTART_ONLY(nc->max_players != oc->max_players, "max_players");
	RESTART_ONLY(nc->max_rooms != oc->max_rooms, "max_rooms");
	RESTART_ONLY(nc->room_width != oc->room_width, "room_width");
	RESTART_ONLY(nc->room_height != oc->room_height, "room_height");
	RESTART_ONLY(nc->room_capacity != oc->room_capacity, "room_capacity");
	RESTART_ONLY(nc->gems_per_room != oc->gems_per_room, "gems_per_room");
	RESTART_ONLY(nc->fault_injection != oc->fault_injection, "fault_injection");
#undef RESTART_ONLY

	memcpy(nc->listen, oc->listen, sizeof(nc->listen));
	nc->nlisten = oc->nlisten;
	nc->backlog = oc->backlog;
	memcpy(nc->state_dir, oc->state_dir, sizeof(nc->state_dir));
	nc->metrics_listen = oc->metrics_listen;
	memcpy(nc->admin_socket, oc->admin_socket, sizeof(nc->admin_socket));
	nc->redis = oc->redis;
	nc->max_players = oc->max_players;
	nc->max_rooms = oc->max_rooms;
	nc->room_width = oc->room_width;
	nc->room_height = oc->room_height;
	nc->room_capacity = oc->room_capacity;
	nc->gems_per_room = oc->gems_per_room;
	nc->fault_injection = oc->fault_injection;
	if (used == 0 && len)
		changed[0] = '\0';
}

int master_reload(struct master *m, const char *why, struct arena_config_error *ret_err)
{
	struct arena_config nc;
	struct arena_config_error err;
	struct ch_reload msg;
	enum arena_proxy_mode modes[ARENA_LISTEN_MAX];
	char changed[256];
	unsigned old_workers = master_workers_wanted(m);
	int r;

	if (m->state != MS_RUNNING) {
		log_notice("Received %s while shutting down; ignored", why);
		snprintf(ret_err->text, sizeof(ret_err->text), "shutting down");
		return -EBUSY;
	}
	log_notice("Received %s: reloading the configuration", why);
	notify_reloading();
	memset(&err, 0, sizeof(err));
	r = arena_config_load(m->cli, &nc, &err);
	if (r == 0)
		r = accept_proxy_modes(m, &nc, modes, err.text, sizeof(err.text));
	if (r < 0) {
		m->stats.reloads_failed++;
		log_error("Reload failed: %s; keeping the current configuration", err.text);
		snprintf(m->status_note, sizeof(m->status_note), "reload failed: %.140s", err.text);
		notify_status("%u workers; %s", master_workers_alive(m), m->status_note);
		notify_ready();
		*ret_err = err;
		return r;
	}
	memcpy(m->proxy_mode, modes, sizeof(modes));
	keep_restart_only(m, &nc, changed, sizeof(changed));
	if (changed[0])
		log_warning("Reload: changed settings that need a restart, not applied: %s",
		            changed);

	if (nc.tick_rate != m->cfg.tick_rate) {
		/* New rate from a tick boundary at least 100 ms ahead, so every worker gets the
		 * message before it applies and tick numbers keep increasing. */
		uint64_t now = arena_now_ms();
		uint32_t t = tick_clock_at(&m->clock, now) + 1;

		while (tick_clock_time(&m->clock, t) < now + 100)
			t++;
		m->clock.base_ms = tick_clock_time(&m->clock, t);
		m->clock.base_tick = t;
		m->clock.tick_rate = nc.tick_rate;
	}
	if (nc.save_interval_ms != m->cfg.save_interval_ms)
		master_arm_ms(m->ev_save, nc.save_interval_ms);
	m->cfg = nc;
	log_set_level(m->cfg.log_level);

	memset(&msg, 0, sizeof(msg));
	msg.cfg = m->cfg;
	msg.clock = m->clock;
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];

		if (w->chan && channel_send(w->chan, CH_RELOAD, &msg, sizeof(msg), -1) < 0)
			log_warning("Cannot send the new configuration to worker.%u", i);
	}
	master_set_worker_count(m, m->cfg.workers);
	m->status_note[0] = '\0';
	m->stats.reloads_ok++;
	m->stats.config_loaded_s = (int64_t)time(NULL);
	log_notice("Reloaded the configuration: %u workers (was %u)", m->cfg.workers, old_workers);
	notify_status("%u workers; configuration reloaded", master_workers_wanted(m));
	/* READY=1 ends the reload once the configuration is fully in force: new workers too
	 * (bounded by heartbeat_timeout, after which a worker that did not start is replaced). */
	m->ready_notified = false;
	m->reload_ready_due = arena_now_ms() + m->cfg.heartbeat_timeout_ms;
	master_notify_ready_if_done(m);
	return 0;
}

void master_on_reload(void *userdata)
{
	struct arena_config_error err;

	master_reload(userdata, "SIGHUP", &err);
}

/* ---- The admin socket's requests (admin.c calls these through struct admin_ops) ---------- */

static int admin_reload(struct master *m, char *err, size_t errlen)
{
	struct arena_config_error e;
	int r = master_reload(m, "an admin reload", &e);

	if (r < 0)
		snprintf(err, errlen, "%s", e.text);
	return r;
}

static int admin_drain_worker(struct master *m, unsigned slot, char *err, size_t errlen)
{
	struct mworker *w = &m->workers[slot];

	if (m->state != MS_RUNNING) {
		snprintf(err, errlen, "shutting down");
		return -EBUSY;
	}
	if (!w->wanted || w->pid <= 0 || w->retiring || w->killed) {
		snprintf(err, errlen, "worker %u is not a running worker (see status)", slot);
		return -ENOENT;
	}
	w->wanted = false;
	w->retiring = true;
	if (w->chan)
		channel_send(w->chan, CH_DRAIN, NULL, 0, -1);
	log_notice("worker.%u (pid %d) drained by an admin request: it keeps its %u clients until "
	           "they leave",
	           slot, (int)w->pid, w->conns);
	master_set_worker_count(m, m->cfg.workers); /* the replacement, in a free slot */
	return 0;
}

static void admin_shutdown(struct master *m, uint32_t deadline_ms)
{
	log_notice("Shutdown requested over the admin socket");
	if (deadline_ms)
		m->cfg.drain_timeout_ms = deadline_ms;
	master_begin_shutdown(m, false);
}

static const struct admin_ops admin_ops = {
    .reload = admin_reload,
    .drain_worker = admin_drain_worker,
    .shutdown = admin_shutdown,
};

const struct admin_ops *master_admin_ops(void)
{
	return &admin_ops;
}
