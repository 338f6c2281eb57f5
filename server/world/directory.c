/* directory.c: the room directory: finding, opening and closing rooms, seating players in them.
 *
 * Every function here runs with the world lock held (the caller's), and takes at most one room
 * lock inside it (lock order: world, then one room). A directory entry (struct wroom_dir) is the
 * world-locked half of a room: its name, whether matchmaking opened it, who opened it, and how
 * many players are seated there or may resume into it; the room's seats, gems and chat are the
 * room-locked half (room.c). Seating changes both halves together, so the two always agree
 * outside a dead owner's section, which the world repair (repair.c) reconciles.
 *
 * Calls room.c (room locks and seats) and scores.c (a leaving player's score); called by world.c
 * and repair.c, never calling them.
 */
#include <string.h>

#include "world-impl.h"

uint32_t dir_find_room(struct world *w, const char *name, size_t len)
{
	for (uint32_t r = 0; r < w->room_hwm; r++) {
		struct wroom_dir *d = wdir(w, r);

		if (d->state == WR_OPEN && d->name_len == len && !memcmp(d->name, name, len))
			return r;
	}
	return WORLD_NONE;
}

/* Open a new room, recording origin (NULL: none) as its creator's address; WORLD_NONE when
 * max_rooms are open or its lock is unrecoverable. */
uint32_t dir_create_room(struct world *w, const char *name, size_t len, bool is_public,
                         const uint8_t *origin)
{
	uint32_t r;

	if (w->nrooms_open >= w->max_rooms)
		return WORLD_NONE;
	for (r = 0; r < w->max_rooms && wdir(w, r)->state != WR_FREE; r++)
		;
	if (r >= w->max_rooms || world_lock_room(w, r) < 0)
		return WORLD_NONE;
	room_open_locked(w, r, name, len);
	world_unlock_room(w, r);
	struct wroom_dir *d = wdir(w, r);
	d->nmembers = 0;
	d->nresumable = 0;
	d->is_public = is_public;
	d->name_len = (uint8_t)len;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	d->has_origin = origin != NULL;
	if (origin)
		memcpy(d->origin, origin, WORLD_ADDR_LEN);
	else
		memset(d->origin, 0, WORLD_ADDR_LEN);
	d->state = WR_OPEN;
	w->nrooms_open++;
	if (r >= w->room_hwm)
		w->room_hwm = r + 1;
	return r;
}

static void close_room(struct world *w, uint32_t r)
{
	struct wroom_dir *d = wdir(w, r);

	if (world_lock_room(w, r) == 0) {
		room_close_locked(w, r);
		world_unlock_room(w, r);
	}
	d->state = WR_FREE;
	d->nmembers = 0;
	d->nresumable = 0;
	d->has_origin = 0;
	memset(d->origin, 0, WORLD_ADDR_LEN);
	w->nrooms_open--;
	while (w->room_hwm > 0 && wdir(w, w->room_hwm - 1)->state == WR_FREE)
		w->room_hwm--;
}

void dir_maybe_close(struct world *w, uint32_t r)
{
	struct wroom_dir *d = wdir(w, r);

	if (d->state == WR_OPEN && d->nmembers == 0 && d->nresumable == 0)
		close_room(w, r);
}

/* Seat p in open room r. 0, -EBUSY (full or no cell) or a lock error. */
int dir_seat_player(struct world *w, uint32_t pidx, uint32_t r, struct world_room_info *ret)
{
	struct wplayer *p = wplayer(w, pidx);
	struct wroom_dir *d = wdir(w, r);

	if (d->nmembers >= w->capacity)
		return -EBUSY;
	int e = world_lock_room(w, r);
	if (e < 0)
		return e;
	e = room_seat_locked(w, r, pidx, p->id, p->score, ret);
	world_unlock_room(w, r);
	if (e < 0)
		return e;
	d->nmembers++;
	wplayer_set_room(p, r);
	p->room_public = d->is_public;
	p->room_name_len = d->name_len;
	memcpy(p->room_name, d->name, d->name_len + 1);
	return 0;
}

/* Take p out of its room's seats, keeping its score in the record and the score table. The
 * directory count drops; p->room is left for the caller to set. */
void dir_unseat_player(struct world *w, uint32_t pidx, uint32_t r)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t score;

	if (world_lock_room(w, r) == 0) {
		if (room_unseat_locked(w, r, pidx, &score) == 0 && score > p->score)
			p->score = score;
		world_unlock_room(w, r);
	}
	if (wdir(w, r)->nmembers > 0)
		wdir(w, r)->nmembers--;
	scores_update_locked(w, p->name, p->name_len, p->score);
}
