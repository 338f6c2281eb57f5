/* load.c: one arena-bots load process: the event loop, the connect ramp, the input wheel, the
 * end of the run, and the reports to the parent.
 *
 * Timers, all on one libevent base with EVENT_BASE_FLAG_PRECISE_TIMER (timerfd, so a 1 ms slot
 * really is 1 ms):
 *   ramp   every 10 ms, starts as many bots as the connect rate allows so far;
 *   wheel  one-shot, re-armed for the next slot boundary: sends the inputs due in that slot;
 *   house  every 100 ms, a tenth of the bots each time: keepalive, chat, churn, timeouts;
 *   live   every second, sends counters and the response histogram delta to the parent;
 *   end    at the end of the duration: stop sending, wait (at most --timeout) for the acks
 *          still outstanding, then account, close everything and send the final results.
 * The steady-state window, over which the self-check compares inputs sent with inputs due,
 * opens one second after the last bot of this process started connecting and closes at the
 * end of the duration.
 */
#include "load.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static void arm_in(struct event *ev, uint64_t us)
{
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000),
	                     .tv_usec = (suseconds_t)(us % 1000000)};
	evtimer_add(ev, &tv);
}

/* Stop at `now`: no more inputs; the end timer takes it from here. */
static void stop_now(struct loadproc *lp, uint64_t now)
{
	if (now < lp->t_end)
		lp->t_end = now;
	if (lp->win_set && lp->win_end > now)
		lp->win_end = now;
	if (lp->win_set && lp->win_end <= lp->win_start)
		lp->win_set = false;
	arm_in(lp->end_ev, 0);
}

static void on_bot_done(struct loadproc *lp)
{
	if (lp->active > 0)
		lp->active--;
	if (lp->active == 0 && lp->started == lp->count && !lp->finished)
		stop_now(lp, bots_now_us());
}

static void ramp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	uint64_t now = bots_now_us();
	(void)fd;
	(void)what;
	unsigned due = lp->count;
	if (lp->ramp_per_us > 0) {
		double d = floor((double)(now - lp->ramp_start) * lp->ramp_per_us) + 1;
		if (d < due)
			due = (unsigned)d;
	}
	while (lp->started < due && !lp->stopping) {
		lp->started++;
		bot_start(&lp->bots[lp->started - 1], bots_now_us());
	}
	if (lp->started == lp->count || lp->stopping) {
		event_del(lp->ramp_ev);
		if (!lp->win_set && !lp->stopping) {
			lp->win_start = now + 1000000;
			lp->win_end = lp->t_end;
			lp->win_set = lp->win_start < lp->win_end;
		}
		if (lp->active == 0 && !lp->finished)
			stop_now(lp, now);
	}
}

static uint64_t slot_due(const struct loadproc *lp)
{
	return lp->t0 + lp->wheel_cycle * lp->period_us + lp->wheel_slot * lp->slot_us;
}

static void wheel_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	(void)fd;
	(void)what;
	if (lp->stopping)
		return;
	uint64_t now = bots_now_us();
	/* Catch up at most 5 ms of slots per call, then let the loop read sockets and run the
	 * other timers: an overloaded process falls behind (visible as send lag and, past 5%,
	 * as the bottleneck verdict) instead of never returning to its event loop. */
	uint64_t budget_end = now + 5000;
	for (uint64_t due; (due = slot_due(lp)) <= now;) {
		for (uint32_t i = lp->slot_head[lp->wheel_slot]; i != WHEEL_END;
		     i = lp->bots[i].wheel_next)
			bot_input(&lp->bots[i], due, bots_now_us());
		if (++lp->wheel_slot == lp->nslots) {
			lp->wheel_slot = 0;
			lp->wheel_cycle++;
		}
		now = bots_now_us();
		if (now >= budget_end)
			break;
	}
	uint64_t next = slot_due(lp);
	arm_in(lp->wheel_ev, next > now ? next - now : 0);
}

static void house_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	(void)fd;
	(void)what;
	unsigned part = lp->house_round++ % 10;
	for (unsigned i = part; i < lp->started; i += 10)
		bot_housekeeping(&lp->bots[i], bots_now_us());
}

static uint64_t cpu_us(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec +
	       (uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec;
}

static void live_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	(void)fd;
	(void)what;
	lp->st->c[C_cpu_us] = cpu_us();
	if (results_write_live(lp->out, bots_now_us() - lp->t0, lp->st, lp->live_delta) < 0) {
		/* the parent is gone: nobody to report to */
		stop_now(lp, bots_now_us());
	}
	hist_reset(lp->live_delta);
}

static uint64_t total_pending(const struct loadproc *lp)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < lp->started; i++)
		n += bot_pending(&lp->bots[i]);
	return n;
}

static void end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	uint64_t now = bots_now_us();
	(void)fd;
	(void)what;
	if (lp->finished)
		return;
	if (!lp->stopping) {
		lp->stopping = true;
		if (lp->t_end > now)
			lp->t_end = now;
		event_del(lp->ramp_ev);
		event_del(lp->wheel_ev);
		if (lp->win_set && lp->win_end > now)
			lp->win_end = now;
	}
	/* grace for outstanding acks: up to --timeout past the end */
	if (total_pending(lp) > 0 && now < lp->t_end + lp->o->timeout_us) {
		arm_in(lp->end_ev, 20000);
		return;
	}
	lp->finished = true;
	for (unsigned i = 0; i < lp->count; i++)
		bot_finish(&lp->bots[i], bots_now_us());
	if (lp->win_set)
		lp->st->c[C_window_us] = lp->win_end - lp->win_start;
	lp->st->c[C_send_us] = lp->t_end - lp->t0;
	event_base_loopbreak(lp->base);
}

static void sig_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loadproc *lp = arg;
	(void)fd;
	(void)what;
	if (!lp->finished)
		stop_now(lp, bots_now_us());
}

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 16;
	while (p < n && p < (1u << 20))
		p <<= 1;
	return p;
}

/* Timer wheel over one input period, 1 ms slots (fewer above 1000 Hz is impossible: the
 * options cap the rate at 1000 Hz). */
static int wheel_setup(struct loadproc *lp, double hz)
{
	lp->period_us = (uint64_t)llround(1e6 / hz);
	lp->nslots = (unsigned)(lp->period_us / 1000);
	if (lp->nslots < 1)
		lp->nslots = 1;
	lp->slot_us = lp->period_us / lp->nslots;
	lp->slot_head = malloc(lp->nslots * sizeof(*lp->slot_head));
	if (!lp->slot_head)
		return -ENOMEM;
	for (unsigned s = 0; s < lp->nslots; s++)
		lp->slot_head[s] = WHEEL_END;
	for (unsigned i = 0; i < lp->count; i++) {
		unsigned s = (unsigned)(lp_rand(lp) % lp->nslots);
		lp->bots[i].wheel_next = lp->slot_head[s];
		lp->slot_head[s] = i;
	}
	return 0;
}

static void lp_free(struct loadproc *lp)
{
	if (lp->bots) {
		for (unsigned i = 0; i < lp->count; i++)
			bot_free(&lp->bots[i]);
		free(lp->bots);
	}
	struct event *evs[] = {lp->ramp_ev, lp->wheel_ev, lp->house_ev, lp->live_ev,
	                       lp->end_ev,  lp->sig_term, lp->sig_int};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (lp->base)
		event_base_free(lp->base);
	if (lp->out)
		fclose(lp->out);
	free(lp->slot_head);
	free(lp->st);
	free(lp->live_delta);
	free(lp);
}

static int lp_setup(struct loadproc *lp)
{
	const struct bots_opts *o = lp->o;
	struct event_config *cfg = event_config_new();
	if (!cfg)
		return -ENOMEM;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER | EVENT_BASE_FLAG_NOLOCK);
	lp->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (!lp->base)
		return -ENOMEM;
	lp->bots = calloc(lp->count, sizeof(*lp->bots));
	if (!lp->bots)
		return -ENOMEM;
	for (unsigned i = 0; i < lp->count; i++)
		if (bot_init(lp, &lp->bots[i], i) < 0)
			return -ENOMEM;
	lp->active = lp->count;

	double hz = o->mode == MODE_PLAY ? o->input_hz : o->mode == MODE_PING ? o->ping_hz : 0;
	lp->ring_size = 16;
	if (hz > 0) {
		lp->ring_size = pow2_at_least((uint64_t)(hz * (o->timeout_us / 1e6) + 2 * hz) + 16);
		if (wheel_setup(lp, hz) < 0)
			return -ENOMEM;
	}
	lp->ramp_ev = event_new(lp->base, -1, EV_PERSIST, ramp_cb, lp);
	lp->wheel_ev = evtimer_new(lp->base, wheel_cb, lp);
	lp->house_ev = event_new(lp->base, -1, EV_PERSIST, house_cb, lp);
	lp->live_ev = event_new(lp->base, -1, EV_PERSIST, live_cb, lp);
	lp->end_ev = evtimer_new(lp->base, end_cb, lp);
	lp->sig_term = evsignal_new(lp->base, SIGTERM, sig_cb, lp);
	lp->sig_int = evsignal_new(lp->base, SIGINT, sig_cb, lp);
	if (!lp->ramp_ev || !lp->wheel_ev || !lp->house_ev || !lp->live_ev || !lp->end_ev ||
	    !lp->sig_term || !lp->sig_int)
		return -ENOMEM;
	event_add(lp->sig_term, NULL);
	event_add(lp->sig_int, NULL);
	return 0;
}

int load_main(const struct bots_opts *o, unsigned proc, unsigned first, unsigned count, int out_fd,
              uint64_t t0_us)
{
	struct loadproc *lp = calloc(1, sizeof(*lp));
	if (!lp) {
		close(out_fd);
		return -ENOMEM;
	}
	lp->o = o;
	lp->proc = proc;
	lp->first = first;
	lp->count = count;
	lp->t0 = t0_us;
	lp->t_end = t0_us + (uint64_t)llround(o->duration_s * 1e6);
	lp->ramp_start = t0_us;
	lp->ramp_per_us = o->connect_rate / o->procs / 1e6;
	/* splitmix64 of seed and process index: never zero, different per process */
	uint64_t z = o->seed + 0x9e3779b97f4a7c15ULL * (proc + 1);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	lp->rng = (z ^ (z >> 31)) | 1;
	lp->bot_done = on_bot_done;
	lp->out = fdopen(out_fd, "w");
	lp->st = malloc(sizeof(*lp->st));
	lp->live_delta = malloc(sizeof(*lp->live_delta));
	if (!lp->out || !lp->st || !lp->live_delta) {
		if (!lp->out)
			close(out_fd);
		lp_free(lp);
		return -ENOMEM;
	}
	run_stats_reset(lp->st);
	hist_reset(lp->live_delta);
	int r = lp_setup(lp);
	if (r < 0) {
		lp_free(lp);
		return r;
	}

	uint64_t now = bots_now_us();
	arm_in(lp->end_ev, lp->t_end > now ? lp->t_end - now : 0);
	struct timeval ten_ms = {0, 10000}, tenth = {0, 100000}, second = {1, 0};
	event_add(lp->ramp_ev, &ten_ms);
	event_active(lp->ramp_ev, EV_TIMEOUT, 0); /* the first bots go now */
	event_add(lp->house_ev, &tenth);
	event_add(lp->live_ev, &second);
	if (lp->slot_head)
		arm_in(lp->wheel_ev, slot_due(lp) > now ? slot_due(lp) - now : 0);

	event_base_dispatch(lp->base);

	lp->st->c[C_cpu_us] = cpu_us();
	r = lp->finished ? 0 : -EINTR;
	if (r == 0 && results_write_final(lp->out, lp->st) < 0)
		r = -EIO;
	lp_free(lp);
	return r;
}
