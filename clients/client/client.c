/* client.c: arena-client: the connection and the protocol session.
 *
 * client_run() (called by client-main.c once the options are parsed) resolves HOST:PORT with
 * getaddrinfo and tries each address with a non-blocking connect (client-net.c), then runs one
 * libevent loop. The socket
 * is a bufferevent; what arrives is fed to the codec's incremental decoder (arena_decoder), so
 * a frame split anywhere or many frames in one read are all fine, and a frame the codec
 * rejects ends the session with exit status 4. Outgoing messages are encoded by arena_encode()
 * only. Decoded messages update the session state kept here (welcome, room, last snapshot)
 * and then go to the front end through its struct client_driver (client.h): batch
 * (client-batch.c) or terminal (client-term.c). This file never names a front end, so the
 * front ends depend on it and not the other way round.
 * SIGINT, SIGTERM and SIGHUP arrive as libevent signal events and end the session cleanly.
 */
#include "client.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX     (64 * 1024) /* unsent bytes we queue before calling the server stuck */
#define TERM_PING_S 5           /* the terminal view refreshes its ping this often */

uint64_t client_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void client_note(struct client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (c->batch || !c->tm) {
		fputs("arena-client: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else if (!c->note[0]) {
		vsnprintf(c->note, sizeof(c->note), fmt, ap);
	}
	va_end(ap);
}

void client_finish(struct client *c, int code)
{
	if (!c->closing) {
		c->closing = true;
		c->exit_code = code;
	}
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->keepalive)
		event_del(c->keepalive);
	event_base_loopexit(c->base, NULL);
}

int client_send(struct client *c, const struct arena_msg *msg)
{
	uint8_t buf[ARENA_FRAME_MAX];
	if (!c->bev || c->closing)
		return -ENOTCONN;
	ssize_t n = arena_encode(msg, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (c->welcomed && (size_t)n - ARENA_HEADER_SIZE > c->welcome.max_payload)
		return -EINVAL;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + (size_t)n > OUT_MAX)
		return -ENOBUFS;
	if (bufferevent_write(c->bev, buf, (size_t)n) < 0)
		return -ENOMEM;
	c->last_send_us = client_now_us();
	return 0;
}

uint64_t client_move_wait_us(const struct client *c)
{
	unsigned rate = c->welcome.input_rate ? c->welcome.input_rate : 1;
	uint64_t gap = 1000000u / rate, now = client_now_us();
	if (c->seq == 0 || now >= c->last_move_us + gap)
		return 0;
	return c->last_move_us + gap - now;
}

int client_send_move(struct client *c, int dx, int dy)
{
	struct arena_msg m = {.type = ARENA_MOVE};
	m.u.move.seq = c->seq + 1;
	m.u.move.dx = (int8_t)dx;
	m.u.move.dy = (int8_t)dy;
	int r = client_send(c, &m);
	if (r == 0) {
		c->seq++;
		c->last_move_us = client_now_us();
		if (!c->in_room)
			c->pending++; /* answered by ERROR(not_in_room) */
	}
	return r;
}

static int set_str(struct arena_str32 *dst, const char *s, size_t len, size_t max)
{
	if (len > max || !arena_utf8_valid(s, len))
		return -EINVAL;
	memcpy(dst->s, s, len);
	dst->s[len] = '\0';
	dst->len = (uint8_t)len;
	return 0;
}

int client_send_chat(struct client *c, const char *text, size_t len)
{
	struct arena_msg m = {.type = ARENA_CHAT};
	if (len == 0 || len > ARENA_CHAT_MAX || !arena_utf8_valid(text, len))
		return -EINVAL;
	memcpy(m.u.chat.text.s, text, len);
	m.u.chat.text.s[len] = '\0';
	m.u.chat.text.len = (uint8_t)len;
	int r = client_send(c, &m);
	if (r == 0 && c->in_room)
		c->chats_pending++;
	else if (r == 0)
		c->pending++; /* answered by ERROR(not_in_room) */
	return r;
}

static int send_request(struct client *c, struct arena_msg *m)
{
	int r = client_send(c, m);
	if (r == 0)
		c->pending++;
	return r;
}

int client_send_join(struct client *c, const char *room, size_t len)
{
	struct arena_msg m = {.type = ARENA_JOIN};
	if (set_str(&m.u.join.room, room, len, ARENA_ROOM_MAX) < 0)
		return -EINVAL;
	return send_request(c, &m);
}

int client_send_leave(struct client *c)
{
	struct arena_msg m = {.type = ARENA_LEAVE};
	return send_request(c, &m);
}

int client_send_leaderboard(struct client *c)
{
	struct arena_msg m = {.type = ARENA_LEADERBOARD_REQ};
	return send_request(c, &m);
}

/* The stamp is our send time; its low bit tells a keepalive PING from one the user asked for. */
int client_send_ping(struct client *c, bool keepalive)
{
	struct arena_msg m = {.type = ARENA_PING};
	m.u.ping.stamp = client_now_us() << 1 | (keepalive ? 1u : 0u);
	return keepalive ? client_send(c, &m) : send_request(c, &m);
}

/* ---- receiving ---- */

static void deliver(struct client *c, const struct arena_msg *m, uint64_t rtt_us, bool keepalive)
{
	c->drv->on_msg(c, m, rtt_us, keepalive);
}

static void reply_seen(struct client *c)
{
	if (c->pending > 0)
		c->pending--;
	else if (c->chats_pending > 0)
		c->chats_pending--;
}

static void on_welcome(struct client *c, const struct arena_msg *m)
{
	if (c->welcomed) {
		deliver(c, m, 0, false); /* not expected; shown, not acted on */
		return;
	}
	c->welcomed = true;
	c->welcome = m->u.welcome;
	deliver(c, m, 0, false);
	if (!c->batch)
		client_send_ping(c, true); /* the status line shows the round trip from the start */
	if (c->room && client_send_join(c, c->room, strlen(c->room)) < 0)
		client_note(c, "cannot send JOIN");
	unsigned every = c->batch ? c->welcome.idle_timeout / 3u : TERM_PING_S;
	struct timeval tv = {.tv_sec = every ? every : 1};
	event_add(c->keepalive, &tv);
	if (c->drv->welcomed && c->drv->welcomed(c) < 0)
		client_finish(c, CLIENT_EXIT_LOCAL); /* the front end said why */
}

static void on_msg(struct client *c, const struct arena_msg *m)
{
	uint64_t rtt = 0;
	bool keepalive = false;
	if (!c->welcomed && m->type != ARENA_WELCOME && m->type != ARENA_ERROR &&
	    m->type != ARENA_BYE) {
		client_note(c, "protocol error from the server: %s before WELCOME",
		            arena_msg_type_name(m->type));
		client_finish(c, CLIENT_EXIT_PROTOCOL);
		return;
	}
	switch (m->type) {
	case ARENA_WELCOME:
		on_welcome(c, m);
		return;
	case ARENA_JOINED:
		c->in_room = true;
		c->joined = m->u.joined;
		c->have_snap = false;
		reply_seen(c);
		break;
	case ARENA_LEFT:
		c->in_room = false;
		c->have_snap = false;
		c->chats_pending = 0;
		reply_seen(c);
		break;
	case ARENA_SNAPSHOT:
		if (!c->in_room || m->u.snapshot.room_id != c->joined.room_id)
			break; /* a stale one from before a LEAVE or JOIN: still printed */
		c->snap = m->u.snapshot;
		c->have_snap = true;
		break;
	case ARENA_CHAT_MSG:
		if (m->u.chat_msg.sender_id == c->welcome.player_id && c->chats_pending > 0)
			c->chats_pending--;
		break;
	case ARENA_PONG: {
		uint64_t sent = m->u.ping.stamp >> 1, now = client_now_us();
		keepalive = m->u.ping.stamp & 1;
		rtt = now > sent ? now - sent : 0;
		if (rtt < 3600u * 1000000u)
			c->rtt_ms = (int)(rtt / 1000u);
		if (!keepalive)
			reply_seen(c);
		break;
	}
	case ARENA_LEADERBOARD:
		reply_seen(c);
		break;
	case ARENA_ERROR:
		reply_seen(c);
		break;
	case ARENA_BYE:
		deliver(c, m, 0, false);
		client_finish(c, m->u.bye.reason == ARENA_BYE_SHUTDOWN ? CLIENT_EXIT_OK
		                                                       : CLIENT_EXIT_ENDED);
		return;
	default:
		break; /* the decoder accepts only server-to-client types */
	}
	deliver(c, m, rtt, keepalive);
	if (c->drv->progress && !c->closing)
		c->drv->progress(c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t buf[4096];
	int n;
	while (!c->closing && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		const uint8_t *p = buf;
		size_t left = (size_t)n;
		while (left > 0 && !c->closing) {
			struct arena_msg m;
			size_t used = 0;
			int r = arena_decoder_feed(&c->dec, p, left, &used, &m);
			p += used;
			left -= used;
			if (r < 0) {
				client_note(c, "protocol error from the server: %s",
				            arena_decode_strerror(r));
				client_finish(c, CLIENT_EXIT_PROTOCOL);
				return;
			}
			if (r == 1)
				on_msg(c, &m);
		}
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) || c->closing)
		return;
	if (what & BEV_EVENT_ERROR)
		client_note(c, "connection lost: %s",
		            evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		client_note(c, "the server closed the connection");
	client_finish(c, CLIENT_EXIT_ENDED);
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	unsigned every = c->batch ? c->welcome.idle_timeout / 3u : TERM_PING_S;
	uint64_t now = client_now_us();
	if (!c->batch || now - c->last_send_us >= (uint64_t)every * 1000000u)
		client_send_ping(c, true);
	struct timeval tv = {.tv_sec = every ? every : 1};
	event_add(c->keepalive, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	client_finish(arg, CLIENT_EXIT_OK);
}

int client_run(struct client *c)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct event *sev[3] = {NULL};
	int fd = client_connect(c->target);
	if (fd < 0)
		return -fd;
	c->base = event_base_new();
	if (!c->base) {
		close(fd);
		fprintf(stderr, "arena-client: cannot create the event loop\n");
		return CLIENT_EXIT_LOCAL;
	}
	c->exit_code = CLIENT_EXIT_OK;
	c->rtt_ms = -1;
	arena_decoder_init(&c->dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	c->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->keepalive = evtimer_new(c->base, keepalive_cb, c);
	bool ok = c->bev && c->keepalive;
	for (size_t i = 0; ok && i < 3; i++) {
		sev[i] = evsignal_new(c->base, sigs[i], signal_cb, c);
		ok = sev[i] && event_add(sev[i], NULL) == 0;
	}
	if (!c->bev)
		close(fd);
	if (ok && c->drv->start && c->drv->start(c) < 0)
		ok = false; /* the front end said why */
	if (ok) {
		struct arena_msg m = {.type = ARENA_HELLO};
		m.u.hello.version = ARENA_PROTO_VERSION;
		set_str(&m.u.hello.name, c->name, strlen(c->name), ARENA_NAME_MAX);
		if (c->have_resume)
			memcpy(m.u.hello.token, c->resume, ARENA_TOKEN_LEN);
		bufferevent_setcb(c->bev, read_cb, NULL, conn_event_cb, c);
		ok = bufferevent_enable(c->bev, EV_READ) == 0 && client_send(c, &m) == 0;
	}
	if (ok && event_base_dispatch(c->base) < 0)
		ok = false;
	if (!ok && !c->closing)
		c->exit_code = CLIENT_EXIT_LOCAL;
	if (c->bev)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->drv->stop(c);
	if (c->note[0])
		fprintf(stderr, "arena-client: %s\n", c->note);
	for (size_t i = 0; i < 3; i++)
		if (sev[i])
			event_free(sev[i]);
	if (c->keepalive)
		event_free(c->keepalive);
	event_base_free(c->base);
	return c->exit_code;
}
