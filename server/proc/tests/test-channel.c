/* test-channel.c: unit tests for the master/worker channel.
 *
 * Both ends live in this one process on one event loop: what one end sends, the other's
 * callbacks must see exactly (type, payload, fd), in order, including after the socket filled
 * up and messages were queued. Hostile datagrams are written on the raw socket to check that
 * every violation is fatal for the channel and that no fd that came with one is leaked; a
 * lowered RLIMIT_NOFILE makes the kernel drop a passed fd, which must show up as `truncated`.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "channel.h"

#define MAXMSG 4096

struct rx {
	unsigned n;
	unsigned types[MAXMSG];
	uint16_t ports[MAXMSG];
	int fds[MAXMSG];
	bool truncated[MAXMSG];
	int failed;
	unsigned nfailed;
};

static void on_message(struct channel *c, const struct channel_msg *m, void *userdata)
{
	struct rx *rx = userdata;

	assert_true(rx->n < MAXMSG);
	rx->types[rx->n] = m->type;
	rx->fds[rx->n] = m->fd;
	rx->truncated[rx->n] = m->truncated;
	if (m->type == CH_CONN_CLOSED || m->type == CH_NEW_CONN) {
		const struct ch_conn_closed *cc = m->payload; /* same layout as ch_new_conn */

		rx->ports[rx->n] = cc->peer.port;
	}
	rx->n++;
}

static void on_failed(struct channel *c, int error, const char *text, void *userdata)
{
	struct rx *rx = userdata;

	rx->failed = error;
	rx->nfailed++;
}

static const struct channel_ops ops = {.message = on_message, .failed = on_failed};

struct fixture {
	struct event_base *base;
	int raw;                /* the worker end, used raw for hostile input */
	struct channel *master; /* reads what the "worker" sends */
	struct rx rx;
	_Atomic uint64_t ctrunc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fds[2];

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	assert_int_equal(channel_socketpair(fds), 0);
	assert_int_equal(channel_new(f->base, fds[0], CH_MASK_MASTER | CH_MASK(CH_NEW_CONN), &ops,
	                             &f->rx, &f->ctrunc, &f->master),
	                 0);
	f->raw = fds[1];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (unsigned i = 0; i < f->rx.n; i++)
		if (f->rx.fds[i] >= 0)
			close(f->rx.fds[i]);
	channel_free(f->master);
	if (f->raw >= 0)
		close(f->raw);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void pump(struct event_base *base)
{
	for (int i = 0; i < 50; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static unsigned open_fds(void)
{
	unsigned n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Send a raw datagram: header {type, len} + payload of plen bytes, with fd if >= 0. */
static void raw_send(int sock, uint32_t type, uint32_t len, size_t plen, int fd)
{
	unsigned char buf[sizeof(struct ch_hdr) + 8192];
	struct ch_hdr h = {.type = type, .len = len};
	union {
		struct cmsghdr align;
		unsigned char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(h) + plen};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(plen <= 8192);
	memset(buf, 0xab, sizeof(buf));
	memcpy(buf, &h, sizeof(h));
	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	assert_true(sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)(sizeof(h) + plen));
}

/* Both directions with real channels; an fd arrives as a working, close-on-exec duplicate. */
static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct channel *worker = NULL;
	struct rx wrx = {0};
	struct ch_ready ready = {.max_conns = 42};
	struct ch_new_conn nc;
	int pipefd[2];
	char c = 0;

	assert_int_equal(channel_new(f->base, f->raw, CH_MASK_WORKER, &ops, &wrx, NULL, &worker),
	                 0);
	f->raw = -1;

	assert_int_equal(channel_send(worker, CH_READY, &ready, sizeof(ready), -1), 0);
	pump(f->base);
	assert_int_equal(f->rx.n, 1);
	assert_int_equal(f->rx.types[0], CH_READY);
	assert_int_equal(f->rx.fds[0], -1);

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	memset(&nc, 0, sizeof(nc));
	nc.peer.family = 2;
	nc.peer.port = 5555;
	/* The master's end accepts only worker -> master types: use the worker's inbox. */
	struct channel *m2 = NULL;
	int pair[2];

	assert_int_equal(channel_socketpair(pair), 0);
	assert_int_equal(channel_new(f->base, pair[0], CH_MASK_MASTER, &ops, &f->rx, NULL, &m2), 0);
	struct channel *w2 = NULL;

	assert_int_equal(channel_new(f->base, pair[1], CH_MASK_WORKER, &ops, &wrx, NULL, &w2), 0);
	assert_int_equal(channel_send(m2, CH_NEW_CONN, &nc, sizeof(nc), pipefd[0]), 0);
	assert_int_equal(channel_send(m2, CH_SHUTDOWN, NULL, 0, -1), 0);
	pump(f->base);
	assert_int_equal(wrx.n, 2);
	assert_int_equal(wrx.types[0], CH_NEW_CONN);
	assert_int_equal(wrx.ports[0], 5555);
	assert_true(wrx.fds[0] >= 0 && wrx.fds[0] != pipefd[0]);
	assert_true(fcntl(wrx.fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(pipefd[1], "x", 1), 1);
	assert_int_equal(read(wrx.fds[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	assert_int_equal(wrx.types[1], CH_SHUTDOWN);
	assert_int_equal(wrx.fds[1], -1);
	assert_int_equal(wrx.nfailed, 0);

	/* Wrong sizes and fds on the wrong type are refused at the sender. */
	assert_int_equal(channel_send(m2, CH_SHUTDOWN, &nc, sizeof(nc), -1), -EINVAL);
	assert_int_equal(channel_send(m2, CH_RELOAD, &nc, sizeof(nc), -1), -EINVAL);
	assert_int_equal(channel_send(m2, CH_SHUTDOWN, NULL, 0, pipefd[0]), -EINVAL);

	close(wrx.fds[0]);
	close(pipefd[0]);
	close(pipefd[1]);
	channel_free(w2);
	pump(f->base);
	/* The other end went away: EOF is reported once as -EPIPE. */
	assert_int_equal(f->rx.nfailed, 1);
	assert_int_equal(f->rx.failed, -EPIPE);
	channel_free(m2);
	channel_free(worker);
}

/* More messages than the socket holds: queued, then delivered whole and in order; meanwhile a
 * message with an fd is refused with -EAGAIN rather than overtaking the queue. */
static void test_queue_order(void **state)
{
	struct fixture *f = *state;
	struct channel *worker = NULL;
	struct rx wrx = {0};
	unsigned sent = 0;
	int pipefd[2];

	assert_int_equal(channel_new(f->base, f->raw, CH_MASK_WORKER, &ops, &wrx, NULL, &worker),
	                 0);
	f->raw = -1;
	while (channel_queued(worker) < 100 && sent < 3000) {
		struct ch_conn_closed cc;

		memset(&cc, 0, sizeof(cc));
		cc.peer.port = (uint16_t)sent;
		assert_int_equal(channel_send(worker, CH_CONN_CLOSED, &cc, sizeof(cc), -1), 0);
		sent++;
	}
	assert_true(channel_queued(worker) > 0);
	assert_true(sent < MAXMSG);

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	struct ch_new_conn nc;

	memset(&nc, 0, sizeof(nc));
	/* (The worker end may not send NEW_CONN in real life; here it just has a queue.) */
	assert_int_equal(channel_send(worker, CH_NEW_CONN, &nc, sizeof(nc), pipefd[0]), -EAGAIN);
	close(pipefd[0]);
	close(pipefd[1]);

	for (int i = 0; i < 200 && f->rx.n < sent; i++)
		pump(f->base);
	assert_int_equal(f->rx.n, sent);
	assert_int_equal(channel_queued(worker), 0);
	for (unsigned i = 0; i < sent; i++) {
		assert_int_equal(f->rx.types[i], CH_CONN_CLOSED);
		assert_int_equal(f->rx.ports[i], (uint16_t)i);
	}
	assert_int_equal(f->rx.nfailed, 0);
	channel_free(worker);
}

static void expect_fatal(struct fixture *f, int error)
{
	pump(f->base);
	assert_int_equal(f->rx.nfailed, 1);
	assert_int_equal(f->rx.failed, error);
}

static void test_unknown_type(void **state)
{
	struct fixture *f = *state;

	raw_send(f->raw, 99, 0, 0, -1);
	raw_send(f->raw, CH_READY, sizeof(struct ch_ready), sizeof(struct ch_ready), -1);
	expect_fatal(f, -EBADMSG);
	assert_int_equal(f->rx.n, 0); /* nothing is read after the violation */
}

static void test_wrong_direction(void **state)
{
	struct fixture *f = *state;

	raw_send(f->raw, CH_SHUTDOWN, 0, 0, -1); /* a master -> worker type */
	expect_fatal(f, -EBADMSG);
}

static void test_wrong_size(void **state)
{
	struct fixture *f = *state;

	raw_send(f->raw, CH_READY, sizeof(struct ch_ready) + 1, sizeof(struct ch_ready) + 1, -1);
	expect_fatal(f, -EBADMSG);
}

static void test_lying_length(void **state)
{
	struct fixture *f = *state;

	/* The header claims the right size but the datagram is shorter. */
	raw_send(f->raw, CH_READY, sizeof(struct ch_ready), 2, -1);
	expect_fatal(f, -EBADMSG);
}

static void test_short(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(send(f->raw, "abc", 3, 0), 3);
	expect_fatal(f, -EBADMSG);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;

	raw_send(f->raw, CH_READY, 8000, 8000, -1);
	expect_fatal(f, -EMSGSIZE);
}

/* An fd attached to a message that carries none is closed, not leaked. */
static void test_stray_fd_closed(void **state)
{
	struct fixture *f = *state;
	int pipefd[2];
	unsigned before;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	before = open_fds();
	raw_send(f->raw, CH_READY, sizeof(struct ch_ready), sizeof(struct ch_ready), pipefd[0]);
	expect_fatal(f, -EBADMSG);
	assert_int_equal(open_fds(), before);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_eof(void **state)
{
	struct fixture *f = *state;

	close(f->raw);
	f->raw = -1;
	expect_fatal(f, -EPIPE);
	pump(f->base);
	assert_int_equal(f->rx.nfailed, 1); /* once */
}

/* The receiver cannot install another fd: the kernel drops it and sets MSG_CTRUNC. The message
 * still arrives, marked truncated, counted, with no fd. */
static void test_ctrunc(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, low;
	int pipefd[2], spare[1024];
	unsigned nspare = 0;

	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	raw_send(f->raw, CH_NEW_CONN, sizeof(struct ch_new_conn), sizeof(struct ch_new_conn),
	         pipefd[0]);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Fill the fd table up to a low limit so the receive cannot add one. */
	low = old;
	low.rlim_cur = 64;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (;;) {
		int fd = dup(0);

		if (fd < 0)
			break;
		assert_true(nspare < 1024);
		spare[nspare++] = fd;
	}
	pump(f->base);
	for (unsigned i = 0; i < nspare; i++)
		close(spare[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);

	assert_int_equal(f->rx.nfailed, 0);
	assert_int_equal(f->rx.n, 1);
	assert_int_equal(f->rx.types[0], CH_NEW_CONN);
	if (f->rx.fds[0] >= 0) {
		/* The fd was installed after all: the limit is not the kernel's here (valgrind
		 * emulates RLIMIT_NOFILE), so there was nothing to truncate. */
		close(pipefd[0]);
		close(pipefd[1]);
		skip();
	}
	assert_true(f->rx.truncated[0]);
	assert_int_equal(f->rx.fds[0], -1);
	assert_int_equal(atomic_load(&f->ctrunc), 1);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* NEW_CONN without its fd (and no truncation) is a violation. */
static void test_new_conn_without_fd(void **state)
{
	struct fixture *f = *state;

	raw_send(f->raw, CH_NEW_CONN, sizeof(struct ch_new_conn), sizeof(struct ch_new_conn), -1);
	expect_fatal(f, -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_direction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lying_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stray_fd_closed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrunc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_conn_without_fd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
