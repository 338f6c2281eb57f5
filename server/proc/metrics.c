/* metrics.c: the master's Prometheus endpoint (metrics_listen = ADDR:PORT, GET /metrics).
 *
 * libevent's evhttp serves it from the master's own loop. A scrape reads three things, none of
 * them under a lock: the master's counters (struct master_stats, its own thread), every used
 * scoreboard slot (atomics each worker adds to: frames, bytes, ERRORs, BYEs, tick histograms),
 * and world_rooms_open() (one atomic). So a scrape costs the same with 10 or 10,000 players,
 * touches no room lock and cannot be blocked by a wedged worker. The text is format 0.0.4: one
 * HELP and TYPE line per family, counters end in _total, histograms are cumulative with a +Inf
 * bucket equal to _count. Per-worker series carry worker="N" (the scoreboard slot; a replaced
 * worker's counters carry on in its slot).
 *
 * The HTTP side is bounded: GET and HEAD only, 8 KiB of headers, no body, a 5 s timeout for a
 * slow client; any other path is a 404. The endpoint has no authentication: it is meant for
 * loopback or a private network (docs/DEPLOY.md).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena-build.h"
#include "arena_proto.h"
#include "master-internal.h"
#include "util.h"
#include "world.h"

struct metrics {
	struct evhttp *http;
};

static const char *const reject_names[REJECT_N] = {
    [REJECT_FULL] = "server_full",
    [REJECT_IP] = "ip_limit",
    [REJECT_NO_WORKER] = "no_worker",
    [REJECT_FD_LIMIT] = "fd_limit",
    [REJECT_SHUTDOWN] = "shutting_down",
    [REJECT_PROXY_BAD] = "proxy_bad",
    [REJECT_PROXY_UNTRUSTED] = "proxy_untrusted",
    [REJECT_PROXY_TIMEOUT] = "proxy_timeout",
};

static const char *const restart_names[RESTART_N] = {
    [RESTART_CRASH] = "crash",
    [RESTART_WEDGED] = "wedged",
    [RESTART_KILLED] = "killed",
};

static void family(struct evbuffer *o, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct evbuffer *o, const char *name, const char *type, const char *help,
                unsigned long long v)
{
	family(o, name, type, help);
	evbuffer_add_printf(o, "%s %llu\n", name, v);
}

/* Slots that ever held a worker (gen > 0), in slot order. */
static unsigned used_slots(const struct master *m, unsigned ret[ARENA_WORKERS_MAX])
{
	unsigned n = 0;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (atomic_load(&m->shm->slots[i].gen) > 0)
			ret[n++] = i;
	return n;
}

typedef unsigned long long (*slot_value)(const struct worker_slot *s);

/* A family with one series per used slot. */
static void per_worker(struct evbuffer *o, const struct master *m, const unsigned *slots,
                       unsigned n, const char *name, const char *type, const char *help,
                       slot_value get)
{
	family(o, name, type, help);
	for (unsigned i = 0; i < n; i++)
		evbuffer_add_printf(o, "%s{worker=\"%u\"} %llu\n", name, slots[i],
		                    get(&m->shm->slots[slots[i]]));
}

#define SLOT_GETTER(field)                                                                         \
	static unsigned long long get_##field(const struct worker_slot *s)                         \
	{                                                                                          \
		return (unsigned long long)atomic_load_explicit(&s->field, memory_order_relaxed);  \
	}
SLOT_GETTER(clients)
SLOT_GETTER(players)
SLOT_GETTER(in_rooms)
SLOT_GETTER(accepted)
SLOT_GETTER(ctrunc)
SLOT_GETTER(bytes_in)
SLOT_GETTER(bytes_out)
SLOT_GETTER(inputs_dropped)
SLOT_GETTER(ticks)
SLOT_GETTER(late_ticks)
#undef SLOT_GETTER

/* frames by type: client types 0x01..0x07 in, server types 0x81..0x89 out. */
static void frames(struct evbuffer *o, const struct master *m, const unsigned *slots, unsigned n,
                   bool in)
{
	const char *name = in ? "arena_frames_received_total" : "arena_frames_sent_total";

	family(o, name, "counter",
	       in ? "Frames decoded from clients, by message type."
	          : "Frames queued to clients, by message type.");
	for (unsigned i = 0; i < n; i++) {
		const struct worker_slot *s = &m->shm->slots[slots[i]];
		unsigned first = in ? ARENA_HELLO : ARENA_WELCOME;
		unsigned last = in ? ARENA_LEADERBOARD_REQ : ARENA_BYE;

		for (unsigned t = first; t <= last; t++) {
			const _Atomic uint64_t *c = in ? &s->frames_in_type[shm_type_index(t)]
			                               : &s->frames_out_type[shm_type_index(t)];

			evbuffer_add_printf(
			    o, "%s{worker=\"%u\",type=\"%s\"} %llu\n", name, slots[i],
			    arena_msg_type_name((int)t),
			    (unsigned long long)atomic_load_explicit(c, memory_order_relaxed));
		}
	}
}

/* ERRORs by code, or kicks (BYE other than shutdown) by reason. */
static void coded(struct evbuffer *o, const struct master *m, const unsigned *slots, unsigned n,
                  bool errors)
{
	const char *name = errors ? "arena_errors_sent_total" : "arena_kicks_total";

	family(o, name, "counter",
	       errors ? "ERROR messages sent to clients, by code."
	              : "Clients told BYE by a worker for a cause other than shutdown, by reason.");
	for (unsigned i = 0; i < n; i++) {
		const struct worker_slot *s = &m->shm->slots[slots[i]];

		for (unsigned c = 1; c < SHM_CODE_SLOTS; c++) {
			const char *label =
			    errors ? arena_error_name((int)c) : arena_bye_name((int)c);

			if (strcmp(label, "unknown") == 0 || (!errors && c == ARENA_BYE_SHUTDOWN))
				continue;
			evbuffer_add_printf(o, "%s{worker=\"%u\",%s=\"%s\"} %llu\n", name, slots[i],
			                    errors ? "code" : "reason", label,
			                    (unsigned long long)atomic_load_explicit(
			                        errors ? &s->errors_sent[c] : &s->byes_sent[c],
			                        memory_order_relaxed));
		}
	}
}

static void histogram(struct evbuffer *o, const struct master *m, const unsigned *slots, unsigned n,
                      const char *name, const char *help, bool fanout)
{
	family(o, name, "histogram", help);
	for (unsigned i = 0; i < n; i++) {
		const struct worker_slot *s = &m->shm->slots[slots[i]];
		const struct shm_hist *h = fanout ? &s->fanout_us : &s->tick_us;
		unsigned long long cum = 0;

		for (unsigned b = 0; b < SHM_HIST_BUCKETS; b++) {
			cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
			if (b < SHM_HIST_BUCKETS - 1)
				evbuffer_add_printf(o, "%s_bucket{worker=\"%u\",le=\"%g\"} %llu\n",
				                    name, slots[i], shm_hist_bounds_us[b] / 1e6,
				                    cum);
			else
				evbuffer_add_printf(o,
				                    "%s_bucket{worker=\"%u\",le=\"+Inf\"} %llu\n",
				                    name, slots[i], cum);
		}
		evbuffer_add_printf(
		    o, "%s_sum{worker=\"%u\"} %.6f\n%s_count{worker=\"%u\"} %llu\n", name, slots[i],
		    (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6, name,
		    slots[i], cum);
	}
}

static void master_families(struct evbuffer *o, const struct master *m, uint64_t now)
{
	const struct master_stats *st = &m->stats;

	family(o, "arena_build_info", "gauge", "Always 1; the version is a label.");
	evbuffer_add_printf(o, "arena_build_info{version=\"%s\"} 1\n", ARENA_VERSION);
	family(o, "arena_uptime_seconds", "gauge", "Seconds since the master started.");
	evbuffer_add_printf(o, "arena_uptime_seconds %.3f\n", (double)(now - st->started_ms) / 1e3);
	one(o, "arena_config_loaded_timestamp_seconds", "gauge",
	    "Unix time of the last successful configuration load (start or reload).",
	    (unsigned long long)st->config_loaded_s);
	one(o, "arena_connections_accepted_total", "counter",
	    "Connections accepted and handed to a worker (each one fd handoff over SCM_RIGHTS).",
	    st->accepted);
	family(o, "arena_connections_rejected_total", "counter",
	       "Connections refused by the master, by reason (told with a BYE; closed for a PROXY "
	       "header problem).");
	for (unsigned i = 0; i < REJECT_N; i++)
		evbuffer_add_printf(o, "arena_connections_rejected_total{reason=\"%s\"} %llu\n",
		                    reject_names[i], (unsigned long long)st->rejected[i]);
	family(o, "arena_worker_restarts_total", "counter",
	       "Workers replaced after an unexpected exit, by cause.");
	for (unsigned i = 0; i < RESTART_N; i++)
		evbuffer_add_printf(o, "arena_worker_restarts_total{cause=\"%s\"} %llu\n",
		                    restart_names[i], (unsigned long long)st->restarts[i]);
	one(o, "arena_lock_repairs_total", "counter",
	    "Robust locks recovered after their owner died (EOWNERDEAD repairs).",
	    (unsigned long long)atomic_load(&m->shm->lock_repairs));
	family(o, "arena_reloads_total", "counter", "Configuration reloads (SIGHUP), by result.");
	evbuffer_add_printf(o, "arena_reloads_total{result=\"ok\"} %llu\n",
	                    (unsigned long long)st->reloads_ok);
	evbuffer_add_printf(o, "arena_reloads_total{result=\"failed\"} %llu\n",
	                    (unsigned long long)st->reloads_failed);
	family(o, "arena_state_saves_total", "counter",
	       "Leaderboard saves to state_dir, by result.");
	evbuffer_add_printf(o, "arena_state_saves_total{result=\"ok\"} %llu\n",
	                    (unsigned long long)st->saves_ok);
	evbuffer_add_printf(o, "arena_state_saves_total{result=\"failed\"} %llu\n",
	                    (unsigned long long)st->saves_failed);
	one(o, "arena_rooms_open", "gauge", "Rooms open in the shared world.",
	    world_rooms_open(m->world));
	one(o, "arena_redis_up", "gauge",
	    "1 while this node's Redis link works (multi-node setups; 0 without redis).",
	    atomic_load(&m->shm->cluster_up));
}

int metrics_render(struct master *m, struct evbuffer *o)
{
	unsigned slots[ARENA_WORKERS_MAX];
	unsigned n = used_slots(m, slots);
	uint64_t now = arena_now_ms();
	struct shm_totals tot;

	master_families(o, m, now);
	shm_totals(m->shm, &tot);
	one(o, "arena_clients_connected", "gauge", "Client connections served by the workers.",
	    tot.clients);
	one(o, "arena_players_connected", "gauge", "Welcomed players (HELLO answered).",
	    tot.players);
	one(o, "arena_players_in_rooms", "gauge", "Welcomed players seated in a room.",
	    tot.in_rooms);

	family(o, "arena_worker_state", "gauge",
	       "1 for the state each worker slot is in (starting, ready, draining, dead, empty).");
	for (unsigned i = 0; i < n; i++) {
		uint32_t st = atomic_load(&m->shm->slots[slots[i]].state);

		evbuffer_add_printf(o, "arena_worker_state{worker=\"%u\",state=\"%s\"} 1\n",
		                    slots[i], shm_state_name(st));
	}
	family(o, "arena_worker_heartbeat_age_seconds", "gauge",
	       "Seconds since each worker's loop last stored its heartbeat.");
	for (unsigned i = 0; i < n; i++) {
		uint64_t hb = atomic_load(&m->shm->slots[slots[i]].heartbeat_ms);

		evbuffer_add_printf(o, "arena_worker_heartbeat_age_seconds{worker=\"%u\"} %.3f\n",
		                    slots[i], hb && now > hb ? (double)(now - hb) / 1e3 : 0.0);
	}
	per_worker(o, m, slots, n, "arena_worker_clients", "gauge",
	           "Client connections a worker serves.", get_clients);
	per_worker(o, m, slots, n, "arena_worker_players", "gauge",
	           "Welcomed players a worker serves.", get_players);
	per_worker(o, m, slots, n, "arena_worker_players_in_rooms", "gauge",
	           "Players a worker serves that are seated in a room.", get_in_rooms);
	per_worker(o, m, slots, n, "arena_fd_handoffs_received_total", "counter",
	           "Client sockets the workers of this slot received from the master.",
	           get_accepted);
	per_worker(o, m, slots, n, "arena_fd_ctrunc_total", "counter",
	           "Channel messages that arrived with MSG_CTRUNC (a passed fd lost).", get_ctrunc);
	per_worker(o, m, slots, n, "arena_bytes_received_total", "counter",
	           "Bytes read from clients.", get_bytes_in);
	per_worker(o, m, slots, n, "arena_bytes_sent_total", "counter",
	           "Bytes the kernel took for clients.", get_bytes_out);
	frames(o, m, slots, n, true);
	frames(o, m, slots, n, false);
	coded(o, m, slots, n, false);
	coded(o, m, slots, n, true);
	per_worker(o, m, slots, n, "arena_inputs_dropped_total", "counter",
	           "MOVE and CHAT messages dropped by the rate limits.", get_inputs_dropped);
	per_worker(o, m, slots, n, "arena_ticks_total", "counter", "Ticks run.", get_ticks);
	per_worker(o, m, slots, n, "arena_ticks_late_total", "counter",
	           "Ticks that started more than one period late.", get_late_ticks);
	histogram(o, m, slots, n, "arena_tick_duration_seconds",
	          "Time a tick took: the world sweep and the SNAPSHOT/CHAT_MSG fan-out.", false);
	histogram(o, m, slots, n, "arena_snapshot_fanout_seconds",
	          "Time a tick spent on the SNAPSHOT/CHAT_MSG fan-out to its sessions.", true);
	return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct master *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct evbuffer *body = evbuffer_new();

	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (!path || strcmp(path, "/metrics") != 0) {
		evbuffer_add_printf(body, "arenad serves /metrics only\n");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		                  "text/plain; charset=utf-8");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
		evbuffer_free(body);
		return;
	}
	metrics_render(m, body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

int metrics_start(struct master *m, const struct arena_listen *where, struct metrics **ret)
{
	struct metrics *mx = calloc(1, sizeof(*mx));
	struct listener l;
	int r;

	if (!mx)
		return -ENOMEM;
	r = listen_bind(where, 64, &l);
	if (r < 0) {
		free(mx);
		return r;
	}
	mx->http = evhttp_new(m->base);
	if (!mx->http) {
		safe_close(l.fd);
		free(mx);
		return -ENOMEM;
	}
	evhttp_set_allowed_methods(mx->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(mx->http, 8192);
	evhttp_set_max_body_size(mx->http, 0);
	evhttp_set_timeout(mx->http, 5);
	evhttp_set_gencb(mx->http, on_request, m);
	if (!evhttp_accept_socket_with_handle(mx->http, l.fd)) {
		safe_close(l.fd);
		evhttp_free(mx->http);
		free(mx);
		return -ENOMEM;
	}
	*ret = mx;
	return 0;
}

void metrics_stop(struct metrics *mx)
{
	if (!mx)
		return;
	evhttp_free(mx->http); /* closes the listener and any scrape in progress */
	free(mx);
}
