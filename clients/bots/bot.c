/* bot.c: one arena-bots bot: a client connection's state machine and its measurements.
 *
 * A bot connects (optionally from a chosen source address), says HELLO, JOINs a room (or, in
 * ping mode, stays in the lobby and pings; in handshake mode, closes right after WELCOME and
 * starts over) and then answers to the timer wheel in load.c, which asks it for one input per
 * period. Each input is remembered with its intended and actual send time in a small ring
 * indexed by seq; a SNAPSHOT's ack_seq (a PONG's stamp in ping mode) retires every input up to
 * it and records response, service and send-lag times. Inputs older than --timeout are retired
 * as timeouts, so inputs_sent == acked + timed_out + pending always holds.
 *
 * Frames are found with arena_frame_peek() and decoded with the one protocol codec; only a
 * frame split across two reads is copied into a per-bot carry buffer, allocated for that
 * moment. Writes go straight to the socket; a short write parks the rest in a bounded buffer
 * and arms EV_WRITE.
 */
#include "load.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void bot_io_cb(evutil_socket_t fd, short what, void *arg);
static void bot_timer_cb(evutil_socket_t fd, short what, void *arg);
static void bot_connect(struct bot *b, uint64_t now);

static const struct bots_opts *O(const struct bot *b)
{
	return b->lp->o;
}

static struct run_stats *S(const struct bot *b)
{
	return b->lp->st;
}

#define COUNT(b, name) (S(b)->c[C_##name]++)

int bot_init(struct loadproc *lp, struct bot *b, uint32_t idx)
{
	memset(b, 0, sizeof(*b));
	b->lp = lp;
	b->fd = -1;
	b->idx = idx;
	b->wheel_next = WHEEL_END;
	b->state = B_IDLE;
	b->timer = event_new(lp->base, -1, 0, bot_timer_cb, b);
	if (!b->timer)
		return -ENOMEM;
	return 0;
}

void bot_free(struct bot *b)
{
	if (b->io)
		event_free(b->io);
	if (b->timer)
		event_free(b->timer);
	if (b->fd >= 0)
		close(b->fd);
	free(b->ring);
	free(b->carry);
	free(b->out);
	b->io = b->timer = NULL;
	b->ring = NULL;
	b->carry = b->out = NULL;
	b->fd = -1;
}

static void arm_timer(struct bot *b, uint64_t us)
{
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
	                     .tv_usec = (suseconds_t)(us % 1000000)};
	evtimer_add(b->timer, &tv);
}

uint32_t bot_pending(const struct bot *b)
{
	return b->seq_sent - b->seq_done;
}

/* ---- playing time (for the steady-state input rate check) ---- */

static void enter_playing(struct bot *b, uint64_t now)
{
	b->state = B_PLAYING;
	b->playing_since = now;
	b->last_snap = 0;
}

static void leave_playing(struct bot *b, uint64_t now)
{
	struct loadproc *lp = b->lp;
	if (b->state != B_PLAYING)
		return;
	if (lp->win_set) {
		uint64_t from = b->playing_since > lp->win_start ? b->playing_since : lp->win_start;
		uint64_t to = now < lp->win_end ? now : lp->win_end;
		if (to > from)
			S(b)->c[C_window_bot_us] += to - from;
	}
	b->playing_since = now;
}

/* ---- outstanding inputs ---- */

static void retire_timeout(struct bot *b)
{
	b->seq_done++;
	COUNT(b, inputs_timed_out);
	hist_record(&S(b)->h[H_response], O(b)->timeout_us);
	hist_record(b->lp->live_delta, O(b)->timeout_us);
}

/* Retire inputs whose deadline has passed. */
static void expire_inputs(struct bot *b, uint64_t now)
{
	while (b->seq_done != b->seq_sent) {
		const struct pend *p = &b->ring[(b->seq_done + 1) & b->ring_mask];
		if (p->intended + O(b)->timeout_us > now)
			break;
		retire_timeout(b);
	}
}

/* Everything up to `upto` was answered at `now`. */
static void ack_inputs(struct bot *b, uint32_t upto, uint64_t now)
{
	/* seqs are consecutive from 1 on a connection; never beyond what was sent */
	if ((int32_t)(upto - b->seq_sent) > 0)
		upto = b->seq_sent;
	while ((int32_t)(upto - b->seq_done) > 0) {
		const struct pend *p = &b->ring[(b->seq_done + 1) & b->ring_mask];
		uint64_t resp = now - p->intended;
		if (resp >= O(b)->timeout_us) {
			retire_timeout(b);
			continue;
		}
		b->seq_done++;
		COUNT(b, inputs_acked);
		hist_record(&S(b)->h[H_response], resp);
		hist_record(&S(b)->h[H_service], now - p->actual);
		hist_record(b->lp->live_delta, resp);
	}
}

/* The connection is gone: whatever was outstanding will never be answered. */
static void lose_inputs(struct bot *b)
{
	while (b->seq_done != b->seq_sent)
		retire_timeout(b);
	b->seq_sent = b->seq_done = 0;
}

/* ---- the socket ---- */

static void set_io(struct bot *b, short flags)
{
	if (b->io)
		event_del(b->io);
	if (!b->io)
		b->io = event_new(b->lp->base, b->fd, flags, bot_io_cb, b);
	else
		event_assign(b->io, b->lp->base, b->fd, flags, bot_io_cb, b);
	if (b->io)
		event_add(b->io, NULL);
	b->write_armed = (flags & EV_WRITE) != 0;
}

/* Close the connection (nothing is accounted here). */
static void drop_conn(struct bot *b)
{
	if (b->io)
		event_del(b->io);
	evtimer_del(b->timer);
	if (b->fd >= 0) {
		close(b->fd);
		b->fd = -1;
		if (b->state != B_CONNECTING)
			S(b)->c[C_connected]--;
	}
	free(b->carry);
	free(b->out);
	b->carry = b->out = NULL;
	b->carry_len = 0;
	b->out_len = 0;
	b->welcomed = false;
	b->conn_gen++;
}

/* The connection failed or ended: reconnect later (--reconnect) or stop for good. */
static void bot_fail(struct bot *b, uint64_t now)
{
	leave_playing(b, now);
	lose_inputs(b);
	drop_conn(b);
	if (O(b)->reconnect && !b->lp->stopping) {
		b->state = B_BACKOFF;
		b->want_resume = b->have_token; /* like a real client: try to get the player back */
		b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : BACKOFF_MIN;
		if (b->backoff_ms > BACKOFF_MAX)
			b->backoff_ms = BACKOFF_MAX;
		/* +-25% jitter so a crowd that failed together does not come back together */
		uint64_t us = (uint64_t)b->backoff_ms * 1000;
		us = us * 3 / 4 + lp_rand(b->lp) % (us / 2 + 1);
		arm_timer(b, us);
		return;
	}
	b->state = B_DONE;
	b->lp->bot_done(b->lp);
}

static int queue_out(struct bot *b, const uint8_t *data, size_t len)
{
	if (!b->out) {
		b->out = malloc(OUT_CAP);
		if (!b->out)
			return -ENOMEM;
	}
	if (b->out_len + len > OUT_CAP)
		return -ENOBUFS;
	memcpy(b->out + b->out_len, data, len);
	b->out_len += (uint32_t)len;
	if (!b->write_armed)
		set_io(b, EV_READ | EV_WRITE | EV_PERSIST);
	return 0;
}

/* Send one frame now, or queue what the socket does not take. On failure the bot has been
 * failed (closed) and the caller must stop using the connection: returns < 0. */
static int bot_send(struct bot *b, const uint8_t *frame, size_t len, uint64_t now)
{
	if (b->fd < 0)
		return -EPIPE;
	size_t off = 0;
	if (b->out_len == 0) {
		ssize_t n = send(b->fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			COUNT(b, err_disconnect);
			bot_fail(b, now);
			return -EPIPE;
		}
		if (n > 0) {
			off = (size_t)n;
			S(b)->c[C_bytes_out] += (uint64_t)n;
		}
	}
	b->last_send = now;
	if (off == len)
		return 0;
	int r = queue_out(b, frame + off, len - off);
	if (r < 0) {
		COUNT(b, err_overflow);
		bot_fail(b, now);
		return r;
	}
	return 0;
}

/* The process's outgoing message, with its type set. Not zeroed (it is large, and the encoder
 * reads only the fields of that type): callers set every field of the type. */
static struct arena_msg *tx(struct bot *b, uint8_t type)
{
	b->lp->tx.type = type;
	return &b->lp->tx;
}

static int bot_send_msg(struct bot *b, const struct arena_msg *m, uint64_t now)
{
	uint8_t buf[ARENA_HEADER_SIZE + 512];
	ssize_t n = arena_encode(m, buf, sizeof(buf));
	if (n < 0)
		return (int)n; /* cannot happen for what bots send; nothing was sent */
	return bot_send(b, buf, (size_t)n, now);
}

static void flush_out(struct bot *b, uint64_t now)
{
	while (b->out_len > 0) {
		ssize_t n = send(b->fd, b->out, b->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			COUNT(b, err_disconnect);
			bot_fail(b, now);
			return;
		}
		S(b)->c[C_bytes_out] += (uint64_t)n;
		memmove(b->out, b->out + n, b->out_len - (size_t)n);
		b->out_len -= (uint32_t)n;
	}
	free(b->out);
	b->out = NULL;
	set_io(b, EV_READ | EV_PERSIST);
}

/* ---- protocol steps ---- */

static void send_hello(struct bot *b, uint64_t now)
{
	struct arena_msg *m = tx(b, ARENA_HELLO);
	m->u.hello.version = ARENA_PROTO_VERSION;
	int len = snprintf(m->u.hello.name.s, sizeof(m->u.hello.name.s), "bot-%u-%u", b->lp->proc,
	                   b->idx);
	m->u.hello.name.len = (uint8_t)len;
	if (b->want_resume && b->have_token)
		memcpy(m->u.hello.token, b->token, ARENA_TOKEN_LEN);
	else
		memset(m->u.hello.token, 0, ARENA_TOKEN_LEN);
	bot_send_msg(b, m, now);
}

static void send_join(struct bot *b, uint64_t now)
{
	struct arena_msg *m = tx(b, ARENA_JOIN);
	size_t len = strlen(O(b)->room);
	memcpy(m->u.join.room.s, O(b)->room, len + 1);
	m->u.join.room.len = (uint8_t)len;
	b->state = B_JOINING;
	arm_timer(b, O(b)->connect_timeout_us);
	bot_send_msg(b, m, now);
}

static void send_ping(struct bot *b, uint64_t stamp, uint64_t now)
{
	struct arena_msg *m = tx(b, ARENA_PING);
	m->u.ping.stamp = stamp;
	bot_send_msg(b, m, now);
}

static int ensure_ring(struct bot *b)
{
	if (b->ring)
		return 0;
	b->ring = calloc(b->lp->ring_size, sizeof(*b->ring));
	if (!b->ring)
		return -ENOMEM;
	b->ring_mask = b->lp->ring_size - 1;
	return 0;
}

/* Send the next input (MOVE, or PING in ping mode) due at `intended`. */
static void send_input(struct bot *b, uint64_t intended, uint64_t now)
{
	if (ensure_ring(b) < 0)
		return;
	expire_inputs(b, now);
	/* The ring holds more than --timeout's worth of inputs; if a stalled loop still fills it,
	 * the oldest input is given up as a timeout rather than overwritten. */
	while (bot_pending(b) >= b->ring_mask)
		retire_timeout(b);
	uint32_t seq = b->seq_sent + 1;
	struct arena_msg *m;
	if (O(b)->mode == MODE_PING) {
		m = tx(b, ARENA_PING);
		m->u.ping.stamp = seq;
	} else {
		m = tx(b, ARENA_MOVE);
		m->u.move.seq = seq;
		uint64_t r = lp_rand(b->lp) % 8; /* 8 directions, never (0, 0) */
		static const int8_t dir[8][2] = {{-1, -1}, {0, -1}, {1, -1}, {-1, 0},
		                                 {1, 0},   {-1, 1}, {0, 1},  {1, 1}};
		m->u.move.dx = dir[r][0];
		m->u.move.dy = dir[r][1];
	}
	b->seq_sent = seq;
	struct pend *p = &b->ring[seq & b->ring_mask];
	p->intended = intended;
	p->actual = now;
	COUNT(b, inputs_sent);
	if (lp_in_window(b->lp, now))
		COUNT(b, inputs_in_window);
	hist_record(&S(b)->h[H_send_lag], now - intended);
	bot_send_msg(b, m, now);
}

static void do_churn(struct bot *b, uint64_t now)
{
	if (b->churn_kind == 0) {
		COUNT(b, churn_leaves);
		b->state = B_LEAVING;
		arm_timer(b, O(b)->connect_timeout_us);
		bot_send_msg(b, tx(b, ARENA_LEAVE), now);
		return;
	}
	COUNT(b, churn_resumes);
	drop_conn(b);
	b->seq_sent = b->seq_done = 0;
	b->want_resume = true;
	/* Come back after 200..500 ms, like a client whose network blipped: the server needs a
	 * moment to see the old connection close before the token can resume the player. */
	b->state = B_BACKOFF;
	b->churn_reconnect = true;
	arm_timer(b, 200000 + lp_rand(b->lp) % 300000);
}

/* ---- incoming frames ---- */

static void on_welcome(struct bot *b, const struct arena_welcome *w, uint64_t now)
{
	struct loadproc *lp = b->lp;
	if (b->welcomed || b->state != B_HELLO)
		return; /* a server bug; the decoder already vouched for the fields */
	evtimer_del(b->timer);
	b->welcomed = true;
	b->ever_welcomed = true;
	b->backoff_ms = 0;
	COUNT(b, welcomed);
	hist_record(&S(b)->h[H_connect], now - b->connect_start);
	if (w->tick_rate > 0 && lp->tick_period_us == 0)
		lp->tick_period_us = 1000000 / w->tick_rate;
	memcpy(b->token, w->token, ARENA_TOKEN_LEN);
	b->have_token = true;
	bool resumed = w->resume == ARENA_RESUME_OK;
	if (b->want_resume) {
		if (resumed)
			COUNT(b, resumes_ok);
		else
			COUNT(b, resumes_expired);
		b->want_resume = false;
	}
	switch (O(b)->mode) {
	case MODE_HANDSHAKE:
		COUNT(b, handshakes);
		drop_conn(b);
		if (lp->stopping) {
			b->state = B_DONE;
			lp->bot_done(lp);
		} else {
			bot_connect(b, now);
		}
		return;
	case MODE_PING:
		enter_playing(b, now);
		if (O(b)->ping_hz == 0) {
			/* closed loop: one PING in flight, the next leaves when its PONG arrives */
			if (ensure_ring(b) == 0 && !lp->stopping)
				send_input(b, now, now);
		}
		return;
	case MODE_PLAY:
		if (resumed) {
			/* the server sends JOINED right after WELCOME when it put us back in a room
			 */
			b->state = B_RESUMING;
			arm_timer(b, 1000000);
			return;
		}
		send_join(b, now);
		return;
	}
}

static void on_snapshot(struct bot *b, const struct arena_snapshot *s, uint64_t now)
{
	struct loadproc *lp = b->lp;
	COUNT(b, snapshots);
	b->ever_snapshot = true;
	if (b->state == B_PLAYING || b->state == B_CHURN_WAIT) {
		if (b->last_snap)
			hist_record(&S(b)->h[H_snap_gap], now - b->last_snap);
		b->last_snap = now;
	}
	if (lp->tick_period_us) {
		int64_t off = (int64_t)now - (int64_t)((uint64_t)s->tick * lp->tick_period_us);
		if (!lp->have_tick_off || off < lp->min_tick_off) {
			lp->min_tick_off = off;
			lp->have_tick_off = true;
			if (!lp->first_snap)
				lp->first_snap = now;
		}
		/* after a 2 s warm-up the minimum offset is a good estimate of "on schedule" */
		if (now >= lp->first_snap + 2000000) {
			uint64_t delay = (uint64_t)(off - lp->min_tick_off);
			hist_record(&S(b)->h[H_tick_delay], delay);
			COUNT(b, snapshots_timed);
			if (delay <= lp->tick_period_us)
				COUNT(b, snapshots_on_time);
		}
	}
	if (b->seq_sent != b->seq_done)
		ack_inputs(b, s->ack_seq, now);
	if (b->state == B_CHURN_WAIT && bot_pending(b) == 0)
		do_churn(b, now);
}

static void on_pong(struct bot *b, const struct arena_ping *p, uint64_t now)
{
	COUNT(b, pongs);
	if (O(b)->mode != MODE_PING || b->state != B_PLAYING)
		return;
	if (p->stamp > UINT32_MAX)
		return;
	ack_inputs(b, (uint32_t)p->stamp, now);
	if (O(b)->ping_hz == 0 && bot_pending(b) == 0 && !b->lp->stopping)
		send_input(b, now, now);
}

static void on_bye(struct bot *b, const struct arena_bye *bye, uint64_t now)
{
	unsigned r = bye->reason < BYE_REASONS ? bye->reason : 0;
	S(b)->bye[r]++;
	if (!b->welcomed)
		S(b)->bye_early[r]++;
	bot_fail(b, now);
}

static void on_error(struct bot *b, const struct arena_error *e, uint64_t now)
{
	unsigned code = e->code < ERROR_CODES ? e->code : 0;
	S(b)->err_code[code]++;
	if (b->state == B_JOINING &&
	    (e->code == ARENA_ERR_ROOM_FULL || e->code == ARENA_ERR_TOO_MANY_ROOMS)) {
		COUNT(b, join_refused);
		evtimer_del(b->timer);
		b->state = B_LOBBY;
	}
	(void)now;
}

static void handle_msg(struct bot *b, const struct arena_msg *m, uint64_t now)
{
	switch (m->type) {
	case ARENA_WELCOME:
		on_welcome(b, &m->u.welcome, now);
		break;
	case ARENA_JOINED:
		if (b->state == B_JOINING || b->state == B_RESUMING) {
			evtimer_del(b->timer);
			COUNT(b, joined);
			enter_playing(b, now);
		}
		break;
	case ARENA_LEFT:
		if (b->state == B_LEAVING)
			send_join(b, now);
		break;
	case ARENA_SNAPSHOT:
		on_snapshot(b, &m->u.snapshot, now);
		break;
	case ARENA_CHAT_MSG:
		COUNT(b, chat_received);
		break;
	case ARENA_PONG:
		on_pong(b, &m->u.ping, now);
		break;
	case ARENA_ERROR:
		on_error(b, &m->u.error, now);
		break;
	case ARENA_BYE:
		on_bye(b, &m->u.bye, now);
		break;
	default: /* LEADERBOARD: bots never ask */
		break;
	}
}

/* Decode one complete frame with the protocol library and act on it. */
static int handle_frame(struct bot *b, const uint8_t *frame, size_t len, uint64_t now)
{
	struct loadproc *lp = b->lp;
	size_t used = 0;
	arena_decoder_init(&lp->dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	int r = arena_decoder_feed(&lp->dec, frame, len, &used, &lp->msg);
	if (r != 1 || used != len) {
		COUNT(b, err_decode);
		bot_fail(b, now);
		return -EBADMSG;
	}
	handle_msg(b, &lp->msg, now);
	return 0;
}

static void decode_error(struct bot *b, uint64_t now)
{
	COUNT(b, err_decode);
	bot_fail(b, now);
}

/* Move bytes from *data into the carry buffer until it holds `upto` bytes or *data is used
 * up. Returns whether the carry holds `upto` bytes. */
static bool carry_fill(struct bot *b, const uint8_t **data, size_t *len, size_t upto)
{
	if (b->carry_len >= upto)
		return true;
	size_t take = upto - b->carry_len;
	take = take < *len ? take : *len;
	memcpy(b->carry + b->carry_len, *data, take);
	b->carry_len += (uint16_t)take;
	*data += take;
	*len -= take;
	return b->carry_len >= upto;
}

/* Split the bytes just read into frames; a trailing partial frame goes to the carry buffer. */
static void process_input(struct bot *b, const uint8_t *data, size_t len, uint64_t now)
{
	uint32_t gen = b->conn_gen;
	size_t flen;
	while (len > 0 && b->fd >= 0 && b->conn_gen == gen) {
		if (b->carry_len) {
			if (!carry_fill(b, &data, &len, ARENA_HEADER_SIZE))
				break;
			if (arena_frame_peek(b->carry, b->carry_len, ARENA_PAYLOAD_MAX, &flen) <
			    0) {
				decode_error(b, now);
				return;
			}
			if (!carry_fill(b, &data, &len, flen))
				break;
			b->carry_len = 0;
			uint8_t *frame = b->carry;
			b->carry = NULL;
			int r = handle_frame(b, frame, flen, now);
			free(frame);
			if (r < 0)
				return;
			continue;
		}
		int r = arena_frame_peek(data, len, ARENA_PAYLOAD_MAX, &flen);
		if (r == -EAGAIN || (r == 0 && flen > len)) {
			b->carry = malloc(ARENA_FRAME_MAX);
			if (!b->carry) {
				decode_error(b, now);
				return;
			}
			memcpy(b->carry, data, len);
			b->carry_len = (uint16_t)len;
			break;
		}
		if (r < 0) {
			decode_error(b, now);
			return;
		}
		if (handle_frame(b, data, flen, now) < 0)
			return;
		data += flen;
		len -= flen;
	}
}

static void on_connected(struct bot *b, uint64_t now)
{
	COUNT(b, connects_ok);
	S(b)->c[C_connected]++;
	b->state = B_HELLO;
	set_io(b, EV_READ | EV_PERSIST);
	send_hello(b, now);
}

static void bot_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bot *b = arg;
	uint64_t now = bots_now_us();
	if (b->state == B_CONNECTING) {
		int err = 0;
		socklen_t elen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
			err = errno;
		if (err) {
			COUNT(b, err_connect);
			bot_fail(b, now);
			return;
		}
		on_connected(b, now);
		return;
	}
	if (what & EV_WRITE) {
		flush_out(b, now);
		if (b->fd < 0)
			return;
	}
	if (!(what & EV_READ))
		return;
	ssize_t n = read(fd, b->lp->rbuf, sizeof(b->lp->rbuf));
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF or reset without a BYE first */
		COUNT(b, err_disconnect);
		bot_fail(b, now);
		return;
	}
	S(b)->c[C_bytes_in] += (uint64_t)n;
	process_input(b, b->lp->rbuf, (size_t)n, now);
}

static void bot_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bot *b = arg;
	uint64_t now = bots_now_us();
	(void)fd;
	(void)what;
	switch (b->state) {
	case B_CONNECTING:
	case B_HELLO:
	case B_JOINING:
	case B_LEAVING:
		COUNT(b, err_connect_timeout);
		bot_fail(b, now);
		return;
	case B_RESUMING: /* resumed into the lobby: join like a fresh player */
		send_join(b, now);
		return;
	case B_BACKOFF:
		if (b->lp->stopping)
			return;
		if (!b->churn_reconnect)
			COUNT(b, reconnects);
		b->churn_reconnect = false;
		bot_connect(b, now);
		return;
	default:
		return;
	}
}

static void bot_connect(struct bot *b, uint64_t now)
{
	const struct bots_opts *o = O(b);
	b->state = B_CONNECTING; /* first: a failure below must not count a connection as open */
	b->connect_start = now;
	b->seq_sent = b->seq_done = 0;
	COUNT(b, connects_started);
	int fd = socket(o->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	b->fd = fd;
	b->conn_gen++;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->nsource > 0) {
		const struct sockaddr_storage *src =
		    &o->source[(b->lp->first + b->idx) % o->nsource];
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		socklen_t slen = src->ss_family == AF_INET ? sizeof(struct sockaddr_in)
		                                           : sizeof(struct sockaddr_in6);
		if (bind(fd, (const struct sockaddr *)src, slen) < 0)
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&o->target, o->target_len) == 0) {
		arm_timer(b, o->connect_timeout_us);
		on_connected(b, now);
		return;
	}
	if (errno != EINPROGRESS)
		goto fail;
	set_io(b, EV_WRITE);
	arm_timer(b, o->connect_timeout_us);
	return;
fail:
	COUNT(b, err_connect);
	bot_fail(b, now);
}

/* ---- entry points from load.c ---- */

void bot_start(struct bot *b, uint64_t now)
{
	bot_connect(b, now);
}

void bot_input(struct bot *b, uint64_t intended, uint64_t now)
{
	if (b->seq_sent != b->seq_done)
		expire_inputs(b, now);
	if (b->state == B_CHURN_WAIT && bot_pending(b) == 0) {
		do_churn(b, now);
		return;
	}
	if (b->state != B_PLAYING || b->lp->stopping)
		return;
	send_input(b, intended, now);
}

void bot_housekeeping(struct bot *b, uint64_t now)
{
	struct loadproc *lp = b->lp;
	const struct bots_opts *o = O(b);
	if (b->fd < 0 || !b->welcomed)
		return;
	if (b->seq_sent != b->seq_done)
		expire_inputs(b, now);
	if (b->state == B_CHURN_WAIT && bot_pending(b) == 0) {
		do_churn(b, now);
		return;
	}
	if (lp->stopping)
		return;
	if (b->state == B_PLAYING && o->mode == MODE_PING && o->ping_hz == 0 &&
	    bot_pending(b) == 0) {
		send_input(b, now, now); /* closed loop restarts after a timed-out PING */
		return;
	}
	if (b->state == B_PLAYING && o->mode == MODE_PLAY) {
		/* chat: rate per minute -> a whole number per second plus a Bernoulli remainder */
		double want = o->chat_rate / 60.0;
		unsigned n = (unsigned)want;
		if (lp_rand01(lp) < want - n)
			n++;
		for (unsigned i = 0; i < n && b->fd >= 0; i++) {
			struct arena_msg *m = tx(b, ARENA_CHAT);
			int len =
			    snprintf(m->u.chat.text.s, sizeof(m->u.chat.text.s),
			             "hello from bot-%u-%u #%u", lp->proc, b->idx, ++b->chats);
			m->u.chat.text.len = (uint8_t)len;
			COUNT(b, chat_sent);
			if (bot_send_msg(b, m, now) < 0)
				return;
		}
		if (o->churn_rate > 0 && lp_rand01(lp) < o->churn_rate / 60.0) {
			leave_playing(b, now);
			b->state = B_CHURN_WAIT;
			b->churn_kind = lp_rand(lp) & 1;
			if (bot_pending(b) == 0) {
				do_churn(b, now);
				return;
			}
		}
	}
	if (b->fd >= 0 && o->keepalive_us && now - b->last_send >= o->keepalive_us &&
	    !(o->mode == MODE_PING && b->state == B_PLAYING)) {
		COUNT(b, pings_sent);
		send_ping(b, now, now);
	}
}

void bot_finish(struct bot *b, uint64_t now)
{
	if (b->seq_sent != b->seq_done)
		expire_inputs(b, now);
	S(b)->c[C_inputs_pending_end] += bot_pending(b);
	b->seq_done = b->seq_sent;
	leave_playing(b, now);
	if (b->ever_welcomed)
		COUNT(b, bots_welcomed);
	if (b->ever_snapshot)
		COUNT(b, bots_with_snapshot);
	drop_conn(b);
	if (b->state != B_DONE)
		b->lp->bot_done(b->lp);
	b->state = B_DONE;
	bot_free(b);
}
