/* admin.c: the master's admin socket (admin_socket), the server side of arenactl.
 *
 * One request per connection. The master greets with "arenad-admin 1\n"; the client sends one
 * line of at most ADMIN_LINE_MAX bytes, fields separated by TAB (see docs/ADMIN.md); the master
 * answers "ok\n" and a body, or "error TEXT\n", then closes. Everything is non-blocking on the
 * master's loop, through bufferevents: a client that sends nothing, too much, garbage, or reads
 * slowly is timed out or cut without holding anything else up; at most ADMIN_CONNS_MAX are
 * served at once (more are told "error busy"). Only the socket's file mode (0660, in a 0750
 * runtime directory under systemd) decides who may connect.
 *
 * status is answered from the master's own view (its worker table, the scoreboard's atomics,
 * world_rooms_open()). players, rooms, kick and broadcast need the world or the sessions, which
 * the master never locks: they go to workers as CH_ADMIN messages carrying a memory file the
 * worker writes a listing into; the reply (CH_ADMIN_DONE) completes the request and the master
 * streams the file to the client. A request waits at most ADMIN_WORKER_MS for its workers.
 */
#include "admin.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arena-build.h"
#include "master-internal.h"
#include "util.h"
#include "world.h"

#define ADMIN_BANNER     "arenad-admin 1\n"
#define ADMIN_LINE_MAX   1024
#define ADMIN_CONNS_MAX  16
#define ADMIN_READ_S     5  /* to send the request line */
#define ADMIN_WRITE_S    10 /* to read the answer, at most this long without progress */
#define ADMIN_WORKER_MS  3000
#define ADMIN_FIELDS_MAX 4
#define ADMIN_OUTPUT_MAX (64u << 20)

_Static_assert(ARENA_TEXT_MAX <= ARENA_CHAT_MAX, "a kick reason must fit struct ch_admin.text");

struct admin_conn {
	struct admin *a;
	struct bufferevent *bev;
	bool closing;
	/* a request sent to workers */
	uint32_t req;
	uint32_t op;
	unsigned waiting; /* replies still expected */
	bool waits_for[ARENA_WORKERS_MAX];
	int64_t total; /* sum of results, or the first error */
	int memfd;
	struct event *ev_timeout;
	struct admin_conn *next;
};

struct admin {
	struct master *m;
	const struct admin_ops *ops;
	int fd;
	struct event *ev_accept;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	struct admin_conn *conns;
	unsigned nconns;
	uint32_t next_req;
};

/* ---- Connections -------------------------------------------------------------------------- */

static void conn_free(struct admin_conn *c)
{
	struct admin *a = c->a;

	for (struct admin_conn **p = &a->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	a->nconns--;
	if (c->ev_timeout)
		event_free(c->ev_timeout);
	if (c->memfd >= 0)
		close(c->memfd);
	bufferevent_free(c->bev); /* closes the socket */
	free(c);
}

/* Queue the rest of the answer and close once it is written. */
static void finish(struct admin_conn *c)
{
	c->closing = true;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* Answer "ok\n" or "error " and the formatted text (an error is one line), then close. */
static void reply(struct admin_conn *c, bool ok, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void reply(struct admin_conn *c, bool ok, const char *fmt, va_list ap)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, ok ? "ok\n" : "error ");
	evbuffer_add_vprintf(out, fmt, ap);
	if (!ok)
		evbuffer_add(out, "\n", 1);
	finish(c);
}

static void reply_error(struct admin_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply_error(struct admin_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(c, false, fmt, ap);
	va_end(ap);
}

static void reply_ok(struct admin_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reply_ok(struct admin_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply(c, true, fmt, ap);
	va_end(ap);
}

/* ---- status ------------------------------------------------------------------------------- */

static void fmt_uptime(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	snprintf(buf, len, "%llud%02lluh%02llum%02llus", (unsigned long long)(s / 86400),
	         (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60),
	         (unsigned long long)(s % 60));
}

static void json_str(struct evbuffer *o, const char *s)
{
	char q[6 * ARENA_PATH_MAX + 8];

	admin_json_quote(s, q, sizeof(q));
	evbuffer_add(o, q, strlen(q));
}

static void status(struct admin_conn *c, bool json)
{
	struct master *m = c->a->m;
	struct evbuffer *o = bufferevent_get_output(c->bev);
	uint64_t now = arena_now_ms();
	struct shm_totals tot;
	const char *state = m->state == MS_RUNNING ? "running" : "shutting down";
	const char *file = m->cli->config_path[0] ? m->cli->config_path : "";
	char up[48], loaded[32];
	time_t lt = (time_t)m->stats.config_loaded_s;
	struct tm tm;
	bool first = true;

	gmtime_r(&lt, &tm);
	strftime(loaded, sizeof(loaded), "%Y-%m-%dT%H:%M:%SZ", &tm);
	shm_totals(m->shm, &tot);
	fmt_uptime(now - m->stats.started_ms, up, sizeof(up));
	evbuffer_add(o, "ok\n", 3);
	if (json) {
		evbuffer_add_printf(o,
		                    "{\"version\": \"%s\", \"pid\": %d, \"state\": \"%s\", "
		                    "\"uptime_s\": %.3f,\n \"config\": {\"file\": ",
		                    ARENA_VERSION, (int)getpid(), state,
		                    (double)(now - m->stats.started_ms) / 1e3);
		json_str(o, file);
		evbuffer_add_printf(
		    o,
		    ", \"loaded_unix\": %lld},\n \"clients\": %llu, \"players\": %llu, "
		    "\"players_in_rooms\": %llu, \"rooms\": %u,\n \"workers\": [",
		    (long long)m->stats.config_loaded_s, tot.clients, tot.players, tot.in_rooms,
		    world_rooms_open(m->world));
	} else {
		evbuffer_add_printf(o, "arenad %s, pid %d, %s, up %s\n", ARENA_VERSION,
		                    (int)getpid(), state, up);
		evbuffer_add_printf(o, "config %s, loaded %s\n",
		                    file[0] ? file : "(none: built-in defaults)", loaded);
		evbuffer_add_printf(o,
		                    "%llu players connected, %llu in rooms; %u rooms open; %llu "
		                    "connections\n",
		                    tot.players, tot.in_rooms, world_rooms_open(m->world),
		                    tot.clients);
		evbuffer_add_printf(o, "%-6s %-8s %-9s %7s %7s %9s %8s\n", "WORKER", "PID", "STATE",
		                    "CLIENTS", "PLAYERS", "HEARTBEAT", "RESTARTS");
	}
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		const struct mworker *w = &m->workers[i];
		const struct worker_slot *s = &m->shm->slots[i];
		uint32_t st = atomic_load(&s->state);
		uint64_t hb = atomic_load(&s->heartbeat_ms);
		unsigned long long age = hb && now > hb ? now - hb : 0;

		if (w->pid <= 0 && !w->wanted)
			continue;
		if (json) {
			evbuffer_add_printf(
			    o,
			    "%s\n  {\"slot\": %u, \"pid\": %d, \"state\": \"%s\", "
			    "\"clients\": %u, \"players\": %u, \"heartbeat_age_ms\": "
			    "%llu, \"restarts\": %u, \"retiring\": %s}",
			    first ? "" : ",", i, (int)w->pid, shm_state_name(st),
			    atomic_load(&s->clients), atomic_load(&s->players), age, w->restarts,
			    w->retiring ? "true" : "false");
		} else {
			evbuffer_add_printf(o, "%-6u %-8d %-9s %7u %7u %7llums %8u\n", i,
			                    (int)w->pid, shm_state_name(st),
			                    atomic_load(&s->clients), atomic_load(&s->players), age,
			                    w->restarts);
		}
		first = false;
	}
	if (json)
		evbuffer_add_printf(o, "%s]}\n", first ? "" : "\n ");
	finish(c);
}

/* ---- Requests done by workers ------------------------------------------------------------- */

static void worker_request_done(struct admin_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct stat st;

	if (c->ev_timeout)
		event_del(c->ev_timeout);
	if (c->total < 0) {
		reply_error(c, "%s",
		            c->total == -ENOENT ? "no such room" : strerror((int)-c->total));
		return;
	}
	switch (c->op) {
	case CH_ADMIN_KICK:
		if (c->total == 0)
			reply_error(c, "no such player connected");
		else
			reply_ok(c, "kicked %lld\n", (long long)c->total);
		return;
	case CH_ADMIN_NOTICE:
		reply_ok(c, "sent to %lld rooms\n", (long long)c->total);
		return;
	default:
		break;
	}
	if (fstat(c->memfd, &st) < 0 || (uint64_t)st.st_size > ADMIN_OUTPUT_MAX) {
		reply_error(c, "listing unavailable");
		return;
	}
	evbuffer_add(out, "ok\n", 3);
	if (st.st_size > 0 &&
	    evbuffer_add_file(out, c->memfd, 0, st.st_size) == 0) /* takes the fd */
		c->memfd = -1;
	finish(c);
}

static void on_worker_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *c = arg;

	c->waiting = 0;
	memset(c->waits_for, 0, sizeof(c->waits_for));
	reply_error(c, "the workers did not answer within %u ms", ADMIN_WORKER_MS);
}

/* Send request (op, fields) to one ready worker (all = false) or every ready one. */
static void to_workers(struct admin_conn *c, const struct ch_admin *req, bool all)
{
	struct master *m = c->a->m;
	struct ch_admin msg = *req;
	struct timeval tv = {ADMIN_WORKER_MS / 1000, (ADMIN_WORKER_MS % 1000) * 1000};

	c->memfd = memfd_create("arena-admin", MFD_CLOEXEC);
	if (c->memfd < 0) {
		reply_error(c, "cannot make a memory file: %s", strerror(errno));
		return;
	}
	c->req = msg.req = ++c->a->next_req;
	c->op = msg.op;
	c->total = 0;
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		struct mworker *w = &m->workers[i];

		if (!w->chan || !w->ready || w->killed)
			continue;
		if (channel_send(w->chan, CH_ADMIN, &msg, sizeof(msg), c->memfd) < 0)
			continue;
		c->waits_for[i] = true;
		c->waiting++;
		if (!all)
			break;
	}
	if (c->waiting == 0) {
		reply_error(c, "no worker can take the request now; try again");
		return;
	}
	c->ev_timeout = evtimer_new(bufferevent_get_base(c->bev), on_worker_timeout, c);
	if (!c->ev_timeout || evtimer_add(c->ev_timeout, &tv) < 0) {
		reply_error(c, "out of memory");
		return;
	}
	bufferevent_disable(c->bev, EV_READ); /* one request per connection */
}

void admin_worker_done(struct admin *a, unsigned slot, const struct ch_admin_done *d)
{
	if (!a || slot >= ARENA_WORKERS_MAX)
		return;
	for (struct admin_conn *c = a->conns; c; c = c->next) {
		if (c->req != d->req || !c->waiting || !c->waits_for[slot])
			continue;
		c->waits_for[slot] = false;
		c->waiting--;
		if (d->result < 0 && c->total >= 0)
			c->total = d->result;
		else if (c->total >= 0)
			c->total += d->result;
		if (c->waiting == 0)
			worker_request_done(c);
		return;
	}
}

void admin_worker_gone(struct admin *a, unsigned slot)
{
	struct ch_admin_done d = {.result = 0};

	if (!a || slot >= ARENA_WORKERS_MAX)
		return;
	for (struct admin_conn *c = a->conns, *next; c; c = next) {
		next = c->next;
		if (c->waiting && c->waits_for[slot]) {
			d.req = c->req;
			d.result = c->op == CH_ADMIN_KICK ? 0 : -ESRCH;
			admin_worker_done(a, slot, &d);
		}
	}
}

/* ---- Parsing ------------------------------------------------------------------------------ */

/* Split line at TABs into at most ADMIN_FIELDS_MAX fields. Returns the count, or -1 if there
 * are more or a byte is a control character or not UTF-8. */
static int split(char *line, size_t len, char *f[ADMIN_FIELDS_MAX])
{
	int n = 0;

	if (memchr(line, '\0', len))
		return -1;
	f[n++] = line;
	for (char *p = line; (p = strchr(p, '\t'));) {
		*p++ = '\0';
		if (n == ADMIN_FIELDS_MAX)
			return -1;
		f[n++] = p;
	}
	for (int i = 0; i < n; i++)
		if (*f[i] && !arena_utf8_valid(f[i], strlen(f[i]))) /* also refuses controls */
			return -1;
	return n;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > max)
		return false;
	*ret = v;
	return true;
}

static bool copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

static void handle(struct admin_conn *c, char *line, size_t len)
{
	struct admin *a = c->a;
	char *f[ADMIN_FIELDS_MAX], err[192];
	int n = split(line, len, f);
	struct ch_admin req;
	unsigned long v;

	memset(&req, 0, sizeof(req));
	if (n < 1) {
		reply_error(c, "malformed request (see docs/ADMIN.md)");
		return;
	}
	const char *cmd = f[0];
	bool json = n >= 2 && strcmp(f[1], "json") == 0;
	bool reads = !strcmp(cmd, "status") || !strcmp(cmd, "players") || !strcmp(cmd, "rooms");
	if (reads && n >= 2 && !json && *f[1]) {
		reply_error(c, "%s: the second field is 'json' or empty", cmd);
		return;
	}
	if (!strcmp(cmd, "status") && n <= 2) {
		status(c, json);
	} else if ((!strcmp(cmd, "players") || !strcmp(cmd, "rooms")) && n <= 3) {
		req.op = cmd[0] == 'p' ? CH_ADMIN_PLAYERS : CH_ADMIN_ROOMS;
		req.json = json;
		if (n == 3 && !copy_field(req.room, sizeof(req.room), f[2])) {
			reply_error(c, "room name too long");
			return;
		}
		to_workers(c, &req, false);
	} else if (!strcmp(cmd, "kick") && n >= 2 && n <= 3) {
		if (!parse_uint(f[1], UINT32_MAX, &v) || v == 0) {
			reply_error(c, "kick: the player id must be a number 1..4294967295");
			return;
		}
		req.op = CH_ADMIN_KICK;
		req.player_id = (uint32_t)v;
		/* req.text holds ARENA_CHAT_MAX >= ARENA_TEXT_MAX bytes (asserted at the top) */
		if (n == 3 && !copy_field(req.text, sizeof(req.text), f[2])) {
			reply_error(c, "kick: the reason is longer than %d bytes", ARENA_TEXT_MAX);
			return;
		}
		to_workers(c, &req, true);
	} else if (!strcmp(cmd, "broadcast") && n >= 2 && n <= 3) {
		req.op = CH_ADMIN_NOTICE;
		if (!*f[1] || !copy_field(req.text, sizeof(req.text), f[1])) {
			reply_error(c, "broadcast: the text must be 1..%d bytes", ARENA_CHAT_MAX);
			return;
		}
		if (n == 3 && !copy_field(req.room, sizeof(req.room), f[2])) {
			reply_error(c, "room name too long");
			return;
		}
		to_workers(c, &req, false);
	} else if (!strcmp(cmd, "reload") && n == 1) {
		if (a->ops->reload(a->m, err, sizeof(err)) < 0)
			reply_error(c, "reload failed: %s", err);
		else
			reply_ok(c, "reloaded\n");
	} else if (!strcmp(cmd, "drain-worker") && n == 2) {
		if (!parse_uint(f[1], ARENA_WORKERS_MAX - 1, &v)) {
			reply_error(c, "drain-worker: the worker is a slot number 0..%d",
			            ARENA_WORKERS_MAX - 1);
			return;
		}
		if (a->ops->drain_worker(a->m, (unsigned)v, err, sizeof(err)) < 0)
			reply_error(c, "%s", err);
		else
			reply_ok(c, "worker %lu draining; a replacement is starting\n", v);
	} else if (!strcmp(cmd, "shutdown") && n <= 2) {
		v = 0;
		if (n == 2 && *f[1] && (!parse_uint(f[1], 600, &v) || v == 0)) {
			reply_error(c, "shutdown: the deadline is 1..600 seconds");
			return;
		}
		reply_ok(c, "shutting down\n");
		a->ops->shutdown(a->m, (uint32_t)v * 1000u);
	} else {
		reply_error(c, "unknown request '%.32s' or wrong arguments (see docs/ADMIN.md)",
		            cmd);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char line[ADMIN_LINE_MAX + 1];

	if (c->closing || c->waiting)
		return;
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > ADMIN_LINE_MAX)
			reply_error(c, "request longer than %d bytes", ADMIN_LINE_MAX);
		return;
	}
	if ((size_t)eol.pos > ADMIN_LINE_MAX) {
		reply_error(c, "request longer than %d bytes", ADMIN_LINE_MAX);
		return;
	}
	evbuffer_remove(in, line, (size_t)eol.pos + 1);
	line[eol.pos] = '\0';
	handle(c, line, (size_t)eol.pos);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;

	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn *c = arg;

	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && !c->closing &&
	    !c->waiting) {
		reply_error(c, "no request within %d s", ADMIN_READ_S);
		bufferevent_enable(bev, EV_WRITE);
		return;
	}
	if (c->waiting) { /* the client left while its workers work: forget it quietly */
		c->waiting = 0;
		memset(c->waits_for, 0, sizeof(c->waits_for));
	}
	conn_free(c); /* EOF, error, or a write that made no progress for ADMIN_WRITE_S */
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct admin *a = arg;

	for (int k = 0; k < 16; k++) {
		int fd = accept4((int)lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct admin_conn *c;
		struct timeval rt = {ADMIN_READ_S, 0}, wt = {ADMIN_WRITE_S, 0};

		if (fd < 0)
			return; /* EAGAIN, or a transient error: the next wakeup retries */
		if (a->nconns >= ADMIN_CONNS_MAX) {
			static const char busy[] = "error busy: too many admin connections\n";
			ssize_t r = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);

			(void)r;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->a = a;
		c->memfd = -1;
		c->bev = bufferevent_socket_new(a->m->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!c->bev) {
			close(fd);
			free(c);
			continue;
		}
		c->next = a->conns;
		a->conns = c;
		a->nconns++;
		bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
		bufferevent_set_timeouts(c->bev, &rt, &wt);
		bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_LINE_MAX + 2);
		bufferevent_write(c->bev, ADMIN_BANNER, sizeof(ADMIN_BANNER) - 1);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	}
}

/* ---- The socket --------------------------------------------------------------------------- */

/* Is something listening at addr? A stale socket file refuses the connection. */
static bool someone_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool yes;

	if (fd < 0)
		return true;
	yes =
	    connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno != ECONNREFUSED;
	close(fd);
	return yes;
}

int admin_start(struct master *m, const char *path, const struct admin_ops *ops, struct admin **ret)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct admin *a;
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	if (r < 0 && errno == ENOENT) { /* make the runtime directory (one level), 0750 */
		char dir[sizeof(addr.sun_path)];
		char *slash;

		memcpy(dir, path, strlen(path) + 1);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0750) == 0 || errno == EEXIST)
				r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
			else
				errno = ENOENT;
		}
	}
	if (r < 0 && errno == EADDRINUSE && !someone_listens(&addr)) {
		unlink(path); /* left behind by a daemon that died */
		r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	}
	if (r < 0 || chmod(path, 0660) < 0 || listen(fd, 16) < 0 || stat(path, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	a->m = m;
	a->ops = ops;
	a->fd = fd;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	memcpy(a->path, path, strlen(path) + 1);
	a->ev_accept = event_new(m->base, fd, EV_READ | EV_PERSIST, on_accept, a);
	if (!a->ev_accept || event_add(a->ev_accept, NULL) < 0) {
		admin_stop(a);
		return -ENOMEM;
	}
	*ret = a;
	return 0;
}

void admin_stop(struct admin *a)
{
	struct stat st;

	if (!a)
		return;
	while (a->conns)
		conn_free(a->conns);
	if (a->ev_accept)
		event_free(a->ev_accept);
	close(a->fd);
	/* Remove the socket only if it is still ours (not one a newer daemon made). */
	if (stat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->path);
	free(a);
}
