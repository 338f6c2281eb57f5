/* test-reset-storm.c: connect-and-reset storms and half-closed sockets leave no trace.
 *
 * 2,000 connections from 127.0.0.5 are reset (SO_LINGER 0 close) right after connecting, in
 * batches of 100, so the daemon meets sockets that are dead before or just after accept. Then 40
 * clients from 127.0.0.6 say HELLO and shut down their sending side: the server may close them
 * but must not spin on the EOF (each process under 20% of a core over 2 s). Afterwards the fd
 * counts are back to baseline, the same workers run, and the per-address accounting is intact:
 * max_clients_per_ip=50 and 50 new clients from 127.0.0.5 are all welcomed. 4 honest clients
 * pinging every 50 ms must get every PONG within 500 ms throughout.
 */
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

#define STORM    2000
#define BATCH    100
#define NHALF    40
#define CAP      50
#define NWORKERS 4

int main(void)
{
	static struct hc *cs[BATCH], *half[NHALF], *fresh[CAP];
	pid_t w[NWORKERS];
	long base[NWORKERS + 1], cpu0[NWORKERS + 1], cpu1[NWORKERS + 1];
	size_t connected = 0, n;
	struct hp *hp;
	struct hd *d;

	h_init("reset-storm", "2,000 reset connections and 40 half-closed ones: no spin, no leak");
	d = hd_start((const char *const[]){"workers=4", "max_clients_per_ip=50", NULL});
	REQUIRE(hd_workers(d, w, NWORKERS) == NWORKERS, "arenad runs 4 workers");
	hp = hp_start(d, 4, 50, NULL, "honest");
	hd_fd_baseline(d, base, NWORKERS + 1);

	for (size_t done = 0; done < STORM; done += BATCH) {
		connected += hc_connect_many(d, "127.0.0.5", BATCH, BATCH, 5000, cs);
		for (size_t i = 0; i < BATCH; i++) {
			hc_abort(cs[i]);
			cs[i] = NULL;
		}
	}
	CHECK(connected == STORM, "%zu of %d storm connections were made and reset", connected,
	      STORM);

	n = hc_connect_many(d, "127.0.0.6", NHALF, 0, 5000, half);
	REQUIRE(n == NHALF && hc_hello_many(half, NHALF, "half", 5000) == NHALF,
	        "%d clients from 127.0.0.6 welcomed", NHALF);
	for (size_t i = 0; i < NHALF; i++)
		shutdown(half[i]->fd, SHUT_WR);
	h_sleep_ms(200);
	cpu0[0] = hproc_cpu_ms(d->pid);
	for (size_t i = 0; i < NWORKERS; i++)
		cpu0[i + 1] = hproc_cpu_ms(w[i]);
	h_sleep_ms(2000);
	cpu1[0] = hproc_cpu_ms(d->pid);
	for (size_t i = 0; i < NWORKERS; i++)
		cpu1[i + 1] = hproc_cpu_ms(w[i]);
	long worst = 0;
	for (size_t i = 0; i <= NWORKERS; i++)
		if (cpu1[i] - cpu0[i] > worst)
			worst = cpu1[i] - cpu0[i];
	CHECK(worst <= 400, "no process spins on half-closed sockets (worst %ld ms CPU in 2 s)",
	      worst);
	n = hc_wait_close_many(half, NHALF, 100);
	h_diag("%zu of %d half-closed clients were closed by the server", n, NHALF);
	hc_close_all(half, NHALF);

	CHECK(hd_workers_unchanged(d, w, NWORKERS), "no worker crashed or was replaced");
	CHECK(hd_wait_fd_baseline(d, base, NWORKERS + 1, 5000) == 0,
	      "the fd counts are back to their baseline");

	/* The per-address counts were all released: the full quota is available again. */
	n = hc_connect_many(d, "127.0.0.5", CAP, 0, 5000, fresh);
	size_t welcomed = hc_hello_many(fresh, CAP, "after", 5000);
	CHECK(n == CAP && welcomed == CAP,
	      "%zu of %d new clients from 127.0.0.5 welcomed (per-address counts released)",
	      welcomed, CAP);
	hc_close_all(fresh, CAP);

	hp_stop(hp);
	hp_check(hp, 500, "during the storms");
	hp_free(hp);
	return h_done();
}
