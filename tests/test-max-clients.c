/* test-max-clients.c: at max_clients the master still accepts, says BYE(server full), closes.
 *
 * max_clients=20 over 4 workers: 20 clients are welcomed; the 21st, 22nd and 23rd connections
 * are accepted by the kernel and answered BYE(server full) without saying anything, then
 * closed: never a silent drop. When five of the twenty leave, their places are free again (the
 * workers report closes to the master asynchronously, hence the bounded retry) and five new
 * clients are welcomed. The clients still connected keep getting PONGs throughout.
 */
#include "harness.h"

#define CAP 20

int main(void)
{
	struct hc *full[CAP], *extra;
	struct arena_msg m;
	size_t byes = 0, welcomed = 0;
	struct hd *d;

	h_init("max-clients",
	       "max_clients is enforced with BYE(server full) and released on close");
	d = hd_start(
	    (const char *const[]){"workers=4", "max_clients=20", "max_clients_per_ip=20", NULL});

	/* The harness's own start-up probe may still count until its close is reported. */
	for (size_t i = 0; i < CAP; i++) {
		full[i] = hc_welcome_retry(d, NULL, "late", 3000);
		welcomed += full[i] != NULL;
	}
	REQUIRE(welcomed == CAP, "%d clients welcomed (%zu)", CAP, welcomed);

	for (int i = 0; i < 3; i++) {
		extra = hc_connect(d, NULL);
		REQUIRE(extra, "connection %d beyond max_clients is accepted by the kernel",
		        CAP + 1 + i);
		int r = hc_recv(extra, &m, 2000);
		if (r == 0 && m.type == ARENA_BYE && m.u.bye.reason == ARENA_BYE_SERVER_FULL &&
		    hc_wait_close(extra, 2000) == 0)
			byes++;
		else
			h_diag("connection %d got %s %s", CAP + 1 + i,
			       r == 0 ? arena_msg_type_name(m.type) : "nothing",
			       r == 0 && m.type == ARENA_BYE ? arena_bye_name(m.u.bye.reason) : "");
		hc_close(extra);
	}
	CHECK(byes == 3, "each connection beyond max_clients got BYE(server full) and was closed");

	for (size_t i = 5; i < CAP; i++)
		CHECK(hc_ping(full[i], 2000) >= 0, "client %zu still served at the cap", i);

	for (size_t i = 0; i < 5; i++) {
		hc_close(full[i]);
		full[i] = NULL;
	}
	welcomed = 0;
	for (size_t i = 0; i < 5; i++) {
		full[i] = hc_welcome_retry(d, NULL, "late", 3000);
		welcomed += full[i] != NULL;
	}
	CHECK(welcomed == 5, "after five clients left, five new ones are welcomed (%zu)", welcomed);

	extra = hc_connect(d, NULL);
	CHECK(extra && hc_recv(extra, &m, 2000) == 0 && m.type == ARENA_BYE &&
	          m.u.bye.reason == ARENA_BYE_SERVER_FULL,
	      "at the cap again, the next connection gets BYE(server full)");
	hc_close(extra);
	hc_close_all(full, CAP);
	CHECK(hd_stop(d, 5000) == 0, "arenad stops cleanly");
	return h_done();
}
