/* test-game-gems.c: two players on different workers race for one gem: one point per gem.
 *
 * A 6x6 room with a single gem and two players served by two different worker processes.
 * Each round both players walk to two different cells next to the gem (never onto it), then
 * both send the step onto the gem back to back, so their two workers apply them at nearly the
 * same moment. Exactly one of them must score: the sum of the scores grows by exactly one per
 * round, exactly one player stands on the gem's old cell, and the gem has moved. Over all
 * rounds the sum of scores equals the number of gems taken.
 */
#include <stdlib.h>
#include <string.h>

#include "game-util.h"

#define ROUNDS  20
#define SIDE    6
#define WAIT_MS 3000

struct player {
	struct hc *c;
	uint32_t id, seq;
	int x, y;
};

static struct arena_snapshot last;

/* Send MOVE(dx, dy) for p and read its acknowledging snapshot into `last`. */
static void step(struct player *p, int dx, int dy)
{
	MUST(gu_move(p->c, ++p->seq, dx, dy) == 0, "MOVE not sent");
	MUST(gu_wait_ack(p->c, p->seq, &last, WAIT_MS) == 0, "MOVE not acknowledged");
}

static void locate(struct player *pl, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = gu_find(&last, pl[i].id);
		MUST(k >= 0, "player %u missing from the snapshot", pl[i].id);
		pl[i].x = last.players[k].x;
		pl[i].y = last.players[k].y;
	}
}

/* First step of a shortest 8-connected path from (x, y) to (tx, ty) avoiding the gem and the
 * other player: 0 and the step in d[], or -1 if there is no path. */
static int next_step(int x, int y, int tx, int ty, int gx, int gy, int ox, int oy, int d[2])
{
	int dist[SIDE][SIDE], queue[SIDE * SIDE][2], head = 0, tail = 0;

	/* Search from the target back to the start, so the first step is read off directly. */
	for (int i = 0; i < SIDE; i++)
		for (int k = 0; k < SIDE; k++)
			dist[i][k] = -1;
	dist[ty][tx] = 0;
	queue[tail][0] = tx;
	queue[tail++][1] = ty;
	while (head < tail) {
		int cx = queue[head][0], cy = queue[head++][1];
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int nx = cx + dx, ny = cy + dy;
				if (nx < 0 || ny < 0 || nx >= SIDE || ny >= SIDE ||
				    dist[ny][nx] >= 0 || (nx == gx && ny == gy) ||
				    (nx == ox && ny == oy))
					continue;
				dist[ny][nx] = dist[cy][cx] + 1;
				queue[tail][0] = nx;
				queue[tail++][1] = ny;
			}
	}
	if (dist[y][x] < 0)
		return -1;
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++) {
			int nx = x + dx, ny = y + dy;
			if ((dx || dy) && nx >= 0 && ny >= 0 && nx < SIDE && ny < SIDE &&
			    dist[ny][nx] == dist[y][x] - 1) {
				d[0] = dx;
				d[1] = dy;
				return 0;
			}
		}
	return -1;
}

/* Walk p to (tx, ty) without stepping on the gem (gx, gy) or on the other player. */
static bool walk(struct player *pl, int me, int tx, int ty, int gx, int gy)
{
	struct player *p = &pl[me], *o = &pl[1 - me];
	int d[2];

	for (int n = 0; n < 4 * SIDE; n++) {
		locate(pl, 2);
		if (last.ngems != 1 || last.gems[0].x != gx || last.gems[0].y != gy)
			return false; /* the gem moved: plan again */
		if (p->x == tx && p->y == ty)
			return true;
		if (next_step(p->x, p->y, tx, ty, gx, gy, o->x, o->y, d) < 0)
			return false;
		step(p, d[0], d[1]);
	}
	return false;
}

/* Two distinct free cells next to the gem, nearest first to a and b. */
static bool targets(const struct player *pl, int gx, int gy, int t[2][2])
{
	int best[2] = {1 << 30, 1 << 30};

	t[0][0] = t[1][0] = -1;
	for (int who = 0; who < 2; who++) {
		for (int dy = -1; dy <= 1; dy++)
			for (int dx = -1; dx <= 1; dx++) {
				int x = gx + dx, y = gy + dy;
				if ((!dx && !dy) || x < 0 || y < 0 || x >= SIDE || y >= SIDE)
					continue;
				if (who == 1 && x == t[0][0] && y == t[0][1])
					continue;
				const struct player *o = &pl[1 - who];
				if (who == 0 && x == o->x && y == o->y)
					continue;
				int dist = abs(x - pl[who].x) + abs(y - pl[who].y);
				if (dist < best[who]) {
					best[who] = dist;
					t[who][0] = x;
					t[who][1] = y;
				}
			}
	}
	return t[0][0] >= 0 && t[1][0] >= 0;
}

int main(void)
{
	struct hc *cs[2];
	pid_t owner[2];
	struct player pl[2];
	unsigned rounds = 0, single = 0, attempts = 0;
	unsigned long taken = 0;
	struct hd *d;

	h_init("game-gems", "players on two workers race for one gem: exactly one point per gem");
	d = hd_start((const char *const[]){"workers=4", "room_width=6", "room_height=6",
	                                   "room_capacity=4", "gems_per_room=1", "tick_rate=50",
	                                   "input_rate=1000", "input_burst=1000", NULL});
	gu_distinct_workers(d, 2, "racer", cs, owner);
	for (int i = 0; i < 2; i++) {
		memset(&pl[i], 0, sizeof(pl[i]));
		pl[i].c = cs[i];
		pl[i].id = cs[i]->welcome.player_id;
		REQUIRE(gu_join(cs[i], "gem-pit", NULL, WAIT_MS) == 0, "player %d joined", i);
	}
	step(&pl[0], 0, 0);
	locate(pl, 2);
	REQUIRE(last.ngems == 1 && gu_score_sum(&last) == 0, "one gem, no points yet");

	while (rounds < ROUNDS && attempts++ < 5 * ROUNDS) {
		int gx = last.gems[0].x, gy = last.gems[0].y, t[2][2];

		locate(pl, 2);
		if (!targets(pl, gx, gy, t))
			continue;
		if (!walk(pl, 0, t[0][0], t[0][1], gx, gy) ||
		    !walk(pl, 1, t[1][0], t[1][1], gx, gy))
			continue;
		unsigned long before = gu_score_sum(&last);
		/* The race: both steps onto the gem, back to back, to two workers. */
		pl[0].seq++;
		pl[1].seq++;
		MUST(gu_move(pl[0].c, pl[0].seq, gx - t[0][0], gy - t[0][1]) == 0, "race MOVE a");
		MUST(gu_move(pl[1].c, pl[1].seq, gx - t[1][0], gy - t[1][1]) == 0, "race MOVE b");
		MUST(gu_wait_ack(pl[0].c, pl[0].seq, &last, WAIT_MS) == 0, "race MOVE a not acked");
		MUST(gu_wait_ack(pl[1].c, pl[1].seq, &last, WAIT_MS) == 0, "race MOVE b not acked");
		/* Both moves are applied now; a no-op MOVE gets a snapshot taken after both. */
		step(&pl[0], 0, 0);
		locate(pl, 2);
		unsigned on_gem =
		    (pl[0].x == gx && pl[0].y == gy) + (pl[1].x == gx && pl[1].y == gy);
		unsigned long gained = gu_score_sum(&last) - before;
		bool moved = last.ngems == 1 && (last.gems[0].x != gx || last.gems[0].y != gy);
		if (gained != 1 || on_gem != 1 || !moved)
			h_diag("round %u: %lu points, %u players on the gem cell, gem moved: %s",
			       rounds, gained, on_gem, moved ? "yes" : "no");
		single += gained == 1 && on_gem == 1 && moved;
		taken += moved;
		rounds++;
	}
	CHECK(rounds == ROUNDS, "%u races were run (%u attempts)", rounds, attempts);
	CHECK(single == rounds, "every race awarded exactly one point (%u of %u)", single, rounds);
	CHECK(gu_score_sum(&last) == taken, "the sum of scores (%lu) equals the gems taken (%lu)",
	      gu_score_sum(&last), taken);
	hc_close(cs[0]);
	hc_close(cs[1]);
	return h_done();
}
