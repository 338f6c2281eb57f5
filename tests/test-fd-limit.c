/* test-fd-limit.c: at RLIMIT_NOFILE=64 the daemon refuses politely, does not spin, recovers.
 *
 * arenad runs with 1 worker and a 64-fd limit, then 150 clients connect and say HELLO: more
 * than fit. Each client must end up welcomed, told BYE(server full), or still waiting in the
 * backlog; a connection closed without a word is a silent drop and fails the test. While the
 * excess connections wait, neither the master nor the worker may spin (CPU over 3 s below 20%
 * of one core each). After the clients leave, new connections are served again, and the fd
 * counts return to their baseline.
 *
 * The master normally holds an accepted fd only until it is handed over, so the limit bites the
 * worker first. The second case makes accept() itself fail: the running master's soft limit is
 * cut (prlimit(2)) to its lowest free fd number, so every accept gets EMFILE. The reserve-fd trick
 * must refuse clients with BYE(server full) (or leave them in the backlog while accepting pauses),
 * never spin on the ever-readable listener, and recover once the limit is raised again.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "harness.h"

#define NCLIENTS 150
#define NMASTER  20
#define NOFILE   64

struct outcome {
	size_t welcomed, full, other_bye, silent, waiting;
};

/* Sort each client into one outcome: welcomed, told BYE(server full), told another BYE, closed
 * without a word (a silent drop), or neither (still in the backlog, or never connected). */
static struct outcome classify(struct hc *const *cs, size_t n)
{
	struct outcome o = {0};

	for (size_t i = 0; i < n; i++) {
		const struct hc *c = cs[i];

		if (!c)
			o.waiting++;
		else if (c->welcomed)
			o.welcomed++;
		else if (c->got_bye && c->bye_reason == ARENA_BYE_SERVER_FULL)
			o.full++;
		else if (c->got_bye)
			o.other_bye++;
		else if (c->closed)
			o.silent++;
		else
			o.waiting++;
	}
	h_diag("%zu welcomed, %zu BYE(server full), %zu waiting, %zu other BYE, %zu closed "
	       "silently",
	       o.welcomed, o.full, o.waiting, o.other_bye, o.silent);
	return o;
}

/* Within 5 s, 10 new clients connect and are all welcomed in one round. */
static bool served_again(struct hd *d)
{
	for (uint64_t end = h_now_ms() + 5000; h_now_ms() < end; h_sleep_ms(200)) {
		struct hc *nc[10];
		size_t got = hc_connect_many(d, NULL, 10, 0, 2000, nc);
		bool ok = got == 10 && hc_hello_many(nc, 10, "again", 2000) == 10;

		hc_close_all(nc, 10);
		if (ok)
			return true;
	}
	return false;
}

int main(void)
{
	static struct hc *cs[NCLIENTS];
	long base[2], cpu0[2], cpu1[2];
	pid_t w[1];
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
	struct outcome o1 = classify(cs, NCLIENTS);
	CHECK(o1.welcomed > 0 && o1.welcomed < NCLIENTS, "the fd limit bites: %zu of %d welcomed",
	      o1.welcomed, NCLIENTS);
	CHECK(o1.silent == 0, "no connection was dropped without a BYE (%zu were)", o1.silent);
	CHECK(o1.other_bye == 0,
	      "excess clients are told BYE(server full), not another reason (%zu)", o1.other_bye);

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
	CHECK(served_again(d), "after the clients left, 10 new clients are welcomed");

	/* The master itself out of fds: every accept() fails with EMFILE. */
	int lowest = hproc_lowest_free_fd(d->pid);
	struct rlimit tight = {(rlim_t)lowest, NOFILE}, loose = {NOFILE, NOFILE};
	REQUIRE(lowest > 0 && prlimit(d->pid, RLIMIT_NOFILE, &tight, NULL) == 0,
	        "the master's soft fd limit is cut to %d, its lowest free fd number", lowest);
	hc_connect_many(d, NULL, NMASTER, 0, 5000, cs);
	hc_hello_many(cs, NMASTER, "emfile", 2000);
	cpu0[0] = hproc_cpu_ms(d->pid);
	hc_wait_close_many(cs, NMASTER, 3000);
	cpu1[0] = hproc_cpu_ms(d->pid);
	struct outcome o2 = classify(cs, NMASTER);
	CHECK(o2.silent == 0 && o2.other_bye == 0,
	      "at EMFILE in accept, clients get BYE(server full) or wait (%zu refused, %zu "
	      "waiting, %zu welcomed, %zu other BYE, %zu dropped silently)",
	      o2.full, o2.waiting, o2.welcomed, o2.other_bye, o2.silent);
	CHECK(cpu1[0] - cpu0[0] <= 600,
	      "the master does not spin on EMFILE (%ld ms CPU in 3 s with clients pending)",
	      cpu1[0] - cpu0[0]);
	REQUIRE(prlimit(d->pid, RLIMIT_NOFILE, &loose, NULL) == 0,
	        "the master's fd limit is raised back to %d", NOFILE);
	uint64_t deadline = h_now_ms() + 3000;
	for (size_t i = 0; i < NMASTER; i++) {
		struct arena_msg m;

		if (cs[i] && !cs[i]->welcomed && !cs[i]->closed)
			hc_recv_type(cs[i], ARENA_WELCOME, &m, (unsigned)h_remaining(deadline));
	}
	struct outcome o3 = classify(cs, NMASTER);
	CHECK(o3.waiting == 0 && o3.silent == 0,
	      "once fds are available, the waiting clients are served (%zu welcomed, %zu "
	      "refused, %zu still waiting)",
	      o3.welcomed, o3.full, o3.waiting);
	hc_close_all(cs, NMASTER);
	CHECK(served_again(d), "after the limit is raised, 10 new clients are welcomed");
	CHECK(hd_workers_unchanged(d, w, 1),
	      "the worker survived the limit (no crash, no respawn)");
	CHECK(hd_wait_fd_baseline(d, base, 2, 5000) == 0,
	      "the fd counts of master and worker are back to their baseline");
	return h_done();
}
