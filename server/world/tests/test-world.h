/* test-world.h: helpers shared by the world unit tests.
 *
 * A struct tw is one world in a MAP_SHARED anonymous mapping, made from the default
 * configuration with a small player table and room count, adjusted by an optional tweak.
 */
#ifndef ARENA_TEST_WORLD_H
#define ARENA_TEST_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "arena_config.h"
#include "world.h"

struct tw {
	struct arena_config cfg;
	struct world *w;
	size_t size;
};

/* A fresh world (asserts on failure). */
struct tw *tw_new(void (*tweak)(struct arena_config *));

/* world_check() must pass; then unmap. */
void tw_free(struct tw *t);

/* A fresh player (slot 0, gen 1) named name; its pidx. */
uint32_t tw_attach(struct tw *t, const char *name, struct world_player_info *ret);

/* Index of player id in a view, or -1. */
int tw_find(const struct world_room_view *v, uint32_t id);

#endif /* ARENA_TEST_WORLD_H */
