/* test-move-flood.c: MOVE at 100x input_rate: ERROR(rate limited), then BYE(flood).
 *
 * A player joins a room by matchmaking and sends MOVE at 2,000/s against input_rate=20 (the
 * default). The token bucket drops the excess with ERROR(rate limited), at most once per second;
 * after flood_kick drops in a row the session ends with BYE(flood). flood_kick is 50 here: at
 * 100x the rate one MOVE in 100 is still admitted by the refill, which would reset a longer
 * run. 8 honest clients pinging every 50 ms (some on the flooder's worker) must get every PONG
 * within 500 ms, and no worker may crash.
 */
#include <string.h>

#include "harness.h"

#define RATE     20 /* input_rate */
#define FLOOD    (100 * RATE)
#define SLICE_MS 10
#define LIMIT_MS 10000

int main(void)
{
	struct arena_msg m = {.type = ARENA_JOIN};
	unsigned limited = 0, other_errors = 0;
	uint64_t t0, t_first_limit = 0, t_end;
	uint32_t seq = 0;
	pid_t w[4];
	struct hp *hp;
	struct hd *d;
	struct hc *c;
	int r;

	h_init("move-flood", "MOVE at 100x the allowed rate: ERROR(rate limited), BYE(flood)");
	d = hd_start((const char *const[]){"workers=4", "input_rate=20", "input_burst=40",
	                                   "flood_kick=50", NULL});
	REQUIRE(hd_workers(d, w, 4) == 4, "arenad runs 4 workers");
	hp = hp_start(d, 8, 50, NULL, "neighbour");

	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "flooder", 2000) == 0, "the flooder is welcomed");
	REQUIRE(hc_send(c, &m) == 0, "JOIN with an empty name (matchmaking)");
	r = hc_recv_type(c, ARENA_JOINED, &m, 2000);
	REQUIRE(r == 0, "JOINED a room (%s)", r == 0 ? m.u.joined.room.s : strerror(-r));

	t0 = h_now_ms();
	while (!c->closed && h_now_ms() < t0 + LIMIT_MS) {
		uint64_t slice = h_now_ms();

		for (int i = 0; i < FLOOD * SLICE_MS / 1000; i++) {
			struct arena_msg mv = {.type = ARENA_MOVE};

			mv.u.move.seq = ++seq;
			mv.u.move.dx = (seq & 1) ? 1 : -1;
			if (hc_send(c, &mv) < 0)
				break;
		}
		/* Read whatever came back until the next slice is due. */
		while (h_now_ms() < slice + SLICE_MS) {
			struct arena_msg in;

			r = hc_recv(c, &in, (unsigned)h_remaining(slice + SLICE_MS));
			if (r < 0)
				break;
			if (in.type == ARENA_ERROR && in.u.error.code == ARENA_ERR_RATE_LIMITED) {
				limited++;
				if (!t_first_limit)
					t_first_limit = h_now_ms();
			} else if (in.type == ARENA_ERROR) {
				other_errors++;
			}
		}
		if (r == HC_EOF || r == HC_RESET)
			break;
	}
	/* The close may trail the BYE; give it a moment if the loop ended on the BYE. */
	if (!c->closed)
		hc_wait_close(c, 2000);
	t_end = h_now_ms();

	CHECK(limited > 0 && t_first_limit, "the excess MOVEs got ERROR(rate limited)");
	CHECK(limited <= 1 + (t_end - t0) / 1000,
	      "ERROR(rate limited) came at most once per second (%u in %llu ms)", limited,
	      (unsigned long long)(t_end - t0));
	CHECK(other_errors == 0, "no other ERROR was sent (%u)", other_errors);
	CHECK(c->got_bye && c->bye_reason == ARENA_BYE_FLOOD && c->closed,
	      "the flooder was told BYE(flood) and closed after %llu ms and %u MOVEs (got %s)",
	      (unsigned long long)(t_end - t0), seq,
	      c->got_bye ? arena_bye_name(c->bye_reason) : "no BYE");
	hc_close(c);

	h_sleep_ms((unsigned)h_remaining(t0 + 1000)); /* the neighbours' watch lasts 1 s at least */
	hp_stop(hp);
	hp_check(hp, 500, "neighbours during the MOVE flood");
	CHECK(hd_workers_unchanged(d, w, 4), "no worker crashed or was replaced");
	hp_free(hp);
	return h_done();
}
