/* test-silent-clients.c: 1,000 connections that never speak are cut at handshake_timeout.
 *
 * Connections that never send HELLO hold a socket and a session each; handshake_timeout (1 s
 * here) bounds how long. All 1,000 must receive BYE(idle) and be closed within the timeout plus
 * a 2 s margin of their connect, 4 honest clients pinging every 50 ms must get every PONG within
 * 500 ms meanwhile, and the daemon's fd counts must return to their baseline.
 */

#include "harness.h"

#define NCLIENTS     1000
#define HANDSHAKE_MS 1000
#define MARGIN_MS    2000

int main(void)
{
	static struct hc *cs[NCLIENTS];
	pid_t w[4];
	long base[5];
	size_t n, closed, idle = 0, late = 0;
	uint64_t worst = 0;
	struct hp *hp;
	struct hd *d;

	h_init("silent-clients", "1,000 silent connections are cut with BYE(idle) after 1 s");
	d = hd_start((const char *const[]){"workers=4", "handshake_timeout=1s", NULL});
	REQUIRE(hd_workers(d, w, 4) == 4, "arenad runs 4 workers");
	hp = hp_start(d, 4, 50, NULL, "honest");
	hd_fd_baseline(d, base, 5);

	n = hc_connect_many(d, NULL, NCLIENTS, 200, 5000, cs);
	REQUIRE(n == NCLIENTS, "%zu of %d silent clients connected", n, NCLIENTS);
	closed = hc_wait_close_many(cs, NCLIENTS, HANDSHAKE_MS + MARGIN_MS + 2000);
	for (size_t i = 0; i < NCLIENTS; i++) {
		uint64_t t = cs[i]->closed ? cs[i]->t_closed - cs[i]->t_connect : 0;

		idle += cs[i]->got_bye && cs[i]->bye_reason == ARENA_BYE_IDLE;
		late += !cs[i]->closed || t > HANDSHAKE_MS + MARGIN_MS;
		if (t > worst)
			worst = t;
	}
	CHECK(closed == NCLIENTS, "all %d silent connections were closed by the server (%zu)",
	      NCLIENTS, closed);
	CHECK(idle == NCLIENTS, "each was told BYE(idle) first (%zu were)", idle);
	CHECK(late == 0, "each was cut within %d ms of its connect (%zu late, slowest %llu ms)",
	      HANDSHAKE_MS + MARGIN_MS, late, (unsigned long long)worst);
	hc_close_all(cs, NCLIENTS);

	hp_stop(hp);
	hp_check(hp, 500, "during the silent flood");
	CHECK(hd_workers_unchanged(d, w, 4), "no worker crashed or was replaced");
	CHECK(hd_wait_fd_baseline(d, base, 5, 5000) == 0,
	      "the fd counts are back to their baseline");
	hp_free(hp);
	return h_done();
}
