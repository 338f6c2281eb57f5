/* test-world-util.c: helpers shared by the world unit tests (a world in shared memory).
 *
 * The world lives in a MAP_SHARED anonymous mapping, as in the daemon, so that forked children
 * (the lock-recovery tests) and threads operate on the same block.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "test-world.h"

struct tw *tw_new(void (*tweak)(struct arena_config *))
{
	struct tw *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	arena_config_defaults(&t->cfg);
	t->cfg.max_players = 256;
	t->cfg.max_rooms = 16;
	if (tweak)
		tweak(&t->cfg);
	t->size = world_size(&t->cfg);
	assert_true(t->size > 0);
	void *mem = mmap(NULL, t->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	/* A short buffer is refused. */
	assert_int_equal(world_init(mem, t->size - 1, &t->cfg, 42), -EINVAL);
	assert_int_equal(world_init(mem, t->size, &t->cfg, 42), 0);
	t->w = mem;
	return t;
}

void tw_free(struct tw *t)
{
	assert_int_equal(world_check(t->w), 0);
	munmap(t->w, t->size);
	free(t);
}

uint32_t tw_attach(struct tw *t, const char *name, struct world_player_info *ret)
{
	struct world_player_info info;

	assert_int_equal(world_player_attach(t->w, 0, 1, name, NULL, 1000, &info), 0);
	assert_int_equal(info.resume, ARENA_RESUME_NONE);
	if (ret)
		*ret = info;
	return info.pidx;
}

int tw_find(const struct world_room_view *v, uint32_t id)
{
	for (int i = 0; i < v->nplayers; i++)
		if (v->players[i].id == id)
			return i;
	return -1;
}
