/* test-worker-wedged.c: a stopped worker is detected by its stale heartbeat, killed, replaced.
 *
 * With heartbeat_timeout=1s, a worker frozen by SIGSTOP stops storing its heartbeat; the master
 * (checking every 250 ms) must SIGKILL it and fork a replacement, all within 3 s of the stop
 * (timeout + check period + margin). Clients of the other workers must not notice; clients of
 * the frozen one are disconnected when it dies; new clients are served afterwards.
 */
#include <errno.h>
#include <signal.h>

#include "harness.h"

#define NCLIENTS 40
#define NWORKERS 4

int main(void)
{
	static struct hc *cs[NCLIENTS];
	static pid_t owner[NCLIENTS];
	pid_t before[NWORKERS], fresh = 0, victim;
	uint64_t t_stop, t_dead = 0, t_replaced = 0, worst = 0;
	size_t on_victim = 0, victim_closed = 0, others_closed = 0;
	struct hp *hp;
	struct hd *d;

	h_init("worker-wedged", "a SIGSTOPped worker is killed and replaced within 3 s");
	d = hd_start((const char *const[]){"workers=4", "heartbeat_timeout=1s", NULL});
	REQUIRE(hd_workers(d, before, NWORKERS) == NWORKERS, "arenad runs 4 workers");

	hp = hp_start(d, NCLIENTS, 100, NULL, "pinger");
	for (size_t i = 0; i < NCLIENTS; i++)
		cs[i] = hp_client(hp, i);
	REQUIRE(hproc_map_clients(d->port, cs, NCLIENTS, before, NWORKERS, owner) == NCLIENTS,
	        "every client is found on a worker");
	victim = before[1];
	for (size_t i = 0; i < NCLIENTS; i++)
		on_victim += owner[i] == victim;
	h_sleep_ms(300);
	hp_reset_latency(hp);

	h_diag("stopping worker %d (%zu clients)", (int)victim, on_victim);
	t_stop = h_now_ms();
	REQUIRE(kill(victim, SIGSTOP) == 0, "SIGSTOP worker %d", (int)victim);
	while (h_now_ms() < t_stop + 5000 && !t_replaced) {
		if (!t_dead && !hproc_alive(victim))
			t_dead = h_now_ms();
		if (t_dead && (fresh = hd_replacement(d, before, NWORKERS, victim)))
			t_replaced = h_now_ms();
		h_sleep_ms(10);
	}
	CHECK(t_dead && t_dead - t_stop <= 3000,
	      "the stopped worker was killed %llu ms after SIGSTOP",
	      (unsigned long long)(t_dead ? t_dead - t_stop : 0));
	CHECK(t_replaced && fresh && t_replaced - t_stop <= 3000,
	      "a replacement worker (pid %d) runs %llu ms after SIGSTOP (bound 3000 ms)",
	      (int)fresh, (unsigned long long)(t_replaced ? t_replaced - t_stop : 0));
	/* SIGCONT is moot now: the process is gone (or at most a zombie about to be reaped). */
	if (kill(victim, SIGCONT) == 0 && hproc_alive(victim))
		CHECK(false, "the stopped worker is dead, SIGCONT finds nothing to resume");

	h_sleep_ms(500);
	hp_stop(hp);
	for (size_t i = 0; i < NCLIENTS; i++) {
		struct hp_stat st = hp_get(hp, i);

		if (owner[i] == victim) {
			victim_closed += st.closed;
		} else {
			others_closed += st.closed;
			if (st.max_latency_ms > worst)
				worst = st.max_latency_ms;
		}
	}
	CHECK(victim_closed == on_victim,
	      "the %zu clients of the wedged worker were disconnected once it was killed (%zu)",
	      on_victim, victim_closed);
	CHECK(others_closed == 0 && worst <= 500,
	      "clients of the other workers were unaffected (closed %zu, worst PONG %llu ms, bound "
	      "500 ms)",
	      others_closed, (unsigned long long)worst);

	struct hc *c = hc_connect(d, NULL);
	CHECK(c && hc_hello(c, "after", 2000) == 0, "a new client is welcomed after the recovery");
	hc_close(c);
	CHECK(hd_zombies(d) == 0, "no zombie children of the master");
	CHECK(hproc_alive(d->pid), "the master is still running");
	hp_free(hp);
	return h_done();
}
