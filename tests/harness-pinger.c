/* harness-pinger.c: "honest clients" that PING on a steady beat in a background thread.
 *
 * While a test abuses the daemon (kills a worker, floods, reloads), honest clients show whether
 * everybody else is still served on time. hp_start connects and welcomes them in the caller's
 * thread, then one thread owns their sockets: each client sends a PING every interval (never two
 * outstanding), and each PONG's round trip is recorded. A PING still unanswered counts its age,
 * so a stall shows up even if the PONG never comes. Statistics are read under a mutex while the
 * thread runs; the caller touches the clients only to read their addresses (worker mapping).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness-private.h"

struct hp_client {
	struct hc *c;
	struct hp_stat st;
	uint64_t pongs_base; /* pongs at the last hp_reset_latency */
	bool outstanding;
	uint64_t stamp;
	uint64_t sent_ms;
	uint64_t next_ms;
};

struct hp {
	size_t n;
	unsigned interval_ms;
	struct hp_client *cl;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	pthread_mutex_t mu;
	struct pollfd *pfd;
	size_t *idx;
};

static void on_message(struct hp_client *k, const struct arena_msg *m, uint64_t now)
{
	if (m->type == ARENA_PONG && k->outstanding && m->u.ping.stamp == k->stamp) {
		uint64_t lat = now - k->sent_ms;

		k->outstanding = false;
		k->st.pongs++;
		k->st.last_pong_ms = now;
		if (lat > k->st.max_latency_ms)
			k->st.max_latency_ms = lat;
	} else if (m->type == ARENA_BYE) {
		k->st.got_bye = true;
		k->st.bye_reason = m->u.bye.reason;
	} else {
		k->st.bad = true; /* an honest lobby client gets nothing but PONGs */
	}
}

static void *pinger_main(void *arg)
{
	struct hp *p = arg;
	uint64_t counter = 0;

	while (!atomic_load(&p->stop)) {
		uint64_t now = h_now_ms(), next = now + 10;
		size_t m = 0;

		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < p->n; i++) {
			struct hp_client *k = &p->cl[i];

			if (k->st.closed)
				continue;
			if (!k->outstanding && now >= k->next_ms) {
				struct arena_msg ping = {.type = ARENA_PING};

				ping.u.ping.stamp = k->stamp = ++counter;
				k->sent_ms = now;
				k->next_ms = now + p->interval_ms;
				k->outstanding = true;
				if (hc_send(k->c, &ping) < 0) {
					k->st.closed = true;
					k->st.close_err = -EPIPE;
					k->st.closed_ms = now;
					continue;
				}
			}
			if (!k->outstanding && k->next_ms < next)
				next = k->next_ms;
			p->pfd[m] = (struct pollfd){.fd = k->c->fd, .events = POLLIN};
			p->idx[m++] = i;
		}
		pthread_mutex_unlock(&p->mu);

		int r = poll(p->pfd, m, h_remaining(next));
		if (r <= 0)
			continue;
		now = h_now_ms();
		pthread_mutex_lock(&p->mu);
		for (size_t j = 0; j < m; j++) {
			struct hp_client *k = &p->cl[p->idx[j]];
			struct arena_msg msg;

			if (!p->pfd[j].revents)
				continue;
			for (;;) {
				r = hc_step(k->c, &msg);
				if (r == 1) {
					on_message(k, &msg, now);
					continue;
				}
				if (r < 0) {
					k->st.closed = true;
					k->st.close_err = r;
					k->st.closed_ms = now;
				}
				break;
			}
		}
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static void hp_exit_cb(void *arg)
{
	hp_free(arg);
}

struct hp *hp_start(struct hd *d, size_t n, unsigned interval_ms, const char *src,
                    const char *prefix)
{
	struct hc **cs = calloc(n, sizeof(*cs));
	struct hp *p = calloc(1, sizeof(*p));
	size_t got;

	if (!cs || !p)
		h_bail("out of memory");
	p->n = n;
	p->interval_ms = interval_ms;
	p->cl = calloc(n, sizeof(*p->cl));
	p->pfd = calloc(n, sizeof(*p->pfd));
	p->idx = calloc(n, sizeof(*p->idx));
	if (!p->cl || !p->pfd || !p->idx)
		h_bail("out of memory");
	pthread_mutex_init(&p->mu, NULL);
	h_on_exit(hp_exit_cb, p);

	got = hc_connect_many(d, src, n, 0, 5000, cs);
	for (size_t i = 0; i < n; i++)
		p->cl[i].c = cs[i];
	free(cs);
	if (got != n)
		h_bail("honest clients: only %zu of %zu connected", got, n);
	struct hc **all = calloc(n, sizeof(*all));
	if (!all)
		h_bail("out of memory");
	for (size_t i = 0; i < n; i++)
		all[i] = p->cl[i].c;
	got = hc_hello_many(all, n, prefix, 10000);
	free(all);
	if (got != n)
		h_bail("honest clients: only %zu of %zu welcomed", got, n);

	uint64_t now = h_now_ms();
	for (size_t i = 0; i < n; i++) /* spread the beats over the interval */
		p->cl[i].next_ms = now + (interval_ms * i) / n;
	if (pthread_create(&p->thread, NULL, pinger_main, p) != 0)
		h_bail("pthread_create failed");
	p->running = true;
	return p;
}

struct hc *hp_client(struct hp *p, size_t i)
{
	return p->cl[i].c;
}

size_t hp_count(const struct hp *p)
{
	return p->n;
}

struct hp_stat hp_get(struct hp *p, size_t i)
{
	struct hp_stat st;
	uint64_t now = h_now_ms();

	pthread_mutex_lock(&p->mu);
	st = p->cl[i].st;
	if (p->cl[i].outstanding && !st.closed && now - p->cl[i].sent_ms > st.max_latency_ms)
		st.max_latency_ms = now - p->cl[i].sent_ms;
	pthread_mutex_unlock(&p->mu);
	return st;
}

void hp_reset_latency(struct hp *p)
{
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->n; i++) {
		p->cl[i].st.max_latency_ms = 0;
		p->cl[i].pongs_base = p->cl[i].st.pongs;
	}
	pthread_mutex_unlock(&p->mu);
}

void hp_stop(struct hp *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	p->running = false;
	uint64_t now = h_now_ms();
	for (size_t i = 0; i < p->n; i++) {
		struct hp_client *k = &p->cl[i];

		if (k->outstanding && !k->st.closed && now - k->sent_ms > k->st.max_latency_ms)
			k->st.max_latency_ms = now - k->sent_ms;
	}
}

bool hp_check(struct hp *p, unsigned max_latency_ms, const char *what)
{
	size_t closed = 0, silent = 0, late = 0, bad = 0;
	uint64_t worst = 0, min_pongs = UINT64_MAX;

	for (size_t i = 0; i < p->n; i++) {
		struct hp_stat st = hp_get(p, i);
		uint64_t pongs = st.pongs - p->cl[i].pongs_base;

		closed += st.closed;
		silent += pongs == 0;
		late += st.max_latency_ms > max_latency_ms;
		bad += st.bad;
		if (st.max_latency_ms > worst)
			worst = st.max_latency_ms;
		if (pongs < min_pongs)
			min_pongs = pongs;
	}
	return CHECK(closed == 0 && silent == 0 && late == 0 && bad == 0,
	             "%s: %zu honest clients served on time (closed %zu, without PONG %zu, "
	             "unexpected messages %zu, worst PONG %llu ms, bound %u ms, fewest PONGs %llu)",
	             what, p->n, closed, silent, bad, (unsigned long long)worst, max_latency_ms,
	             (unsigned long long)min_pongs);
}

void hp_free(struct hp *p)
{
	if (!p)
		return;
	h_on_exit_cancel(hp_exit_cb, p);
	hp_stop(p);
	for (size_t i = 0; i < p->n; i++)
		hc_close(p->cl[i].c);
	pthread_mutex_destroy(&p->mu);
	free(p->cl);
	free(p->pfd);
	free(p->idx);
	free(p);
}
