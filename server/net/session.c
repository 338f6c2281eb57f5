/* session.c: one client connection inside a worker, and the worker's set of them.
 *
 * Implements session.h (what the game modules use: send, error, bye) and sessions.h (what the
 * worker uses). Each connection is a non-blocking socket with a read event, a write event, one
 * timer, and two evbuffers. Input is read onto the stack when nothing is buffered (the usual case:
 * whole frames, handled from there without a copy), else into the input evbuffer, and framed
 * with the protocol library (arena_frame_peek rejects an oversized length from the 3-byte header
 * alone, then arena_decode_payload validates the whole frame), at most SESSION_FRAMES_PER_WAKEUP
 * frames per callback so one flooding client cannot starve the others. Output is queued in the
 * output evbuffer and written from a deferred flush that runs after the current callback (one write
 * per session per loop pass, however many frames a tick queued); it never holds more than the
 * configured output_buffer: a session that would exceed it is cut with BYE(too slow).
 *
 * Writing the output evbuffer, and cutting it without breaking a frame, is outq.c's job.
 *
 * The one timer serves each state: handshake deadline before HELLO, idle deadline after (armed
 * lazily: it fires at the old deadline and re-arms from the last frame's time, so busy sessions
 * do not touch the timer heap per frame), the close deadline while closing, and a short poll
 * while lingering. See sessions.h for the state diagram.
 *
 * The one info line per kicked client goes through a per-worker budget (kicklog.h): past
 * KICKLOG_LINES_PER_SEC in a second the kicks are only counted, and sessions_log_flush(), called
 * from the worker's heartbeat, logs one summary line for them when the second is over.
 */
#include "session.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "kicklog.h"
#include "log.h"
#include "outq.h"
#include "sessions.h"
#include "shm.h"
#include "util.h"
#include "world.h"

#define SESSION_FRAMES_PER_WAKEUP 64
#define SESSION_READ_CHUNK        4096 /* input buffered beyond one largest frame */
#define SESSION_LINGER_MS         2000 /* longest wait for a peer to take our last bytes */
#define SESSION_LINGER_POLL_MS    20

enum session_state {
	SS_OPEN,
	SS_CLOSING,
	SS_LINGER,
	SS_CLOSED,
};

struct session_core {
	struct sessions *set;
	int fd;
	enum session_state state;
	struct peer_addr peer;
	char peer_text[PEER_TEXT_MAX];
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_timer;
	struct evbuffer *in;
	struct evbuffer *out;
	size_t out_partial; /* unwritten bytes of the frame at the head of `out` */
	uint64_t opened_ms;
	uint64_t last_frame_ms;
	uint64_t close_deadline_ms;
	size_t idx;      /* position in set->live */
	bool dirty;      /* in set->dirty */
	bool eof;        /* the peer will send nothing more */
	bool more_input; /* complete frames wait in `in`: the timer resumes reading next pass */
	bool held; /* HELLO's token asked of the other nodes: reading stops until the answer */
	struct world_player_info held_info; /* the fresh player made for that HELLO */
	struct session *next_dead;
};

/* One allocation per connection. */
struct session_full {
	struct session pub;
	struct session_core core;
};

struct sessions {
	struct event_base *base;
	struct session_env *env;
	const struct sessions_ops *ops;
	void *userdata;
	struct event *ev_deferred;
	struct session **live;
	size_t nlive, live_cap;
	struct session **dirty;
	size_t ndirty, dirty_cap;
	struct session *dead;
	size_t nopen;
	uint64_t deadline_ms; /* when set (shutdown), no close waits past it */
	bool bye_on_welcome;  /* a handover: a session not welcomed yet gets BYE once it is */
	uint8_t bye_reason;
	char bye_text[ARENA_TEXT_MAX + 1];
	uint64_t gen; /* sessions_generation() */
	bool in_deferred;
};

static void session_flush(struct session *s);
static void session_finish(struct session *s);
static void session_begin_close(struct session *s);
static void arm_timer(struct session *s, uint64_t now);

static uint64_t close_deadline(struct sessions *t, uint64_t now)
{
	uint64_t d = now + SESSION_LINGER_MS;

	if (t->deadline_ms && t->deadline_ms < d)
		d = t->deadline_ms;
	return d;
}

static void schedule_deferred(struct sessions *t)
{
	if (!t->in_deferred)
		event_active(t->ev_deferred, EV_TIMEOUT, 1);
}

static int grow_array(struct session ***arr, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 64;
	struct session **p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * sizeof(**arr));
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static void mark_dirty(struct session *s)
{
	struct session_core *c = s->core;
	struct sessions *t = c->set;

	if (c->dirty)
		return;
	if (grow_array(&t->dirty, &t->dirty_cap, t->ndirty + 1) < 0) {
		/* Cannot remember it for later: write now instead. */
		session_flush(s);
		return;
	}
	c->dirty = true;
	t->dirty[t->ndirty++] = s;
	schedule_deferred(t);
}

/* ---- Output ------------------------------------------------------------------------------- */

/* outq_write, counting the bytes the kernel took. */
static int write_out(struct session_core *c)
{
	size_t before = evbuffer_get_length(c->out);
	int r = outq_write(c->out, c->fd, &c->out_partial);

	atomic_fetch_add_explicit(&c->set->env->stats->bytes_out,
	                          before - evbuffer_get_length(c->out), memory_order_relaxed);
	return r;
}

static void session_flush(struct session *s)
{
	struct session_core *c = s->core;
	int r;

	if (c->state != SS_OPEN && c->state != SS_CLOSING)
		return;
	r = write_out(c);
	if (r < 0) {
		log_debug("client %s: write failed: %s", c->peer_text, strerror(-r));
		session_finish(s);
		return;
	}
	if (evbuffer_get_length(c->out) > 0) {
		event_add(c->ev_write, NULL);
		return;
	}
	event_del(c->ev_write);
	if (c->state == SS_CLOSING) {
		/* Everything handed to the kernel: stop sending and wait for the peer to take it.
		 */
		shutdown(c->fd, SHUT_WR);
		c->state = SS_LINGER;
		arm_timer(s, arena_now_ms());
		event_active(c->ev_read, EV_READ, 1); /* check at once: often nothing to wait for */
	}
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	session_flush(arg);
}

static void queue_bye(struct session *s, enum arena_bye_reason reason, const char *text);

static struct kicklog kick_log; /* the worker is single-threaded: one budget per process */

void sessions_log_flush(uint64_t now_ms)
{
	char line[256];

	if (kicklog_flush(&kick_log, now_ms, line, sizeof(line)))
		log_info("%s", line);
}

/* Whether the line for a client kicked for `reason` may be logged now (a due summary first). */
static bool kick_line_admitted(enum arena_bye_reason reason)
{
	uint64_t now = arena_now_ms();

	if (!log_enabled(ARENA_LOG_INFO))
		return false;
	sessions_log_flush(now);
	return kicklog_admit(&kick_log, reason, now);
}

/* The client cannot keep up: drop its queue (keeping the stream whole), queue BYE(too slow)
 * and close. The session stops growing at once; the few bytes left get the usual short
 * closing grace, so a client that is slow rather than gone still learns why. */
static void cut_too_slow(struct session *s)
{
	struct session_core *c = s->core;

	if (kick_line_admitted(ARENA_BYE_TOO_SLOW))
		log_info("client %s kicked: too slow (%zu bytes waiting)", c->peer_text,
		         evbuffer_get_length(c->out));
	atomic_fetch_add(&s->env->stats->kicked, 1);
	outq_discard_unsent(c->out, c->out_partial);
	queue_bye(s, ARENA_BYE_TOO_SLOW, "too slow");
	session_begin_close(s);
}

int session_send(struct session *s, const void *frame, size_t len)
{
	struct session_core *c = s->core;
	size_t cap = s->env->cfg->output_buffer;

	if (c->state != SS_OPEN)
		return -EPIPE;
	if (evbuffer_get_length(c->out) + len > cap) {
		/* Maybe the socket can take some now; if not, this client is too slow. */
		int r = write_out(c);

		if (r < 0) {
			session_finish(s);
			return -EPIPE;
		}
		if (evbuffer_get_length(c->out) + len > cap) {
			cut_too_slow(s);
			return -ENOBUFS;
		}
	}
	if (evbuffer_add(c->out, frame, len) < 0) {
		cut_too_slow(s);
		return -ENOBUFS;
	}
	atomic_fetch_add(&s->env->stats->frames_out, 1);
	atomic_fetch_add_explicit(
	    &s->env->stats->frames_out_type[shm_type_index(((const unsigned char *)frame)[2])], 1,
	    memory_order_relaxed);
	mark_dirty(s);
	return 0;
}

int session_send_msg(struct session *s, const struct arena_msg *m)
{
	unsigned char frame[ARENA_FRAME_MAX];
	ssize_t n = arena_encode(m, frame, sizeof(frame));

	if (n < 0)
		return (int)n;
	return session_send(s, frame, (size_t)n);
}

/* Copy text into a protocol text field, cutting it to ARENA_TEXT_MAX on a UTF-8 boundary. */
static void set_text(struct arena_text *t, const char *text)
{
	size_t len = text ? strlen(text) : 0;

	if (len > ARENA_TEXT_MAX)
		len = ARENA_TEXT_MAX;
	while (len > 0 && !arena_utf8_valid(text, len))
		len--;
	t->len = (uint8_t)len;
	if (len)
		memcpy(t->s, text, len);
	t->s[len] = '\0';
}

int session_error(struct session *s, enum arena_error_code code, const char *text)
{
	struct arena_msg m;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_ERROR;
	m.u.error.code = (uint16_t)code;
	set_text(&m.u.error.text, text);
	int r = session_send_msg(s, &m);
	if (r == 0)
		atomic_fetch_add_explicit(&s->env->stats->errors_sent[shm_code_index(code)], 1,
		                          memory_order_relaxed);
	return r;
}

/* Append BYE, making room for it by dropping output that has not started going out. */
static void queue_bye(struct session *s, enum arena_bye_reason reason, const char *text)
{
	struct session_core *c = s->core;
	unsigned char frame[ARENA_HEADER_SIZE + 2 + ARENA_TEXT_MAX];
	struct arena_msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_BYE;
	m.u.bye.reason = (uint8_t)reason;
	set_text(&m.u.bye.text, text);
	n = arena_encode(&m, frame, sizeof(frame));
	if (n > 0) {
		/* The goodbye always fits: make room by dropping what has not started going out. */
		if (evbuffer_get_length(c->out) + (size_t)n > s->env->cfg->output_buffer)
			outq_discard_unsent(c->out, c->out_partial);
		if (evbuffer_add(c->out, frame, (size_t)n) == 0) {
			struct worker_slot *st = s->env->stats;

			atomic_fetch_add(&st->frames_out, 1);
			atomic_fetch_add_explicit(&st->frames_out_type[shm_type_index(ARENA_BYE)],
			                          1, memory_order_relaxed);
			atomic_fetch_add_explicit(&st->byes_sent[shm_code_index(reason)], 1,
			                          memory_order_relaxed);
		}
	}
}

void session_bye(struct session *s, enum arena_bye_reason reason, const char *text)
{
	struct session_core *c = s->core;

	if (c->state != SS_OPEN)
		return;
	queue_bye(s, reason, text);
	if (reason != ARENA_BYE_SHUTDOWN) {
		atomic_fetch_add(&s->env->stats->kicked, 1);
		if (kick_line_admitted(reason))
			log_info("client %s kicked: %s%s%s", c->peer_text, arena_bye_name(reason),
			         text && *text ? ": " : "", text ? text : "");
	}
	session_begin_close(s);
}

/* ---- Closing ------------------------------------------------------------------------------ */

/* The player (if any) leaves the game now, whatever happens to the socket afterwards. */
static void session_unwelcome(struct session *s)
{
	if (s->core->held) { /* gone while the other nodes were asked: not welcomed yet */
		s->core->held = false;
		world_player_detach(s->env->world, s->core->held_info.pidx, arena_now_ms());
	}
	if (!s->welcomed)
		return;
	s->env->game->gone(s, arena_now_ms());
	if (s->room != WORLD_NO_ROOM)
		atomic_fetch_sub(&s->env->stats->in_rooms, 1);
	s->welcomed = false;
	s->core->set->gen++;
	atomic_fetch_sub(&s->env->stats->players, 1);
}

static void session_begin_close(struct session *s)
{
	struct session_core *c = s->core;

	if (c->state != SS_OPEN)
		return;
	session_unwelcome(s);
	c->state = SS_CLOSING;
	c->close_deadline_ms = close_deadline(c->set, arena_now_ms());
	arm_timer(s, arena_now_ms());
	mark_dirty(s); /* the flush moves on to LINGER once the output is out */
}

/* Close the fd now and hand the session to the deferred free. */
static void session_finish(struct session *s)
{
	struct session_core *c = s->core;
	struct sessions *t = c->set;

	if (c->state == SS_CLOSED)
		return;
	session_unwelcome(s);
	c->state = SS_CLOSED;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_del(c->ev_timer);
	c->fd = safe_close(c->fd);
	t->nopen--;
	atomic_fetch_sub(&s->env->stats->clients, 1);
	log_debug("client %s closed", c->peer_text);
	c->next_dead = t->dead;
	t->dead = s;
	schedule_deferred(t);
	t->ops->closed(&c->peer, t->userdata);
}

/* Read and throw away whatever the peer sends while we are closing. Returns true at EOF or on
 * an error (the peer is gone). Bounded per call. */
static bool discard_input(struct session_core *c)
{
	unsigned char junk[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n > 0)
			continue;
		if (n == 0)
			return true;
		if (errno == EINTR)
			continue;
		return errno != EAGAIN && errno != EWOULDBLOCK;
	}
	return false;
}

static bool peer_has_everything(struct session_core *c)
{
	int outq = 0;

	return ioctl(c->fd, SIOCOUTQ, &outq) == 0 && outq == 0;
}

/* ---- Input -------------------------------------------------------------------------------- */

/* Send WELCOME for the player attached as info and move on to the game. */
static void welcome(struct session *s, const struct world_player_info *info, uint64_t now)
{
	struct session_env *env = s->env;
	const struct arena_config *cfg = env->cfg;
	struct arena_msg m;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_WELCOME;
	m.u.welcome.player_id = info->id;
	memcpy(m.u.welcome.token, info->token, ARENA_TOKEN_LEN);
	m.u.welcome.resume = info->resume;
	m.u.welcome.tick_rate = (uint16_t)cfg->tick_rate;
	m.u.welcome.max_payload = (uint16_t)cfg->max_payload;
	m.u.welcome.input_rate = (uint16_t)cfg->input_rate;
	m.u.welcome.chat_rate = (uint16_t)cfg->chat_rate;
	m.u.welcome.idle_timeout = (uint16_t)MIN(MAX(cfg->idle_timeout_ms / 1000, 1u), UINT16_MAX);

	s->welcomed = true;
	s->core->set->gen++;
	s->pidx = info->pidx;
	s->player_id = info->id;
	memcpy(s->token, info->token, ARENA_TOKEN_LEN);
	s->record_dirty = true;
	atomic_fetch_add(&env->stats->players, 1);
	if (session_send_msg(s, &m) < 0)
		return; /* cut: already closed */
	log_debug("client %s welcomed as '%s' (id %u, %s)", s->core->peer_text, s->name, info->id,
	          info->resume == ARENA_RESUME_OK ? "resumed" : "new");
	arm_timer(s, now); /* from the handshake deadline to the idle one */
	s->env->game->welcomed(s, info->room, now);
	if (s->core->set->bye_on_welcome && s->core->state == SS_OPEN)
		session_bye(s, s->core->set->bye_reason, s->core->set->bye_text);
}

static void handle_hello(struct session *s, const struct arena_hello *h, uint64_t now)
{
	struct session_env *env = s->env;
	struct world_player_info info;
	int r;

	if (h->version != ARENA_PROTO_VERSION) {
		session_error(s, ARENA_ERR_VERSION, "unsupported protocol version");
		session_bye(s, ARENA_BYE_PROTOCOL_ERROR, "unsupported protocol version");
		return;
	}
	r = world_player_attach(env->world, env->slot, env->gen, h->name.s, h->token, now, &info);
	if (r == -ENOSPC) {
		session_error(s, ARENA_ERR_SERVER_FULL, "no free player slot");
		session_bye(s, ARENA_BYE_SERVER_FULL, "no free player slot");
		return;
	}
	if (r < 0) {
		log_warning("client %s: cannot attach player '%s': %s", s->core->peer_text,
		            h->name.s, strerror(-r));
		session_error(s, ARENA_ERR_INTERNAL, "cannot create the player");
		session_bye(s, ARENA_BYE_KICKED, "internal error");
		return;
	}

	memcpy(s->name, h->name.s, h->name.len);
	s->name[h->name.len] = '\0';
	s->pidx = info.pidx;
	s->player_id = info.id;
	if (info.resume == ARENA_RESUME_EXPIRED && env->cluster &&
	    env->cluster->ask_resume(env->cluster->ctx, s, h->token) == 0) {
		/* Maybe another node knew the token: nothing more is read until it answers. */
		s->core->held = true;
		s->core->held_info = info;
		event_del(s->core->ev_read);
		return;
	}
	welcome(s, &info, now);
}

void session_remote_resume(struct session *s, bool found, uint32_t score)
{
	struct session_core *c = s->core;
	uint64_t now = arena_now_ms();

	if (!c->held || c->state != SS_OPEN)
		return;
	c->held = false;
	if (found && world_player_restore_score(s->env->world, c->held_info.pidx, score) == 0) {
		c->held_info.resume = ARENA_RESUME_OK;
		c->held_info.score = score;
	}
	welcome(s, &c->held_info, now);
	if (c->state != SS_OPEN)
		return;
	event_add(c->ev_read, NULL);
	c->more_input = true; /* frames that came with the HELLO: the timer reads them next pass */
	arm_timer(s, now);
}

bool session_resume_pending(const struct session *s)
{
	return s->core->held;
}

static void handle_message(struct session *s, const struct arena_msg *m, uint64_t now)
{
	if (!s->welcomed) {
		if (m->type == ARENA_HELLO) {
			handle_hello(s, &m->u.hello, now);
			return;
		}
		session_error(s, ARENA_ERR_NOT_WELCOMED, "HELLO first");
		session_bye(s, ARENA_BYE_PROTOCOL_ERROR, "message before HELLO");
		return;
	}
	switch (m->type) {
	case ARENA_HELLO:
		session_error(s, ARENA_ERR_ALREADY_WELCOMED, "already welcomed");
		session_bye(s, ARENA_BYE_PROTOCOL_ERROR, "second HELLO");
		return;
	case ARENA_PING: {
		struct arena_msg pong;

		if (s->env->game->request(s, now) <= 0)
			return;
		memset(&pong, 0, sizeof(pong));
		pong.type = ARENA_PONG;
		pong.u.ping.stamp = m->u.ping.stamp;
		session_send_msg(s, &pong);
		return;
	}
	default:
		s->env->game->message(s, m, now);
		return;
	}
}

static void protocol_error(struct session *s, int err)
{
	const char *text = arena_decode_strerror(err);

	session_error(s, arena_error_for_decode(err), text);
	session_bye(s, ARENA_BYE_PROTOCOL_ERROR, text);
}

/* Decode and handle the complete frames at the start of p[0..len), at most
 * SESSION_FRAMES_PER_WAKEUP of them. *ret_used: the bytes handled. Returns true if a complete
 * frame (or a header to reject) is left for the next wakeup. */
static bool handle_frames(struct session *s, const unsigned char *p, size_t len, size_t *ret_used)
{
	struct session_core *c = s->core;
	size_t off = 0, flen = 0;
	bool more = false;

	for (int i = 0; c->state == SS_OPEN && !c->held && len - off >= ARENA_HEADER_SIZE; i++) {
		int r =
		    arena_frame_peek(p + off, ARENA_HEADER_SIZE, s->env->cfg->max_payload, &flen);
		struct arena_msg m;
		uint64_t now;

		if (i == SESSION_FRAMES_PER_WAKEUP) {
			more = r < 0 || len - off >= flen;
			break;
		}
		if (r < 0) {
			protocol_error(s, r);
			break;
		}
		if (len - off < flen)
			break;
		r = arena_decode_payload(ARENA_SIDE_SERVER, p[off + 2], p + off + ARENA_HEADER_SIZE,
		                         flen - ARENA_HEADER_SIZE, &m);
		off += flen;
		if (r < 0) {
			protocol_error(s, r);
			break;
		}
		now = arena_now_ms();
		c->last_frame_ms = now;
		atomic_fetch_add(&s->env->stats->frames_in, 1);
		atomic_fetch_add_explicit(&s->env->stats->frames_in_type[shm_type_index(m.type)], 1,
		                          memory_order_relaxed);
		handle_message(s, &m, now);
	}
	*ret_used = off;
	return more;
}

/* One recv() of at most `want` bytes into buf. Sets eof at end of stream. The byte count (0 for
 * nothing or EOF) or -errno. */
static ssize_t recv_some(struct session_core *c, void *buf, size_t want)
{
	ssize_t n;

	do
		n = recv(c->fd, buf, want, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		c->eof = true;
	atomic_fetch_add_explicit(&c->set->env->stats->bytes_in, (uint64_t)n, memory_order_relaxed);
	return n;
}

/* Read up to `want` more bytes into `in` (into space reserved at its end, no copy) and handle
 * what is complete there. (Not evbuffer_read(): it asks the kernel with ioctl(FIONREAD) how much
 * to read before every read, a second system call per message.) Returns 1 if complete frames are
 * left for the next wakeup, 0 if not, or -errno. */
static int input_buffered(struct session *s, size_t want)
{
	struct session_core *c = s->core;
	struct evbuffer_iovec v;
	const unsigned char *p;
	size_t len, used = 0;
	bool more;

	if (want > 0) {
		ssize_t n;

		if (evbuffer_reserve_space(c->in, (ev_ssize_t)want, &v, 1) != 1)
			return -ENOMEM;
		n = recv_some(c, v.iov_base, MIN(v.iov_len, want));
		v.iov_len = n > 0 ? (size_t)n : 0;
		if (evbuffer_commit_space(c->in, &v, 1) < 0)
			return -EIO;
		if (n < 0)
			return (int)n;
	}
	len = evbuffer_get_length(c->in);
	if (len < ARENA_HEADER_SIZE || !(p = evbuffer_pullup(c->in, -1)))
		return 0;
	more = handle_frames(s, p, len, &used);
	evbuffer_drain(c->in, used);
	return more;
}

/* The usual case, nothing buffered: read onto the stack and handle the frames from there; only
 * what is left (a partial frame, or frames beyond this wakeup's share) is copied into `in`.
 * Returns like input_buffered(). */
static int input_direct(struct session *s)
{
	struct session_core *c = s->core;
	unsigned char buf[SESSION_READ_CHUNK];
	size_t used = 0;
	ssize_t n = recv_some(c, buf, sizeof(buf));
	bool more;

	if (n <= 0)
		return (int)n;
	more = handle_frames(s, buf, (size_t)n, &used);
	if (c->state == SS_OPEN && used < (size_t)n &&
	    evbuffer_add(c->in, buf + used, (size_t)n - used) < 0)
		return -ENOMEM;
	return more;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct session_core *c = s->core;
	size_t have, in_cap;
	int r;

	if (c->state == SS_CLOSING || c->state == SS_LINGER) {
		bool gone = discard_input(c);

		if (c->state == SS_LINGER && (gone || peer_has_everything(c))) {
			session_finish(s);
			return;
		}
		if (gone)
			event_del(
			    c->ev_read); /* EOF stays readable: stop listening, keep flushing */
		return;
	}
	if (c->state != SS_OPEN)
		return;

	/* Buffer at most one largest allowed frame plus a read's worth: a flooding client's
	 * backlog stays in its own socket buffer, not in our memory. */
	have = evbuffer_get_length(c->in);
	in_cap = s->env->cfg->max_payload + ARENA_HEADER_SIZE + SESSION_READ_CHUNK;
	if (have == 0 && !c->eof)
		r = input_direct(s);
	else if (c->eof || have >= in_cap)
		r = input_buffered(s, 0);
	else
		r = input_buffered(s, MIN(in_cap - have, SESSION_READ_CHUNK));
	if (r < 0) {
		log_debug("client %s: read failed: %s", c->peer_text, strerror(-r));
		session_finish(s);
		return;
	}
	if (r > 0) {
		/* More frames buffered: come back on the next loop pass, after the other ready
		 * connections. (event_active() would run us again in this same pass, before the
		 * loop polls anyone else: a flooding client would starve its neighbours.) The
		 * session timer does it: due "now", it fires after the next poll. */
		c->more_input = true;
		arm_timer(s, arena_now_ms());
		return;
	}
	if (c->eof && c->state == SS_OPEN) {
		/* The client is done sending: answer what it sent, then close. */
		log_debug("client %s closed its side", c->peer_text);
		event_del(c->ev_read);
		session_begin_close(s);
	}
}

/* ---- Timer -------------------------------------------------------------------------------- */

static void arm_timer(struct session *s, uint64_t now)
{
	struct session_core *c = s->core;
	const struct arena_config *cfg = s->env->cfg;
	uint64_t due;
	struct timeval tv;

	switch (c->state) {
	case SS_OPEN:
		due = s->welcomed ? c->last_frame_ms + cfg->idle_timeout_ms
		                  : c->opened_ms + cfg->handshake_timeout_ms;
		if (c->more_input)
			due = now;
		break;
	case SS_CLOSING:
		due = c->close_deadline_ms;
		break;
	case SS_LINGER:
		due = MIN(c->close_deadline_ms, now + SESSION_LINGER_POLL_MS);
		break;
	default:
		return;
	}
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000) * 1000;
	event_add(c->ev_timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct session_core *c = s->core;
	const struct arena_config *cfg = s->env->cfg;
	uint64_t now = arena_now_ms();

	switch (c->state) {
	case SS_OPEN:
		if (c->more_input) {
			/* Resume the buffered input; deadlines are checked on a later firing. */
			c->more_input = false;
			on_read(c->fd, EV_READ, s);
			if (c->state == SS_OPEN && !c->more_input)
				arm_timer(s, arena_now_ms());
			return;
		}
		if (!s->welcomed && now >= c->opened_ms + cfg->handshake_timeout_ms) {
			session_bye(s, ARENA_BYE_IDLE, "handshake timeout");
			return;
		}
		if (s->welcomed && now >= c->last_frame_ms + cfg->idle_timeout_ms) {
			session_bye(s, ARENA_BYE_IDLE, "idle timeout");
			return;
		}
		break;
	case SS_CLOSING:
		if (now >= c->close_deadline_ms) {
			log_debug("client %s: output not taken by the close deadline",
			          c->peer_text);
			session_finish(s);
			return;
		}
		break;
	case SS_LINGER:
		if (now >= c->close_deadline_ms || peer_has_everything(c)) {
			session_finish(s);
			return;
		}
		break;
	default:
		return;
	}
	arm_timer(s, now);
}

/* ---- The set ------------------------------------------------------------------------------ */

static void session_free(struct session *s)
{
	struct session_core *c = s->core;

	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_timer)
		event_free(c->ev_timer);
	if (c->in)
		evbuffer_free(c->in);
	if (c->out)
		evbuffer_free(c->out);
	safe_close(c->fd);
	free((struct session_full *)s);
}

/* Remove closed sessions from the live array (swap-remove) and free them. */
static void reap_dead(struct sessions *t)
{
	if (t->dead)
		t->gen++; /* before any tick can look at a freed session again */
	while (t->dead) {
		struct session *s = t->dead;
		struct session_core *c = s->core;

		t->dead = c->next_dead;
		if (c->idx < t->nlive && t->live[c->idx] == s) {
			struct session *last = t->live[--t->nlive];

			t->live[c->idx] = last;
			last->core->idx = c->idx;
		}
		session_free(s);
	}
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct sessions *t = arg;

	t->in_deferred = true;
	/* Flush every session that queued output since the last pass. The array may grow while
	 * we walk it (a flush can finish a session, never queue more output), so index it. */
	for (size_t i = 0; i < t->ndirty; i++) {
		struct session *s = t->dirty[i];

		s->core->dirty = false;
		session_flush(s);
	}
	t->ndirty = 0;
	reap_dead(t);
	t->in_deferred = false;
}

int sessions_new(struct event_base *base, struct session_env *env, const struct sessions_ops *ops,
                 void *userdata, struct sessions **ret)
{
	struct sessions *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->base = base;
	t->env = env;
	t->ops = ops;
	t->userdata = userdata;
	t->ev_deferred = event_new(base, -1, 0, on_deferred, t);
	if (!t->ev_deferred) {
		free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

void sessions_free(struct sessions *t)
{
	if (!t)
		return;
	sessions_abort_all(t);
	reap_dead(t);
	event_free(t->ev_deferred);
	free(t->live);
	free(t->dirty);
	free(t);
}

int sessions_add(struct sessions *t, int fd, const struct peer_addr *peer)
{
	struct session_full *f;
	struct session *s;
	struct session_core *c;
	uint64_t now = arena_now_ms();
	int one = 1;

	if (grow_array(&t->live, &t->live_cap, t->nlive + 1) < 0 || !(f = calloc(1, sizeof(*f)))) {
		safe_close(fd);
		t->ops->closed(peer, t->userdata);
		return -ENOMEM;
	}
	s = &f->pub;
	c = &f->core;
	s->env = t->env;
	s->core = c;
	s->room = WORLD_NO_ROOM;
	c->set = t;
	c->fd = fd;
	c->state = SS_OPEN;
	c->peer = *peer;
	peer_format(peer, c->peer_text);
	c->opened_ms = now;
	c->last_frame_ms = now;
	c->ev_read = event_new(t->base, fd, EV_READ | EV_PERSIST, on_read, s);
	c->ev_write = event_new(t->base, fd, EV_WRITE | EV_PERSIST, on_write, s);
	c->ev_timer = event_new(t->base, -1, 0, on_timer, s);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (!c->ev_read || !c->ev_write || !c->ev_timer || !c->in || !c->out ||
	    event_add(c->ev_read, NULL) < 0) {
		session_free(s); /* closes fd */
		t->ops->closed(peer, t->userdata);
		return -ENOMEM;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	c->idx = t->nlive;
	t->live[t->nlive++] = s;
	t->nopen++;
	t->gen++;
	atomic_fetch_add(&t->env->stats->clients, 1);
	arm_timer(s, now);
	log_debug("client %s connected", c->peer_text);
	return 0;
}

size_t sessions_open(const struct sessions *t)
{
	return t->nopen;
}

struct session **sessions_array(struct sessions *t, size_t *ret_n)
{
	*ret_n = t->nlive;
	return t->live;
}

uint64_t sessions_generation(const struct sessions *t)
{
	return t->gen;
}

const struct peer_addr *session_peer(const struct session *s)
{
	return &s->core->peer;
}

void session_set_room(struct session *s, uint32_t room)
{
	if (s->room != room) {
		if (s->welcomed && (s->room == WORLD_NO_ROOM) != (room == WORLD_NO_ROOM)) {
			if (room == WORLD_NO_ROOM)
				atomic_fetch_sub(&s->env->stats->in_rooms, 1);
			else
				atomic_fetch_add(&s->env->stats->in_rooms, 1);
		}
		s->room = room;
		s->core->set->gen++;
	}
}

size_t sessions_goodbye_welcomed(struct sessions *t, enum arena_bye_reason reason, const char *text,
                                 uint64_t deadline_ms)
{
	size_t n = 0;

	t->bye_on_welcome = true;
	t->bye_reason = (uint8_t)reason;
	snprintf(t->bye_text, sizeof(t->bye_text), "%s", text ? text : "");
	t->deadline_ms = deadline_ms;
	for (size_t i = 0; i < t->nlive; i++) {
		struct session *s = t->live[i];

		if (s->core->state == SS_OPEN && s->welcomed) {
			session_bye(s, reason, text);
			n++;
		}
	}
	return n;
}

size_t sessions_goodbye_all(struct sessions *t, enum arena_bye_reason reason, const char *text,
                            uint64_t deadline_ms)
{
	size_t n = 0;

	t->deadline_ms = deadline_ms;
	for (size_t i = 0; i < t->nlive; i++) {
		struct session *s = t->live[i];
		struct session_core *c = s->core;

		if (c->state == SS_OPEN) {
			session_bye(s, reason, text);
			n++;
		} else if ((c->state == SS_CLOSING || c->state == SS_LINGER) &&
		           c->close_deadline_ms > deadline_ms) {
			c->close_deadline_ms = deadline_ms;
			arm_timer(s, arena_now_ms());
		}
	}
	return n;
}

void sessions_abort_all(struct sessions *t)
{
	for (size_t i = 0; i < t->nlive; i++)
		session_finish(t->live[i]);
}
