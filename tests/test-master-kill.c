/* test-master-kill.c: kill -9 the master: every worker is gone within 1 s.
 *
 * Workers carry PR_SET_PDEATHSIG(SIGKILL) and watch their channel for EOF, so a master that
 * dies without a word (SIGKILL, OOM killer) takes its workers with it: no orphan keeps serving
 * stale clients or holding the world. With 20 clients connected, the master is SIGKILLed; all 4
 * worker pids must be dead within 1 s, no process of the daemon may remain, the clients must see
 * their connections closed, and the port must refuse new connections.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"

#define NCLIENTS 20
#define NWORKERS 4

int main(void)
{
	struct hc *cs[NCLIENTS];
	pid_t w[NWORKERS];
	uint64_t t_kill, t_gone = 0;
	size_t n, closed;
	struct hd *d;

	h_init("master-kill", "kill -9 the master: all workers are gone within 1 s");
	d = hd_start((const char *const[]){"workers=4", NULL});
	REQUIRE(hd_workers(d, w, NWORKERS) == NWORKERS, "arenad runs 4 workers");
	n = hc_connect_many(d, NULL, NCLIENTS, 0, 5000, cs);
	REQUIRE(n == NCLIENTS && hc_hello_many(cs, NCLIENTS, "orphan", 5000) == NCLIENTS,
	        "%d clients connected and welcomed", NCLIENTS);

	t_kill = h_now_ms();
	REQUIRE(hd_kill(d, SIGKILL) == 0, "SIGKILL the master (pid %d)", (int)d->pid);
	CHECK(hd_wait_exit(d, 1000) == 0, "the master is dead");
	while (h_now_ms() < t_kill + 3000) {
		size_t alive = 0;

		for (size_t i = 0; i < NWORKERS; i++)
			alive += hproc_alive(w[i]);
		if (alive == 0) {
			t_gone = h_now_ms();
			break;
		}
		h_sleep_ms(5);
	}
	CHECK(t_gone && t_gone - t_kill <= 1000, "all workers are gone %llu ms after the kill",
	      (unsigned long long)(t_gone ? t_gone - t_kill : 0));
	/* Also helpers of the workers' own exit (LeakSanitizer's tracer in sanitized builds). */
	pid_t left[16];
	int nleft;
	while ((nleft = hd_processes(d, left, 16)) != 0 && h_now_ms() < t_kill + 1000)
		h_sleep_ms(5);
	if (!CHECK(nleft == 0, "no process of the daemon is left 1 s after the kill (%d)", nleft))
		for (int i = 0; i < nleft && i < 16; i++)
			h_diag("left: pid %d state %c ppid %d (the test is %d, the master was %d)",
			       (int)left[i], hproc_state(left[i]), (int)hproc_ppid(left[i]),
			       (int)getpid(), (int)d->pid);
	closed = hc_wait_close_many(cs, NCLIENTS, 1000);
	CHECK(closed == NCLIENTS, "the clients' connections were closed (%zu of %d)", closed,
	      NCLIENTS);
	struct hc *c = hc_connect(d, NULL);
	CHECK(!c && errno == ECONNREFUSED, "the port refuses connections");
	hc_close(c);
	hc_close_all(cs, NCLIENTS);
	return h_done();
}
