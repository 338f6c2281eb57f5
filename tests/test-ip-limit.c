/* test-ip-limit.c: max_clients_per_ip=5: the 6th connection from one address gets BYE(ip limit).
 *
 * Five clients from 127.0.0.2 are welcomed; a sixth from the same address is told BYE(ip limit)
 * right after accept (before any HELLO) and closed; 127.0.0.3 is not affected. When one of the
 * five leaves, its place is freed (the worker reports the close to the master): a new client from
 * 127.0.0.2 is welcomed within 3 s. A worker's death frees its places too: five clients from
 * 127.0.0.4, their workers SIGKILLed, then five new ones from 127.0.0.4 are welcomed once the
 * workers are replaced.
 */
#include <signal.h>

#include "harness.h"

#define CAP 5

int main(void)
{
	struct hc *five[CAP], *sixth, *other, *again, *late[CAP];
	struct arena_msg m;
	pid_t w[4], owner[CAP];
	struct hd *d;
	size_t n;
	int r;

	h_init("ip-limit", "max_clients_per_ip=5 is enforced per address and released on close");
	d = hd_start(
	    (const char *const[]){"workers=4", "max_clients_per_ip=5", "crash_limit=50", NULL});

	n = hc_connect_many(d, "127.0.0.2", CAP, 0, 5000, five);
	REQUIRE(n == CAP && hc_hello_many(five, CAP, "two", 5000) == CAP,
	        "5 clients from 127.0.0.2 welcomed");

	sixth = hc_connect(d, "127.0.0.2");
	REQUIRE(sixth, "a 6th connection from 127.0.0.2 is accepted by the kernel");
	r = hc_recv(sixth, &m, 2000);
	CHECK(r == 0 && m.type == ARENA_BYE && m.u.bye.reason == ARENA_BYE_IP_LIMIT,
	      "the 6th gets BYE(ip limit) without saying anything (got %s %s)",
	      r == 0 ? arena_msg_type_name(m.type) : "nothing",
	      r == 0 && m.type == ARENA_BYE ? arena_bye_name(m.u.bye.reason) : "");
	CHECK(hc_wait_close(sixth, 2000) == 0, "and is closed");
	hc_close(sixth);

	other = hc_connect(d, "127.0.0.3");
	CHECK(other && hc_hello(other, "three", 2000) == 0, "a client from 127.0.0.3 is welcomed");
	hc_close(other);

	hc_close(five[0]);
	five[0] = NULL;
	again = hc_welcome_retry(d, "127.0.0.2", "retry", 3000);
	CHECK(again != NULL, "after one of the five left, a new client from 127.0.0.2 is welcomed");
	hc_close(again);
	hc_close_all(five, CAP);

	/* A dead worker's connections no longer count. */
	n = hc_connect_many(d, "127.0.0.4", CAP, 0, 5000, late);
	REQUIRE(n == CAP && hc_hello_many(late, CAP, "four", 5000) == CAP,
	        "5 clients from 127.0.0.4 welcomed");
	REQUIRE(hd_workers(d, w, 4) == 4, "arenad runs 4 workers");
	REQUIRE(hproc_map_clients(d->port, late, CAP, w, 4, owner) == CAP,
	        "the workers of the 5 clients are known");
	for (size_t i = 0; i < CAP; i++)
		kill(owner[i], SIGKILL); /* twice for a shared worker is harmless */
	CHECK(hc_wait_close_many(late, CAP, 2000) == CAP, "their workers died, they were closed");
	hc_close_all(late, CAP);
	CHECK(hd_wait_workers(d, 4, w, 4, 3000) == 4, "the killed workers were replaced");
	size_t ok = 0;
	for (size_t i = 0; i < CAP; i++) {
		late[i] = hc_welcome_retry(d, "127.0.0.4", "retry", 3000);
		ok += late[i] != NULL;
	}
	CHECK(ok == CAP, "5 new clients from 127.0.0.4 are welcomed (%zu)", ok);
	hc_close_all(late, CAP);
	return h_done();
}
