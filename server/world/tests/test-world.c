/* test-world.c: unit tests of the shared-memory world: rooms, moves, gems, chat, scores, resume.
 *
 * Each test builds a world from the default configuration (with the sizes it needs) in a
 * MAP_SHARED anonymous mapping, drives it through world.h only, and ends with world_check().
 * Concurrency tests race threads on the process-shared locks; lock-recovery tests fork a child
 * that dies for real inside a critical section (test-world-lock.c holds those).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "shm.h"
#include "test-world.h"

/* ---- Rooms ------------------------------------------------------------------------------ */

static void matchmaking_fills_fullest_first(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_room_info info;
	uint32_t p[41];
	unsigned per_room[16] = {0};

	/* 40 matchmaking joins with capacity 16: 16, 16, 8. */
	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof(name), "m%d", i);
		p[i] = tw_attach(t, name, NULL);
		assert_int_equal(world_join(t->w, p[i], "", &info), 0);
		assert_true(info.room < 16);
		assert_int_equal(strncmp(info.name, "room-", 5), 0);
		assert_int_equal(info.capacity, 16);
		per_room[info.room]++;
	}
	/* Room slots are taken lowest first. */
	assert_int_equal(per_room[0], 16);
	assert_int_equal(per_room[1], 16);
	assert_int_equal(per_room[2], 8);
	for (int r = 3; r < 16; r++)
		assert_int_equal(per_room[r], 0);

	/* Two leave the first room: 14 there, 8 in the third: the next goes to the fullest (14). */
	assert_int_equal(world_player_room(t->w, p[0], &info), 0);
	uint32_t first = info.room;
	assert_int_equal(first, 0);
	/* Matchmaking again from the fullest room keeps the player there (a no-op). */
	assert_int_equal(world_join(t->w, p[0], "", &info), 0);
	assert_int_equal(info.room, first);
	assert_int_equal(world_leave(t->w, p[0]), 0);
	assert_int_equal(world_leave(t->w, p[1]), 0);
	assert_int_equal(world_leave(t->w, p[1]), -ENOENT);
	p[40] = tw_attach(t, "late", NULL);
	assert_int_equal(world_join(t->w, p[40], "", &info), 0);
	assert_int_equal(info.room, first);

	/* A private room is never chosen by matchmaking. */
	assert_int_equal(world_join(t->w, p[0], "secret", &info), 0);
	uint32_t secret = info.room;
	assert_int_not_equal(secret, first);
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "x%d", i);
		uint32_t x = tw_attach(t, name, NULL);
		assert_int_equal(world_join(t->w, x, "", &info), 0);
		assert_int_not_equal(info.room, secret);
	}
	/* ... but a named JOIN finds it. */
	assert_int_equal(world_join(t->w, p[1], "secret", &info), 0);
	assert_int_equal(info.room, secret);
	tw_free(t);
}

static void small_rooms(struct arena_config *cfg)
{
	cfg->room_capacity = 2;
	cfg->max_rooms = 2;
}

static void capacity_and_max_rooms(void **state)
{
	struct tw *t = tw_new(small_rooms);
	struct world_room_info info;
	uint32_t a = tw_attach(t, "a", NULL), b = tw_attach(t, "b", NULL);
	uint32_t c = tw_attach(t, "c", NULL), d = tw_attach(t, "d", NULL);

	assert_int_equal(world_join(t->w, a, "one", &info), 0);
	assert_string_equal(info.name, "one");
	uint32_t one = info.room;
	assert_int_equal(world_join(t->w, b, "one", &info), 0);
	assert_int_equal(info.room, one);
	assert_int_equal(world_join(t->w, c, "one", &info), -EBUSY);
	assert_int_equal(world_join(t->w, c, "two", &info), 0);
	assert_int_equal(world_join(t->w, d, "three", &info), -ENOSPC);
	assert_int_equal(world_join(t->w, d, "", &info), -ENOSPC);
	/* Bad names. */
	assert_int_equal(world_join(t->w, d, "this-name-is-thirty-three-bytes!!", &info), -EINVAL);
	assert_int_equal(world_join(t->w, d, "\xff", &info), -EINVAL);
	/* c moves from "two" (closing it) to a new room: its own slot is reused. */
	assert_int_equal(world_join(t->w, c, "three", &info), 0);
	assert_int_equal(world_check(t->w), 0);
	/* An empty room closes and its slot is reused. */
	assert_int_equal(world_leave(t->w, c), 0);
	assert_int_equal(world_join(t->w, d, "four", &info), 0);
	assert_int_equal(world_leave(t->w, a), 0);
	assert_int_equal(world_leave(t->w, b), 0);
	assert_int_not_equal(info.room, one);
	struct world_room_view v;
	assert_int_equal(world_room_view(t->w, one, &v), -ENOENT);
	tw_free(t);
}

/* ---- Moves and gems --------------------------------------------------------------------- */

static void tiny_grid(struct arena_config *cfg)
{
	cfg->room_width = 2;
	cfg->room_height = 2;
	cfg->room_capacity = 2;
	cfg->gems_per_room = 0;
}

static void moves_inside_outside_occupied(void **state)
{
	struct tw *t = tw_new(tiny_grid);
	struct world_player_info ia, ib;
	struct world_room_info ra, rb;
	struct world_room_view v;
	bool scored;
	uint32_t a = tw_attach(t, "a", &ia), b = tw_attach(t, "b", &ib);

	assert_int_equal(world_move(t->w, a, 1, 0, &scored), -ENOENT); /* lobby */
	assert_int_equal(world_join(t->w, a, "g", &ra), 0);
	assert_int_equal(world_join(t->w, b, "g", &rb), 0);
	assert_true(ra.x < 2 && ra.y < 2 && rb.x < 2 && rb.y < 2);
	assert_false(ra.x == rb.x && ra.y == rb.y);
	assert_int_equal(world_move(t->w, a, 2, 0, &scored), -EINVAL);

	/* Outside the grid: ignored. */
	int dx = ra.x == 0 ? -1 : 1;
	assert_int_equal(world_room_view(t->w, ra.room, &v), 0);
	uint64_t version = v.version;
	assert_int_equal(world_move(t->w, a, dx, 0, &scored), 0);
	assert_false(scored);
	assert_int_equal(world_room_view(t->w, ra.room, &v), 0);
	int i = tw_find(&v, ia.id);
	assert_true(i >= 0);
	assert_int_equal(v.players[i].x, ra.x);
	assert_int_equal(v.version, version);

	/* Walk a towards b; the step onto b's cell is ignored. */
	for (int step = 0; step < 4; step++) {
		assert_int_equal(world_room_view(t->w, ra.room, &v), 0);
		int pa = tw_find(&v, ia.id), pb = tw_find(&v, ib.id);
		int ddx = (v.players[pb].x > v.players[pa].x) - (v.players[pb].x < v.players[pa].x);
		int ddy = (v.players[pb].y > v.players[pa].y) - (v.players[pb].y < v.players[pa].y);
		if (ddx && ddy)
			ddy = 0; /* first along x */
		assert_int_equal(world_move(t->w, a, ddx, ddy, &scored), 0);
		struct world_room_view after;
		assert_int_equal(world_room_view(t->w, ra.room, &after), 0);
		int qa = tw_find(&after, ia.id);
		bool was_adjacent = abs(v.players[pb].x - v.players[pa].x) +
		                        abs(v.players[pb].y - v.players[pa].y) ==
		                    1;
		if (was_adjacent) {
			assert_int_equal(after.players[qa].x, v.players[pa].x);
			assert_int_equal(after.players[qa].y, v.players[pa].y);
			break;
		}
		assert_int_equal(after.players[qa].x, v.players[pa].x + ddx);
	}
	tw_free(t);
}

static void all_gems(struct arena_config *cfg)
{
	cfg->room_width = 3;
	cfg->room_height = 3;
	cfg->room_capacity = 1;
	cfg->gems_per_room = 32; /* clamped to the 8 cells left beside the player */
}

static void gems_score_and_respawn(void **state)
{
	struct tw *t = tw_new(all_gems);
	struct world_player_info ia;
	struct world_room_info ri;
	struct world_room_view v;
	uint32_t a = tw_attach(t, "gemmer", &ia);
	unsigned expected = 0;
	bool scored;

	assert_int_equal(world_join(t->w, a, "", &ri), 0);
	srand(7);
	for (int k = 0; k < 200; k++) {
		assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
		assert_int_equal(v.ngems, 8);
		int i = tw_find(&v, ia.id);
		for (int g = 0; g < v.ngems; g++) {
			assert_false(v.gems[g].x == v.players[i].x &&
			             v.gems[g].y == v.players[i].y);
			for (int h = 0; h < g; h++)
				assert_false(v.gems[g].x == v.gems[h].x &&
				             v.gems[g].y == v.gems[h].y);
		}
		int dx = rand() % 3 - 1, dy = rand() % 3 - 1;
		int nx = v.players[i].x + dx, ny = v.players[i].y + dy;
		bool inside = (dx || dy) && nx >= 0 && ny >= 0 && nx < 3 && ny < 3;
		assert_int_equal(world_move(t->w, a, dx, dy, &scored), 0);
		assert_int_equal(scored, inside); /* every other cell holds a gem */
		expected += inside;
	}
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.players[tw_find(&v, ia.id)].score, expected);
	struct arena_leaderboard lb;
	assert_int_equal(world_leaderboard(t->w, 10, &lb), 0);
	assert_int_equal(lb.n, 1);
	assert_string_equal(lb.entries[0].name.s, "gemmer");
	assert_int_equal(lb.entries[0].score, expected);
	tw_free(t);
}

/* ---- Concurrency ------------------------------------------------------------------------ */

#define RACERS 8

struct racer {
	struct tw *t;
	uint32_t pidx[64];
	int n;
	int joined, refused;
	unsigned scored, seed;
	pthread_barrier_t *go;
};

static void *join_racer(void *arg)
{
	struct racer *r = arg;
	struct world_room_info info;

	pthread_barrier_wait(r->go);
	for (int i = 0; i < r->n; i++) {
		int e = world_join(r->t->w, r->pidx[i], "hot", &info);
		if (e == 0)
			r->joined++;
		else if (e == -EBUSY)
			r->refused++;
	}
	return NULL;
}

static void racing_joins_respect_capacity(void **state)
{
	struct tw *t = tw_new(NULL);
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	int joined = 0, refused = 0;

	pthread_barrier_init(&go, NULL, RACERS);
	for (int k = 0; k < RACERS; k++) {
		memset(&r[k], 0, sizeof(r[k]));
		r[k].t = t;
		r[k].n = 8;
		r[k].go = &go;
		for (int i = 0; i < r[k].n; i++) {
			char name[32];
			snprintf(name, sizeof(name), "j%d-%d", k, i);
			r[k].pidx[i] = tw_attach(t, name, NULL);
		}
	}
	for (int k = 0; k < RACERS; k++)
		assert_int_equal(pthread_create(&th[k], NULL, join_racer, &r[k]), 0);
	for (int k = 0; k < RACERS; k++) {
		pthread_join(th[k], NULL);
		joined += r[k].joined;
		refused += r[k].refused;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(joined, 16);
	assert_int_equal(refused, RACERS * 8 - 16);
	tw_free(t);
}

static void crowded(struct arena_config *cfg)
{
	cfg->room_width = 6;
	cfg->room_height = 6;
	cfg->room_capacity = 8;
	cfg->gems_per_room = 20;
}

static void *move_racer(void *arg)
{
	struct racer *r = arg;
	bool scored;

	pthread_barrier_wait(r->go);
	for (int k = 0; k < 3000; k++) {
		int dx = (int)(rand_r(&r->seed) % 3) - 1, dy = (int)(rand_r(&r->seed) % 3) - 1;
		if (world_move(r->t->w, r->pidx[0], dx, dy, &scored) == 0 && scored)
			r->scored++;
	}
	return NULL;
}

static void racing_moves_score_once_per_gem(void **state)
{
	struct tw *t = tw_new(crowded);
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	struct world_room_info info;
	struct world_room_view v;
	unsigned scored = 0, total = 0;

	pthread_barrier_init(&go, NULL, RACERS);
	for (int k = 0; k < RACERS; k++) {
		char name[32];
		memset(&r[k], 0, sizeof(r[k]));
		r[k].t = t;
		r[k].go = &go;
		r[k].seed = (unsigned)k + 1;
		snprintf(name, sizeof(name), "racer%d", k);
		r[k].pidx[0] = tw_attach(t, name, NULL);
		assert_int_equal(world_join(t->w, r[k].pidx[0], "pit", &info), 0);
	}
	for (int k = 0; k < RACERS; k++)
		assert_int_equal(pthread_create(&th[k], NULL, move_racer, &r[k]), 0);
	for (int k = 0; k < RACERS; k++) {
		pthread_join(th[k], NULL);
		scored += r[k].scored;
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(world_room_view(t->w, info.room, &v), 0);
	assert_int_equal(v.nplayers, RACERS);
	assert_int_equal(v.ngems, 20);
	for (int i = 0; i < v.nplayers; i++)
		total += v.players[i].score;
	assert_true(scored > 0);
	assert_int_equal(total, scored);
	tw_free(t);
}

/* ---- Chat ------------------------------------------------------------------------------- */

static void chat_ring_order_overwrite_cursor(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_player_info ia;
	struct world_room_info ra, rb;
	struct arena_chat_msg out[64];
	size_t n;
	uint64_t lost, head, cursor;
	char text[32];
	uint32_t a = tw_attach(t, "alice", &ia), b = tw_attach(t, "bob", NULL);

	assert_int_equal(world_chat(t->w, a, "hi", 2), -ENOENT); /* lobby */
	assert_int_equal(world_join(t->w, a, "talk", &ra), 0);
	assert_int_equal(ra.chat_head, 0);
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(world_chat(t->w, a, text, strlen(text)), 0);
	}
	assert_int_equal(world_chat(t->w, a, "", 0), -EINVAL);
	assert_int_equal(world_chat(t->w, a, "\xc0\x80", 2), -EINVAL);
	/* A joiner starts at the head: it sees only later messages. */
	assert_int_equal(world_join(t->w, b, "talk", &rb), 0);
	assert_int_equal(rb.chat_head, 10);
	assert_int_equal(world_chat_head(t->w, ra.room, &head), 0);
	assert_int_equal(head, 10);

	/* In order, from any cursor, in pieces. */
	cursor = 0;
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 4, &n, &lost), 0);
	assert_int_equal(n, 4);
	assert_int_equal(lost, 0);
	assert_int_equal(cursor, 4);
	assert_string_equal(out[0].text.s, "m0");
	assert_string_equal(out[3].text.s, "m3");
	assert_string_equal(out[0].sender.s, "alice");
	assert_string_equal(out[0].room.s, "talk");
	assert_int_equal(out[0].sender_id, ia.id);
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 64, &n, &lost), 0);
	assert_int_equal(n, 6);
	assert_string_equal(out[0].text.s, "m4");
	assert_int_equal(cursor, 10);
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 64, &n, &lost), 0);
	assert_int_equal(n, 0);

	/* 100 more: the ring keeps the last 64; a reader at 10 loses 110 - 64 - 10 = 36. */
	for (int i = 10; i < 110; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(world_chat(t->w, i % 2 ? b : a, text, strlen(text)), 0);
	}
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 64, &n, &lost), 0);
	assert_int_equal(lost, 36);
	assert_int_equal(n, 64);
	assert_int_equal(cursor, 110);
	for (int i = 0; i < 64; i++) {
		snprintf(text, sizeof(text), "m%d", 46 + i);
		assert_string_equal(out[i].text.s, text);
		assert_string_equal(out[i].sender.s, (46 + i) % 2 ? "bob" : "alice");
	}
	/* A room slot closed and reused shows none of the old messages. */
	assert_int_equal(world_leave(t->w, a), 0);
	assert_int_equal(world_leave(t->w, b), 0);
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 64, &n, &lost), -ENOENT);
	assert_int_equal(world_join(t->w, a, "fresh", &ra), 0);
	cursor = 0;
	assert_int_equal(world_chat_read(t->w, ra.room, &cursor, out, 64, &n, &lost), 0);
	assert_int_equal(n, 0);
	tw_free(t);
}

/* ---- Resume and sweep ------------------------------------------------------------------- */

static void resume_within_and_after_grace(void **state)
{
	struct tw *t = tw_new(all_gems);
	struct world_player_info ia, again, other;
	struct world_room_info ri;
	bool scored;
	static const uint8_t zero[ARENA_TOKEN_LEN];
	uint32_t a = tw_attach(t, "comeback", &ia);

	assert_true(memcmp(ia.token, zero, sizeof(zero)) != 0);
	assert_int_equal(world_join(t->w, a, "home", &ri), 0);
	assert_int_equal(world_move(t->w, a, ri.x ? -1 : 1, 0, &scored), 0);
	assert_true(scored);
	assert_int_equal(world_move(t->w, a, 0, ri.y ? -1 : 1, &scored), 0);
	assert_true(scored);

	/* A token of an attached player does not take it over. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "comeback", ia.token, 2000, &other), 0);
	assert_int_equal(other.resume, ARENA_RESUME_EXPIRED);
	assert_int_not_equal(other.id, ia.id);
	assert_int_equal(world_player_detach(t->w, other.pidx, 2000), 0);

	assert_int_equal(world_player_detach(t->w, a, 10000), 0);
	assert_int_equal(world_player_detach(t->w, a, 10000), -ENOENT);
	/* The room stays open for it: another player joining by name gets the same room. */
	uint32_t b = tw_attach(t, "keeper", NULL);
	struct world_room_info rb;
	assert_int_equal(world_join(t->w, b, "", &rb), 0); /* matchmaking: "home" is private */
	assert_int_not_equal(rb.room, ri.room);
	assert_int_equal(world_leave(t->w, b), 0);

	/* Wrong name with the right token: a fresh player. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "impostor", ia.token, 11000, &other), 0);
	assert_int_equal(other.resume, ARENA_RESUME_EXPIRED);
	assert_int_equal(world_player_detach(t->w, other.pidx, 11000), 0);

	/* Within the grace: same id, score and room. */
	assert_int_equal(world_player_attach(t->w, 3, 9, "comeback", ia.token, 39999, &again), 0);
	assert_int_equal(again.resume, ARENA_RESUME_OK);
	assert_int_equal(again.id, ia.id);
	assert_int_equal(again.pidx, ia.pidx);
	assert_int_equal(again.score, 2);
	assert_int_equal(again.room, ri.room);
	struct world_room_info back;
	assert_int_equal(world_player_room(t->w, a, &back), 0);
	assert_string_equal(back.name, "home");
	struct world_room_view v;
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.players[tw_find(&v, ia.id)].score, 2);

	/* After the grace: a fresh player, and the room is gone once the record is collected. */
	assert_int_equal(world_player_detach(t->w, a, 50000), 0);
	assert_int_equal(world_player_attach(t->w, 0, 1, "comeback", ia.token, 80001, &again), 0);
	assert_int_equal(again.resume, ARENA_RESUME_EXPIRED);
	assert_int_not_equal(again.id, ia.id);
	assert_int_equal(again.score, 0);
	assert_int_equal(again.room, WORLD_NO_ROOM);
	assert_int_equal(world_room_view(t->w, ri.room, &v), -ENOENT);
	/* A made-up token: expired, fresh. */
	uint8_t fake[ARENA_TOKEN_LEN];
	memset(fake, 0x5a, sizeof(fake));
	assert_int_equal(world_player_attach(t->w, 0, 1, "x", fake, 80001, &other), 0);
	assert_int_equal(other.resume, ARENA_RESUME_EXPIRED);
	/* The best score survives in the table. */
	struct arena_leaderboard lb;
	assert_int_equal(world_leaderboard(t->w, 10, &lb), 0);
	assert_int_equal(lb.n, 1);
	assert_int_equal(lb.entries[0].score, 2);
	tw_free(t);
}

static void no_grace(struct arena_config *cfg)
{
	cfg->resume_grace_ms = 0;
}

static void zero_grace_frees_at_once(void **state)
{
	struct tw *t = tw_new(no_grace);
	struct world_player_info ia, again;
	struct world_room_info ri;
	struct world_room_view v;
	uint32_t a = tw_attach(t, "brief", &ia);

	assert_int_equal(world_join(t->w, a, "gone", &ri), 0);
	assert_int_equal(world_player_detach(t->w, a, 5000), 0);
	assert_int_equal(world_room_view(t->w, ri.room, &v), -ENOENT);
	assert_int_equal(world_player_attach(t->w, 0, 1, "brief", ia.token, 5001, &again), 0);
	assert_int_equal(again.resume, ARENA_RESUME_EXPIRED);

	/* A reloaded grace applies to players detached afterwards. */
	world_set_resume_grace(t->w, 5000);
	uint32_t b = tw_attach(t, "later", &ia);
	assert_int_equal(world_player_detach(t->w, b, 10000), 0);
	assert_int_equal(world_player_attach(t->w, 0, 1, "later", ia.token, 14999, &again), 0);
	assert_int_equal(again.resume, ARENA_RESUME_OK);
	assert_int_equal(world_player_detach(t->w, b, 20000), 0);
	assert_int_equal(world_player_attach(t->w, 0, 1, "later", ia.token, 25000, &again), 0);
	assert_int_equal(again.resume, ARENA_RESUME_EXPIRED);
	tw_free(t);
}

static void player_table_full(struct arena_config *cfg)
{
	cfg->max_players = 3;
}

static void server_full(void **state)
{
	struct tw *t = tw_new(player_table_full);
	struct world_player_info info, gone, more;
	uint32_t p[3];

	for (int i = 0; i < 3; i++)
		p[i] = tw_attach(t, "same-name", i == 1 ? &gone : NULL);
	assert_int_equal(world_player_attach(t->w, 0, 1, "more", NULL, 1000, &info), -ENOSPC);
	assert_int_equal(world_player_attach(t->w, 0, 1, "", NULL, 1000, &info), -EINVAL);

	/* A detached player makes room; then every entry is attached again: full. */
	assert_int_equal(world_player_detach(t->w, p[1], 1000), 0);
	assert_int_equal(world_player_attach(t->w, 0, 1, "more", NULL, 1100, &more), 0);
	assert_int_equal(more.pidx, p[1]);
	assert_int_equal(world_player_attach(t->w, 0, 1, "more2", NULL, 1200, &info), -ENOSPC);
	/* The evicted player's token cannot resume it, and a fresh player finds no room either. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "same-name", gone.token, 1200, &info),
	                 -ENOSPC);
	assert_int_equal(world_check(t->w), 0);
	tw_free(t);
}

static void four_players_gems(struct arena_config *cfg)
{
	all_gems(cfg);
	cfg->max_players = 4;
}

static void full_table_evicts_earliest_deadline(void **state)
{
	struct tw *t = tw_new(four_players_gems);
	struct world_player_info a, b, c, d, info;
	struct world_room_info ri;
	struct world_room_view v;
	struct arena_leaderboard lb;
	bool scored;

	tw_attach(t, "ay", &a);
	tw_attach(t, "bee", &b);
	tw_attach(t, "cee", &c);
	tw_attach(t, "dee", &d);
	assert_int_equal(world_join(t->w, b.pidx, "keep", &ri), 0);
	assert_int_equal(world_move(t->w, b.pidx, ri.x ? -1 : 1, 0, &scored), 0);
	assert_true(scored);

	/* Deadlines: a 31000, c 32000 (grace 30 s); b 8000, d 9000 (grace reloaded to 5 s). So b
	 * expires first though it was neither the first to go nor the lowest entry. */
	assert_int_equal(world_player_detach(t->w, a.pidx, 1000), 0);
	assert_int_equal(world_player_detach(t->w, c.pidx, 2000), 0);
	world_set_resume_grace(t->w, 5000);
	assert_int_equal(world_player_detach(t->w, b.pidx, 3000), 0);
	assert_int_equal(world_player_detach(t->w, d.pidx, 4000), 0);
	/* b's room stays open for its resume. */
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 0);
	assert_int_equal(world_check(t->w), 0);

	/* The table is full of detached players: a new one takes b's entry. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "newbie", NULL, 5000, &info), 0);
	assert_int_equal(info.resume, ARENA_RESUME_NONE);
	assert_int_equal(info.pidx, b.pidx);
	assert_int_not_equal(info.id, b.id);
	assert_int_equal(info.score, 0);
	/* The room b reserved closed with it; b's best score stays in the score table. */
	assert_int_equal(world_room_view(t->w, ri.room, &v), -ENOENT);
	assert_int_equal(world_leaderboard(t->w, 10, &lb), 0);
	assert_int_equal(lb.n, 1);
	assert_int_equal(lb.entries[0].name.len, 3);
	assert_memory_equal(lb.entries[0].name.s, "bee", 3);
	assert_int_equal(lb.entries[0].score, 1);
	assert_int_equal(world_check(t->w), 0);

	/* b's token, well within its grace, no longer resumes it: a fresh player, made by
	 * evicting the next deadline (d). */
	assert_int_equal(world_player_attach(t->w, 0, 1, "bee", b.token, 5000, &info), 0);
	assert_int_equal(info.resume, ARENA_RESUME_EXPIRED);
	assert_int_not_equal(info.id, b.id);
	assert_int_equal(info.score, 0);
	assert_int_equal(info.room, WORLD_NO_ROOM);
	assert_int_equal(info.pidx, d.pidx);
	/* Then a (31000) before c (32000). */
	assert_int_equal(world_player_attach(t->w, 0, 1, "dee", d.token, 5000, &info), 0);
	assert_int_equal(info.resume, ARENA_RESUME_EXPIRED);
	assert_int_equal(info.pidx, a.pidx);
	/* c was not evicted: it resumes. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "cee", c.token, 5000, &info), 0);
	assert_int_equal(info.resume, ARENA_RESUME_OK);
	assert_int_equal(info.id, c.id);
	/* Every entry is attached to a live connection now. */
	assert_int_equal(world_player_attach(t->w, 0, 1, "late", NULL, 5000, &info), -ENOSPC);
	assert_int_equal(world_player_attach(t->w, 0, 1, "ay", a.token, 5000, &info), -ENOSPC);
	tw_free(t);
}

#define HEAP_N 64

static void sixty_four_players(struct arena_config *cfg)
{
	cfg->max_players = HEAP_N;
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Many detaches with scattered deadlines, resumes out of the middle, re-detaches, a GC: the
 * GC frees exactly the expired players, and evictions then go in deadline order. */
static void evictions_follow_deadlines(void **state)
{
	struct tw *t = tw_new(sixty_four_players);
	struct world_player_info pl[HEAP_N], info;
	uint64_t deadline[HEAP_N];
	bool detached[HEAP_N];
	uint32_t seed = 7;

	for (int i = 0; i < HEAP_N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		tw_attach(t, name, &pl[i]);
		assert_int_equal(pl[i].pidx, (uint32_t)i);
	}
	/* Detach all in a scrambled order with random graces (several equal deadlines). */
	for (int k = 0; k < HEAP_N; k++) {
		uint32_t i = (uint32_t)(k * 37) % HEAP_N, grace = 1000 + lcg(&seed) % 40 * 1000;
		uint64_t now = 2000 + (uint64_t)(lcg(&seed) % 4) * 1000;
		world_set_resume_grace(t->w, grace);
		assert_int_equal(world_player_detach(t->w, i, now), 0);
		deadline[i] = now + grace;
		detached[i] = true;
	}
	assert_int_equal(world_check(t->w), 0);
	/* Resume every third from the middle of the heap; detach half of those again. */
	for (int i = 0; i < HEAP_N; i += 3) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(world_player_attach(t->w, 0, 1, name, pl[i].token, 2500, &info),
		                 0);
		assert_int_equal(info.resume, ARENA_RESUME_OK);
		detached[i] = false;
		if (i % 2 == 0) {
			uint32_t grace = 1000 + lcg(&seed) % 40 * 1000;
			world_set_resume_grace(t->w, grace);
			assert_int_equal(world_player_detach(t->w, (uint32_t)i, 2600), 0);
			deadline[i] = 2600 + grace;
			detached[i] = true;
		}
	}
	assert_int_equal(world_check(t->w), 0);

	/* The GC at 20000 frees exactly the detached players whose deadline has passed. */
	unsigned expired = 0, left = 0;
	for (int i = 0; i < HEAP_N; i++) {
		expired += detached[i] && deadline[i] <= 20000;
		left += detached[i] && deadline[i] > 20000;
	}
	assert_true(expired > 0 && left > 0);
	assert_int_equal(world_sweep(t->w, NULL, 20000), 0);
	for (unsigned k = 0; k < expired; k++) {
		assert_int_equal(world_player_attach(t->w, 0, 1, "fresh", NULL, 20000, &info), 0);
		assert_true(detached[info.pidx] && deadline[info.pidx] <= 20000);
		detached[info.pidx] = false;
	}
	assert_int_equal(world_check(t->w), 0);

	/* The table is full: each new player evicts the earliest deadline (ties: lowest entry). */
	for (unsigned k = 0; k < left; k++) {
		int want = -1;
		for (int i = 0; i < HEAP_N; i++)
			if (detached[i] && (want < 0 || deadline[i] < deadline[want]))
				want = i;
		assert_int_equal(world_player_attach(t->w, 0, 1, "fresh", NULL, 20000, &info), 0);
		assert_int_equal(info.pidx, (uint32_t)want);
		detached[want] = false;
	}
	assert_int_equal(world_player_attach(t->w, 0, 1, "fresh", NULL, 20000, &info), -ENOSPC);
	tw_free(t);
}

static void sweep_detaches_dead_owners(void **state)
{
	struct tw *t = tw_new(NULL);
	struct shm_header *hdr = calloc(1, sizeof(*hdr));
	struct world_player_info p1, p2, p3;
	struct world_room_info ri;
	struct world_room_view v;

	assert_non_null(hdr);
	atomic_store(&hdr->slots[1].state, WORKER_READY);
	atomic_store(&hdr->slots[1].gen, 5);
	atomic_store(&hdr->slots[2].state, WORKER_READY);
	atomic_store(&hdr->slots[2].gen, 7);
	assert_int_equal(world_player_attach(t->w, 1, 5, "doomed", NULL, 1000, &p1), 0);
	assert_int_equal(world_player_attach(t->w, 1, 5, "doomed2", NULL, 1000, &p2), 0);
	assert_int_equal(world_player_attach(t->w, 2, 7, "survivor", NULL, 1000, &p3), 0);
	assert_int_equal(world_join(t->w, p1.pidx, "mixed", &ri), 0);
	assert_int_equal(world_join(t->w, p2.pidx, "mixed", &ri), 0);
	assert_int_equal(world_join(t->w, p3.pidx, "mixed", &ri), 0);

	/* Nothing changed: nothing happens. */
	assert_int_equal(world_sweep(t->w, hdr, 1100), 0);
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 3);

	/* Slot 1 dies. */
	atomic_store(&hdr->slots[1].state, WORKER_DEAD);
	atomic_fetch_add(&hdr->deaths, 1);
	assert_int_equal(world_sweep(t->w, hdr, 1200), 0);
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 1);
	assert_int_equal(v.players[0].id, p3.id);
	assert_int_equal(world_check(t->w), 0);

	/* A refilled slot (new gen) does not bring them back, but their tokens do. */
	atomic_store(&hdr->slots[1].gen, 6);
	atomic_store(&hdr->slots[1].state, WORKER_READY);
	struct world_player_info back;
	assert_int_equal(world_player_attach(t->w, 1, 6, "doomed", p1.token, 2000, &back), 0);
	assert_int_equal(back.resume, ARENA_RESUME_OK);
	assert_int_equal(back.id, p1.id);
	assert_int_equal(back.room, ri.room);

	/* The other one expires and is collected by the once-a-second GC. */
	assert_int_equal(world_sweep(t->w, hdr, 1200 + t->cfg.resume_grace_ms + 5000), 0);
	struct world_player_info late;
	assert_int_equal(world_player_attach(t->w, 1, 6, "doomed2", p2.token, 1200 + 60000, &late),
	                 0);
	assert_int_equal(late.resume, ARENA_RESUME_EXPIRED);
	free(hdr);
	tw_free(t);
}

/* ---- Scores ----------------------------------------------------------------------------- */

static void scores_export_import_roundtrip(void **state)
{
	struct tw *t = tw_new(NULL);
	size_t cap = world_scores_capacity(t->w), n;
	struct world_score *in = calloc(cap + 10, sizeof(*in));
	struct world_score *out = calloc(cap + 10, sizeof(*out));
	struct arena_leaderboard lb;

	assert_int_equal(cap, 1024);
	assert_non_null(in);
	assert_non_null(out);
	/* 1024 names scored 1..1024, plus junk that must be dropped, plus a duplicate. */
	for (size_t i = 0; i < cap; i++) {
		snprintf(in[i].name, sizeof(in[i].name), "p%04zu", i + 1);
		in[i].score = (uint32_t)(i + 1);
	}
	snprintf(in[cap].name, sizeof(in[cap].name), "zero");
	in[cap].score = 0;
	snprintf(in[cap + 1].name, sizeof(in[cap + 1].name), "\xff\xfe");
	in[cap + 1].score = 5;
	snprintf(in[cap + 2].name, sizeof(in[cap + 2].name), "p0500");
	in[cap + 2].score = 7;
	assert_int_equal(world_scores_import(t->w, in, cap + 3), 0);
	assert_int_equal(world_scores_export(t->w, out, cap + 10, &n), 0);
	assert_int_equal(n, cap);
	unsigned long sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += out[i].score;
	assert_int_equal(sum, (unsigned long)cap * (cap + 1) / 2);

	/* Best first, ties by name. */
	assert_int_equal(world_leaderboard(t->w, 100, &lb), 0);
	assert_int_equal(lb.n, 100);
	assert_string_equal(lb.entries[0].name.s, "p1024");
	assert_int_equal(lb.entries[99].score, 925);
	assert_int_equal(world_leaderboard(t->w, 1000, &lb), 0);
	assert_int_equal(lb.n, 100);
	assert_int_equal(world_leaderboard(t->w, 3, &lb), 0);
	assert_int_equal(lb.n, 3);
	assert_int_equal(lb.entries[2].score, 1022);

	/* Export into a smaller buffer: truncated, no overflow. */
	assert_int_equal(world_scores_export(t->w, out, 5, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(world_check(t->w), 0);

	/* Round trip into a second world. */
	assert_int_equal(world_scores_export(t->w, out, cap, &n), 0);
	struct tw *t2 = tw_new(NULL);
	assert_int_equal(world_scores_import(t2->w, out, n), 0);
	struct world_score *again = calloc(cap, sizeof(*again));
	size_t n2;
	assert_int_equal(world_scores_export(t2->w, again, cap, &n2), 0);
	assert_int_equal(n2, n);
	struct arena_leaderboard lb2;
	memset(&lb, 0, sizeof(lb));
	memset(&lb2, 0, sizeof(lb2));
	assert_int_equal(world_leaderboard(t->w, 100, &lb), 0);
	assert_int_equal(world_leaderboard(t2->w, 100, &lb2), 0);
	assert_memory_equal(&lb, &lb2, sizeof(lb));
	free(again);
	tw_free(t2);
	free(in);
	free(out);
	tw_free(t);
}

static void leaderboard_eviction(void **state)
{
	struct tw *t = tw_new(all_gems);
	size_t cap = world_scores_capacity(t->w), n;
	struct world_score *in = calloc(cap, sizeof(*in));
	struct world_score *out = calloc(cap, sizeof(*out));
	struct world_player_info ia;
	struct world_room_info ri;
	struct arena_leaderboard lb;
	bool scored;

	/* A full table whose lowest entries score 5 (p0001..p0005 all 5, tie broken by name). */
	for (size_t i = 0; i < cap; i++) {
		snprintf(in[i].name, sizeof(in[i].name), "p%04zu", i + 1);
		in[i].score = i < 5 ? 5 : (uint32_t)(i + 1);
	}
	assert_int_equal(world_scores_import(t->w, in, cap), 0);
	uint32_t a = tw_attach(t, "newcomer", &ia);
	assert_int_equal(world_join(t->w, a, "", &ri), 0);
	/* Every step in the 3x3 all-gem room scores. Five points: not higher than 5, no entry. */
	int dx = 1;
	for (int k = 0; k < 6; k++) {
		struct world_room_view v;
		assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
		int x = v.players[tw_find(&v, ia.id)].x;
		if (x + dx > 2 || x + dx < 0)
			dx = -dx;
		assert_int_equal(world_move(t->w, a, dx, 0, &scored), 0);
		assert_true(scored);
		assert_int_equal(world_scores_export(t->w, out, cap, &n), 0);
		bool found = false, lowest_gone = true;
		for (size_t i = 0; i < n; i++) {
			found = found || !strcmp(out[i].name, "newcomer");
			lowest_gone = lowest_gone && strcmp(out[i].name, "p0005") != 0;
		}
		assert_int_equal(n, cap);
		/* At 6 points it evicts the lowest: among the 5s, the last by name. */
		assert_int_equal(found, k == 5);
		assert_int_equal(lowest_gone, k == 5);
	}
	assert_int_equal(world_leaderboard(t->w, 2, &lb), 0);
	assert_string_equal(lb.entries[0].name.s, "p1024");
	free(in);
	free(out);
	tw_free(t);
}

static void leaderboard_best_by_name(void **state)
{
	struct tw *t = tw_new(all_gems);
	struct world_player_info ia, ib;
	struct world_room_info ri;
	struct arena_leaderboard lb;
	bool scored;

	/* Two players of one name in turn: the table keeps the best; a fresh one starts at 0. */
	uint32_t a = tw_attach(t, "twin", &ia);
	assert_int_equal(world_join(t->w, a, "one", &ri), 0);
	for (int k = 0; k < 3; k++) {
		int dx = ri.x == 0 ? 1 : -1;
		assert_int_equal(world_move(t->w, a, k % 2 ? -dx : dx, 0, &scored), 0);
		assert_true(scored);
	}
	assert_int_equal(world_player_detach(t->w, a, 2000), 0);
	uint32_t b = tw_attach(t, "twin", &ib);
	assert_int_equal(ib.score, 0);
	assert_int_equal(world_join(t->w, b, "two", &ri), 0);
	int dx = ri.x == 0 ? 1 : -1;
	assert_int_equal(world_move(t->w, b, dx, 0, &scored), 0);
	assert_int_equal(world_leaderboard(t->w, 10, &lb), 0);
	assert_int_equal(lb.n, 1);
	assert_int_equal(lb.entries[0].score, 3);
	tw_free(t);
}

static void sizes_are_clamped(void **state)
{
	struct arena_config cfg;

	arena_config_defaults(&cfg);
	cfg.max_players = 0;
	assert_int_equal(world_size(&cfg), 0);
	arena_config_defaults(&cfg);
	assert_true(world_size(&cfg) > 0);
	assert_int_equal(world_size(NULL), 0);
	assert_int_equal(world_init(NULL, 100, &cfg, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(matchmaking_fills_fullest_first),
	    cmocka_unit_test(capacity_and_max_rooms),
	    cmocka_unit_test(moves_inside_outside_occupied),
	    cmocka_unit_test(gems_score_and_respawn),
	    cmocka_unit_test(racing_joins_respect_capacity),
	    cmocka_unit_test(racing_moves_score_once_per_gem),
	    cmocka_unit_test(chat_ring_order_overwrite_cursor),
	    cmocka_unit_test(resume_within_and_after_grace),
	    cmocka_unit_test(zero_grace_frees_at_once),
	    cmocka_unit_test(server_full),
	    cmocka_unit_test(full_table_evicts_earliest_deadline),
	    cmocka_unit_test(evictions_follow_deadlines),
	    cmocka_unit_test(sweep_detaches_dead_owners),
	    cmocka_unit_test(scores_export_import_roundtrip),
	    cmocka_unit_test(leaderboard_eviction),
	    cmocka_unit_test(leaderboard_best_by_name),
	    cmocka_unit_test(sizes_are_clamped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
