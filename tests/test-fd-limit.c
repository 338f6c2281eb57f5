/* test-fd-limit.c: at RLIMIT_NOFILE=64 the daemon refuses politely, does not spin, recovers.
 *
 * arenad runs with 1 worker and a 64-fd limit, then 150 clients connect and say HELLO: more
 * than fit. Each client must end up welcomed, told BYE(server full), or still waiting in the
 * backlog; a connection closed without a word is a silent drop and fails the test. While the
 * excess connections wait, neither the master nor the worker may spin (CPU over 3 s below 20%
 * of one core each). After the clients leave, new connections are served again, and the fd
 * counts return to their baseline (the reserve fd trick and the CTRUNC path leak nothing).
 */
#include <signal.h>
#include <stdlib.h>

#include "harness.h"

#define NCLIENTS 150
#define NOFILE   64

int main(void)
{
	static struct hc *cs[NCLIENTS];
	size_t welcomed = 0, full = 0, other_bye = 0, silent = 0, waiting = 0;
	long base[2], cpu0[2], cpu1[2];
	pid_t w[1], w_after[1];
	struct hd_opts o = {
	    .kv = (const char *const[]){"workers=1", NULL},
	    .nofile = NOFILE,
	};
	struct hd *d;

	h_init("fd-limit", "a 64-fd limit: excess clients wait or get BYE(server full); no spin");
	d = hd_start_opts(&o);
	REQUIRE(hd_workers(d, w, 1) == 1, "arenad runs 1 worker");
	hd_fd_baseline(d, base, 2);
	h_diag("baseline fds: master %ld, worker %ld", base[0], base[1]);

	hc_connect_many(d, NULL, NCLIENTS, 50, 5000, cs);
	hc_hello_many(cs, NCLIENTS, "fd", 5000);
	hc_wait_close_many(cs, NCLIENTS, 500); /* collect late BYEs; the welcomed stay open */
	for (size_t i = 0; i < NCLIENTS; i++) {
		struct hc *c = cs[i];

		if (!c)
			waiting++; /* connect still pending: in the backlog */
		else if (c->welcomed)
			welcomed++;
		else if (c->got_bye && c->bye_reason == ARENA_BYE_SERVER_FULL)
			full++;
		else if (c->got_bye)
			other_bye++;
		else if (c->closed)
			silent++;
		else
			waiting++;
	}
	h_diag("%zu welcomed, %zu BYE(server full), %zu waiting, %zu other BYE, %zu closed "
	       "silently",
	       welcomed, full, waiting, other_bye, silent);
	CHECK(welcomed > 0 && welcomed < NCLIENTS, "the fd limit bites: %zu of %d welcomed",
	      welcomed, NCLIENTS);
	CHECK(silent == 0, "no connection was dropped without a BYE (%zu were)", silent);
	CHECK(other_bye == 0, "excess clients are told BYE(server full), not another reason (%zu)",
	      other_bye);

	cpu0[0] = hproc_cpu_ms(d->pid);
	cpu0[1] = hproc_cpu_ms(w[0]);
	h_sleep_ms(3000);
	cpu1[0] = hproc_cpu_ms(d->pid);
	cpu1[1] = hproc_cpu_ms(w[0]);
	CHECK(cpu1[0] - cpu0[0] <= 600, "the master does not spin at the limit (%ld ms CPU in 3 s)",
	      cpu1[0] - cpu0[0]);
	CHECK(cpu1[1] - cpu0[1] <= 600, "the worker does not spin at the limit (%ld ms CPU in 3 s)",
	      cpu1[1] - cpu0[1]);

	hc_close_all(cs, NCLIENTS);
	bool served = false;
	for (uint64_t end = h_now_ms() + 5000; !served && h_now_ms() < end;) {
		struct hc *nc[10];
		size_t got = hc_connect_many(d, NULL, 10, 0, 2000, nc);

		served = got == 10 && hc_hello_many(nc, 10, "again", 2000) == 10;
		hc_close_all(nc, 10);
		if (!served)
			h_sleep_ms(200);
	}
	CHECK(served, "after the clients left, 10 new clients are welcomed");
	CHECK(hd_workers(d, w_after, 1) == 1 && w_after[0] == w[0],
	      "the worker survived the limit (no crash, no respawn)");
	CHECK(hd_wait_fd_baseline(d, base, 2, 5000) == 0,
	      "the fd counts of master and worker are back to their baseline");
	return h_done();
}
