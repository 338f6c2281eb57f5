/* test-census.c: the operator's view of the world: room and player listings, server notices.
 *
 * Three players in two rooms (and one in the lobby): the room listing counts members, the
 * player listing returns everyone or one room's players with their room names and scores,
 * an unknown room is -ENOENT, a callback's error stops the listing and comes back. A notice
 * into every room, or into one, is read back from the chat rings as sender 0 "server", and bad
 * notice texts are refused without touching any ring.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test-world.h"

struct rows {
	unsigned n;
	struct world_room_row room[8];
	struct world_player_row player[8];
	int fail_at; /* return -EIO at this row (1-based), 0 never */
};

static int on_room(const struct world_room_row *r, void *arg)
{
	struct rows *o = arg;

	if (o->n < 8)
		o->room[o->n] = *r;
	return ++o->n == (unsigned)o->fail_at ? -EIO : 0;
}

static int on_player(const struct world_player_row *p, void *arg)
{
	struct rows *o = arg;

	if (o->n < 8)
		o->player[o->n] = *p;
	return ++o->n == (unsigned)o->fail_at ? -EIO : 0;
}

static struct tw *populated(uint32_t ids[4])
{
	struct tw *t = tw_new(NULL);
	struct world_player_info info;
	struct world_room_info ri;
	const char *names[4] = {"ann", "bob", "cy", "dee"};
	const char *rooms[4] = {"r1", "r1", "r2", NULL};

	for (int i = 0; i < 4; i++) {
		uint32_t p = tw_attach(t, names[i], &info);

		ids[i] = info.id;
		if (rooms[i])
			assert_int_equal(world_join(t->w, p, rooms[i], &ri), 0);
	}
	return t;
}

static void rooms_and_players(void **state)
{
	uint32_t ids[4];
	struct tw *t = populated(ids);
	struct rows o = {0};

	(void)state;
	assert_int_equal(world_list_rooms(t->w, on_room, &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.room[0].name, "r1");
	assert_int_equal(o.room[0].members, 2);
	assert_string_equal(o.room[1].name, "r2");
	assert_int_equal(o.room[1].members, 1);
	assert_false(o.room[0].is_public);

	memset(&o, 0, sizeof(o));
	assert_int_equal(world_list_players(t->w, NULL, on_player, &o), 0);
	assert_int_equal(o.n, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(o.player[i].id, ids[i]);
		assert_true(o.player[i].attached);
		assert_int_equal(o.player[i].score, 0);
	}
	assert_string_equal(o.player[0].room_name, "r1");
	assert_string_equal(o.player[2].room_name, "r2");
	assert_int_equal(o.player[3].room, WORLD_NO_ROOM);

	memset(&o, 0, sizeof(o));
	assert_int_equal(world_list_players(t->w, "r1", on_player, &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.player[0].name, "ann");
	assert_string_equal(o.player[1].name, "bob");
	memset(&o, 0, sizeof(o));
	assert_int_equal(world_list_players(t->w, "nope", on_player, &o), -ENOENT);
	assert_int_equal(o.n, 0);

	memset(&o, 0, sizeof(o));
	o.fail_at = 2;
	assert_int_equal(world_list_players(t->w, NULL, on_player, &o), -EIO);
	assert_int_equal(o.n, 2);
	assert_int_equal(world_list_rooms(NULL, on_room, &o), -EINVAL);
	tw_free(t);
}

/* The messages in room r's ring from the start. */
static size_t ring(struct tw *t, uint32_t r, struct arena_chat_msg *out, size_t max)
{
	uint64_t cursor = 0, lost = 0;
	size_t n = 0;

	assert_int_equal(world_chat_read(t->w, r, &cursor, out, max, &n, &lost), 0);
	return n;
}

static void notices(void **state)
{
	uint32_t ids[4];
	struct tw *t = populated(ids);
	struct arena_chat_msg m[8];
	unsigned rooms = 99;

	(void)state;
	assert_int_equal(world_announce(t->w, NULL, "hello", 5, &rooms), 0);
	assert_int_equal(rooms, 2);
	assert_int_equal(world_announce(t->w, "r2", "only", 4, &rooms), 0);
	assert_int_equal(rooms, 1);
	for (uint32_t r = 0; r < 2; r++) {
		size_t n = ring(t, r, m, 8);

		assert_int_equal(n, r == 0 ? 1 : 2);
		assert_int_equal(m[0].sender_id, 0);
		assert_string_equal(m[0].sender.s, "server");
		assert_string_equal(m[0].text.s, "hello");
		if (n == 2)
			assert_string_equal(m[1].text.s, "only");
	}
	char big[ARENA_CHAT_MAX + 2];
	memset(big, 'a', sizeof(big));
	rooms = 7;
	assert_int_equal(world_announce(t->w, NULL, big, ARENA_CHAT_MAX + 1, &rooms), -EINVAL);
	assert_int_equal(world_announce(t->w, NULL, "", 0, &rooms), -EINVAL);
	assert_int_equal(world_announce(t->w, NULL, "\xff", 1, &rooms), -EINVAL);
	assert_int_equal(world_announce(t->w, NULL, "a\nb", 3, &rooms), -EINVAL);
	assert_int_equal(world_announce(t->w, "gone", "x", 1, &rooms), -ENOENT);
	assert_int_equal(rooms, 7); /* untouched on failure */
	assert_int_equal(world_announce(t->w, NULL, big, ARENA_CHAT_MAX, &rooms), 0);
	assert_int_equal(ring(t, 0, m, 8), 2);
	tw_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rooms_and_players),
	    cmocka_unit_test(notices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
