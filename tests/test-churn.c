/* test-churn.c: 10,000 connect/HELLO/disconnect cycles leak no fd, no memory, no process.
 *
 * Clients come and go in batches of 200 (connect, HELLO, WELCOME, close). After a warm-up of
 * 2,000 cycles (allocator pools, shared-memory pages and libevent internals reach their working
 * size) the fd count of every process and the total RSS are taken as the baseline; after the
 * other 8,000 cycles every fd count must be back to its baseline, total RSS may have grown by
 * at most 1 MiB + 5%, there must be no zombie, and the same workers must still run (no crash).
 * resume_grace=0 so a departed player's record is recycled at once instead of being held for a
 * resume that will never come. Under AddressSanitizer the daemon runs without its quarantine
 * (which holds freed memory back on purpose, up to 256 MiB): growth is then what a plain build
 * would show, and LeakSanitizer still checks every process for real leaks at exit.
 */
#include <string.h>

#include "harness.h"

#define TOTAL    10000
#define WARMUP   2000
#define BATCH    200
#define NWORKERS 4

static struct hc *cs[BATCH];

/* Run count cycles in batches; returns how many clients were not welcomed. */
static size_t cycles(struct hd *d, size_t count)
{
	size_t failed = 0;

	for (size_t done = 0; done < count;) {
		size_t m = count - done < BATCH ? count - done : BATCH;
		size_t got = hc_connect_many(d, NULL, m, 0, 5000, cs);
		size_t welcomed = hc_hello_many(cs, m, "churn", 5000);

		failed += m - (got < welcomed ? got : welcomed);
		hc_close_all(cs, m);
		done += m;
	}
	return failed;
}

static long rss_anon_kb(struct hd *d)
{
	pid_t w[NWORKERS];
	long total = hproc_rss_anon_kb(d->pid);
	int n = hd_workers(d, w, NWORKERS);

	for (int i = 0; i < n && i < NWORKERS; i++)
		total += hproc_rss_anon_kb(w[i]);
	return total;
}

int main(void)
{
	pid_t w[NWORKERS];
	long base[NWORKERS + 1], rss0, rss1, anon0, anon1, bound;
	uint64_t t0 = h_now_ms();
	size_t failed;
	struct hd *d;

	h_init("churn", "10,000 connect/HELLO/disconnect cycles: fds, RSS and processes stay put");
	struct hd_opts o = {
	    .kv = (const char *const[]){"workers=4", "resume_grace=0s", NULL},
	    .extra_env = h_asan_env_for_rss(),
	};
	d = hd_start_opts(&o);
	REQUIRE(hd_workers(d, w, NWORKERS) == NWORKERS, "arenad runs 4 workers");

	failed = cycles(d, WARMUP);
	hd_fd_baseline(d, base, NWORKERS + 1);
	rss0 = hd_rss_kb(d);
	anon0 = rss_anon_kb(d);
	h_diag("after %d warm-up cycles: fds master %ld, workers %ld %ld %ld %ld; RSS %ld kB "
	       "(anonymous %ld kB)",
	       WARMUP, base[0], base[1], base[2], base[3], base[4], rss0, anon0);

	failed += cycles(d, TOTAL - WARMUP);
	CHECK(failed == 0, "all %d cycles got WELCOME (%zu did not) in %llu ms", TOTAL, failed,
	      (unsigned long long)(h_now_ms() - t0));
	CHECK(hd_workers_unchanged(d, w, NWORKERS),
	      "the same 4 workers still run (no crash, no respawn)");
	CHECK(hd_wait_fd_baseline(d, base, NWORKERS + 1, 5000) == 0,
	      "every process's fd count is back to its baseline");
	rss1 = hd_rss_kb(d);
	anon1 = rss_anon_kb(d);
	bound = 1024 + rss0 * 5 / 100;
	CHECK(rss1 - rss0 <= bound, "total RSS grew by %ld kB (%ld -> %ld kB, bound %ld kB)",
	      rss1 - rss0, rss0, rss1, bound);
	h_diag("anonymous RSS %ld -> %ld kB", anon0, anon1);
	CHECK(hd_zombies(d) == 0, "no zombie children of the master");
	return h_done();
}
