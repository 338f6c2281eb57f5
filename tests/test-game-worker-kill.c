/* test-game-worker-kill.c: a worker killed mid-game: its players vanish, the room goes on.
 *
 * 12 players spread over the 4 workers play in one room. One worker is SIGKILLed. An observer
 * on another worker must get a SNAPSHOT without any of the dead worker's players within 2
 * ticks plus a margin of the kill: at 20 Hz, 2 ticks are 100 ms (the master reaps the worker
 * and bumps the death counter, the next tick of every surviving worker sweeps the dead players
 * out, the tick after at the latest sends the snapshot); the margin of 150 ms covers the
 * master's SIGCHLD handling and scheduling on a small, busy machine (doubled under
 * sanitizers). Then every surviving player still moves, and the room's snapshots list exactly
 * the survivors, on distinct cells inside the grid.
 */
#include <signal.h>
#include <string.h>

#include "game-util.h"

#define NPLAYERS  12
#define TICK_MS   50 /* tick_rate=20 */
#define MARGIN_MS 150
#define WAIT_MS   3000

int main(void)
{
	static struct hc *cs[NPLAYERS];
	pid_t workers[4], owner[NPLAYERS], victim = 0;
	bool dead[NPLAYERS] = {false};
	unsigned ndead = 0, nalive = 0;
	struct arena_snapshot s;
	struct hd *d;
	int obs = -1;

	h_init("game-worker-kill", "kill -9 a worker mid-game: its players vanish within 2 ticks");
	d = hd_start((const char *const[]){"workers=4", "tick_rate=20", "room_width=32",
	                                   "room_height=32", NULL});
	REQUIRE(hd_workers(d, workers, 4) == 4, "arenad runs 4 workers");
	size_t got = hc_connect_many(d, NULL, NPLAYERS, 0, WAIT_MS, cs);
	size_t hi = hc_hello_many(cs, NPLAYERS, "fighter", WAIT_MS);
	REQUIRE(got == NPLAYERS && hi == NPLAYERS, "%d players welcomed", NPLAYERS);
	for (int i = 0; i < NPLAYERS; i++)
		REQUIRE(gu_join(cs[i], "battle", NULL, WAIT_MS) == 0, "player %d joined", i);
	REQUIRE(hproc_map_clients(d->port, cs, NPLAYERS, workers, 4, owner) == NPLAYERS,
	        "every player is found on a worker");
	victim = owner[0];
	for (int i = 0; i < NPLAYERS; i++) {
		dead[i] = owner[i] == victim;
		ndead += dead[i];
		if (!dead[i] && obs < 0)
			obs = i;
	}
	nalive = NPLAYERS - ndead;
	REQUIRE(obs >= 0 && ndead > 0, "the victim worker serves %u players, the others %u", ndead,
	        nalive);

	/* The observer sees everybody before the kill. */
	uint64_t until = h_now_ms() + WAIT_MS;
	bool all = false;
	while (!all && gu_snapshot(cs[obs], &s, (unsigned)h_remaining(until)) == 0)
		all = s.nplayers == NPLAYERS;
	REQUIRE(all, "the observer's snapshots list all %d players", NPLAYERS);
	/* Drain what is queued so the next snapshots are fresh. */
	while (gu_snapshot(cs[obs], &s, 0) == 0)
		;

	uint64_t t_kill = h_now_ms(), t_gone = 0;
	REQUIRE(kill(victim, SIGKILL) == 0, "SIGKILL worker %d", (int)victim);
	until = t_kill + WAIT_MS;
	while (!t_gone && gu_snapshot(cs[obs], &s, (unsigned)h_remaining(until)) == 0) {
		bool any = false;
		for (int i = 0; i < NPLAYERS; i++)
			any = any || (dead[i] && gu_find(&s, cs[i]->welcome.player_id) >= 0);
		if (!any)
			t_gone = h_now_ms();
	}
	unsigned bound = 2 * TICK_MS + MARGIN_MS * (h_sanitized() ? 2 : 1);
	CHECK(
	    t_gone && t_gone - t_kill <= bound,
	    "the dead worker's %u players left the snapshots %llu ms after the kill (bound %u ms)",
	    ndead, (unsigned long long)(t_gone ? t_gone - t_kill : 0), bound);
	CHECK(s.nplayers == nalive, "that snapshot lists the %u survivors (%u)", nalive,
	      s.nplayers);

	/* The survivors go on playing: each moves and sees its move acknowledged. */
	unsigned moved = 0;
	for (int i = 0; i < NPLAYERS; i++) {
		if (dead[i])
			continue;
		int dx = 1;
		REQUIRE(gu_move(cs[i], 1, 0, 0) == 0, "no-op MOVE sent");
		if (gu_wait_ack(cs[i], 1, &s, WAIT_MS) < 0)
			continue;
		int k = gu_find(&s, cs[i]->welcome.player_id);
		if (k >= 0 && s.players[k].x == 31)
			dx = -1;
		REQUIRE(gu_move(cs[i], 2, dx, 0) == 0, "MOVE sent");
		if (gu_wait_ack(cs[i], 2, &s, WAIT_MS) == 0)
			moved++;
	}
	CHECK(moved == nalive, "all %u survivors still move (%u acknowledged)", nalive, moved);

	/* A fresh snapshot: exactly the survivors, inside the grid, on distinct cells. */
	REQUIRE(gu_move(cs[obs], 3, 0, 0) == 0, "no-op MOVE sent");
	REQUIRE(gu_wait_ack(cs[obs], 3, &s, WAIT_MS) == 0, "acknowledged");
	bool ok = s.nplayers == nalive;
	for (int i = 0; i < NPLAYERS; i++)
		ok = ok && (gu_find(&s, cs[i]->welcome.player_id) >= 0) == !dead[i];
	for (int i = 0; i < s.nplayers; i++) {
		ok = ok && s.players[i].x < 32 && s.players[i].y < 32;
		for (int j = 0; j < i; j++)
			ok = ok && !(s.players[i].x == s.players[j].x &&
			             s.players[i].y == s.players[j].y);
	}
	CHECK(ok, "the room lists exactly the %u survivors, in the grid, on distinct cells",
	      nalive);
	for (int i = 0; i < NPLAYERS; i++)
		if (dead[i])
			CHECK(hc_wait_close(cs[i], WAIT_MS) == 0,
			      "player %d of the dead worker was cut", i);
	hc_close_all(cs, NPLAYERS);
	return h_done();
}
