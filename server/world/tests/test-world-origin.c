/* test-world-origin.c: unit tests of max_rooms_per_ip in the world (world_join_from).
 *
 * Rooms remember the address key of the JOIN that opened them while they stay open. These tests
 * drive world.h only: an address at its limit cannot open another room (-EDQUOT) but can join
 * open ones, another address is not affected, and every way a room closes (last player leaving,
 * a detached player's grace running out, a dead worker's players swept) gives its slot back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shm.h"
#include "test-world.h"

static struct world_origin origin(uint8_t tag, unsigned max)
{
	struct world_origin o;

	memset(&o, 0, sizeof(o));
	o.addr[0] = 4;
	o.addr[4] = 127;
	o.addr[7] = tag;
	o.max_rooms = max;
	return o;
}

static void limit_reached_other_address_existing_room(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_origin a = origin(2, 3), b = origin(3, 3);
	struct world_room_info info;
	uint32_t p[6], rooms[3];

	for (int i = 0; i < 6; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p%d", i);
		p[i] = tw_attach(t, name, NULL);
	}
	/* Three rooms from a. */
	assert_int_equal(world_join_from(t->w, p[0], "r0", &a, &info), 0);
	rooms[0] = info.room;
	assert_int_equal(world_join_from(t->w, p[1], "r1", &a, &info), 0);
	rooms[1] = info.room;
	assert_int_equal(world_join_from(t->w, p[2], "r2", &a, &info), 0);
	rooms[2] = info.room;
	/* A fourth room from a: refused, whether named or matchmaking has to open one; the player
	 * stays in the lobby. */
	assert_int_equal(world_join_from(t->w, p[3], "r3", &a, &info), -EDQUOT);
	assert_int_equal(world_player_room(t->w, p[3], &info), -ENOENT);
	assert_int_equal(world_join_from(t->w, p[3], "", &a, &info), -EDQUOT);
	assert_int_equal(world_player_room(t->w, p[3], &info), -ENOENT);
	/* Joining an open room is not limited. */
	assert_int_equal(world_join_from(t->w, p[3], "r1", &a, &info), 0);
	assert_int_equal(info.room, rooms[1]);
	/* A seated player whose room stays open (p1 is still in r1) stays where it was. */
	assert_int_equal(world_join_from(t->w, p[3], "r3", &a, &info), -EDQUOT);
	assert_int_equal(world_player_room(t->w, p[3], &info), 0);
	assert_int_equal(info.room, rooms[1]);
	/* p0 is alone in r0: moving to a new room closes r0, so a stays at three. */
	assert_int_equal(world_join_from(t->w, p[0], "r3", &a, &info), 0);
	assert_int_not_equal(info.room, rooms[2]);
	assert_int_equal(world_join_from(t->w, p[3], "r4", &a, &info), -EDQUOT);
	/* Another address opens rooms of its own, named or by matchmaking. */
	assert_int_equal(world_join_from(t->w, p[4], "b0", &b, &info), 0);
	assert_int_equal(world_join_from(t->w, p[5], "", &b, &info), 0);
	assert_int_equal(strncmp(info.name, "room-", 5), 0);
	assert_int_equal(world_join_from(t->w, p[3], "b1", &b, &info), 0);
	/* b is at three now; p1, alone in a room a opened, does not free one of b's by leaving. */
	assert_int_equal(world_join_from(t->w, p[1], "b2", &b, &info), -EDQUOT);
	assert_int_equal(world_player_room(t->w, p[1], &info), 0);
	assert_int_equal(info.room, rooms[1]);
	/* Rooms opened without an origin count for nobody. */
	assert_int_equal(world_join(t->w, p[1], "free", &info), 0);
	assert_int_equal(world_join_from(t->w, p[1], "b2", &b, &info), -EDQUOT);
	assert_int_equal(world_join_from(t->w, p[2], "a5", &a, &info), 0);
	tw_free(t);
}

static void limit_of_one_moves_between_own_rooms(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_origin a = origin(2, 1);
	struct world_room_info info;
	uint32_t p = tw_attach(t, "solo", NULL), q = tw_attach(t, "guest", NULL);

	/* Alone in the only room a opened: moving to a new one closes it, so it is allowed. */
	assert_int_equal(world_join_from(t->w, p, "one", &a, &info), 0);
	assert_int_equal(world_join_from(t->w, p, "two", &a, &info), 0);
	assert_string_equal(info.name, "two");
	/* With a guest left behind, "two" stays open: no third room. */
	assert_int_equal(world_join_from(t->w, q, "two", &a, &info), 0);
	assert_int_equal(world_join_from(t->w, p, "three", &a, &info), -EDQUOT);
	assert_int_equal(world_player_room(t->w, p, &info), 0);
	assert_string_equal(info.name, "two");
	/* A bad limit is refused. */
	a.max_rooms = 0;
	assert_int_equal(world_join_from(t->w, p, "three", &a, &info), -EINVAL);
	tw_free(t);
}

static void closing_rooms_frees_slots(void **state)
{
	struct tw *t = tw_new(NULL);
	struct shm_header *hdr = calloc(1, sizeof(*hdr));
	struct world_origin a = origin(2, 2);
	struct world_player_info x, y, z;
	struct world_room_info info;

	assert_non_null(hdr);
	atomic_store(&hdr->slots[1].state, WORKER_READY);
	atomic_store(&hdr->slots[1].gen, 5);
	atomic_store(&hdr->slots[2].state, WORKER_READY);
	atomic_store(&hdr->slots[2].gen, 7);
	assert_int_equal(world_player_attach(t->w, 1, 5, "x", NULL, 1000, &x), 0);
	assert_int_equal(world_player_attach(t->w, 2, 7, "y", NULL, 1000, &y), 0);
	assert_int_equal(world_player_attach(t->w, 2, 7, "z", NULL, 1000, &z), 0);
	assert_int_equal(world_join_from(t->w, x.pidx, "rx", &a, &info), 0);
	assert_int_equal(world_join_from(t->w, y.pidx, "ry", &a, &info), 0);
	assert_int_equal(world_join_from(t->w, z.pidx, "rz", &a, &info), -EDQUOT);

	/* The last player leaving closes the room: a may open one again. */
	assert_int_equal(world_leave(t->w, y.pidx), 0);
	assert_int_equal(world_join_from(t->w, z.pidx, "rz", &a, &info), 0);
	assert_int_equal(world_join_from(t->w, y.pidx, "ry", &a, &info), -EDQUOT);

	/* A detached player keeps its room open for the grace, then its expiry closes it. */
	assert_int_equal(world_player_detach(t->w, z.pidx, 2000), 0);
	assert_int_equal(world_join_from(t->w, y.pidx, "ry", &a, &info), -EDQUOT);
	assert_int_equal(world_sweep(t->w, hdr, 2000 + t->cfg.resume_grace_ms + 5000), 0);
	assert_int_equal(world_join_from(t->w, y.pidx, "ry", &a, &info), 0);
	assert_int_equal(world_check(t->w), 0);

	/* x's worker dies: the sweep detaches x (its room stays for the grace), the GC frees it. */
	assert_int_equal(world_player_attach(t->w, 2, 7, "w", NULL, 1000, &z), 0);
	assert_int_equal(world_join_from(t->w, z.pidx, "rw", &a, &info), -EDQUOT);
	atomic_store(&hdr->slots[1].state, WORKER_DEAD);
	atomic_fetch_add(&hdr->deaths, 1);
	uint64_t now = 2000 + t->cfg.resume_grace_ms + 6000;
	assert_int_equal(world_sweep(t->w, hdr, now), 0);
	assert_int_equal(world_join_from(t->w, z.pidx, "rw", &a, &info), -EDQUOT);
	assert_int_equal(world_sweep(t->w, hdr, now + t->cfg.resume_grace_ms + 5000), 0);
	assert_int_equal(world_join_from(t->w, z.pidx, "rw", &a, &info), 0);
	free(hdr);
	tw_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(limit_reached_other_address_existing_room),
	    cmocka_unit_test(limit_of_one_moves_between_own_rooms),
	    cmocka_unit_test(closing_rooms_frees_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
