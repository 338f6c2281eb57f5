/* test-game-resume.c: a resume token brings a player back within resume_grace, not after.
 *
 * resume_grace is 2 s. A player scores 2 points in a private room watched by a second player,
 * then its connection closes. Once the watcher sees it leave (the server has detached it), it
 * reconnects with its token: WELCOME says resume = 1 with the same id and token, JOINED puts it
 * back in the same room, and its score is still 2. It disconnects again and waits past the
 * grace: now the token gets a fresh player (resume = 2, another id, score 0, in the lobby).
 * Also: while the player is still connected, a second connection with its token does not take
 * it over (resume = 2, a different player).
 */
#include <string.h>

#include "game-util.h"

#define GRACE_MS 2000
#define WAIT_MS  3000

/* Read the watcher's snapshots until player id is present (want) or absent (!want). */
static bool watch_for(struct hc *w, uint32_t id, bool want, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	struct arena_snapshot s;

	while (gu_snapshot(w, &s, (unsigned)h_remaining(deadline)) == 0)
		if ((gu_find(&s, id) >= 0) == want)
			return true;
	return false;
}

static unsigned score_of(struct hc *c, uint32_t *seq)
{
	struct arena_snapshot s;

	REQUIRE(gu_move(c, ++*seq, 0, 0) == 0, "no-op MOVE sent");
	REQUIRE(gu_wait_ack(c, *seq, &s, WAIT_MS) == 0, "no-op MOVE acknowledged");
	int i = gu_find(&s, c->welcome.player_id);
	return i >= 0 ? s.players[i].score : ~0u;
}

/* Score one point: every free cell holds a gem, so any step inside the grid that does not
 * run into the other player scores. */
static bool score(struct hc *c, uint32_t *seq)
{
	static const int dirs[8][2] = {{1, 0}, {-1, 0},  {0, 1},  {0, -1},
	                               {1, 1}, {-1, -1}, {1, -1}, {-1, 1}};
	unsigned before = score_of(c, seq);
	struct arena_snapshot s;

	for (int k = 0; k < 8; k++) {
		REQUIRE(gu_move(c, ++*seq, dirs[k][0], dirs[k][1]) == 0, "MOVE sent");
		if (gu_wait_ack(c, *seq, &s, WAIT_MS) < 0)
			return false;
		int i = gu_find(&s, c->welcome.player_id);
		if (i >= 0 && s.players[i].score == before + 1)
			return true;
	}
	return false;
}

int main(void)
{
	struct arena_joined jp, jw, back;
	uint8_t token[ARENA_TOKEN_LEN];
	uint32_t seq = 0, id;
	struct hd *d;

	h_init("game-resume", "resume within resume_grace restores id, score and room; not after");
	d = hd_start((const char *const[]){"workers=4", "room_width=4", "room_height=4",
	                                   "room_capacity=2", "gems_per_room=14", "resume_grace=2s",
	                                   NULL});
	struct hc *w = hc_connect(d, NULL), *p = hc_connect(d, NULL);
	REQUIRE(w && hc_hello(w, "watcher", WAIT_MS) == 0, "the watcher is welcomed");
	REQUIRE(p && hc_hello(p, "phoenix", WAIT_MS) == 0, "the player is welcomed");
	REQUIRE(p->welcome.resume == ARENA_RESUME_NONE, "a HELLO without a token: resume = 0");
	id = p->welcome.player_id;
	memcpy(token, p->welcome.token, sizeof(token));
	REQUIRE(gu_join(w, "den", &jw, WAIT_MS) == 0, "the watcher joined 'den'");
	REQUIRE(gu_join(p, "den", &jp, WAIT_MS) == 0, "the player joined 'den'");
	REQUIRE(score(p, &seq) && score(p, &seq), "the player scored twice");
	unsigned before = score_of(p, &seq);
	CHECK(before == 2, "its score is 2 (%u)", before);

	/* A second connection with the token of a connected player does not take it over. */
	struct hc *twin = hc_connect(d, NULL);
	REQUIRE(twin && gu_hello_token(twin, "phoenix", token, WAIT_MS) == 0, "twin welcomed");
	CHECK(twin->welcome.resume == ARENA_RESUME_EXPIRED && twin->welcome.player_id != id,
	      "a token of a connected player gives a fresh player (resume %u, id %u)",
	      twin->welcome.resume, twin->welcome.player_id);
	hc_close(twin);

	/* Disconnect, wait until the server has noticed, come back with the token. */
	hc_close(p);
	REQUIRE(watch_for(w, id, false, WAIT_MS), "the watcher sees the player leave");
	p = hc_connect(d, NULL);
	uint64_t t_back = h_now_ms();
	REQUIRE(p && gu_hello_token(p, "phoenix", token, WAIT_MS) == 0, "HELLO with the token");
	CHECK(p->welcome.resume == ARENA_RESUME_OK, "WELCOME says resume = 1 (%u)",
	      p->welcome.resume);
	CHECK(p->welcome.player_id == id, "same player id (%u, was %u)", p->welcome.player_id, id);
	CHECK(memcmp(p->welcome.token, token, sizeof(token)) == 0, "same token");
	int r = gu_join_reply(p, &back, WAIT_MS);
	CHECK(r == 0 && back.room_id == jp.room_id && strcmp(back.room.s, "den") == 0,
	      "JOINED puts it back in 'den' (room %u)", r == 0 ? back.room_id : 0);
	CHECK(h_now_ms() - t_back < GRACE_MS, "(all within the grace)");
	CHECK(score_of(p, &seq) == 2, "its score is still 2");
	CHECK(watch_for(w, id, true, WAIT_MS), "the watcher sees it again");

	/* Disconnect and stay away past the grace. */
	hc_close(p);
	REQUIRE(watch_for(w, id, false, WAIT_MS), "the watcher sees the player leave again");
	h_sleep_ms(GRACE_MS + 1000);
	p = hc_connect(d, NULL);
	REQUIRE(p && gu_hello_token(p, "phoenix", token, WAIT_MS) == 0, "HELLO with the old token");
	CHECK(p->welcome.resume == ARENA_RESUME_EXPIRED, "WELCOME says resume = 2 (%u)",
	      p->welcome.resume);
	CHECK(p->welcome.player_id != id, "a new player id (%u)", p->welcome.player_id);
	struct arena_msg m;
	CHECK(hc_recv_type(p, ARENA_JOINED, &m, 500) == -ETIMEDOUT,
	      "no JOINED: it is in the lobby");
	REQUIRE(gu_join(p, "den", &back, WAIT_MS) == 0, "it can join 'den' again");
	seq = 0;
	CHECK(score_of(p, &seq) == 0, "with a score of 0");
	hc_close(p);
	hc_close(w);
	return h_done();
}
