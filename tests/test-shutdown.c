/* test-shutdown.c: SIGTERM with 500 clients: BYE(shutdown) to each, exit 0, nothing left behind.
 *
 * Graceful shutdown: the master closes its listeners and tells every worker to drain; each
 * worker sends BYE(shutdown) to every session, flushes, closes and exits; the master waits at
 * most drain_timeout (3 s here) and exits 0. Every client must read BYE(shutdown) before its
 * EOF, the master must exit 0 within the drain deadline plus a 2 s margin, no process of the
 * daemon may remain, and the port must refuse new connections.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"

#define NCLIENTS  500
#define DRAIN_MS  3000
#define MARGIN_MS 2000

int main(void)
{
	static struct hc *cs[NCLIENTS];
	size_t n, closed, byes = 0, wrong = 0;
	uint64_t t_term, t_exit;
	struct hd *d;
	int left = -1;

	h_init("shutdown", "SIGTERM drains 500 clients with BYE(shutdown) and exits 0");
	d = hd_start((const char *const[]){"workers=4", "drain_timeout=3s", NULL});

	n = hc_connect_many(d, NULL, NCLIENTS, 100, 5000, cs);
	REQUIRE(n == NCLIENTS, "%zu of %d clients connected", n, NCLIENTS);
	n = hc_hello_many(cs, NCLIENTS, "drain", 10000);
	REQUIRE(n == NCLIENTS, "%zu of %d clients welcomed", n, NCLIENTS);

	t_term = h_now_ms();
	REQUIRE(hd_kill(d, SIGTERM) == 0, "SIGTERM sent to the master");
	closed = hc_wait_close_many(cs, NCLIENTS, DRAIN_MS + MARGIN_MS);
	for (size_t i = 0; i < NCLIENTS; i++) {
		byes += cs[i]->got_bye && cs[i]->bye_reason == ARENA_BYE_SHUTDOWN;
		wrong += cs[i]->got_bye && cs[i]->bye_reason != ARENA_BYE_SHUTDOWN;
	}
	CHECK(closed == NCLIENTS, "all %d clients were closed by the server (%zu)", NCLIENTS,
	      closed);
	CHECK(byes == NCLIENTS && wrong == 0,
	      "every client read BYE(shutdown) before EOF (%zu did, %zu other BYE reasons)", byes,
	      wrong);

	int r = hd_wait_exit(d, (unsigned)h_remaining(t_term + DRAIN_MS + MARGIN_MS));
	t_exit = h_now_ms();
	CHECK(r == 0, "the master exited %llu ms after SIGTERM (bound %d ms)",
	      (unsigned long long)(t_exit - t_term), DRAIN_MS + MARGIN_MS);
	if (r == 0)
		CHECK(WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
		      "the master exited with status 0 (wait status 0x%x)", d->status);
	for (int i = 0; i < 100 && (left = hd_processes(d, NULL, 0)) != 0; i++)
		h_sleep_ms(10);
	CHECK(left == 0, "no process of the daemon is left (%d)", left);

	struct hc *c = hc_connect(d, NULL);
	CHECK(!c && errno == ECONNREFUSED, "the port refuses connections after the shutdown");
	hc_close(c);
	hc_close_all(cs, NCLIENTS);
	return h_done();
}
