/* test-world-peek.c: unit tests of world_room_peek, the lock-free look at a room's counters.
 *
 * The tick skips a room when world_room_peek shows the version and chat head its recipients
 * already have, so the peek must agree with world_room_view after every kind of change (join,
 * move, score, chat, leave, close), refuse bad and closed rooms like the view does, and, read
 * while another thread changes the room, never go backwards.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test-world.h"

/* Peek and view must agree (nobody else touches the room). */
static void peek_matches_view(struct tw *t, uint32_t room, uint64_t *ret_version,
                              uint64_t *ret_chat)
{
	struct world_room_view v;
	uint64_t version = 0, chat = 0;

	assert_int_equal(world_room_peek(t->w, room, &version, &chat), 0);
	assert_int_equal(world_room_view(t->w, room, &v), 0);
	assert_true(version == v.version);
	assert_true(chat == v.chat_seq);
	*ret_version = version;
	*ret_chat = chat;
}

/* A move of pidx that lands on a free cell inside the grid (the room has no other player). */
static void move_inside(struct tw *t, uint32_t pidx, uint32_t room, uint32_t id)
{
	struct world_room_view v;
	bool scored;

	assert_int_equal(world_room_view(t->w, room, &v), 0);
	int i = tw_find(&v, id);
	assert_true(i >= 0);
	int dx = v.players[i].x == 0 ? 1 : -1;
	assert_int_equal(world_move(t->w, pidx, dx, 0, &scored), 0);
}

static void peek_follows_every_change(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_player_info ia, ib;
	struct world_room_info ra, rb;
	uint64_t v0, c0, v1, c1;
	bool scored;
	uint32_t a = tw_attach(t, "a", &ia), b = tw_attach(t, "b", &ib);

	assert_int_equal(world_join(t->w, a, "peek", &ra), 0);
	peek_matches_view(t, ra.room, &v0, &c0);
	assert_true(c0 == ra.chat_head);

	/* A move changes the version, not the chat head. */
	move_inside(t, a, ra.room, ia.id);
	peek_matches_view(t, ra.room, &v1, &c1);
	assert_true(v1 > v0);
	assert_true(c1 == c0);

	/* A move off the grid is ignored: nothing moves. Walk to the left edge first. */
	struct world_room_view v;
	for (uint32_t step = 0; step <= t->cfg.room_width; step++) {
		assert_int_equal(world_room_view(t->w, ra.room, &v), 0);
		if (v.players[tw_find(&v, ia.id)].x == 0)
			break;
		assert_int_equal(world_move(t->w, a, -1, 0, &scored), 0);
	}
	assert_int_equal(v.players[tw_find(&v, ia.id)].x, 0);
	peek_matches_view(t, ra.room, &v1, &c1);
	assert_int_equal(world_move(t->w, a, -1, 0, &scored), 0);
	peek_matches_view(t, ra.room, &v0, &c0);
	assert_true(v0 == v1);
	assert_true(c0 == c1);

	/* A join changes the version. */
	peek_matches_view(t, ra.room, &v0, &c0);
	assert_int_equal(world_join(t->w, b, "peek", &rb), 0);
	assert_int_equal(rb.room, ra.room);
	peek_matches_view(t, ra.room, &v1, &c1);
	assert_true(v1 > v0);
	assert_true(c1 == c0);

	/* A chat moves the chat head by one, not the version. */
	assert_int_equal(world_chat(t->w, b, "hello", 5), 0);
	peek_matches_view(t, ra.room, &v0, &c0);
	assert_true(v0 == v1);
	assert_true(c0 == c1 + 1);
	assert_int_equal(world_chat(t->w, a, "again", 5), 0);
	peek_matches_view(t, ra.room, &v1, &c1);
	assert_true(c1 == c0 + 1);

	/* A leave changes the version; the last one closes the room. */
	assert_int_equal(world_leave(t->w, b), 0);
	peek_matches_view(t, ra.room, &v0, &c0);
	assert_true(v0 > v1);
	assert_int_equal(world_leave(t->w, a), 0);
	uint64_t keep_v = 77, keep_c = 88;
	assert_int_equal(world_room_peek(t->w, ra.room, &keep_v, &keep_c), -ENOENT);
	assert_true(keep_v == 77 && keep_c == 88); /* untouched on failure */

	/* The slot reopened for another room: counters only grew. */
	assert_int_equal(world_join(t->w, a, "again", &ra), 0);
	peek_matches_view(t, ra.room, &v1, &c1);
	assert_true(v1 > v0);
	assert_true(c1 >= c0);
	tw_free(t);
}

static void peek_refuses_bad_and_closed_rooms(void **state)
{
	struct tw *t = tw_new(NULL);
	uint64_t version = 5, chat = 6;

	/* Rooms never opened. */
	for (uint32_t r = 0; r < t->cfg.max_rooms; r++)
		assert_int_equal(world_room_peek(t->w, r, &version, &chat), -ENOENT);
	/* Indices outside the world. */
	assert_int_equal(world_room_peek(t->w, t->cfg.max_rooms, &version, &chat), -EINVAL);
	assert_int_equal(world_room_peek(t->w, WORLD_NO_ROOM, &version, &chat), -EINVAL);
	assert_true(version == 5 && chat == 6);
	/* Missing arguments. */
	uint32_t a = tw_attach(t, "a", NULL);
	struct world_room_info ri;
	assert_int_equal(world_join(t->w, a, "r", &ri), 0);
	assert_int_equal(world_room_peek(NULL, ri.room, &version, &chat), -EINVAL);
	assert_int_equal(world_room_peek(t->w, ri.room, NULL, &chat), -EINVAL);
	assert_int_equal(world_room_peek(t->w, ri.room, &version, NULL), -EINVAL);
	assert_int_equal(world_room_peek(t->w, ri.room, &version, &chat), 0);
	assert_int_equal(world_leave(t->w, a), 0);
	tw_free(t);
}

#define RACE_MOVES 3000
#define RACE_CHATS 200

struct racer {
	struct tw *t;
	uint32_t pidx;
	atomic_int done;
	int failures;
};

static void *race_writer(void *arg)
{
	struct racer *r = arg;
	bool scored;

	for (int i = 0; i < RACE_MOVES; i++) {
		if (world_move(r->t->w, r->pidx, (i / 8) % 2 ? -1 : 1, 0, &scored) < 0)
			r->failures++;
		if (i % (RACE_MOVES / RACE_CHATS) == 0 && world_chat(r->t->w, r->pidx, "x", 1) < 0)
			r->failures++;
	}
	atomic_store(&r->done, 1);
	return NULL;
}

/* While another thread moves and chats, the peeked counters never go backwards, and once it
 * stopped they are the view's. */
static void peek_is_monotonic_under_writers(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_room_info ri;
	struct racer r = {.t = t};
	pthread_t th;
	uint64_t last_v = 0, last_c = 0, v, c;
	unsigned long peeks = 0;

	r.pidx = tw_attach(t, "w", NULL);
	assert_int_equal(world_join(t->w, r.pidx, "race", &ri), 0);
	assert_int_equal(pthread_create(&th, NULL, race_writer, &r), 0);
	while (!atomic_load(&r.done) && peeks < 100000000ul) {
		assert_int_equal(world_room_peek(t->w, ri.room, &v, &c), 0);
		assert_true(v >= last_v);
		assert_true(c >= last_c);
		last_v = v;
		last_c = c;
		peeks++;
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(r.failures, 0);
	peek_matches_view(t, ri.room, &v, &c);
	assert_true(v >= last_v);
	assert_true(c == RACE_CHATS);
	assert_int_equal(world_leave(t->w, r.pidx), 0);
	tw_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(peek_follows_every_change),
	    cmocka_unit_test(peek_refuses_bad_and_closed_rooms),
	    cmocka_unit_test(peek_is_monotonic_under_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
