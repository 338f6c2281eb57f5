/* test-reload.c: SIGHUP: a broken config changes nothing; 4 -> 2 -> 3 workers without drops.
 *
 * 1. The config is rewritten with workers=2 and a misspelt key, then SIGHUP: the reload must
 *    fail whole (logged "Reload failed", naming the key), the daemon keeps serving with the
 *    same 4 workers, and the notify socket still goes RELOADING=1 then READY=1.
 * 2. A valid workers=2: the two surplus workers drain without dropping anyone: their clients
 *    keep getting PONGs while new connections go only to the 2 remaining workers; once those
 *    clients leave, the worker count converges to 2.
 * 3. workers=3: a third worker is forked and serves new clients; nobody is dropped meanwhile.
 */
#include <stdlib.h>

#include "harness.h"

#define NOLD 40
#define NNEW 20

/* Connect and welcome NNEW clients, then find their workers among pids[0..npids). Returns how
 * many were welcomed; the owners go to ret_owner. The clients stay open in cs. */
static size_t newcomers(struct hd *d, struct hc **cs, const pid_t *pids, size_t npids,
                        pid_t *ret_owner)
{
	size_t got = hc_connect_many(d, NULL, NNEW, 0, 5000, cs);
	size_t welcomed = hc_hello_many(cs, NNEW, "new", 5000);

	hproc_map_clients(d->port, cs, NNEW, pids, npids, ret_owner);
	return got == NNEW ? welcomed : 0;
}

int main(void)
{
	pid_t w4[4], now[8], w2[2], w3[3], owner[NNEW];
	struct hc *nc[NNEW];
	struct hp *hp;
	struct hd *d;
	int r, n;

	h_init("reload", "SIGHUP with a broken config, then workers 4 -> 2 -> 3 without drops");
	d = hd_start((const char *const[]){"workers=4", NULL});
	REQUIRE(hd_workers(d, w4, 4) == 4, "arenad runs 4 workers");
	hp = hp_start(d, NOLD, 100, NULL, "old");

	/* 1. A broken config: nothing changes. */
	r = hd_write_config(d, (const char *const[]){"workers=2", NULL}, "[game]\ntick_rat = 20");
	REQUIRE(r == 0, "config rewritten with a misspelt key");
	r = hd_reload(d, 5000);
	CHECK(r == 0, "SIGHUP: RELOADING=1 then READY=1 on the notify socket");
	h_sleep_ms(1000);
	CHECK(hd_log_contains(d, "Reload failed") && hd_log_contains(d, "tick_rat"),
	      "the failed reload is logged, naming the bad key");
	n = hd_workers(d, now, 8);
	CHECK(n == 4 && now[0] == w4[0] && now[1] == w4[1] && now[2] == w4[2] && now[3] == w4[3],
	      "the same 4 workers still run (%d)", n);
	struct hc *c = hc_connect(d, NULL);
	CHECK(c && hc_hello(c, "probe", 2000) == 0,
	      "a new client is welcomed after the failed reload");
	hc_close(c);
	hp_check(hp, 1000, "after the failed reload");

	/* 2. 4 -> 2: the surplus workers drain; nobody is dropped. */
	hp_reset_latency(hp);
	r = hd_write_config(d, (const char *const[]){"workers=2", NULL}, NULL);
	REQUIRE(r == 0, "config rewritten with workers=2");
	CHECK(hd_reload(d, 5000) == 0, "SIGHUP: RELOADING=1 then READY=1 on the notify socket");
	h_sleep_ms(1000);
	n = hd_workers(d, now, 8);
	CHECK(n == 4, "the draining workers still serve their clients (%d workers live)", n);
	size_t welcomed = newcomers(d, nc, w4, 4, owner);
	CHECK(welcomed == NNEW, "%zu of %d new clients welcomed while draining", welcomed, NNEW);
	pid_t used[NNEW];
	size_t nused = 0;
	for (size_t i = 0; i < NNEW; i++)
		if (owner[i] && !h_pid_in(owner[i], used, nused))
			used[nused++] = owner[i];
	CHECK(nused <= 2, "new clients go to the 2 remaining workers only (%zu workers used)",
	      nused);
	h_sleep_ms(500);
	hp_check(hp, 1000, "clients of draining workers keep their PONGs");

	hp_free(hp); /* the old clients leave: the draining workers have nobody left */
	hp = NULL;
	r = hd_wait_workers(d, 2, w2, 2, 5000);
	CHECK(r == 2, "the worker count converges to 2 once the drained clients left");
	if (r == 2) {
		CHECK(h_pid_in(w2[0], w4, 4) && h_pid_in(w2[1], w4, 4),
		      "the 2 remaining workers are original ones (%d, %d)", (int)w2[0], (int)w2[1]);
		bool all = true;
		for (size_t i = 0; i < nused; i++)
			all = all && h_pid_in(used[i], w2, 2);
		CHECK(all, "the new clients were given to the workers that remain");
	}
	size_t still = 0;
	for (size_t i = 0; i < NNEW; i++)
		still += nc[i] && hc_ping(nc[i], 2000) >= 0;
	CHECK(still == NNEW, "the new clients are still served (%zu of %d answer a PING)", still,
	      NNEW);
	hc_close_all(nc, NNEW);

	/* 3. 2 -> 3: a new worker, nobody dropped. */
	hp = hp_start(d, NOLD, 100, NULL, "mid");
	r = hd_write_config(d, (const char *const[]){"workers=3", NULL}, NULL);
	REQUIRE(r == 0, "config rewritten with workers=3");
	CHECK(hd_reload(d, 5000) == 0, "SIGHUP: RELOADING=1 then READY=1 on the notify socket");
	r = hd_wait_workers(d, 3, w3, 3, 3000);
	CHECK(r == 3, "3 workers run after the reload");
	pid_t fresh = 0;
	for (int i = 0; r == 3 && i < 3; i++)
		if (!h_pid_in(w3[i], w2, 2))
			fresh = w3[i];
	CHECK(fresh != 0, "one of them is new (pid %d)", (int)fresh);
	/* The new process is READY a moment after it exists: new clients come in small rounds
	 * until one lands on it (the least loaded worker), 3 s at most. */
	size_t on_fresh = 0, rounds = 0;
	welcomed = 0;
	for (uint64_t end = h_now_ms() + 3000; fresh && !on_fresh && h_now_ms() < end; rounds++) {
		welcomed = newcomers(d, nc, w3, 3, owner);
		for (size_t i = 0; i < NNEW; i++)
			on_fresh += owner[i] == fresh;
		hc_close_all(nc, NNEW);
		if (welcomed != NNEW)
			break;
	}
	CHECK(welcomed == NNEW && on_fresh > 0,
	      "new clients are welcomed (%zu of %d in the last round), %zu of them by the new "
	      "worker (%zu rounds)",
	      welcomed, NNEW, on_fresh, rounds);
	h_sleep_ms(300);
	hp_check(hp, 1000, "while growing to 3 workers");
	hp_free(hp);
	return h_done();
}
