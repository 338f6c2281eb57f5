/* base.c: the benchmark baselines' skeleton: listeners, epoll loops, framing and output.
 *
 * Per thread: a SO_REUSEPORT listener (the kernel spreads connections over the threads), an
 * eventfd that stops the loop, and for ticking applications a timerfd re-armed for each tick
 * boundary of a clock shared by all threads. Reads are level-triggered, one read() per
 * readiness; complete frames are decoded in place and a partial frame is carried. Writes go
 * straight to the socket and only the remainder is buffered (bounded by BASE_OUT_CAP, beyond
 * which the client is cut). Closed connections are freed after the current epoll batch, so a
 * pointer in the same batch never dangles.
 */
#include "base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void base_close(struct bthread *t, struct bconn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (t->app->on_close)
		t->app->on_close(t, c);
	c->next_closed = t->closed;
	t->closed = c;
}

static void reap_closed(struct bthread *t)
{
	while (t->closed) {
		struct bconn *c = t->closed;
		t->closed = c->next_closed;
		close(c->fd);
		free(c->carry);
		free(c->out);
		free(c);
	}
}

int base_send(struct bthread *t, struct bconn *c, const void *frame, size_t len)
{
	if (c->closed)
		return -1;
	size_t off = 0;
	if (c->out_len == 0) {
		ssize_t n = send(c->fd, frame, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			base_close(t, c);
			return -1;
		}
		if (n > 0)
			off = (size_t)n;
		if (off == len)
			return 0;
	}
	if (c->out_len + len - off > BASE_OUT_CAP) {
		base_close(t, c); /* the client does not read */
		return -1;
	}
	if (!c->out) {
		c->out = malloc(BASE_OUT_CAP);
		if (!c->out) {
			base_close(t, c);
			return -1;
		}
	}
	memcpy(c->out + c->out_len, (const uint8_t *)frame + off, len - off);
	if (c->out_len == 0) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
		epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	c->out_len += len - off;
	return 0;
}

int base_send_msg(struct bthread *t, struct bconn *c, const struct arena_msg *m)
{
	uint8_t buf[ARENA_FRAME_MAX];
	ssize_t n = arena_encode(m, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return base_send(t, c, buf, (size_t)n);
}

int base_welcome(struct bthread *t, struct bconn *c, uint16_t tick_rate)
{
	struct arena_msg *m = &t->tx;
	m->type = ARENA_WELCOME;
	m->u.welcome.player_id = c->id;
	memset(m->u.welcome.token, 0, ARENA_TOKEN_LEN);
	m->u.welcome.resume = ARENA_RESUME_NONE;
	m->u.welcome.tick_rate = tick_rate;
	m->u.welcome.max_payload = ARENA_CLIENT_PAYLOAD_DEFAULT;
	m->u.welcome.input_rate = 1000;
	m->u.welcome.chat_rate = 1000;
	m->u.welcome.idle_timeout = 3600;
	c->welcomed = true;
	return base_send_msg(t, c, m);
}

static void flush_out(struct bthread *t, struct bconn *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				base_close(t, c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int handle_frame(struct bthread *t, struct bconn *c, const uint8_t *f, size_t len)
{
	size_t used = 0;
	arena_decoder_init(&t->dec, ARENA_SIDE_SERVER, ARENA_CLIENT_PAYLOAD_DEFAULT);
	if (arena_decoder_feed(&t->dec, f, len, &used, &t->msg) != 1 || used != len) {
		base_close(t, c);
		return -1;
	}
	t->app->on_msg(t, c, &t->msg);
	return c->closed ? -1 : 0;
}

static void on_readable(struct bthread *t, struct bconn *c)
{
	ssize_t n = read(c->fd, t->rbuf, sizeof(t->rbuf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		base_close(t, c);
		return;
	}
	const uint8_t *d = t->rbuf;
	size_t len = (size_t)n, flen;
	while (len > 0 && !c->closed) {
		if (c->carry_len) {
			size_t take =
			    ARENA_HEADER_SIZE > c->carry_len ? ARENA_HEADER_SIZE - c->carry_len : 0;
			take = take < len ? take : len;
			memcpy(c->carry + c->carry_len, d, take);
			c->carry_len += (uint16_t)take;
			d += take;
			len -= take;
			if (c->carry_len < ARENA_HEADER_SIZE)
				return;
			if (arena_frame_peek(c->carry, c->carry_len, ARENA_CLIENT_PAYLOAD_DEFAULT,
			                     &flen) < 0) {
				base_close(t, c);
				return;
			}
			take = flen - c->carry_len < len ? flen - c->carry_len : len;
			memcpy(c->carry + c->carry_len, d, take);
			c->carry_len += (uint16_t)take;
			d += take;
			len -= take;
			if (c->carry_len < flen)
				return;
			c->carry_len = 0;
			if (handle_frame(t, c, c->carry, flen) < 0)
				return;
			continue;
		}
		int r = arena_frame_peek(d, len, ARENA_CLIENT_PAYLOAD_DEFAULT, &flen);
		if (r == -EAGAIN || (r == 0 && flen > len)) {
			if (!c->carry)
				c->carry = malloc(ARENA_HEADER_SIZE + ARENA_CLIENT_PAYLOAD_DEFAULT);
			if (!c->carry) {
				base_close(t, c);
				return;
			}
			memcpy(c->carry, d, len);
			c->carry_len = (uint16_t)len;
			return;
		}
		if (r < 0) {
			base_close(t, c);
			return;
		}
		if (handle_frame(t, c, d, flen) < 0)
			return;
		d += flen;
		len -= flen;
	}
}

static void accept_some(struct bthread *t)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct bconn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->room = -1;
		c->id = (t->idx << 24) | (++t->next_id & 0xffffff);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

/* Arm the timerfd for the next tick boundary of the shared clock. */
static uint32_t arm_tick(struct bthread *t)
{
	uint64_t period = 1000 / t->app->tick_hz, now = now_ms();
	uint64_t n = (now - t->start_ms) / period + 1;
	uint64_t at = t->start_ms + n * period;
	struct itimerspec its = {0};
	uint64_t in = at - now;
	its.it_value.tv_sec = (time_t)(in / 1000);
	its.it_value.tv_nsec = (long)(in % 1000) * 1000000;
	timerfd_settime(t->tickfd, 0, &its, NULL);
	return (uint32_t)n;
}

static void *thread_main(void *arg)
{
	struct bthread *t = arg;
	struct epoll_event evs[256];
	static char lkey, skey, tkey;
	uint32_t next_tick = 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &lkey};
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->lfd, &ev);
	ev.data.ptr = &skey;
	epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->stopfd, &ev);
	if (t->tickfd >= 0) {
		ev.data.ptr = &tkey;
		epoll_ctl(t->epfd, EPOLL_CTL_ADD, t->tickfd, &ev);
		next_tick = arm_tick(t);
	}
	for (bool run = true; run;) {
		int n = epoll_wait(t->epfd, evs, 256, -1);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &lkey) {
				accept_some(t);
			} else if (p == &skey) {
				run = false;
			} else if (p == &tkey) {
				uint64_t x;
				if (read(t->tickfd, &x, sizeof(x)) == sizeof(x)) {
					t->app->on_tick(t, next_tick);
					next_tick = arm_tick(t);
				}
			} else {
				struct bconn *c = p;
				if (!c->closed && (evs[i].events & EPOLLOUT))
					flush_out(t, c);
				if (!c->closed && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
					on_readable(t, c);
			}
		}
		reap_closed(t);
	}
	return NULL;
}

static int listen_on(const char *text, int *ret_fd)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || sin.sin_port == 0)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4096) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*ret_fd = fd;
	return 0;
}

int base_main(int argc, char **argv, const struct bapp *app)
{
	const char *addr = "127.0.0.1:7777";
	unsigned nthreads = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			addr = argv[++i];
		} else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
			nthreads = (unsigned)atoi(argv[++i]);
		} else if (app->option && i + 1 < argc && app->option(argv[i], argv[i + 1]) == 0) {
			i++;
		} else {
			fprintf(stderr,
			        "usage: %s [--listen IPV4:PORT] [--threads N]%s\n"
			        "A benchmark baseline (%s) for arena-bots; SIGTERM stops it.\n",
			        argv[0], app->options_help ? app->options_help : "", app->name);
			return strcmp(argv[i], "--help") == 0 ? 0 : 1;
		}
	}
	if (nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "%s: --threads must be 1..64\n", argv[0]);
		return 1;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct bthread *ts = calloc(nthreads, sizeof(*ts));
	pthread_t *tids = calloc(nthreads, sizeof(*tids));
	if (!ts || !tids)
		return 1;
	uint64_t start = now_ms();
	int status = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		struct bthread *t = &ts[i];
		t->app = app;
		t->idx = i;
		t->start_ms = start;
		t->tickfd = -1;
		int r = listen_on(addr, &t->lfd);
		if (r < 0) {
			fprintf(stderr, "%s: cannot listen on %s: %s\n", argv[0], addr,
			        strerror(-r));
			status = 1;
			break;
		}
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		t->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (app->tick_hz)
			t->tickfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (t->epfd < 0 || t->stopfd < 0 || (app->tick_hz && t->tickfd < 0) ||
		    (app->thread_init && app->thread_init(t) < 0) ||
		    pthread_create(&tids[i], NULL, thread_main, t) != 0) {
			fprintf(stderr, "%s: thread setup failed\n", argv[0]);
			status = 1;
			break;
		}
		started++;
	}
	if (status == 0) {
		fprintf(stderr, "%s: listening on %s with %u thread(s)\n", app->name, addr,
		        nthreads);
		int sig;
		sigwait(&set, &sig);
	}
	for (unsigned i = 0; i < started; i++) {
		uint64_t one = 1;
		if (write(ts[i].stopfd, &one, sizeof(one)) < 0)
			status = 1;
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	for (unsigned i = 0; i < nthreads; i++) {
		struct bthread *t = &ts[i];
		if (t->lfd > 0)
			close(t->lfd);
		if (t->epfd > 0)
			close(t->epfd);
		if (t->stopfd > 0)
			close(t->stopfd);
		if (t->tickfd >= 0)
			close(t->tickfd);
		if (i < started && app->thread_fini)
			app->thread_fini(t);
	}
	free(ts);
	free(tids);
	return status;
}
