/* test-game-play.c: two players on different workers share a room: moves and chat cross over.
 *
 * Two clients served by two different worker processes join one named room. Each moves in
 * turn; the other must see the new position in a SNAPSHOT at most 2 ticks after the tick of
 * the mover's own acknowledging SNAPSHOT (tick numbers come from the shared clock, so they are
 * comparable across workers, and no wall-clock bound is needed). Then both chat at once, 10
 * messages each: both must receive all 20 exactly once, in one and the same order, each
 * sender's messages in the order sent.
 */
#include <stdio.h>
#include <string.h>

#include "game-util.h"

/* An inner step that must work; silent when it does. */
#define MOVES    12
#define PER_SIDE 10
#define WAIT_MS  3000

/* B's snapshots until A (id) is seen at (x, y): the tick of that snapshot, or 0 on timeout. */
static uint32_t seen_at(struct hc *b, uint32_t id, unsigned x, unsigned y)
{
	uint64_t deadline = h_now_ms() + WAIT_MS;
	struct arena_snapshot s;

	while (gu_snapshot(b, &s, (unsigned)h_remaining(deadline)) == 0) {
		int i = gu_find(&s, id);
		if (i >= 0 && s.players[i].x == x && s.players[i].y == y)
			return s.tick;
	}
	return 0;
}

static void moves_cross_workers(struct hc *p[2])
{
	uint32_t seq[2] = {0, 0};
	unsigned late = 0, missing = 0;

	for (int k = 0; k < MOVES; k++) {
		struct hc *me = p[k % 2], *other = p[1 - k % 2];
		struct arena_snapshot s;
		uint32_t id = me->welcome.player_id;

		/* Where am I now, then a step that stays inside the grid. */
		MUST(gu_move(me, ++seq[k % 2], 0, 0) == 0, "no-op MOVE");
		MUST(gu_wait_ack(me, seq[k % 2], &s, WAIT_MS) == 0, "no-op MOVE not acknowledged");
		int i = gu_find(&s, id);
		MUST(i >= 0, "the mover is missing from its own snapshot");
		int dx = s.players[i].x == 0 ? 1 : -1;
		unsigned nx = (unsigned)(s.players[i].x + dx), ny = s.players[i].y;
		int j = gu_find(&s, other->welcome.player_id);
		if (j >= 0 && s.players[j].x == nx && s.players[j].y == ny) {
			dx = 0; /* the other player is there: go vertically instead */
			int dy = s.players[i].y == 0 ? 1 : -1;
			nx = s.players[i].x;
			ny = (unsigned)(s.players[i].y + dy);
			MUST(gu_move(me, ++seq[k % 2], 0, dy) == 0, "MOVE not sent");
		} else {
			MUST(gu_move(me, ++seq[k % 2], dx, 0) == 0, "MOVE not sent");
		}
		MUST(gu_wait_ack(me, seq[k % 2], &s, WAIT_MS) == 0, "MOVE not acknowledged");
		i = gu_find(&s, id);
		MUST(i >= 0 && s.players[i].x == nx && s.players[i].y == ny,
		     "the mover does not see itself at (%u,%u)", nx, ny);
		uint32_t t = seen_at(other, id, nx, ny);
		missing += t == 0;
		late += t > s.tick + 2;
		if (t > s.tick + 2)
			h_diag("move %d: acknowledged at tick %u, seen by the other at tick %u", k,
			       s.tick, t);
	}
	CHECK(missing == 0, "every move was seen by the player on the other worker (%u missing)",
	      missing);
	CHECK(late == 0, "every move was seen within 2 ticks of its acknowledgement (%u late)",
	      late);
}

/* Read CHAT_MSG from c until `want` arrived (or a timeout), then a little longer to catch any
 * duplicate: their texts in order (up to cap) and how many came. */
static size_t read_chat(struct hc *c, char texts[][16], size_t want, size_t cap)
{
	uint64_t deadline = h_now_ms() + 5000, quiet = 0;
	struct arena_msg m;
	size_t got = 0;

	for (;;) {
		if (got >= want && !quiet)
			quiet = h_now_ms() + 300;
		if (hc_recv(c, &m, (unsigned)h_remaining(quiet ? quiet : deadline)) < 0)
			break;
		if (m.type != ARENA_CHAT_MSG)
			continue;
		if (got < cap)
			snprintf(texts[got], 16, "%.15s", m.u.chat_msg.text.s);
		got++;
	}
	return got;
}

static void chat_cross_workers(struct hc *p[2])
{
	static char got[2][2 * PER_SIDE + 8][16];
	size_t n[2];

	for (int i = 0; i < PER_SIDE; i++)
		for (int side = 0; side < 2; side++) {
			struct arena_msg m = {.type = ARENA_CHAT};
			snprintf(m.u.chat.text.s, sizeof(m.u.chat.text.s), "%c%d", "ab"[side], i);
			m.u.chat.text.len = (uint8_t)strlen(m.u.chat.text.s);
			MUST(hc_send(p[side], &m) == 0, "CHAT not sent");
		}
	for (int side = 0; side < 2; side++)
		n[side] = read_chat(p[side], got[side], 2 * PER_SIDE, 2 * PER_SIDE + 8);
	CHECK(n[0] == 2 * PER_SIDE && n[1] == 2 * PER_SIDE,
	      "each player received the %d messages exactly once (%zu and %zu)", 2 * PER_SIDE, n[0],
	      n[1]);
	bool same = n[0] == n[1];
	for (size_t i = 0; same && i < n[0] && i < 2 * PER_SIDE + 8; i++)
		same = strcmp(got[0][i], got[1][i]) == 0;
	CHECK(same, "both received them in the same order");
	for (int side = 0; side < 2; side++) {
		int next[2] = {0, 0};
		bool ordered = true;
		for (size_t i = 0; i < n[side] && i < 2 * PER_SIDE; i++) {
			int who = got[side][i][0] == 'b';
			char want[16];
			snprintf(want, sizeof(want), "%c%d", "ab"[who], next[who]++);
			ordered = ordered && strcmp(got[side][i], want) == 0;
		}
		CHECK(ordered && next[0] == PER_SIDE && next[1] == PER_SIDE,
		      "player %c got each sender's messages in the order sent", "ab"[side]);
	}
}

int main(void)
{
	struct hc *p[2];
	pid_t owner[2];
	struct arena_joined j[2];
	struct hd *d;

	h_init("game-play", "two players on two workers see each other's moves and chat");
	d = hd_start((const char *const[]){"workers=4", "room_width=16", "room_height=16",
	                                   "chat_rate=1000", "chat_burst=100", NULL});
	gu_distinct_workers(d, 2, "crosser", p, owner);
	h_diag("players served by workers %d and %d", (int)owner[0], (int)owner[1]);
	for (int i = 0; i < 2; i++)
		REQUIRE(gu_join(p[i], "crossing", &j[i], WAIT_MS) == 0, "player %d joined", i);
	REQUIRE(j[0].room_id == j[1].room_id, "both are in room %u", j[0].room_id);
	moves_cross_workers(p);
	chat_cross_workers(p);
	hc_close(p[0]);
	hc_close(p[1]);
	return h_done();
}
