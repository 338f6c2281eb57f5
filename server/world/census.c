/* census.c: what an operator sees of the world and says to it: the player and room listings
 * behind `arenactl players` and `rooms`, and server notices into rooms' chat (`broadcast`).
 *
 * A top file like world.c: it takes the world lock (world_lock_world(), repair.c) and, inside
 * it, one room lock at a time (the world's lock order). The listings hand each row to a
 * callback while the locks are held, so the callback must be quick and take no world lock
 * (the worker writes rows into a memory file). A notice is a chat entry with sender id 0 and
 * sender name "server" (PROTOCOL.md, CHAT_MSG); every worker's tick delivers it to the players
 * it serves in that room, exactly as a player's chat. Library code: no logging.
 */
#include <errno.h>
#include <string.h>

#include "world-impl.h"

#define SERVER_SENDER "server"

static void copy_name(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void room_row(struct world *w, uint32_t r, struct world_room_row *ret)
{
	const struct wroom_dir *d = wdir(w, r);

	memset(ret, 0, sizeof(*ret));
	ret->room = r;
	copy_name(ret->name, sizeof(ret->name), d->name, d->name_len);
	ret->members = d->nmembers;
	ret->resumable = d->nresumable;
	ret->is_public = d->is_public != 0;
}

int world_list_rooms(struct world *w, world_room_cb cb, void *arg)
{
	if (!w || !cb)
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	for (uint32_t r = 0; r < w->room_hwm && r < w->max_rooms && e == 0; r++) {
		struct world_room_row row;

		if (wdir(w, r)->state != WR_OPEN)
			continue;
		room_row(w, r, &row);
		e = cb(&row, arg);
	}
	world_unlock_world(w);
	return e;
}

static void player_row(struct world *w, uint32_t i, struct world_player_row *ret)
{
	const struct wplayer *p = wplayer(w, i);

	memset(ret, 0, sizeof(*ret));
	ret->id = p->id;
	copy_name(ret->name, sizeof(ret->name), p->name, p->name_len);
	ret->attached = p->state == WP_ATTACHED;
	ret->slot = p->owner_slot;
	ret->score = p->score;
	ret->room = atomic_load_explicit(&((struct wplayer *)p)->room, memory_order_relaxed);
	if (ret->room < w->max_rooms && wdir(w, ret->room)->state == WR_OPEN)
		copy_name(ret->room_name, sizeof(ret->room_name), wdir(w, ret->room)->name,
		          wdir(w, ret->room)->name_len);
	else
		ret->room = WORLD_NO_ROOM;
}

/* A seated player's score lives in its seat (room lock). */
static void seat_score(struct world *w, uint32_t pidx, struct world_player_row *row)
{
	if (row->room == WORLD_NO_ROOM || !row->attached || world_lock_room(w, row->room) < 0)
		return;
	struct wroom *rm = wroom(w, row->room);
	int s = rm->open ? room_find_seat(w, rm, pidx) : -1;
	if (s >= 0)
		row->score = rm->seats[s].score;
	world_unlock_room(w, row->room);
}

int world_list_players(struct world *w, const char *room, world_player_cb cb, void *arg)
{
	if (!w || !cb)
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	uint32_t only = WORLD_NONE;
	if (room && *room) {
		only = dir_find_room(w, room, strlen(room));
		if (only == WORLD_NONE) {
			world_unlock_world(w);
			return -ENOENT;
		}
	}
	for (uint32_t i = 0; i < w->max_players && e == 0; i++) {
		struct world_player_row row;
		uint32_t st = wplayer(w, i)->state;

		if (st != WP_ATTACHED && st != WP_DETACHED)
			continue;
		player_row(w, i, &row);
		if (only != WORLD_NONE && row.room != only)
			continue;
		seat_score(w, i, &row);
		e = cb(&row, arg);
	}
	world_unlock_world(w);
	return e;
}

/* Append a notice to open room r's chat ring. */
static int notice(struct world *w, uint32_t r, const char *text, size_t len)
{
	struct wroom *rm;
	int e = room_lock_open(w, r, &rm);

	if (e < 0)
		return e;
	room_chat_put_locked(w, rm, 0, SERVER_SENDER, strlen(SERVER_SENDER), text, len);
	world_unlock_room(w, r);
	return 0;
}

int world_chat_remote(struct world *w, const char *room, uint32_t sender_id, const char *sender,
                      const char *text)
{
	size_t rlen = room ? strnlen(room, ARENA_ROOM_MAX + 1) : 0;
	size_t slen = sender ? strnlen(sender, ARENA_NAME_MAX + 1) : 0;
	size_t len = text ? strnlen(text, ARENA_CHAT_MAX + 1) : 0;
	struct wroom *rm;

	if (!w || rlen < 1 || rlen > ARENA_ROOM_MAX || !arena_utf8_valid(room, rlen) || slen < 1 ||
	    slen > ARENA_NAME_MAX || !arena_utf8_valid(sender, slen) || len < 1 ||
	    len > ARENA_CHAT_MAX || !arena_utf8_valid(text, len))
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	uint32_t r = dir_find_room(w, room, rlen);
	if (r == WORLD_NONE) {
		world_unlock_world(w);
		return -ENOENT;
	}
	e = room_lock_open(w, r, &rm);
	if (e == 0) {
		room_chat_put_locked(w, rm, sender_id, sender, slen, text, len);
		world_unlock_room(w, r);
	}
	world_unlock_world(w);
	return e;
}

int world_announce(struct world *w, const char *room, const char *text, size_t len,
                   unsigned *ret_rooms)
{
	unsigned n = 0;

	if (!w || !text || len < 1 || len > ARENA_CHAT_MAX || !arena_utf8_valid(text, len) ||
	    memchr(text, '\0', len))
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	if (room && *room) {
		uint32_t r = dir_find_room(w, room, strlen(room));

		e = r == WORLD_NONE ? -ENOENT : notice(w, r, text, len);
		n = e == 0;
	} else {
		for (uint32_t r = 0; r < w->room_hwm && r < w->max_rooms; r++)
			if (wdir(w, r)->state == WR_OPEN && notice(w, r, text, len) == 0)
				n++;
	}
	world_unlock_world(w);
	if (e == 0)
		*ret_rooms = n;
	return e;
}
