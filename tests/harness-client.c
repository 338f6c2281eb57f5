/* harness-client.c: test clients speaking the arena protocol through the one codec.
 *
 * A client is a non-blocking TCP socket plus a read buffer and an incremental decoder (side
 * CLIENT, ARENA_PAYLOAD_MAX). Every operation that waits does so in poll() with a deadline, so a
 * silent or wedged daemon turns into -ETIMEDOUT, never into a hung test. Frames are built with
 * arena_encode() only; hc_send_raw() exists for the hostile tests that mean to send bytes no
 * encoder would produce. The bulk helpers (hc_connect_many, hc_hello_many, hc_wait_close_many)
 * keep thousands of clients cheap: non-blocking connects in batches and one poll() over all.
 * A source address in 127.0.0.0/8 can be chosen per client (IP_BIND_ADDRESS_NO_PORT keeps the
 * ephemeral port choice at connect time) to exercise per-address limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness-private.h"

#define CONNECT_TIMEOUT_MS 5000
#define SEND_TIMEOUT_MS    5000

static void note(struct hc *c, const struct arena_msg *m)
{
	switch (m->type) {
	case ARENA_WELCOME:
		c->welcomed = true;
		c->welcome = m->u.welcome;
		break;
	case ARENA_ERROR:
		c->last_error = m->u.error.code;
		c->nerrors++;
		break;
	case ARENA_BYE:
		if (!c->got_bye) {
			c->got_bye = true;
			c->bye_reason = m->u.bye.reason;
		}
		break;
	default:
		break;
	}
}

static void mark_closed(struct hc *c, int err)
{
	if (!c->closed) {
		c->closed = true;
		c->close_err = err;
		c->t_closed = h_now_ms();
	}
}

int hc_step(struct hc *c, struct arena_msg *ret)
{
	for (;;) {
		if (c->roff < c->rlen) {
			size_t used = 0;
			int r = arena_decoder_feed(&c->dec, c->rbuf + c->roff, c->rlen - c->roff,
			                           &used, ret);

			c->roff += used;
			if (r == 1) {
				note(c, ret);
				return 1;
			}
			if (r < 0)
				return r;
			c->roff = c->rlen = 0;
			continue;
		}
		if (c->closed)
			return c->close_err;
		ssize_t n = recv(c->fd, c->rbuf, sizeof(c->rbuf), MSG_DONTWAIT);
		if (n > 0) {
			c->roff = 0;
			c->rlen = (size_t)n;
			continue;
		}
		if (n == 0) {
			mark_closed(c, HC_EOF);
			return HC_EOF;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		mark_closed(c, errno == ECONNRESET ? HC_RESET : -errno);
		return c->close_err;
	}
}

static int make_socket(const char *src, int rcvbuf, uint32_t *ret_src)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int one = 1, fd;

	if (inet_pton(AF_INET, src ? src : "127.0.0.1", &sin.sin_addr) != 1)
		h_bail("harness: bad source address '%s'", src);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (src) {
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	*ret_src = sin.sin_addr.s_addr;
	return fd;
}

static int start_connect(int fd, uint16_t port)
{
	struct sockaddr_in sin = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS)
		return 0;
	return -errno;
}

static struct hc *hc_new(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct hc *c;

	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		h_bail("out of memory");
	c->fd = fd;
	c->src = sin.sin_addr.s_addr;
	c->lport = ntohs(sin.sin_port);
	c->t_connect = h_now_ms();
	arena_decoder_init(&c->dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	return c;
}

static int connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static struct hc *connect_port(uint16_t port, const char *src, int rcvbuf)
{
	struct pollfd pfd = {.events = POLLOUT};
	uint32_t addr;
	struct hc *c;
	int fd, r;

	fd = make_socket(src, rcvbuf, &addr);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	r = start_connect(fd, port);
	if (r == 0) {
		pfd.fd = fd;
		r = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
		r = r == 0 ? -ETIMEDOUT : r < 0 ? -errno : connect_result(fd);
	}
	if (r < 0 || !(c = hc_new(fd))) {
		close(fd);
		errno = r < 0 ? -r : EIO;
		return NULL;
	}
	return c;
}

struct hc *hc_connect_opts(struct hd *d, const char *src, int rcvbuf)
{
	return connect_port(d->port, src, rcvbuf);
}

struct hc *hc_connect_port(uint16_t port, const char *src)
{
	return connect_port(port, src, 0);
}

struct hc *hc_connect(struct hd *d, const char *src)
{
	return hc_connect_opts(d, src, 0);
}

size_t hc_connect_many(struct hd *d, const char *src, size_t n, size_t batch, unsigned timeout_ms,
                       struct hc **ret)
{
	return hc_connect_many_port(d->port, src, n, batch, timeout_ms, ret);
}

size_t hc_connect_many_port(uint16_t port, const char *src, size_t n, size_t batch,
                            unsigned timeout_ms, struct hc **ret)
{
	struct pollfd *pfd;
	size_t *idx, connected = 0;

	if (batch == 0)
		batch = 256;
	pfd = calloc(batch, sizeof(*pfd));
	idx = calloc(batch, sizeof(*idx));
	if (!pfd || !idx)
		h_bail("out of memory");
	for (size_t start = 0; start < n; start += batch) {
		size_t m = n - start < batch ? n - start : batch, pending = 0;
		uint64_t deadline = h_now_ms() + timeout_ms;
		uint32_t addr;

		for (size_t i = 0; i < m; i++) {
			int fd = make_socket(src, 0, &addr);

			ret[start + i] = NULL;
			if (fd < 0)
				continue;
			if (start_connect(fd, port) < 0) {
				close(fd);
				continue;
			}
			pfd[pending] = (struct pollfd){.fd = fd, .events = POLLOUT};
			idx[pending] = start + i;
			pending++;
		}
		while (pending > 0) {
			int r = poll(pfd, pending, h_remaining(deadline));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			for (size_t i = 0; i < pending;) {
				if (!pfd[i].revents) {
					i++;
					continue;
				}
				int fd = pfd[i].fd;
				if (connect_result(fd) == 0 && (ret[idx[i]] = hc_new(fd)))
					connected++;
				else
					close(fd);
				pending--;
				pfd[i] = pfd[pending];
				idx[i] = idx[pending];
			}
		}
		for (size_t i = 0; i < pending; i++) /* timed out */
			close(pfd[i].fd);
	}
	free(pfd);
	free(idx);
	return connected;
}

void hc_close(struct hc *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

void hc_abort(struct hc *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (!c)
		return;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	hc_close(c);
}

void hc_close_all(struct hc **cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hc_close(cs[i]);
		cs[i] = NULL;
	}
}

int hc_send_raw(struct hc *c, const void *buf, size_t len)
{
	uint64_t deadline = h_now_ms() + SEND_TIMEOUT_MS;
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
		int r = poll(&pfd, 1, h_remaining(deadline));
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

int hc_send(struct hc *c, const struct arena_msg *m)
{
	uint8_t buf[ARENA_FRAME_MAX];
	ssize_t len = arena_encode(m, buf, sizeof(buf));

	if (len < 0)
		h_bail("harness: arena_encode(%s) failed: %s", arena_msg_type_name(m->type),
		       strerror((int)-len));
	return hc_send_raw(c, buf, (size_t)len);
}

int hc_recv(struct hc *c, struct arena_msg *ret, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int r = hc_step(c, ret);

		if (r == 1)
			return 0;
		if (r < 0)
			return r;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		r = poll(&pfd, 1, h_remaining(deadline));
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int hc_recv_type(struct hc *c, uint8_t type, struct arena_msg *ret, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int r = hc_recv(c, ret, (unsigned)h_remaining(deadline));

		if (r < 0)
			return r;
		if (ret->type == type)
			return 0;
		if (ret->type == ARENA_BYE)
			return -EPROTO;
	}
}

int hc_wait_close(struct hc *c, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	struct arena_msg m;

	for (;;) {
		int r = hc_recv(c, &m, (unsigned)h_remaining(deadline));

		if (r == HC_EOF || r == HC_RESET)
			return 0;
		if (r < 0)
			return r;
	}
}

int hc_hello(struct hc *c, const char *name, unsigned timeout_ms)
{
	struct arena_msg m = {.type = ARENA_HELLO};
	int r;

	m.u.hello.version = ARENA_PROTO_VERSION;
	m.u.hello.name.len = (uint8_t)strlen(name);
	snprintf(m.u.hello.name.s, sizeof(m.u.hello.name.s), "%s", name);
	r = hc_send(c, &m);
	if (r < 0)
		return r;
	return hc_recv_type(c, ARENA_WELCOME, &m, timeout_ms);
}

struct hc *hc_welcome_retry(struct hd *d, const char *src, const char *name, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	do {
		struct hc *c = hc_connect(d, src);

		if (c && hc_hello(c, name, 2000) == 0)
			return c;
		hc_close(c);
		h_sleep_ms(50);
	} while (h_now_ms() < deadline);
	return NULL;
}

long hc_ping(struct hc *c, unsigned timeout_ms)
{
	static uint64_t counter;
	uint64_t t0 = h_now_ms(), deadline = t0 + timeout_ms;
	struct arena_msg m = {.type = ARENA_PING};
	uint64_t stamp = ((uint64_t)getpid() << 32) | ++counter;
	int r;

	m.u.ping.stamp = stamp;
	r = hc_send(c, &m);
	if (r < 0)
		return r;
	for (;;) {
		r = hc_recv_type(c, ARENA_PONG, &m, (unsigned)h_remaining(deadline));
		if (r < 0)
			return r;
		if (m.u.ping.stamp == stamp)
			return (long)(h_now_ms() - t0);
	}
}

/* Poll over the clients selected by want() until none is selected or the deadline passes. */
static void pump_many(struct hc **cs, size_t n, uint64_t deadline, bool (*want)(const struct hc *))
{
	struct pollfd *pfd = calloc(n ? n : 1, sizeof(*pfd));
	size_t *idx = calloc(n ? n : 1, sizeof(*idx));

	if (!pfd || !idx)
		h_bail("out of memory");
	for (;;) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			if (!cs[i] || !want(cs[i]))
				continue;
			pfd[m] = (struct pollfd){.fd = cs[i]->fd, .events = POLLIN};
			idx[m++] = i;
		}
		if (m == 0)
			break;
		int r = poll(pfd, m, h_remaining(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (size_t i = 0; i < m; i++) {
			struct arena_msg msg;

			if (!pfd[i].revents)
				continue;
			while (hc_step(cs[idx[i]], &msg) == 1)
				;
		}
	}
	free(pfd);
	free(idx);
}

static bool want_welcome(const struct hc *c)
{
	return !c->welcomed && !c->closed && !c->got_bye && c->dec.error == 0;
}

size_t hc_hello_many(struct hc **cs, size_t n, const char *prefix, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	size_t welcomed = 0;

	for (size_t i = 0; i < n; i++) {
		struct arena_msg m = {.type = ARENA_HELLO};
		int len;

		if (!cs[i])
			continue;
		m.u.hello.version = ARENA_PROTO_VERSION;
		len = snprintf(m.u.hello.name.s, sizeof(m.u.hello.name.s), "%s%zu", prefix, i);
		m.u.hello.name.len = (uint8_t)(len > ARENA_NAME_MAX ? ARENA_NAME_MAX : len);
		m.u.hello.name.s[m.u.hello.name.len] = 0;
		if (hc_send(cs[i], &m) < 0)
			mark_closed(cs[i], -EPIPE);
	}
	pump_many(cs, n, deadline, want_welcome);
	for (size_t i = 0; i < n; i++)
		welcomed += cs[i] && cs[i]->welcomed;
	return welcomed;
}

static bool want_close(const struct hc *c)
{
	return !c->closed && c->dec.error == 0;
}

size_t hc_wait_close_many(struct hc **cs, size_t n, unsigned timeout_ms)
{
	size_t closed = 0;

	pump_many(cs, n, h_now_ms() + timeout_ms, want_close);
	for (size_t i = 0; i < n; i++)
		closed += cs[i] && cs[i]->closed;
	return closed;
}
