/* test-spread.c: 1000 concurrent welcomed clients are spread evenly over 4 workers.
 *
 * The master hands each accepted connection to the READY worker with the fewest connections,
 * counting the ones it has sent but the worker has not reported yet, so even a burst of
 * accepts spreads evenly. 1000 clients connect in batches, all say HELLO, and /proc tells which
 * worker holds each server-side socket: each of the 4 workers must serve 250 +- 10%.
 */
#include <stdlib.h>

#include "harness.h"

#define NCLIENTS 1000
#define NWORKERS 4

int main(void)
{
	static struct hc *cs[NCLIENTS];
	static pid_t owner[NCLIENTS];
	pid_t w[NWORKERS];
	unsigned count[NWORKERS] = {0};
	size_t n, unmapped = 0;
	struct hd *d;
	int r;

	h_init("spread", "1000 concurrent clients spread within 10% over 4 workers");
	d = hd_start((const char *const[]){"workers=4", NULL});
	REQUIRE(hd_workers(d, w, NWORKERS) == NWORKERS, "arenad runs 4 workers");

	n = hc_connect_many(d, NULL, NCLIENTS, 100, 5000, cs);
	REQUIRE(n == NCLIENTS, "%zu of %d clients connected", n, NCLIENTS);
	n = hc_hello_many(cs, NCLIENTS, "spread", 20000);
	REQUIRE(n == NCLIENTS, "%zu of %d clients welcomed", n, NCLIENTS);

	r = hproc_map_clients(d->port, cs, NCLIENTS, w, NWORKERS, owner);
	CHECK(r == NCLIENTS, "every client is served by one of the 4 workers (%d mapped)", r);
	for (size_t i = 0; i < NCLIENTS; i++) {
		size_t k;

		for (k = 0; k < NWORKERS && w[k] != owner[i]; k++)
			;
		if (k < NWORKERS)
			count[k]++;
		else
			unmapped++;
	}
	for (size_t k = 0; k < NWORKERS; k++) {
		unsigned even = NCLIENTS / NWORKERS;

		CHECK(count[k] >= even - even / 10 && count[k] <= even + even / 10,
		      "worker %d serves %u clients (want %u..%u)", (int)w[k], count[k],
		      even - even / 10, even + even / 10);
	}
	if (unmapped)
		h_diag("%zu clients not found on any worker", unmapped);

	hc_close_all(cs, NCLIENTS);
	return h_done();
}
