/* repair.c: the world lock: taking it, repairing what it guards after a dead owner, checking it.
 *
 * world_lock_world() lives here, beside its repair function, so that nothing below the top of
 * the world (room.c, scores.c, directory.c, expiry.c) ever takes the world lock: they run with
 * it held by their caller. This file calls those; only world.c calls this one.
 *
 * A world repair runs with the world lock held, when the previous owner died inside its
 * section. The player table is the authority: the free list, the expiry heap of detached
 * players, the counters and the directory's member and resumable counts are rebuilt from it; then
 * every room's seats are reconciled with the players that say they sit there (taking each room lock
 * in turn, which repairs the room itself first if needed, room.c), rooms left empty are closed, and
 * the score table is repaired (scores.c). world_check() verifies every invariant the repairs
 * restore, for tests and self-checks; it takes the locks like any other user, so it repairs first
 * if it must.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "world-impl.h"

/* ---- The world lock --------------------------------------------------------------------- */

int world_lock_world(struct world *w)
{
	bool repaired = false;
	int r = arena_lock_acquire(&w->lock, world_repair, w, &repaired);

	if (r == 0 && repaired)
		world_count_repair(w);
	return r;
}

void world_unlock_world(struct world *w)
{
	arena_lock_release(&w->lock);
}

/* ---- World repair ----------------------------------------------------------------------- */

/* Make each open room's seats match the players that say they sit there. */
static void reconcile_room(struct world *w, uint32_t r)
{
	struct wroom_dir *d = wdir(w, r);

	if (world_lock_room(w, r) < 0) {
		/* An unrecoverable room lock: nobody can play there; send its players away. */
		for (uint32_t i = 0; i < w->max_players; i++) {
			struct wplayer *p = wplayer(w, i);
			if (p->state != WP_FREE && wplayer_room(p) == r)
				wplayer_set_room(p, WORLD_NONE);
		}
		d->state = WR_FREE;
		return;
	}
	struct wroom *rm = wroom(w, r);
	if (d->state != WR_OPEN) {
		if (rm->open)
			room_close_locked(w, r);
		world_unlock_room(w, r);
		return;
	}
	if (!rm->open)
		room_open_locked(w, r, d->name, d->name_len);
	if (rm->name_len != d->name_len || memcmp(rm->name, d->name, d->name_len)) {
		rm->name_len = d->name_len;
		memcpy(rm->name, d->name, d->name_len + 1);
	}
	for (uint32_t i = 0; i < rm->nseats;) {
		uint32_t pi = rm->seats[i].pidx, score;
		struct wplayer *p = pi < w->max_players ? wplayer(w, pi) : NULL;
		if (p && p->state == WP_ATTACHED && wplayer_room(p) == r &&
		    p->id == rm->seats[i].id) {
			i++;
			continue;
		}
		if (room_unseat_locked(w, r, pi, &score) < 0)
			break; /* cannot happen: pi was found at seat i */
	}
	world_unlock_room(w, r);
}

static void repair_players(struct world *w)
{
	w->free_head = WORLD_NONE;
	w->nattached = 0;
	w->ndetached = 0;
	for (uint32_t i = w->max_players; i-- > 0;) {
		struct wplayer *p = wplayer(w, i);
		uint32_t r = wplayer_room(p);

		if (p->state != WP_ATTACHED && p->state != WP_DETACHED)
			p->state = WP_FREE;
		if (p->state != WP_FREE && (p->name_len > ARENA_NAME_MAX ||
		                            !world_str_valid(p->name, p->name_len, ARENA_NAME_MAX)))
			p->state = WP_FREE;
		if (p->room_name_len > ARENA_ROOM_MAX)
			p->room_name_len = 0;
		p->room_name[p->room_name_len] = '\0';
		if (p->state == WP_FREE || r >= w->max_rooms || wdir(w, r)->state != WR_OPEN)
			wplayer_set_room(p, WORLD_NONE);
		if (p->state == WP_FREE) {
			p->next_free = w->free_head;
			w->free_head = i;
		} else if (p->state == WP_ATTACHED) {
			w->nattached++;
		} else {
			w->ndetached++;
		}
	}
	expiry_rebuild(w);
}

static void repair_directory(struct world *w)
{
	for (uint32_t r = 0; r < w->max_rooms; r++) {
		struct wroom_dir *d = wdir(w, r);

		if (d->state == WR_OPEN && (d->name_len > ARENA_ROOM_MAX ||
		                            !world_str_valid(d->name, d->name_len, ARENA_ROOM_MAX)))
			d->state = WR_FREE; /* its players go to the lobby below */
		if (d->state != WR_OPEN)
			d->state = WR_FREE;
		d->is_public = d->is_public ? 1 : 0;
		d->has_origin = d->state == WR_OPEN && d->has_origin ? 1 : 0;
		if (!d->has_origin)
			memset(d->origin, 0, WORLD_ADDR_LEN);
		d->nmembers = 0;
		d->nresumable = 0;
	}
	for (uint32_t i = 0; i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);
		uint32_t r = wplayer_room(p);

		if (p->state == WP_FREE || r >= w->max_rooms)
			continue;
		struct wroom_dir *d = wdir(w, r);
		if (d->state != WR_OPEN) {
			wplayer_set_room(p, WORLD_NONE);
		} else if (p->state == WP_DETACHED) {
			d->nresumable++;
		} else if (d->nmembers < w->capacity) {
			d->nmembers++;
		} else {
			wplayer_set_room(p, WORLD_NONE);
		}
	}
}

int world_repair(void *arg)
{
	struct world *w = arg;

	repair_players(w);
	repair_directory(w);
	for (uint32_t r = 0; r < w->max_rooms; r++)
		reconcile_room(w, r);
	/* Players that say they sit in a room but have no seat get one (or the lobby). */
	for (uint32_t i = 0; i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);
		uint32_t r = wplayer_room(p);

		if (p->state != WP_ATTACHED || r >= w->max_rooms)
			continue;
		bool seated = false;
		if (world_lock_room(w, r) == 0) {
			seated = room_find_seat(w, wroom(w, r), i) >= 0 ||
			         room_seat_locked(w, r, i, p->id, p->score, NULL) == 0;
			world_unlock_room(w, r);
		}
		if (!seated) {
			wplayer_set_room(p, WORLD_NONE);
			wdir(w, r)->nmembers--;
		}
	}
	w->nrooms_open = 0;
	w->room_hwm = 0;
	for (uint32_t r = 0; r < w->max_rooms; r++) {
		if (wdir(w, r)->state != WR_OPEN)
			continue;
		w->nrooms_open++;
		w->room_hwm = r + 1;
	}
	for (uint32_t r = 0; r < w->room_hwm; r++)
		dir_maybe_close(w, r);
	if (w->next_id == 0)
		w->next_id = 1;
	scores_repair_locked(w);
	return 0;
}

/* ---- Check ------------------------------------------------------------------------------ */

static int check_players(struct world *w)
{
	uint32_t nfree = 0, nattached = 0, ndetached = 0, walked = 0;

	for (uint32_t i = 0; i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);
		uint32_t r = wplayer_room(p);

		if (p->state == WP_FREE) {
			nfree++;
			if (r != WORLD_NONE)
				return -EUCLEAN;
			continue;
		}
		if (p->state == WP_ATTACHED)
			nattached++;
		else if (p->state == WP_DETACHED)
			ndetached++;
		else
			return -EUCLEAN;
		if (!world_str_valid(p->name, p->name_len, ARENA_NAME_MAX) || p->id == 0)
			return -EUCLEAN;
		if (r != WORLD_NONE && (r >= w->max_rooms || wdir(w, r)->state != WR_OPEN))
			return -EUCLEAN;
	}
	for (uint32_t i = w->free_head; i != WORLD_NONE; i = wplayer(w, i)->next_free) {
		if (i >= w->max_players || wplayer(w, i)->state != WP_FREE || ++walked > nfree)
			return -EUCLEAN;
	}
	if (walked != nfree || nattached != w->nattached || ndetached != w->ndetached)
		return -EUCLEAN;
	/* The expiry heap holds each detached player once (heap_pos points back), in heap order. */
	for (uint32_t i = 0; i < w->ndetached; i++) {
		uint32_t pi = wheap(w)[i];
		if (pi >= w->max_players || wplayer(w, pi)->state != WP_DETACHED ||
		    wplayer(w, pi)->heap_pos != i ||
		    (i > 0 && expiry_before(w, pi, wheap(w)[(i - 1) / 2])))
			return -EUCLEAN;
	}
	return 0;
}

/* Cross-check one room's seats against the directory entry and the player table. */
static int check_room(struct world *w, uint32_t r, const uint32_t *members,
                      const uint32_t *resumable)
{
	struct wroom_dir *d = wdir(w, r);

	if (d->state == WR_OPEN) {
		if (r >= w->room_hwm || !world_str_valid(d->name, d->name_len, ARENA_ROOM_MAX) ||
		    d->nmembers > w->capacity || (d->nmembers == 0 && d->nresumable == 0))
			return -EUCLEAN;
		if (w->room_hwm <= 4096) /* unique names; quadratic, so only for small worlds */
			for (uint32_t o = 0; o < r; o++)
				if (wdir(w, o)->state == WR_OPEN &&
				    wdir(w, o)->name_len == d->name_len &&
				    !memcmp(wdir(w, o)->name, d->name, d->name_len))
					return -EUCLEAN;
	} else if (d->state != WR_FREE || d->has_origin) {
		return -EUCLEAN; /* a free entry counts for no address */
	}
	if (d->has_origin > 1)
		return -EUCLEAN;
	if (members[r] != d->nmembers || resumable[r] != d->nresumable)
		return -EUCLEAN;
	if (world_lock_room(w, r) < 0)
		return -EUCLEAN;
	struct wroom *rm = wroom(w, r);
	int e = room_check_locked(w, r);
	if (!e && rm->open != (d->state == WR_OPEN))
		e = -EUCLEAN;
	if (!e && rm->open &&
	    (rm->name_len != d->name_len || memcmp(rm->name, d->name, d->name_len)))
		e = -EUCLEAN;
	for (uint32_t s = 0; !e && s < rm->nseats; s++) {
		struct wplayer *p = wplayer(w, rm->seats[s].pidx);
		if (p->state != WP_ATTACHED || wplayer_room(p) != r || p->id != rm->seats[s].id)
			e = -EUCLEAN;
	}
	if (!e && rm->nseats != d->nmembers)
		e = -EUCLEAN;
	world_unlock_room(w, r);
	return e;
}

static int check_rooms(struct world *w)
{
	uint32_t *members = calloc(w->max_rooms, sizeof(uint32_t));
	uint32_t *resumable = calloc(w->max_rooms, sizeof(uint32_t));
	uint32_t nopen = 0;
	int e = 0;

	if (!members || !resumable) {
		e = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);
		uint32_t r = wplayer_room(p);
		if (r >= w->max_rooms)
			continue;
		members[r] += p->state == WP_ATTACHED;
		resumable[r] += p->state == WP_DETACHED;
	}
	for (uint32_t r = 0; !e && r < w->max_rooms; r++) {
		nopen += wdir(w, r)->state == WR_OPEN;
		e = check_room(w, r, members, resumable);
	}
	if (!e && nopen != w->nrooms_open)
		e = -EUCLEAN;
out:
	free(members);
	free(resumable);
	return e;
}

unsigned world_rooms_open(const struct world *w)
{
	return atomic_load_explicit(&w->nrooms_open, memory_order_relaxed);
}

int world_check(struct world *w)
{
	if (!w || w->magic != WORLD_MAGIC || w->version != WORLD_VERSION)
		return -EUCLEAN;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	e = check_players(w);
	if (!e)
		e = check_rooms(w);
	if (!e)
		e = scores_check_locked(w);
	world_unlock_world(w);
	return e;
}
