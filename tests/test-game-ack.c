/* test-game-ack.c: [game] immediate_ack: a MOVE is answered at once, or by the next tick.
 *
 * One tick a second (tick_rate = 1), so "at once" and "at the next tick" are far apart. One
 * worker, so both players' ticks are the same pass (two workers run tick T each on its own
 * schedule, and the later may already show a move made after the earlier). Two players in
 * one room, A moves, B watches; each MOVE is sent right after A received a tick's
 * SNAPSHOT (of tick T, triggered by a move of B's), so the next tick is about a second away:
 * 1. immediate_ack = on (the default): A's acknowledging SNAPSHOT arrives within 300 ms, still
 *    says tick T (it is sent between ticks), and already shows A on its new cell; B sees the
 *    move in a later tick's SNAPSHOT (tick > T), as other players always do;
 * 2. SIGHUP with immediate_ack = off: the acknowledgement comes with the next tick (tick > T)
 *    and no sooner than 500 ms after the MOVE (divided by the scale: a slow run delivers the
 *    tick T SNAPSHOT late, leaving less of the second).
 * A server that ignored the option fails 1 (the ack waits for the tick) and one that ignored
 * the reload fails 2. Wall-clock upper bounds are multiplied by ARENA_TEST_TIMEOUT_SCALE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game-util.h"

#define FAST_MS 300 /* an immediate ack arrives within this (times the scale) */
#define SLOW_MS 500 /* a tick-driven ack at 1 Hz arrives no sooner than this */

static unsigned scale = 1;

static unsigned read_scale(void)
{
	const char *s = getenv("ARENA_TEST_TIMEOUT_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;

	return v >= 1 && v <= 100 ? (unsigned)v : 1;
}

/* A one-step move from (x, y) that stays on the 16x16 grid and off the cell (ox, oy). */
static void pick_step(int x, int y, int ox, int oy, int *dx, int *dy)
{
	static const int dirs[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};

	for (int d = 0; d < 4; d++) {
		int nx = x + dirs[d][0], ny = y + dirs[d][1];
		if (nx < 0 || ny < 0 || nx >= 16 || ny >= 16 || (nx == ox && ny == oy))
			continue;
		*dx = dirs[d][0];
		*dy = dirs[d][1];
		return;
	}
	*dx = *dy = 0;
}

/* B steps (seq bseq) so that a tick sends both a SNAPSHOT; once A has it (tick T, returned in
 * *s), A steps with seq aseq at once. *sent is when A's MOVE went out; *nx, *ny A's target. */
static void move_after_tick(struct hc *a, struct hc *b, uint32_t aseq, uint32_t bseq,
                            struct arena_snapshot *s, uint64_t *sent, int *nx, int *ny)
{
	uint32_t aid = a->welcome.player_id, bid = b->welcome.player_id;
	struct arena_snapshot bs;
	int r = gu_snapshot(b, &bs, 5000 * scale), dx, dy;

	REQUIRE(r == 0, "B has a SNAPSHOT to move from (%d)", r);
	int ib = gu_find(&bs, bid), ia = gu_find(&bs, aid);
	REQUIRE(ib >= 0 && ia >= 0, "both players are in B's SNAPSHOT");
	pick_step(bs.players[ib].x, bs.players[ib].y, bs.players[ia].x, bs.players[ia].y, &dx, &dy);
	REQUIRE(gu_move(b, bseq, dx, dy) == 0, "B sends MOVE(%u)", bseq);
	r = gu_snapshot(a, s, 5000 * scale); /* until the tick with B's move */
	for (int i = 0; r == 0 && i < 8; i++) {
		int j = gu_find(s, bid);
		if (j >= 0 &&
		    (s->players[j].x != bs.players[ib].x || s->players[j].y != bs.players[ib].y))
			break;
		r = gu_snapshot(a, s, 5000 * scale);
	}
	REQUIRE(r == 0, "A gets the tick's SNAPSHOT with B's move (%d)", r);
	ia = gu_find(s, aid);
	ib = gu_find(s, bid);
	REQUIRE(ia >= 0 && ib >= 0, "both players are in A's SNAPSHOT");
	pick_step(s->players[ia].x, s->players[ia].y, s->players[ib].x, s->players[ib].y, &dx, &dy);
	*nx = s->players[ia].x + dx;
	*ny = s->players[ia].y + dy;
	*sent = h_now_ms();
	REQUIRE(gu_move(a, aseq, dx, dy) == 0, "A sends MOVE(%u, %d, %d) right after tick %u", aseq,
	        dx, dy, s->tick);
}

int main(void)
{
	struct arena_snapshot t, ack, seen;
	struct hc *p[2];
	uint64_t sent;
	int nx, ny;

	h_init("game-ack",
	       "immediate_ack: a MOVE is answered at once, or by the next tick when off");
	scale = read_scale();
	struct hd *d = hd_start((const char *const[]){"workers=1", "room_width=16",
	                                              "room_height=16", "gems_per_room=0",
	                                              "tick_rate=1", "idle_timeout=10m", NULL});
	for (int i = 0; i < 2; i++) {
		char name[8];
		snprintf(name, sizeof(name), "ack%d", i);
		p[i] = hc_connect(d, NULL);
		REQUIRE(p[i] && hc_hello(p[i], name, 5000 * scale) == 0, "player %d welcomed", i);
		REQUIRE(gu_join(p[i], "acks", NULL, 5000 * scale) == 0, "player %d joined", i);
	}

	/* 1. On (the default): answered at once, between ticks. */
	move_after_tick(p[0], p[1], 1, 1, &t, &sent, &nx, &ny);
	int r = gu_wait_ack(p[0], 1, &ack, 5000 * scale);
	uint64_t took = h_now_ms() - sent;
	REQUIRE(r == 0, "A's MOVE(1) is acknowledged (%d)", r);
	CHECK(took <= FAST_MS * scale, "on: the ack came %llu ms after the MOVE (at most %u)",
	      (unsigned long long)took, FAST_MS * scale);
	CHECK(ack.tick == t.tick,
	      "on: the ack SNAPSHOT carries the last tick run (%u, the MOVE "
	      "followed tick %u)",
	      ack.tick, t.tick);
	int ia = gu_find(&ack, p[0]->welcome.player_id);
	CHECK(ia >= 0 && ack.players[ia].x == nx && ack.players[ia].y == ny,
	      "on: the ack SNAPSHOT shows A on its new cell (%d,%d)", nx, ny);
	/* B sees A's move only with a tick. */
	r = 0;
	for (int i = 0; i < 8; i++) {
		r = gu_snapshot(p[1], &seen, 5000 * scale);
		if (r < 0)
			break;
		int j = gu_find(&seen, p[0]->welcome.player_id);
		if (j >= 0 && seen.players[j].x == nx && seen.players[j].y == ny)
			break;
	}
	CHECK(r == 0 && seen.tick > t.tick, "B sees A's move in a later tick's SNAPSHOT (%u > %u)",
	      seen.tick, t.tick);

	/* 2. Reload with immediate_ack = off: the tick answers. */
	r = hd_write_config(d, (const char *const[]){"game.immediate_ack=off", NULL}, NULL);
	REQUIRE(r == 0, "config rewritten with immediate_ack = off");
	CHECK(hd_reload(d, 5000 * scale) == 0, "SIGHUP with immediate_ack = off");
	h_sleep_ms(1500); /* the workers read the new configuration from their channel */
	move_after_tick(p[0], p[1], 2, 2, &t, &sent, &nx, &ny);
	r = gu_wait_ack(p[0], 2, &ack, 5000 * scale);
	took = h_now_ms() - sent;
	REQUIRE(r == 0, "A's MOVE(2) is acknowledged (%d)", r);
	CHECK(took >= SLOW_MS / scale,
	      "off: the ack came %llu ms after the MOVE (at least %u: the tick)",
	      (unsigned long long)took, SLOW_MS / scale);
	CHECK(ack.tick > t.tick, "off: the ack SNAPSHOT is a later tick's (%u > %u)", ack.tick,
	      t.tick);

	hc_close(p[0]);
	hc_close(p[1]);
	hd_free(d);
	return h_done();
}
