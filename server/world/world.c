/* world.c: the world's public face: layout, players, joining and leaving rooms, moves, scores.
 *
 * world_init() lays the tables out after struct world (world-impl.h). The world lock guards
 * the player table, the room directory and the score table; a room's lock guards its seats,
 * gems and chat (room.c). Membership is recorded twice on purpose: the player's `room` and the
 * directory's nmembers (world lock, used for admission) and the room's seats (room lock, used
 * for play); join, leave and detach change both inside one world-lock section, taking the room
 * lock inside it (lock order: world, then at most one room).
 *
 * Detached players (resumable for resume_grace) sit in a min-heap on their deadline
 * (expiry.c), so a full table refuses a player only when every entry belongs to a live
 * connection.
 *
 * The top of the world: world.c takes the world lock (world_lock_world(), repair.c, which runs
 * the repair when the previous owner died) and calls the files below it, each of which runs
 * inside a lock its caller holds and never calls back up:
 *
 *   world.c      -> repair.c, directory.c, expiry.c, room.c, scores.c
 *   census.c     -> repair.c, directory.c, room.c             (listings, server notices)
 *   repair.c     -> directory.c, expiry.c, room.c, scores.c   (the world lock and its repair)
 *   directory.c  -> room.c, scores.c
 *   room.c       -> lock.c                                    (room locks and their repair)
 *
 * Repairs are counted per process by lock.c (world_take_repairs) and in the world header.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "arena-build.h"
#include "shm.h"
#include "world-impl.h"

/* ---- Layout ----------------------------------------------------------------------------- */

static size_t align_up(size_t v)
{
	return (v + WORLD_ALIGN - 1) & ~(size_t)(WORLD_ALIGN - 1);
}

/* Fill the geometry and offsets of a world for cfg into *g. -EINVAL if cfg is out of range. */
static int layout(const struct arena_config *cfg, struct world *g)
{
	if (!cfg || cfg->max_players < 1 || cfg->max_players > 1000000 || cfg->max_rooms < 1 ||
	    cfg->room_width < 2 || cfg->room_width > 4096 || cfg->room_height < 2 ||
	    cfg->room_height > 4096 || cfg->room_capacity < 1)
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	uint64_t cells = (uint64_t)cfg->room_width * cfg->room_height;

	g->max_players = cfg->max_players;
	/* Room indices are the wire room_id, a u16. */
	g->max_rooms = cfg->max_rooms < UINT16_MAX ? cfg->max_rooms : UINT16_MAX;
	g->width = cfg->room_width;
	g->height = cfg->room_height;
	g->capacity = cfg->room_capacity < ARENA_SNAP_PLAYERS_MAX ? cfg->room_capacity
	                                                          : ARENA_SNAP_PLAYERS_MAX;
	if (g->capacity > cells)
		g->capacity = (uint32_t)cells;
	g->gems =
	    cfg->gems_per_room < ARENA_SNAP_GEMS_MAX ? cfg->gems_per_room : ARENA_SNAP_GEMS_MAX;
	if (g->gems > cells - g->capacity)
		g->gems = (uint32_t)(cells - g->capacity);
	g->score_cap = g->max_players > 1024 ? g->max_players : 1024;
	g->hash_size = 1;
	while (g->hash_size < 2 * g->score_cap)
		g->hash_size <<= 1;
	atomic_init(&g->resume_grace_ms, cfg->resume_grace_ms);

	size_t off = align_up(sizeof(struct world));
	g->players_off = off;
	off = align_up(off + (size_t)g->max_players * sizeof(struct wplayer));
	g->heap_off = off;
	off = align_up(off + (size_t)g->max_players * sizeof(uint32_t));
	g->dirs_off = off;
	off = align_up(off + (size_t)g->max_rooms * sizeof(struct wroom_dir));
	g->chat_off = align_up(sizeof(struct wroom) + g->capacity * sizeof(struct wseat));
	g->room_stride = align_up(g->chat_off + WORLD_CHAT_RING * sizeof(struct wchat));
	g->rooms_off = off;
	off = align_up(off + (size_t)g->max_rooms * g->room_stride);
	g->scores_off = off;
	off = align_up(off + (size_t)g->score_cap * sizeof(struct wscore));
	g->hash_off = off;
	off = align_up(off + (size_t)g->hash_size * sizeof(uint32_t));
	g->size = off;
	return 0;
}

size_t world_size(const struct arena_config *cfg)
{
	struct world g;

	return layout(cfg, &g) == 0 ? g.size : 0;
}

int world_adopt(void *mem, size_t size, const struct arena_config *cfg)
{
	struct world g;
	const struct world *w = mem;

	if (!mem || size < sizeof(struct world) || w->magic != WORLD_MAGIC ||
	    w->version != WORLD_VERSION)
		return -EPROTO;
	if (layout(cfg, &g) < 0 || w->size != g.size || w->size > size ||
	    w->max_players != g.max_players || w->max_rooms != g.max_rooms || w->width != g.width ||
	    w->height != g.height || w->capacity != g.capacity || w->gems != g.gems ||
	    w->score_cap != g.score_cap || w->hash_size != g.hash_size ||
	    w->players_off != g.players_off || w->rooms_off != g.rooms_off ||
	    w->room_stride != g.room_stride || w->scores_off != g.scores_off ||
	    w->hash_off != g.hash_off)
		return -EINVAL;
	return 0;
}

int world_init(void *mem, size_t size, const struct arena_config *cfg, uint64_t seed)
{
	struct world g;
	int r;

	if (!mem || layout(cfg, &g) < 0 || size < g.size)
		return -EINVAL;
	struct world *w = mem;
	memcpy(w, &g, sizeof(g));
	w->magic = WORLD_MAGIC;
	w->version = WORLD_VERSION;
	w->seed = seed;
	r = arena_lock_init(&w->lock);
	if (r < 0)
		return r;
	w->next_id = 1;
	w->next_room_n = 1;
	memset((char *)w + w->players_off, 0, (size_t)w->max_players * sizeof(struct wplayer));
	for (uint32_t i = 0; i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);

		p->state = WP_FREE;
		wplayer_set_room(p, WORLD_NONE);
		p->next_free = i + 1 < w->max_players ? i + 1 : WORLD_NONE;
		p->heap_pos = WORLD_NONE;
	}
	w->free_head = 0;
	memset(wheap(w), 0, (size_t)w->max_players * sizeof(uint32_t));
	memset((char *)w + w->dirs_off, 0, (size_t)w->max_rooms * sizeof(struct wroom_dir));
	for (uint32_t i = 0; i < w->max_rooms; i++) {
		struct wroom *rm = wroom(w, i);

		memset(rm, 0, sizeof(*rm));
		r = arena_lock_init(&rm->lock);
		if (r < 0)
			return r;
		room_init(w, i);
	}
	memset(wscore_hash(w), 0, (size_t)w->hash_size * sizeof(uint32_t));
	scores_reset(w);
	return 0;
}

/* ---- Players ---------------------------------------------------------------------------- */

static void free_player(struct world *w, uint32_t pidx)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t r = wplayer_room(p);

	if (p->state == WP_DETACHED) {
		expiry_remove(w, pidx);
		if (r < w->max_rooms && wdir(w, r)->nresumable > 0)
			wdir(w, r)->nresumable--;
	} else if (p->state == WP_ATTACHED) {
		w->nattached--;
	}
	memset(p, 0, sizeof(*p));
	p->state = WP_FREE;
	wplayer_set_room(p, WORLD_NONE);
	p->heap_pos = WORLD_NONE;
	p->next_free = w->free_head;
	w->free_head = pidx;
	if (r < w->max_rooms)
		dir_maybe_close(w, r);
}

static void detach_player(struct world *w, uint32_t pidx, uint64_t now_ms)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t r = wplayer_room(p);

	if (r < w->max_rooms)
		dir_unseat_player(w, pidx, r);
	uint32_t grace = atomic_load_explicit(&w->resume_grace_ms, memory_order_relaxed);

	if (grace == 0) {
		free_player(w, pidx);
		return;
	}
	p->state = WP_DETACHED;
	p->expire_ms = now_ms + grace;
	w->nattached--;
	expiry_add(w, pidx);
	if (r < w->max_rooms)
		wdir(w, r)->nresumable++;
}

/* Put a resumed player back where it was: its room if it still has a seat, the same name
 * re-created if the room is gone, else the lobby. */
static void resume_room(struct world *w, uint32_t pidx, uint32_t r)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t target = WORLD_NONE;

	if (r >= w->max_rooms)
		return;
	struct wroom_dir *d = wdir(w, r);
	if (d->nresumable > 0)
		d->nresumable--;
	if (d->state == WR_OPEN && d->name_len == p->room_name_len &&
	    !memcmp(d->name, p->room_name, d->name_len)) {
		target = r;
	} else if (p->room_name_len > 0) {
		target = dir_find_room(w, p->room_name, p->room_name_len);
		if (target == WORLD_NONE)
			target = dir_create_room(w, p->room_name, p->room_name_len, p->room_public,
			                         NULL);
	}
	if (target != WORLD_NONE && dir_seat_player(w, pidx, target, NULL) < 0)
		dir_maybe_close(w, target);
	if (target != r)
		dir_maybe_close(w, r);
}

int world_player_attach(struct world *w, unsigned slot, uint32_t gen, const char *name,
                        const uint8_t token[ARENA_TOKEN_LEN], uint64_t now_ms,
                        struct world_player_info *ret)
{
	static const uint8_t zero[ARENA_TOKEN_LEN];
	uint8_t fresh[ARENA_TOKEN_LEN];
	uint8_t resume = ARENA_RESUME_NONE;
	uint32_t pidx = WORLD_NONE;

	if (!w || !name || !ret)
		return -EINVAL;
	size_t len = strnlen(name, ARENA_NAME_MAX + 1);
	if (!world_str_valid(name, len, ARENA_NAME_MAX))
		return -EINVAL;
	/* The random part of a new token, drawn before the lock is taken. */
	if (getrandom(fresh + 4, sizeof(fresh) - 4, 0) != (ssize_t)(sizeof(fresh) - 4))
		return errno ? -errno : -EIO;
	int e = world_lock_world(w);
	if (e < 0)
		return e;

	if (token && memcmp(token, zero, ARENA_TOKEN_LEN) != 0) {
		uint32_t i = (uint32_t)token[0] << 24 | (uint32_t)token[1] << 16 |
		             (uint32_t)token[2] << 8 | token[3];
		struct wplayer *p = i < w->max_players ? wplayer(w, i) : NULL;

		resume = ARENA_RESUME_EXPIRED;
		if (p && p->state == WP_DETACHED && !memcmp(p->token, token, ARENA_TOKEN_LEN) &&
		    p->name_len == len && !memcmp(p->name, name, len)) {
			if (now_ms < p->expire_ms) {
				pidx = i;
				resume = ARENA_RESUME_OK;
			} else {
				free_player(w, i);
			}
		}
	}
	if (pidx != WORLD_NONE) {
		struct wplayer *p = wplayer(w, pidx);
		uint32_t r = wplayer_room(p);

		expiry_remove(w, pidx);
		p->state = WP_ATTACHED;
		p->owner_slot = slot;
		p->owner_gen = gen;
		w->nattached++;
		wplayer_set_room(p, WORLD_NONE);
		resume_room(w, pidx, r);
	} else {
		/* A full table makes room by evicting the detached player closest to its deadline
		 * (its token stops working; its best score is in the score table already). */
		if (w->free_head == WORLD_NONE && expiry_top(w) != WORLD_NONE)
			free_player(w, expiry_top(w));
		if (w->free_head == WORLD_NONE) {
			world_unlock_world(w);
			return -ENOSPC;
		}
		pidx = w->free_head;
		struct wplayer *p = wplayer(w, pidx);
		w->free_head = p->next_free;
		memset(p, 0, sizeof(*p));
		p->heap_pos = WORLD_NONE;
		p->state = WP_ATTACHED;
		p->id = w->next_id++;
		if (w->next_id == 0)
			w->next_id = 1;
		fresh[0] = (uint8_t)(pidx >> 24);
		fresh[1] = (uint8_t)(pidx >> 16);
		fresh[2] = (uint8_t)(pidx >> 8);
		fresh[3] = (uint8_t)pidx;
		if (!memcmp(fresh, zero, sizeof(fresh)))
			fresh[15] = 1;
		memcpy(p->token, fresh, sizeof(fresh));
		p->owner_slot = slot;
		p->owner_gen = gen;
		wplayer_set_room(p, WORLD_NONE);
		p->name_len = (uint8_t)len;
		memcpy(p->name, name, len);
		w->nattached++;
	}
	struct wplayer *p = wplayer(w, pidx);
	struct world_player_info info = {
	    .pidx = pidx,
	    .id = p->id,
	    .resume = resume,
	    .room = wplayer_room(p),
	    .score = p->score,
	};
	memcpy(info.token, p->token, ARENA_TOKEN_LEN);
	world_unlock_world(w);
	*ret = info;
	return 0;
}

/* The world lock, for an operation on player pidx (checked for range first). */
static int lock_for_player(struct world *w, uint32_t pidx)
{
	if (!w || pidx >= w->max_players)
		return -EINVAL;
	return world_lock_world(w);
}

int world_player_restore_score(struct world *w, uint32_t pidx, uint32_t score)
{
	int e = lock_for_player(w, pidx);
	if (e < 0)
		return e;
	struct wplayer *p = wplayer(w, pidx);
	if (p->state != WP_ATTACHED || wplayer_room(p) != WORLD_NONE) {
		world_unlock_world(w);
		return -ESTALE;
	}
	if (score > p->score) {
		p->score = score;
		scores_update_locked(w, p->name, p->name_len, score);
	}
	world_unlock_world(w);
	return 0;
}

int world_player_detach(struct world *w, uint32_t pidx, uint64_t now_ms)
{
	int e = lock_for_player(w, pidx);
	if (e < 0)
		return e;
	if (wplayer(w, pidx)->state == WP_ATTACHED)
		detach_player(w, pidx, now_ms);
	else
		e = -ENOENT;
	world_unlock_world(w);
	return e;
}

void world_set_resume_grace(struct world *w, uint32_t grace_ms)
{
	if (w)
		atomic_store_explicit(&w->resume_grace_ms, grace_ms, memory_order_relaxed);
}

int world_sweep(struct world *w, const struct shm_header *hdr, uint64_t now_ms)
{
	if (!w)
		return -EINVAL;
	uint32_t seen = atomic_load(&w->seen_deaths);
	uint32_t deaths = hdr ? atomic_load_explicit(&hdr->deaths, memory_order_acquire) : seen;
	bool dead_scan =
	    deaths != seen && atomic_compare_exchange_strong(&w->seen_deaths, &seen, deaths);
	uint64_t next = atomic_load(&w->next_gc_ms);
	bool gc = now_ms >= next && atomic_compare_exchange_strong(&w->next_gc_ms, &next,
	                                                           now_ms + WORLD_GC_PERIOD_MS);

	if (!dead_scan && !gc)
		return 0;
	int e = world_lock_world(w);
	if (e < 0) {
		if (dead_scan) /* let the next sweep (here or elsewhere) try again */
			atomic_store(&w->seen_deaths, seen);
		return e;
	}
	for (uint32_t i = 0; dead_scan && i < w->max_players; i++) {
		struct wplayer *p = wplayer(w, i);

		if (p->state == WP_ATTACHED && !shm_slot_alive(hdr, p->owner_slot, p->owner_gen))
			detach_player(w, i, now_ms);
	}
	/* The expired players are at the top of the heap; each round frees one (bounded anyway). */
	for (uint32_t n = w->ndetached; gc && n > 0; n--) {
		uint32_t top = expiry_top(w);

		if (top == WORLD_NONE || wplayer(w, top)->expire_ms > now_ms)
			break;
		free_player(w, top);
	}
	world_unlock_world(w);
	return 0;
}

/* ---- Rooms ------------------------------------------------------------------------------ */

/* The fullest public room with a free seat, counting `cur` without the joining player. */
static uint32_t matchmake(struct world *w, uint32_t cur)
{
	uint32_t best = WORLD_NONE, best_n = 0;

	for (uint32_t r = 0; r < w->room_hwm; r++) {
		struct wroom_dir *d = wdir(w, r);
		if (d->state != WR_OPEN || !d->is_public)
			continue;
		uint32_t n = d->nmembers - (r == cur && d->nmembers > 0);
		if (n < w->capacity && (best == WORLD_NONE || n > best_n)) {
			best = r;
			best_n = n;
		}
	}
	return best;
}

/* Open rooms created from address origin. Scans the open part of the directory: bounded by
 * max_rooms (<= 65535), and JOINs are rate-limited per player. */
static uint32_t rooms_from(struct world *w, const uint8_t *origin)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < w->room_hwm; r++) {
		struct wroom_dir *d = wdir(w, r);

		if (d->state == WR_OPEN && d->has_origin &&
		    !memcmp(d->origin, origin, WORLD_ADDR_LEN))
			n++;
	}
	return n;
}

/* The room slot `cur` frees if its only member leaves it. */
static bool frees_on_leave(struct world *w, uint32_t cur)
{
	if (cur >= w->max_rooms)
		return false;
	struct wroom_dir *d = wdir(w, cur);
	return d->state == WR_OPEN && d->nmembers <= 1 && d->nresumable == 0;
}

static int join_locked(struct world *w, uint32_t pidx, const char *name, size_t len,
                       const struct world_origin *from, struct world_room_info *ret)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t cur = wplayer_room(p), r;
	char auto_name[ARENA_ROOM_MAX + 1];
	bool is_public = len == 0;

	if (p->state != WP_ATTACHED)
		return -ENOENT;
	r = len ? dir_find_room(w, name, len) : matchmake(w, cur);
	if (r != WORLD_NONE && r == cur) {
		int e = world_lock_room(w, r);
		if (e < 0)
			return e;
		struct wroom *rm = wroom(w, r);
		int s = room_find_seat(w, rm, pidx);
		room_info_locked(w, r, s, ret);
		world_unlock_room(w, r);
		return 0;
	}
	if (r != WORLD_NONE && wdir(w, r)->nmembers >= w->capacity)
		return -EBUSY;
	if (r == WORLD_NONE) {
		if (w->nrooms_open - frees_on_leave(w, cur) >= w->max_rooms)
			return -ENOSPC;
		/* Leaving cur frees one of the address's rooms if it opened cur and is alone in it.
		 */
		if (from) {
			bool frees_own = frees_on_leave(w, cur) && wdir(w, cur)->has_origin &&
			                 !memcmp(wdir(w, cur)->origin, from->addr, WORLD_ADDR_LEN);
			if (rooms_from(w, from->addr) - frees_own >= from->max_rooms)
				return -EDQUOT;
		}
		if (!len) {
			for (unsigned k = 0; k <= w->max_rooms; k++) {
				snprintf(auto_name, sizeof(auto_name), "room-%u", w->next_room_n++);
				if (dir_find_room(w, auto_name, strlen(auto_name)) == WORLD_NONE)
					break;
			}
			name = auto_name;
			len = strlen(auto_name);
		}
	}
	if (cur < w->max_rooms) {
		dir_unseat_player(w, pidx, cur);
		wplayer_set_room(p, WORLD_NONE);
		dir_maybe_close(w, cur);
	}
	bool created = false;
	if (r == WORLD_NONE) {
		r = dir_create_room(w, name, len, is_public, from ? from->addr : NULL);
		if (r == WORLD_NONE)
			return -ENOSPC;
		created = true;
	}
	int e = dir_seat_player(w, pidx, r, ret);
	if (e < 0 && created)
		dir_maybe_close(w, r);
	return e;
}

int world_join(struct world *w, uint32_t pidx, const char *name, struct world_room_info *ret)
{
	return world_join_from(w, pidx, name, NULL, ret);
}

int world_join_from(struct world *w, uint32_t pidx, const char *name,
                    const struct world_origin *from, struct world_room_info *ret)
{
	struct world_room_info info;

	if (!w || !name || !ret || pidx >= w->max_players || (from && from->max_rooms < 1))
		return -EINVAL;
	size_t len = strnlen(name, ARENA_ROOM_MAX + 1);
	if (len > ARENA_ROOM_MAX || (len && !arena_utf8_valid(name, len)))
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	e = join_locked(w, pidx, name, len, from, &info);
	world_unlock_world(w);
	if (e == 0)
		*ret = info;
	return e;
}

int world_leave(struct world *w, uint32_t pidx)
{
	int e = lock_for_player(w, pidx);
	if (e < 0)
		return e;
	struct wplayer *p = wplayer(w, pidx);
	uint32_t r = wplayer_room(p);
	if (p->state != WP_ATTACHED || r >= w->max_rooms) {
		e = -ENOENT;
	} else {
		dir_unseat_player(w, pidx, r);
		wplayer_set_room(p, WORLD_NONE);
		dir_maybe_close(w, r);
	}
	world_unlock_world(w);
	return e;
}

/* ---- Moves and scores ------------------------------------------------------------------- */

int world_move(struct world *w, uint32_t pidx, int dx, int dy, bool *ret_scored)
{
	uint32_t score = 0;
	int e = room_move(w, pidx, dx, dy, &score);

	if (e < 0)
		return e;
	/* The best score by name lives in the world-locked score table; the room lock is released
	 * first (lock order). A failure here loses nothing: leaving the room records it again. */
	if (score > 0 && world_lock_world(w) == 0) {
		struct wplayer *p = wplayer(w, pidx);

		if (p->state == WP_ATTACHED)
			scores_update_locked(w, p->name, p->name_len, score);
		world_unlock_world(w);
	}
	if (ret_scored)
		*ret_scored = score > 0;
	return 0;
}

int world_leaderboard(struct world *w, unsigned n, struct arena_leaderboard *ret)
{
	if (!w || !ret)
		return -EINVAL;
	int e = world_lock_world(w);
	if (e < 0)
		return e;
	scores_leaderboard_locked(w, n, ret);
	world_unlock_world(w);
	return 0;
}

int world_scores_import(struct world *w, const struct world_score *in, size_t n)
{
	if (!w || (!in && n))
		return -EINVAL;
	const struct world_score **order;
	size_t m;
	int e = scores_import_order(in, n, &order, &m);
	if (e < 0)
		return e;
	e = world_lock_world(w);
	if (e == 0) {
		scores_load_locked(w, order, m);
		world_unlock_world(w);
	}
	free(order);
	return e;
}

unsigned world_take_repairs(void)
{
	return arena_lock_take_repairs();
}
