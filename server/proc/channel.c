/* channel.c: typed, size-checked messages with at most one fd over SOCK_SEQPACKET; see
 * channel.h for the rules and the message table.
 *
 * SOCK_SEQPACKET keeps message boundaries and delivers in order, so one recvmsg() is exactly one
 * message; MSG_TRUNC on receive means the sender wrote more than any valid message, which is a
 * violation. The receive buffer is one maximal message plus a spare byte. Reading is bounded per
 * wakeup (CH_BATCH messages) so a chatty peer cannot starve the rest of the event loop.
 *
 * Callbacks may free the channel. While dispatching, channel_free() only marks the channel;
 * the dispatcher frees it after the callback returns and stops touching it.
 */
#include "channel.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define CH_BATCH   64
#define CH_MAX_FDS 4 /* room to receive (and then close) a few extra fds a peer should not send */

struct ch_queued {
	struct ch_queued *next;
	size_t len;
	unsigned char data[]; /* header + payload */
};

struct channel {
	int fd;
	unsigned accept_mask;
	struct event *ev_read;
	struct event *ev_write;
	const struct channel_ops *ops;
	void *userdata;
	_Atomic uint64_t *ctrunc;
	struct ch_queued *head, *tail;
	size_t nqueued;
	bool dispatching;
	bool free_pending;
	bool failed;
};

static const struct {
	const char *name;
	size_t size;
} ch_types[CH_TYPE_MAX] = {
    [CH_NEW_CONN] = {"NEW_CONN", sizeof(struct ch_new_conn)},
    [CH_SHUTDOWN] = {"SHUTDOWN", 0},
    [CH_RELOAD] = {"RELOAD", sizeof(struct ch_reload)},
    [CH_DRAIN] = {"DRAIN", 0},
    [CH_READY] = {"READY", sizeof(struct ch_ready)},
    [CH_CONN_CLOSED] = {"CONN_CLOSED", sizeof(struct ch_conn_closed)},
    [CH_ADMIN] = {"ADMIN", sizeof(struct ch_admin)},
    [CH_ADMIN_DONE] = {"ADMIN_DONE", sizeof(struct ch_admin_done)},
    [CH_CHAT_OUT] = {"CHAT_OUT", sizeof(struct ch_chat)},
    [CH_CHAT_IN] = {"CHAT_IN", sizeof(struct ch_chat)},
    [CH_BOARD] = {"BOARD", sizeof(struct ch_board)},
    [CH_SESSIONS] = {"SESSIONS", sizeof(struct ch_sessions)},
    [CH_RESUME_ASK] = {"RESUME_ASK", sizeof(struct ch_resume)},
    [CH_RESUME_ANSWER] = {"RESUME_ANSWER", sizeof(struct ch_resume)},
    [CH_ROOMS] = {"ROOMS", sizeof(struct ch_rooms)},
    [CH_HANDOVER] = {"HANDOVER", 0},
};

#define CH_PAYLOAD_MAX sizeof(struct ch_reload)
_Static_assert(sizeof(struct ch_admin) <= CH_PAYLOAD_MAX, "CH_PAYLOAD_MAX is too small");
_Static_assert(sizeof(struct ch_board) <= CH_PAYLOAD_MAX, "CH_PAYLOAD_MAX is too small");
_Static_assert(sizeof(struct ch_sessions) <= CH_PAYLOAD_MAX, "CH_PAYLOAD_MAX is too small");
_Static_assert(sizeof(struct ch_rooms) <= CH_PAYLOAD_MAX, "CH_PAYLOAD_MAX is too small");

size_t channel_payload_size(unsigned type)
{
	if (type == 0 || type >= CH_TYPE_MAX)
		return SIZE_MAX;
	return ch_types[type].size;
}

const char *channel_type_name(unsigned type)
{
	if (type == 0 || type >= CH_TYPE_MAX)
		return "unknown";
	return ch_types[type].name;
}

int channel_socketpair(int ret_fds[2])
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	ret_fds[0] = fds[0];
	ret_fds[1] = fds[1];
	return 0;
}

static void channel_destroy(struct channel *c)
{
	struct ch_queued *q = c->head;

	while (q) {
		struct ch_queued *next = q->next;

		free(q);
		q = next;
	}
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	safe_close(c->fd);
	free(c);
}

void channel_free(struct channel *c)
{
	if (!c)
		return;
	if (c->dispatching) {
		c->free_pending = true;
		event_del(c->ev_read);
		event_del(c->ev_write);
		return;
	}
	channel_destroy(c);
}

size_t channel_queued(const struct channel *c)
{
	return c->nqueued;
}

/* Stop for good and tell the owner once. */
static void channel_fail(struct channel *c, int error, const char *text)
{
	if (c->failed)
		return;
	c->failed = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	c->ops->failed(c, error, text, c->userdata);
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		safe_close(fds[i]);
}

/* Receive and validate one message. Returns 1 when one was delivered, 0 when the socket is
 * empty, or -1 after channel_fail(). */
static int channel_read_one(struct channel *c)
{
	union {
		struct ch_hdr hdr;
		unsigned char bytes[sizeof(struct ch_hdr) + CH_PAYLOAD_MAX + 1];
	} buf;
	union {
		struct cmsghdr align;
		unsigned char bytes[CMSG_SPACE(sizeof(int) * CH_MAX_FDS)];
	} ctl;
	struct iovec iov = {.iov_base = buf.bytes, .iov_len = sizeof(buf.bytes)};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl.bytes,
	    .msg_controllen = sizeof(ctl.bytes),
	};
	int fds[CH_MAX_FDS];
	size_t nfds = 0;
	struct channel_msg m;
	ssize_t n;

	do
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET) {
			/* The peer exited with messages of ours still unread: it is gone all the
			 * same. */
			channel_fail(c, -EPIPE, "peer closed the channel");
			return -1;
		}
		channel_fail(c, -errno, "read failed");
		return -1;
	}

	/* Take every fd that arrived before any check, so each path below can close them. */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (nfds < CH_MAX_FDS)
				fds[nfds++] = fd;
			else
				safe_close(fd);
		}
	}

	if (n == 0) {
		close_fds(fds, nfds);
		channel_fail(c, -EPIPE, "peer closed the channel");
		return -1;
	}
	if (mh.msg_flags & MSG_TRUNC) {
		close_fds(fds, nfds);
		channel_fail(c, -EMSGSIZE, "oversized message");
		return -1;
	}
	if ((size_t)n < sizeof(struct ch_hdr)) {
		close_fds(fds, nfds);
		channel_fail(c, -EBADMSG, "message shorter than its header");
		return -1;
	}
	if (buf.hdr.type == 0 || buf.hdr.type >= CH_TYPE_MAX ||
	    !(c->accept_mask & CH_MASK(buf.hdr.type))) {
		close_fds(fds, nfds);
		channel_fail(c, -EBADMSG, "unknown or unexpected message type");
		return -1;
	}
	if (buf.hdr.len != (size_t)n - sizeof(struct ch_hdr) ||
	    buf.hdr.len != ch_types[buf.hdr.type].size) {
		close_fds(fds, nfds);
		channel_fail(c, -EBADMSG, "payload size does not match the message type");
		return -1;
	}
	if (nfds > 1 || (nfds == 1 && !(CH_MASK_FD & CH_MASK(buf.hdr.type)))) {
		close_fds(fds, nfds);
		channel_fail(c, -EBADMSG, "file descriptor(s) attached to the wrong message");
		return -1;
	}

	memset(&m, 0, sizeof(m));
	m.type = buf.hdr.type;
	m.payload = buf.bytes + sizeof(struct ch_hdr);
	m.len = buf.hdr.len;
	m.fd = nfds == 1 ? fds[0] : -1;
	if (mh.msg_flags & MSG_CTRUNC) {
		if (c->ctrunc)
			atomic_fetch_add(c->ctrunc, 1);
		/* Whatever did arrive is not trustworthy as "the" fd: close it. */
		m.fd = safe_close(m.fd);
		m.truncated = true;
	} else if ((CH_MASK_FD & CH_MASK(m.type)) && m.fd < 0) {
		channel_fail(c, -EBADMSG, "a message without its file descriptor");
		return -1;
	}

	c->ops->message(c, &m, c->userdata);
	return 1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct channel *c = arg;

	c->dispatching = true;
	for (int i = 0; i < CH_BATCH && !c->free_pending && !c->failed; i++)
		if (channel_read_one(c) <= 0)
			break;
	c->dispatching = false;
	if (c->free_pending)
		channel_destroy(c);
}

static int send_raw(struct channel *c, const void *data, size_t len, int fd)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	union {
		struct cmsghdr align;
		unsigned char bytes[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.bytes;
		mh.msg_controllen = sizeof(ctl.bytes);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EWOULDBLOCK || errno == ENOBUFS || errno == ETOOMANYREFS)
			return -EAGAIN;
		return -errno;
	}
	return 0; /* SOCK_SEQPACKET: all or nothing */
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct channel *c = arg;

	while (c->head) {
		struct ch_queued *q = c->head;
		int r = send_raw(c, q->data, q->len, -1);

		if (r == -EAGAIN)
			return; /* still full: stay registered */
		if (r < 0) {
			c->dispatching = true;
			if (r == -ECONNRESET || r == -EPIPE)
				channel_fail(c, -EPIPE, "peer closed the channel");
			else
				channel_fail(c, r, "write failed");
			c->dispatching = false;
			if (c->free_pending)
				channel_destroy(c);
			return;
		}
		c->head = q->next;
		if (!c->head)
			c->tail = NULL;
		c->nqueued--;
		free(q);
	}
	event_del(c->ev_write);
}

int channel_new(struct event_base *base, int fd, unsigned accept_mask,
                const struct channel_ops *ops, void *userdata, _Atomic uint64_t *ctrunc,
                struct channel **ret)
{
	struct channel *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->accept_mask = accept_mask;
	c->ops = ops;
	c->userdata = userdata;
	c->ctrunc = ctrunc;
	c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (!c->ev_read || !c->ev_write || event_add(c->ev_read, NULL) < 0) {
		c->fd = -1; /* not ours on failure */
		channel_destroy(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int channel_send(struct channel *c, unsigned type, const void *payload, size_t len, int fd)
{
	struct {
		struct ch_hdr hdr;
		unsigned char payload[CH_PAYLOAD_MAX];
	} msg;
	size_t total = sizeof(struct ch_hdr) + len;
	struct ch_queued *q;
	int r;

	if (c->failed || c->free_pending)
		return -EPIPE;
	if (type == 0 || type >= CH_TYPE_MAX || len > CH_PAYLOAD_MAX ||
	    channel_payload_size(type) != len || (fd >= 0 && !(CH_MASK_FD & CH_MASK(type))))
		return -EINVAL;
	memset(&msg.hdr, 0, sizeof(msg.hdr));
	msg.hdr.type = type;
	msg.hdr.len = (uint32_t)len;
	if (len)
		memcpy(msg.payload, payload, len);

	if (fd >= 0)
		return c->head ? -EAGAIN : send_raw(c, &msg, total, fd);

	if (!c->head) {
		r = send_raw(c, &msg, total, -1);
		if (r != -EAGAIN)
			return r;
	}
	q = malloc(sizeof(*q) + total);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->len = total;
	memcpy(q->data, &msg, total);
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	c->nqueued++;
	if (event_add(c->ev_write, NULL) < 0)
		return -ENOMEM;
	return 0;
}
