/* test-request-flood.c: LEADERBOARD_REQ, then JOIN, at 100x request_rate: rate limited, BYE(flood).
 *
 * One worker serves everybody, so the honest clients share the flooders' worker. With
 * request_rate=10 and request_burst=20, a first flooder sends LEADERBOARD_REQ at 1,000/s while
 * reading every reply, then a second one sends JOIN at 1,000/s. Each must get ERROR(rate
 * limited), at most once per second, far fewer answers than requests, and finally BYE(flood):
 * flood_kick is 50, as in move-flood, because at 100x the rate one request in 100 is still
 * admitted by the refill, which resets a longer run. 4 honest clients pinging every 200 ms
 * (within their own request limit) must get every PONG within 500 ms, and the worker must not
 * be replaced.
 */
#include <string.h>

#include "harness.h"

#define RATE     10 /* request_rate */
#define BURST    20 /* request_burst */
#define FLOOD    (100 * RATE)
#define SLICE_MS 10
#define LIMIT_MS 10000

struct outcome {
	unsigned sent, limited, answered, other_errors;
	uint64_t ms;
};

/* Flood c with copies of *req until it is closed or LIMIT_MS pass; count what comes back. */
static struct outcome flood(struct hc *c, const struct arena_msg *req, enum arena_msg_type answer)
{
	struct outcome o = {0};
	uint64_t t0 = h_now_ms();
	int r = 0;

	while (!c->closed && h_now_ms() < t0 + LIMIT_MS) {
		uint64_t slice = h_now_ms();

		for (int i = 0; i < FLOOD * SLICE_MS / 1000; i++) {
			if (hc_send(c, req) < 0)
				break;
			o.sent++;
		}
		while (h_now_ms() < slice + SLICE_MS) {
			struct arena_msg in;

			r = hc_recv(c, &in, (unsigned)h_remaining(slice + SLICE_MS));
			if (r < 0)
				break;
			if (in.type == ARENA_ERROR && in.u.error.code == ARENA_ERR_RATE_LIMITED)
				o.limited++;
			else if (in.type == ARENA_ERROR)
				o.other_errors++;
			else if (in.type == answer)
				o.answered++;
		}
		if (r == HC_EOF || r == HC_RESET)
			break;
	}
	if (!c->closed)
		hc_wait_close(c, 2000);
	o.ms = h_now_ms() - t0;
	return o;
}

static void check(struct hc *c, const struct outcome *o, const char *what)
{
	CHECK(o->limited > 0, "%s: the excess got ERROR(rate limited)", what);
	CHECK(o->limited <= 1 + o->ms / 1000,
	      "%s: ERROR(rate limited) came at most once per second (%u in %llu ms)", what,
	      o->limited, (unsigned long long)o->ms);
	CHECK(o->other_errors == 0, "%s: no other ERROR was sent (%u)", what, o->other_errors);
	/* Admitted: the burst plus the refill, with a generous margin for timing. */
	CHECK(o->answered >= 1 && o->answered <= BURST + 2 * RATE * (1 + o->ms / 1000),
	      "%s: %u of %u requests were answered", what, o->answered, o->sent);
	CHECK(c->got_bye && c->bye_reason == ARENA_BYE_FLOOD && c->closed,
	      "%s: the flooder was told BYE(flood) and closed after %llu ms (got %s)", what,
	      (unsigned long long)o->ms, c->got_bye ? arena_bye_name(c->bye_reason) : "no BYE");
}

int main(void)
{
	struct arena_msg board = {.type = ARENA_LEADERBOARD_REQ};
	struct arena_msg join = {.type = ARENA_JOIN};
	struct outcome o;
	uint64_t t0;
	pid_t w[1];
	struct hp *hp;
	struct hd *d;
	struct hc *c;

	h_init("request-flood", "LEADERBOARD_REQ and JOIN at 100x request_rate: rate limited, "
	                        "BYE(flood)");
	d = hd_start((const char *const[]){"workers=1", "request_rate=10", "request_burst=20",
	                                   "flood_kick=50", NULL});
	REQUIRE(hd_workers(d, w, 1) == 1, "arenad runs 1 worker");
	hp = hp_start(d, 4, 200, NULL, "neighbour");
	t0 = h_now_ms();

	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "board-flooder", 2000) == 0,
	        "the LEADERBOARD_REQ flooder is welcomed");
	o = flood(c, &board, ARENA_LEADERBOARD);
	check(c, &o, "LEADERBOARD_REQ");
	hc_close(c);

	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "join-flooder", 2000) == 0, "the JOIN flooder is welcomed");
	join.u.join.room.len = (uint8_t)strlen("flood");
	memcpy(join.u.join.room.s, "flood", join.u.join.room.len);
	o = flood(c, &join, ARENA_JOINED);
	check(c, &o, "JOIN");
	hc_close(c);

	h_sleep_ms((unsigned)h_remaining(t0 + 1000)); /* the neighbours' watch lasts 1 s at least */
	hp_stop(hp);
	hp_check(hp, 500, "neighbours during the request floods");
	CHECK(hd_workers_unchanged(d, w, 1), "the worker did not crash and was not replaced");
	hp_free(hp);
	return h_done();
}
