/* accept.c: the master's accept path: listener events, admission, and handing fds to workers.
 *
 * Each wakeup accepts at most ACCEPT_BATCH connections per listener, for fairness with the rest
 * of the master's loop. Every accepted client is either handed to a worker or told why not with
 * a BYE; none is dropped silently:
 *
 *   1. max_clients reached (all connections held by workers)    -> BYE(server full)
 *   2. max_clients_per_ip reached for the source address        -> BYE(ip limit)
 *   3. the READY, non-retiring worker with the fewest connections (below its fd capacity) gets it
 *      over its channel (NEW_CONN with the fd); the master's copy is closed right after. A worker
 *      whose channel is full is skipped for the next one.
 *   4. no worker can take it: if only full channels stood in the way, the connection waits in a
 *      small queue (accepting pauses meanwhile, so the rest wait in the kernel backlog) and is
 *      retried every few ms for up to a second; otherwise                 -> BYE(server full)
 *
 * Connection counts come from the master's own books (handed over minus CONN_CLOSED reports),
 * so a burst of a thousand accepts spreads evenly before any worker has reported anything.
 *
 * Out of fds (EMFILE/ENFILE): the reserve fd (/dev/null, opened at start) is closed to make room,
 * one pending client is accepted and refused with BYE(server full), the reserve reopened, and
 * accepting pauses for 100 ms, doubling up to 1 s while the shortage lasts: no busy loop, and
 * the backlog keeps moving.
 *
 * On a listener with proxy_protocol on, step 0 is proxywait.c reading the PROXY header; the
 * connection then enters step 1 under the client's real address.
 *
 * accept.c is called by master.c and never calls it: a worker whose channel fails is reported
 * through the ops the master gave accept_setup() (struct accept_ops), and the master decides.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master-internal.h"
#include "util.h"

#define ACCEPT_BATCH       64
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     1000
#define PENDING_RETRY_MS   5
#define PENDING_MAX_AGE_MS 1000

static void arm_ms(struct event *ev, uint32_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	event_add(ev, &tv);
}

/* Whether a worker may be handed connections now. */
static bool worker_eligible(const struct mworker *w)
{
	return w->pid > 0 && w->chan && w->ready && !w->retiring && !w->killed &&
	       w->m->state == MS_RUNNING;
}

void accept_update(struct master *m)
{
	bool any_ready = false;
	bool want;

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (worker_eligible(&m->workers[i]))
			any_ready = true;
	if (any_ready)
		m->accept_paused &= ~ACCEPT_NO_WORKER;
	else
		m->accept_paused |= ACCEPT_NO_WORKER;

	want = m->accept_paused == 0 && m->state == MS_RUNNING;
	if (want == m->accept_on)
		return;
	for (unsigned i = 0; i < m->nlisteners; i++) {
		if (!m->ev_accept[i])
			continue;
		if (want)
			event_add(m->ev_accept[i], NULL);
		else
			event_del(m->ev_accept[i]);
	}
	m->accept_on = want;
}

void accept_refuse(struct master *m, int fd, enum reject_why why)
{
	m->stats.rejected[why]++;
	if (why == REJECT_IP) {
		m->refused_ip++;
		listen_refuse(fd, ARENA_BYE_IP_LIMIT, "too many connections from your address");
	} else if (why == REJECT_SHUTDOWN) {
		listen_refuse(fd, ARENA_BYE_SHUTDOWN, "server shutting down");
	} else {
		m->refused_full++;
		listen_refuse(fd, ARENA_BYE_SERVER_FULL, "server full");
	}
}

/* Offer fd to the least loaded eligible worker, then the next... Returns 0 (handed over and
 * counted; the caller closes its copy), -EAGAIN if only full channels were in the way, or
 * -ENOENT if no worker can take it at all. */
static int hand_over(struct master *m, int fd, const struct peer_addr *peer)
{
	bool tried[ARENA_WORKERS_MAX] = {false};
	bool congested = false;
	struct ch_new_conn nc;

	memset(&nc, 0, sizeof(nc));
	nc.peer = *peer;
	for (;;) {
		struct mworker *best = NULL;
		int r;

		for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
			struct mworker *w = &m->workers[i];

			if (tried[i] || !worker_eligible(w) || w->conns >= w->cap)
				continue;
			if (!best || w->conns < best->conns)
				best = w;
		}
		if (!best)
			return congested ? -EAGAIN : -ENOENT;
		tried[best->slot] = true;
		r = channel_send(best->chan, CH_NEW_CONN, &nc, sizeof(nc), fd);
		if (r == 0) {
			best->conns++;
			m->stats.accepted++;
			if (peer_table_add(m->peers, peer, best->slot) < 0)
				log_warning("out of memory counting connections per address");
			return 0;
		}
		if (r == -EAGAIN) {
			congested = true;
			continue;
		}
		if (r == -EPIPE || r == -ECONNRESET || r == -ECONNREFUSED) {
			/* The worker is gone (SIGCHLD will tell): its channel is dead. */
			log_debug("worker.%u cannot take connections: %s", best->slot,
			          strerror(-r));
			channel_free(best->chan);
			best->chan = NULL;
		} else {
			char why[96];

			snprintf(why, sizeof(why), "cannot take connections (%s)", strerror(-r));
			m->accept_ops->worker_failed(best, why);
		}
	}
}

void accept_dispatch(struct master *m, int fd, const struct peer_addr *peer)
{
	int r;

	if (peer_table_total(m->peers) + m->npending + m->nproxy_waits >= m->cfg.max_clients) {
		accept_refuse(m, fd, REJECT_FULL);
		return;
	}
	if (peer_table_count(m->peers, peer) >= m->cfg.max_clients_per_ip) {
		accept_refuse(m, fd, REJECT_IP);
		return;
	}
	r = hand_over(m, fd, peer);
	if (r == 0) {
		safe_close(fd);
		return;
	}
	if (r == -EAGAIN && m->npending < MASTER_PENDING_MAX) {
		struct pending_conn *p = &m->pending[m->npending++];

		p->fd = fd;
		p->peer = *peer;
		p->since_ms = arena_now_ms();
		m->accept_paused |= ACCEPT_CONGESTED;
		accept_update(m);
		arm_ms(m->ev_pending, PENDING_RETRY_MS);
		return;
	}
	accept_refuse(m, fd, REJECT_NO_WORKER);
}

static void on_pending(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	uint64_t now = arena_now_ms();
	unsigned kept = 0;

	for (unsigned i = 0; i < m->npending; i++) {
		struct pending_conn p = m->pending[i];
		int r = m->state == MS_RUNNING ? hand_over(m, p.fd, &p.peer) : -ENOENT;

		if (r == 0) {
			safe_close(p.fd);
		} else if (r == -EAGAIN && now - p.since_ms < PENDING_MAX_AGE_MS) {
			m->pending[kept++] = p;
		} else {
			accept_refuse(m, p.fd,
			              m->state == MS_RUNNING ? REJECT_NO_WORKER : REJECT_SHUTDOWN);
		}
	}
	m->npending = kept;
	if (kept) {
		arm_ms(m->ev_pending, PENDING_RETRY_MS);
		return;
	}
	m->accept_paused &= ~ACCEPT_CONGESTED;
	accept_update(m);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	if (m->reserve_fd < 0)
		m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	m->accept_paused &= ~ACCEPT_FD_LIMIT;
	accept_update(m);
}

/* EMFILE/ENFILE: refuse one client using the reserve fd, then back off. */
static void fd_exhausted(struct master *m, int lfd, int err)
{
	struct peer_addr peer;
	int fd;

	if (m->reserve_fd >= 0) {
		m->reserve_fd = safe_close(m->reserve_fd);
		if (listen_accept(lfd, &fd, &peer) == 0)
			accept_refuse(m, fd, REJECT_FD_LIMIT);
		m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (!(m->accept_paused & ACCEPT_FD_LIMIT))
		log_warning(
		    "Out of file descriptors accepting connections (%s); pausing accepts for "
		    "%u ms",
		    strerror(-err), m->backoff_ms);
	m->accept_paused |= ACCEPT_FD_LIMIT;
	accept_update(m);
	arm_ms(m->ev_accept_resume, m->backoff_ms);
	m->backoff_ms = MIN(m->backoff_ms * 2, (uint32_t)BACKOFF_MAX_MS);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	const struct accept_src *src = arg;
	struct master *m = src->m;
	enum arena_proxy_mode mode = m->proxy_mode[src->index];

	for (int i = 0; i < ACCEPT_BATCH && m->accept_on; i++) {
		struct peer_addr peer;
		int fd, r = listen_accept((int)lfd, &fd, &peer);

		if (r == -EAGAIN)
			return;
		if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS || r == -ENOMEM) {
			fd_exhausted(m, (int)lfd, r);
			return;
		}
		if (r == -ECONNABORTED || r == -EPROTO || r == -EPERM || r == -ENETDOWN ||
		    r == -ENOPROTOOPT || r == -EHOSTDOWN || r == -ENONET || r == -EHOSTUNREACH ||
		    r == -EOPNOTSUPP || r == -ENETUNREACH) {
			/* That client is gone (accept(2) says: retry): keep going. */
			log_debug("accept failed: %s", strerror(-r));
			continue;
		}
		if (r < 0) {
			/* Unexpected: do not spin on a listener that keeps failing. */
			log_error("accept failed: %s; pausing accepts", strerror(-r));
			m->accept_paused |= ACCEPT_FD_LIMIT;
			accept_update(m);
			arm_ms(m->ev_accept_resume, BACKOFF_MAX_MS);
			return;
		}
		m->backoff_ms = BACKOFF_MIN_MS;
		if (mode != ARENA_PROXY_OFF)
			proxy_wait_begin(m, fd, &peer, mode);
		else
			accept_dispatch(m, fd, &peer);
	}
}

int accept_setup(struct master *m, const struct accept_ops *ops)
{
	m->accept_ops = ops;
	m->backoff_ms = BACKOFF_MIN_MS;
	m->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (m->reserve_fd < 0)
		return -errno;
	m->ev_accept_resume = event_new(m->base, -1, 0, on_accept_resume, m);
	m->ev_pending = event_new(m->base, -1, 0, on_pending, m);
	if (!m->ev_accept_resume || !m->ev_pending)
		return -ENOMEM;
	for (unsigned i = 0; i < m->nlisteners; i++) {
		m->accept_src[i].m = m;
		m->accept_src[i].index = i;
		m->ev_accept[i] = event_new(m->base, m->listeners[i].fd, EV_READ | EV_PERSIST,
		                            on_accept, &m->accept_src[i]);
		if (!m->ev_accept[i])
			return -ENOMEM;
	}
	m->accept_paused = ACCEPT_NO_WORKER;
	m->accept_on = false;
	return 0;
}

void accept_close_listeners(struct master *m)
{
	m->accept_paused |= ACCEPT_STOPPED;
	accept_update(m);
	for (unsigned i = 0; i < m->nlisteners; i++) {
		if (m->ev_accept[i]) {
			event_free(m->ev_accept[i]);
			m->ev_accept[i] = NULL;
		}
		m->listeners[i].fd = safe_close(m->listeners[i].fd);
	}
}

void accept_stop(struct master *m)
{
	accept_close_listeners(m);
	for (unsigned i = 0; i < m->npending; i++)
		accept_refuse(m, m->pending[i].fd, REJECT_SHUTDOWN);
	m->npending = 0;
	proxy_wait_stop(m);
}

int accept_proxy_modes(const struct master *m, const struct arena_config *cfg,
                       enum arena_proxy_mode ret[ARENA_LISTEN_MAX], char *err, size_t errlen)
{
	enum arena_proxy_mode modes[ARENA_LISTEN_MAX] = {ARENA_PROXY_OFF};

	for (unsigned i = 0; i < m->nlisteners; i++) {
		if (arena_proxy_mode_of(cfg, i, m->nlisteners, &modes[i]) < 0) {
			snprintf(err, errlen,
			         "proxy_protocol lists %u modes but there are %u listeners%s; give "
			         "one mode for all or one per listener",
			         cfg->nproxy_protocol, m->nlisteners,
			         m->socket_activated ? " (passed by systemd)" : "");
			return -EINVAL;
		}
	}
	memcpy(ret, modes, sizeof(modes));
	return 0;
}

void accept_teardown(struct master *m)
{
	accept_stop(m);
	if (m->ev_accept_resume)
		event_free(m->ev_accept_resume);
	if (m->ev_pending)
		event_free(m->ev_pending);
	m->ev_accept_resume = m->ev_pending = NULL;
	m->reserve_fd = safe_close(m->reserve_fd);
}
