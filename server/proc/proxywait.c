/* proxywait.c: the master reads the PROXY protocol header of a connection before handing it on.
 *
 * On a listener with proxy_protocol on, an accepted connection waits here (struct proxy_wait,
 * one event with the handshake_timeout deadline) until its header is whole, then goes to
 * dispatch() under the real client's address, so max_clients_per_ip, the workers' logs and kick
 * logs see the client and not the load balancer. The accept loop never waits: each readable
 * event costs one MSG_PEEK and one recv().
 *
 * Nothing past the header is consumed, so the client's HELLO stays in the socket for the worker.
 * Each wakeup peeks what has arrived and asks proxy_parse(): a whole header of length L is read
 * (recv of exactly the L - have bytes not yet taken); the start of one (-EAGAIN, which means
 * every byte seen belongs to the header) is read whole and the wait goes on; so data that sits
 * unread never makes the level-triggered event fire again and again.
 *
 * Refused, closed and counted (arena_connections_rejected_total): a header from an address outside
 * proxy_trusted (on v1/v2 listeners at once, with `optional` when a header shows up), a
 * malformed or over-long one or one of the wrong version (proxy_bad), and a header not whole
 * within handshake_timeout (proxy_timeout). No BYE is sent: the bytes were not the game's
 * protocol, and the other end is a load balancer. A connection closed before any byte is just
 * closed (a load balancer's TCP health check). Waiting connections count towards max_clients
 * and at most PROXY_WAIT_MAX wait at once.
 *
 * With `optional`, a first byte that starts no header means a plain client: nothing is read and
 * it is dispatched under its own address. A game frame never starts with 'P' (0x50) or '\r'
 * (a length of 0x0dxx = 3328 bytes or more, larger than any first frame a client may send),
 * so the first byte decides.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "master-internal.h"
#include "proxy.h"
#include "util.h"

struct proxy_wait {
	struct master *m;
	struct proxy_wait *prev, *next;
	struct event *ev;
	int fd;
	enum arena_proxy_mode mode;
	bool trusted;          /* the connection's own source is in proxy_trusted */
	struct peer_addr self; /* the connection's own source (the load balancer) */
	uint16_t have;         /* header bytes read so far */
	uint64_t deadline_ms;  /* accepted + handshake_timeout: fixed, not moved by each byte */
	uint8_t buf[PROXY_HEADER_MAX];
};

static void unlink_wait(struct proxy_wait *pw)
{
	struct master *m = pw->m;

	if (pw->prev)
		pw->prev->next = pw->next;
	else
		m->proxy_waits = pw->next;
	if (pw->next)
		pw->next->prev = pw->prev;
	m->nproxy_waits--;
	event_free(pw->ev);
	free(pw);
}

/* Give up on a waiting connection: close it, count `why` (REJECT_N: not counted). */
static void drop(struct proxy_wait *pw, enum reject_why why, const char *what)
{
	char text[PEER_TEXT_MAX];

	if (why < REJECT_N) {
		pw->m->stats.rejected[why]++;
		log_debug("PROXY header from %s refused: %s", peer_format(&pw->self, text), what);
	}
	safe_close(pw->fd);
	unlink_wait(pw);
}

/* The header is whole (or absent, optional mode): hand the connection on under `peer`. */
static void done(struct proxy_wait *pw, const struct peer_addr *peer)
{
	struct master *m = pw->m;
	struct peer_addr p = *peer;
	int fd = pw->fd;

	unlink_wait(pw);
	accept_dispatch(m, fd, &p);
}

/* Wait for more bytes until the deadline (a one-shot event: the deadline does not move). */
static void arm(struct proxy_wait *pw)
{
	uint64_t now = arena_now_ms();
	uint64_t left = pw->deadline_ms > now ? pw->deadline_ms - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(left / 1000),
	                     .tv_usec = (suseconds_t)(left % 1000) * 1000};

	event_add(pw->ev, &tv);
}

static bool version_allowed(enum arena_proxy_mode mode, unsigned version)
{
	return mode == ARENA_PROXY_OPTIONAL || (mode == ARENA_PROXY_V1 && version == 1) ||
	       (mode == ARENA_PROXY_V2 && version == 2);
}

static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *pw = arg;
	size_t room = sizeof(pw->buf) - pw->have;
	struct proxy_info info;
	ssize_t n;
	int r;

	if (what & EV_TIMEOUT) {
		drop(pw, REJECT_PROXY_TIMEOUT, "no whole header in time");
		return;
	}
	do
		n = recv(pw->fd, pw->buf + pw->have, room, MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		arm(pw);
		return;
	}
	if (n <= 0) {
		/* closed or reset before the header was whole */
		drop(pw, pw->have ? REJECT_PROXY_BAD : REJECT_N, "closed inside the header");
		return;
	}
	r = proxy_parse(pw->buf, pw->have + (size_t)n, &info);
	if (r == -ENOMSG && pw->have == 0 && pw->mode == ARENA_PROXY_OPTIONAL) {
		done(pw, &pw->self); /* a plain client: nothing was read */
		return;
	}
	if (r == -EAGAIN || r > 0) {
		/* Every byte peeked belongs to the header: read them (up to its end). */
		size_t take = r > 0 ? (size_t)r - pw->have : (size_t)n;
		ssize_t got;

		if (!pw->trusted) {
			drop(pw, REJECT_PROXY_UNTRUSTED, "source not in proxy_trusted");
			return;
		}
		do
			got = recv(pw->fd, pw->buf + pw->have, take, 0);
		while (got < 0 && errno == EINTR);
		if (got != (ssize_t)take) {
			drop(pw, REJECT_PROXY_BAD, "short read of peeked bytes");
			return;
		}
		pw->have = (uint16_t)(pw->have + take);
		if (r == -EAGAIN) {
			arm(pw);
			return;
		}
		if (!version_allowed(pw->mode, info.version)) {
			drop(pw, REJECT_PROXY_BAD,
			     info.version == 1 ? "v1 header on a v2 listener"
			                       : "v2 header on a v1 listener");
			return;
		}
		done(pw, info.local ? &pw->self : &info.src);
		return;
	}
	drop(pw, pw->trusted ? REJECT_PROXY_BAD : REJECT_PROXY_UNTRUSTED,
	     r == -E2BIG    ? "header too long"
	     : r == -ENOMSG ? "no header"
	                    : "malformed header");
}

void proxy_wait_begin(struct master *m, int fd, const struct peer_addr *self,
                      enum arena_proxy_mode mode)
{
	bool trusted = (self->family == AF_INET || self->family == AF_INET6) &&
	               arena_proxy_trusted(&m->cfg, self->family, self->addr);
	struct proxy_wait *pw;

	if (!trusted && mode != ARENA_PROXY_OPTIONAL) {
		m->stats.rejected[REJECT_PROXY_UNTRUSTED]++;
		safe_close(fd);
		return;
	}
	if (m->nproxy_waits >= PROXY_WAIT_MAX ||
	    peer_table_total(m->peers) + m->npending + m->nproxy_waits >= m->cfg.max_clients) {
		accept_refuse(m, fd, REJECT_FULL);
		return;
	}
	pw = calloc(1, sizeof(*pw));
	if (!pw) {
		accept_refuse(m, fd, REJECT_FULL);
		return;
	}
	pw->m = m;
	pw->fd = fd;
	pw->mode = mode;
	pw->trusted = trusted;
	pw->self = *self;
	pw->deadline_ms = arena_now_ms() + m->cfg.handshake_timeout_ms;
	pw->ev = event_new(m->base, fd, EV_READ, on_ready, pw);
	if (!pw->ev) {
		free(pw);
		accept_refuse(m, fd, REJECT_FULL);
		return;
	}
	arm(pw);
	pw->next = m->proxy_waits;
	if (pw->next)
		pw->next->prev = pw;
	m->proxy_waits = pw;
	m->nproxy_waits++;
}

void proxy_wait_stop(struct master *m)
{
	while (m->proxy_waits)
		drop(m->proxy_waits, REJECT_SHUTDOWN, "shutting down");
}
