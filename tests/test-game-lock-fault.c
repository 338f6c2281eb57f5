/* test-game-lock-fault.c: a worker dies holding a room lock; the room is repaired, not stuck.
 *
 * Needs a build with -Dtest_faults=true (otherwise skipped, exit 77) and fault_injection=true
 * in the config. Three players in one room are served by three different workers. The first
 * player's worker gets SIGUSR2, which arms the fault: its next MOVE takes the room lock, breaks
 * the room (a position outside the grid, a wrong seat count) and blocks forever. That MOVE is
 * sent, the worker is SIGKILLed while it holds the lock, and then:
 *   - the second player's MOVE is applied and acknowledged (the lock was recovered);
 *   - the daemon logs the repair;
 *   - the room is consistent: exactly the two live players, inside the grid, on distinct cells;
 *   - the third player moves too, and a new client can join the room.
 * The kill follows the blocked MOVE within a few hundred ms, well inside heartbeat_timeout, so
 * the workers that wait on the lock meanwhile are not mistaken for wedged ones.
 */
#include <signal.h>
#include <string.h>

#include "arena-build.h"
#include "game-util.h"

#define WAIT_MS 3000
#define SIDE    16

/* No-op MOVE on c; its acknowledging snapshot in *s. */
static bool fresh(struct hc *c, uint32_t *seq, struct arena_snapshot *s)
{
	return gu_move(c, ++*seq, 0, 0) == 0 && gu_wait_ack(c, *seq, s, WAIT_MS) == 0;
}

static bool consistent(const struct arena_snapshot *s, struct hc *const *live, size_t n)
{
	bool ok = s->nplayers == n;

	for (size_t i = 0; i < n; i++)
		ok = ok && gu_find(s, live[i]->welcome.player_id) >= 0;
	for (int i = 0; i < s->nplayers; i++) {
		ok = ok && s->players[i].x < SIDE && s->players[i].y < SIDE;
		for (int j = 0; j < i; j++)
			ok = ok && !(s->players[i].x == s->players[j].x &&
			             s->players[i].y == s->players[j].y);
	}
	return ok;
}

int main(void)
{
	struct hc *p[3];
	pid_t owner[3];
	uint32_t seq[3] = {0, 0, 0};
	struct arena_snapshot s;
	struct hd *d;

	h_init("game-lock-fault", "a worker killed inside a room lock: the next locker repairs");
	if (!ARENA_TEST_FAULTS)
		h_skip("this build has no fault injection (configure with -Dtest_faults=true)");
	d = hd_start((const char *const[]){"workers=4", "fault_injection=true", "room_width=16",
	                                   "room_height=16", "heartbeat_timeout=3s", NULL});
	gu_distinct_workers(d, 3, "locker", p, owner);
	for (int i = 0; i < 3; i++)
		REQUIRE(gu_join(p[i], "fault", NULL, WAIT_MS) == 0, "player %d joined", i);
	REQUIRE(fresh(p[1], &seq[1], &s) && consistent(&s, p, 3), "the room holds the 3 players");

	REQUIRE(kill(owner[0], SIGUSR2) == 0, "SIGUSR2 to worker %d", (int)owner[0]);
	uint64_t until = h_now_ms() + WAIT_MS;
	while (!hd_log_contains(d, "test fault armed") && h_now_ms() < until)
		h_sleep_ms(20);
	REQUIRE(hd_log_contains(d, "test fault armed"), "the worker armed the fault");

	REQUIRE(gu_move(p[0], ++seq[0], 1, 0) == 0, "the first player MOVEs");
	CHECK(gu_wait_ack(p[0], seq[0], &s, 300) == -ETIMEDOUT,
	      "that MOVE never completes: its worker is stuck inside the room lock");
	REQUIRE(kill(owner[0], SIGKILL) == 0, "SIGKILL worker %d while it holds the lock",
	        (int)owner[0]);

	uint64_t t0 = h_now_ms();
	int dx = 1;
	REQUIRE(fresh(p[1], &seq[1], &s), "the second player's no-op MOVE is acknowledged");
	int i = gu_find(&s, p[1]->welcome.player_id);
	if (i >= 0 && s.players[i].x == SIDE - 1)
		dx = -1;
	REQUIRE(gu_move(p[1], ++seq[1], dx, 0) == 0, "the second player MOVEs");
	int r = gu_wait_ack(p[1], seq[1], &s, WAIT_MS);
	CHECK(r == 0, "its MOVE is applied and acknowledged %llu ms after the kill",
	      (unsigned long long)(h_now_ms() - t0));
	until = h_now_ms() + WAIT_MS;
	while (!hd_log_contains(d, "repaired") && h_now_ms() < until)
		h_sleep_ms(20);
	CHECK(hd_log_contains(d, "repaired"), "the daemon logged the lock repair");

	/* The dead worker's player is swept out; the two others remain, consistent. */
	struct hc *live[2] = {p[1], p[2]};
	bool ok = false;
	until = h_now_ms() + WAIT_MS;
	while (!ok && h_now_ms() < until && fresh(p[1], &seq[1], &s))
		ok = consistent(&s, live, 2);
	CHECK(ok, "the room lists the 2 live players inside the grid on distinct cells (%u listed)",
	      s.nplayers);
	CHECK(fresh(p[2], &seq[2], &s) && consistent(&s, live, 2),
	      "the third player (another worker) moves and sees the same room");
	CHECK(hc_wait_close(p[0], WAIT_MS) == 0, "the first player's connection was cut");

	struct hc *late = hc_connect(d, NULL);
	CHECK(late && hc_hello(late, "latecomer", WAIT_MS) == 0 &&
	          gu_join(late, "fault", NULL, WAIT_MS) == 0,
	      "a new client joins the repaired room");
	pid_t w[4];
	CHECK(hd_wait_workers(d, 4, w, 4, 5000) == 4, "the master runs 4 workers again");
	hc_close(late);
	for (int k = 0; k < 3; k++)
		hc_close(p[k]);
	return h_done();
}
