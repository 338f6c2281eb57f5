/* test-worker-kill.c: kill -9 a worker under load: only its clients are lost, it is replaced.
 *
 * 200 honest clients PING every 100 ms. One worker is SIGKILLed. Its clients must see their
 * connection closed (EOF or RST), every other client must keep getting PONGs with no round trip
 * above 1 s around the kill, the master must fork a replacement (4 live workers again, one new
 * pid, the dead one gone), and new connections must be served, by the new worker among others.
 */
#include <signal.h>
#include <stdlib.h>

#include "harness.h"

#define NCLIENTS 200
#define NWORKERS 4

int main(void)
{
	static struct hc *cs[NCLIENTS];
	static pid_t owner[NCLIENTS];
	static uint64_t base_pongs[NCLIENTS];
	pid_t before[NWORKERS], after[NWORKERS], fresh = 0, victim = 0;
	size_t victim_clients = 0, lost = 0, late_close = 0, kept = 0, stalled = 0, dropped = 0;
	uint64_t worst = 0, t_kill, t_replaced = 0;
	struct hp *hp;
	struct hd *d;
	int r;

	h_init("worker-kill", "kill -9 a worker with 200 clients exchanging PING/PONG");
	d = hd_start((const char *const[]){"workers=4", NULL});
	REQUIRE(hd_workers(d, before, NWORKERS) == NWORKERS, "arenad runs 4 workers");

	hp = hp_start(d, NCLIENTS, 100, NULL, "pinger");
	for (size_t i = 0; i < NCLIENTS; i++)
		cs[i] = hp_client(hp, i);
	r = hproc_map_clients(d->port, cs, NCLIENTS, before, NWORKERS, owner);
	REQUIRE(r == NCLIENTS, "every client is found on a worker (%d of %d)", r, NCLIENTS);
	for (size_t k = 0; k < NWORKERS; k++) {
		size_t cnt = 0;

		for (size_t i = 0; i < NCLIENTS; i++)
			cnt += owner[i] == before[k];
		if (cnt > victim_clients) {
			victim_clients = cnt;
			victim = before[k];
		}
	}
	h_sleep_ms(500);
	hp_reset_latency(hp);
	for (size_t i = 0; i < NCLIENTS; i++)
		base_pongs[i] = hp_get(hp, i).pongs;

	h_diag("killing worker %d, which serves %zu clients", (int)victim, victim_clients);
	t_kill = h_now_ms();
	REQUIRE(kill(victim, SIGKILL) == 0, "SIGKILL worker %d", (int)victim);

	while (h_now_ms() < t_kill + 2500) {
		if (!t_replaced && (fresh = hd_replacement(d, before, NWORKERS, victim)))
			t_replaced = h_now_ms();
		h_sleep_ms(10);
	}
	hp_stop(hp);

	for (size_t i = 0; i < NCLIENTS; i++) {
		struct hp_stat st = hp_get(hp, i);

		if (owner[i] == victim) {
			lost += st.closed;
			late_close += st.closed && st.closed_ms > t_kill + 1000;
			continue;
		}
		kept += !st.closed;
		dropped += st.closed;
		stalled += st.pongs < base_pongs[i] + 10;
		if (st.max_latency_ms > worst)
			worst = st.max_latency_ms;
	}
	CHECK(lost == victim_clients && late_close == 0,
	      "all %zu clients of the killed worker were disconnected within 1 s (%zu were, %zu "
	      "late)",
	      victim_clients, lost, late_close);
	CHECK(dropped == 0, "no client of the other workers was disconnected (%zu were)", dropped);
	CHECK(stalled == 0 && worst <= 1000,
	      "the other %zu clients kept exchanging PING/PONG (%zu stalled, worst round trip "
	      "%llu ms, bound 1000 ms)",
	      kept, stalled, (unsigned long long)worst);
	CHECK(t_replaced && fresh, "a replacement worker (pid %d) runs %llu ms after the kill",
	      (int)fresh, (unsigned long long)(t_replaced ? t_replaced - t_kill : 0));
	CHECK(hproc_state(victim) != 'Z', "the killed worker was reaped (no zombie)");

	/* New connections are served, and the new worker (the least loaded) takes its share. */
	struct hc *nc[20];
	pid_t nowner[20];
	size_t got = hc_connect_many(d, NULL, 20, 0, 5000, nc);
	size_t welcomed = hc_hello_many(nc, 20, "late", 5000);
	CHECK(got == 20 && welcomed == 20, "20 new clients connected (%zu) and welcomed (%zu)", got,
	      welcomed);
	if (fresh && hd_workers(d, after, NWORKERS) == NWORKERS) {
		size_t on_fresh = 0;

		hproc_map_clients(d->port, nc, 20, after, NWORKERS, nowner);
		for (size_t i = 0; i < 20; i++)
			on_fresh += nowner[i] == fresh;
		CHECK(on_fresh > 0, "the replacement worker serves %zu of the 20 new clients",
		      on_fresh);
	}
	hc_close_all(nc, 20);
	hp_free(hp);
	return h_done();
}
