/* room.c: one room's live state: seats on the grid, gems, the chat ring, their lock and repair.
 *
 * Everything here runs under the room's own robust lock (world-impl.h), taken either alone
 * (room_move, world_chat, the tick readers) or inside the world lock (join, leave, detach),
 * except world_room_peek, which only loads the room's atomic open flag, version and chat head.
 * Cells are found by bounded random probing with a linear scan as the fallback; the world sizes
 * capacity and gems so that a free cell always exists (capacity + gems <= width * height).
 * A chat message is written by first invalidating its ring slot, then filling it, then
 * publishing the sequence number, so a writer killed half-way leaves at most one broken entry,
 * which the repair cuts off by advancing chat_valid_from.
 *
 * The bottom of the world: room.c takes only room locks (world_lock_room() runs room_repair()
 * on a dead owner's room) and calls nothing else of the world. A gem's point reaches the score
 * table through room_move()'s caller (world_move() in world.c), which takes the world lock
 * after the room lock is released.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "arena-build.h"
#include "world-impl.h"

#if ARENA_TEST_FAULTS
static volatile sig_atomic_t fault_armed;
#endif

/* ---- The room lock ---------------------------------------------------------------------- */

int world_lock_room(struct world *w, uint32_t r)
{
	struct room_ref ref = {w, r};
	bool repaired = false;
	int e = arena_lock_acquire(&wroom(w, r)->lock, room_repair, &ref, &repaired);

	if (e == 0 && repaired)
		world_count_repair(w);
	return e;
}

void world_unlock_room(struct world *w, uint32_t r)
{
	arena_lock_release(&wroom(w, r)->lock);
}

void world_test_arm_lock_fault(void)
{
#if ARENA_TEST_FAULTS
	fault_armed = 1;
#endif
}

static int seat_at(const struct wroom *rm, uint32_t limit, uint32_t x, uint32_t y)
{
	for (uint32_t i = 0; i < limit; i++)
		if (rm->seats[i].x == x && rm->seats[i].y == y)
			return (int)i;
	return -1;
}

static int gem_at(const struct wroom *rm, uint32_t limit, uint32_t x, uint32_t y, int skip)
{
	for (uint32_t i = 0; i < limit; i++)
		if ((int)i != skip && rm->gems[i].x == x && rm->gems[i].y == y)
			return (int)i;
	return -1;
}

static bool cell_free(const struct wroom *rm, uint32_t x, uint32_t y, int skip_gem)
{
	return seat_at(rm, rm->nseats, x, y) < 0 && gem_at(rm, rm->ngems, x, y, skip_gem) < 0;
}

/* A random cell holding no player and no gem other than skip_gem. -ENOSPC if none. */
static int find_free_cell(struct world *w, struct wroom *rm, int skip_gem, uint16_t *ret_x,
                          uint16_t *ret_y)
{
	uint64_t cells = (uint64_t)w->width * w->height;
	uint64_t c;

	for (int i = 0; i < 64; i++) {
		c = world_rand(&rm->rng) % cells;
		if (cell_free(rm, (uint32_t)(c % w->width), (uint32_t)(c / w->width), skip_gem))
			goto found;
	}
	uint64_t start = world_rand(&rm->rng) % cells;
	for (uint64_t k = 0; k < cells; k++) {
		c = (start + k) % cells;
		if (cell_free(rm, (uint32_t)(c % w->width), (uint32_t)(c / w->width), skip_gem))
			goto found;
	}
	return -ENOSPC;
found:
	*ret_x = (uint16_t)(c % w->width);
	*ret_y = (uint16_t)(c / w->width);
	return 0;
}

/* Place gems until the room has w->gems of them (or no cell is left). */
static void fill_gems(struct world *w, struct wroom *rm)
{
	while (rm->ngems < w->gems) {
		uint16_t x, y;

		if (find_free_cell(w, rm, -1, &x, &y) < 0)
			return;
		rm->gems[rm->ngems].x = x;
		rm->gems[rm->ngems].y = y;
		rm->ngems++;
	}
}

static void remove_gem(struct wroom *rm, uint32_t g)
{
	rm->gems[g] = rm->gems[rm->ngems - 1];
	rm->ngems--;
}

static void clear_seats(struct world *w, struct wroom *rm)
{
	for (uint32_t i = 0; i < w->capacity; i++) {
		memset(&rm->seats[i], 0, sizeof(rm->seats[i]));
		rm->seats[i].pidx = WORLD_NONE;
	}
	rm->nseats = 0;
}

void room_init(struct world *w, uint32_t r)
{
	struct wroom *rm = wroom(w, r);

	/* The lock was initialised by the caller; everything after it starts empty. */
	rm->open = 0;
	rm->ngems = 0;
	rm->name_len = 0;
	memset(rm->name, 0, sizeof(rm->name));
	rm->version = 1;
	rm->rng = w->seed ^ ((uint64_t)(r + 1) * UINT64_C(0x9e3779b97f4a7c15));
	if (!rm->rng)
		rm->rng = 1;
	rm->chat_seq = 0;
	rm->chat_valid_from = 0;
	memset(rm->gems, 0, sizeof(rm->gems));
	clear_seats(w, rm);
}

void room_open_locked(struct world *w, uint32_t r, const char *name, size_t len)
{
	struct wroom *rm = wroom(w, r);

	rm->open = 1;
	rm->name_len = (uint8_t)len;
	memcpy(rm->name, name, len);
	rm->name[len] = '\0';
	clear_seats(w, rm);
	rm->ngems = 0;
	fill_gems(w, rm);
	/* A new incarnation of the slot shows no chat of the previous one. */
	rm->chat_valid_from = rm->chat_seq;
	rm->version++;
}

void room_close_locked(struct world *w, uint32_t r)
{
	struct wroom *rm = wroom(w, r);

	rm->open = 0;
	clear_seats(w, rm);
	rm->ngems = 0;
	rm->chat_valid_from = rm->chat_seq;
	rm->version++;
}

int room_find_seat(struct world *w, struct wroom *rm, uint32_t pidx)
{
	uint32_t n = rm->nseats < w->capacity ? rm->nseats : w->capacity;

	for (uint32_t i = 0; i < n; i++)
		if (rm->seats[i].pidx == pidx)
			return (int)i;
	return -1;
}

void room_info_locked(struct world *w, uint32_t r, int seat, struct world_room_info *ret)
{
	struct wroom *rm = wroom(w, r);

	memset(ret, 0, sizeof(*ret));
	ret->room = r;
	memcpy(ret->name, rm->name, rm->name_len);
	ret->name[rm->name_len] = '\0';
	ret->width = (uint16_t)w->width;
	ret->height = (uint16_t)w->height;
	ret->capacity = (uint8_t)w->capacity;
	if (seat >= 0) {
		ret->x = rm->seats[seat].x;
		ret->y = rm->seats[seat].y;
	}
	ret->chat_head = rm->chat_seq;
}

int room_seat_locked(struct world *w, uint32_t r, uint32_t pidx, uint32_t id, uint32_t score,
                     struct world_room_info *ret)
{
	struct wroom *rm = wroom(w, r);
	uint16_t x, y;

	if (!rm->open || rm->nseats >= w->capacity)
		return -EBUSY;
	if (find_free_cell(w, rm, -1, &x, &y) < 0)
		return -EBUSY;
	struct wseat *s = &rm->seats[rm->nseats];
	s->pidx = pidx;
	s->id = id;
	s->x = x;
	s->y = y;
	s->score = score;
	rm->nseats++;
	rm->version++;
	if (ret)
		room_info_locked(w, r, (int)rm->nseats - 1, ret);
	return 0;
}

int room_unseat_locked(struct world *w, uint32_t r, uint32_t pidx, uint32_t *ret_score)
{
	struct wroom *rm = wroom(w, r);
	int i = room_find_seat(w, rm, pidx);

	if (i < 0)
		return -ENOENT;
	uint32_t score = rm->seats[i].score;
	rm->seats[i] = rm->seats[rm->nseats - 1];
	memset(&rm->seats[rm->nseats - 1], 0, sizeof(struct wseat));
	rm->seats[rm->nseats - 1].pidx = WORLD_NONE;
	rm->nseats--;
	rm->version++;
	*ret_score = score;
	return 0;
}

#if ARENA_TEST_FAULTS
/* Leave the room half-updated (a seat outside the grid, a seat count that counts an empty
 * seat) and hang inside the critical section until killed. */
static void lock_fault(struct world *w, struct wroom *rm, int seat)
{
	rm->seats[seat].x = (uint16_t)(w->width + 7);
	rm->nseats++;
	for (;;)
		pause();
}
#endif

/* Lock room `room` if it is open: 0 with the lock held and *ret_rm set, or -ENOENT (or the
 * lock's error) with the lock not held. */
int room_lock_open(struct world *w, uint32_t room, struct wroom **ret_rm)
{
	if (room >= w->max_rooms)
		return -ENOENT;
	int r = world_lock_room(w, room);
	if (r < 0)
		return r;
	struct wroom *rm = wroom(w, room);
	if (!rm->open) {
		world_unlock_room(w, room);
		return -ENOENT;
	}
	*ret_rm = rm;
	return 0;
}

/* Lock the room player pidx is seated in: 0 with the lock held and the room index, room and
 * seat set, or -ENOENT (in the lobby, or not seated) with the lock not held. */
static int lock_player_seat(struct world *w, uint32_t pidx, uint32_t *ret_room,
                            struct wroom **ret_rm, int *ret_seat)
{
	uint32_t r = wplayer_room(wplayer(w, pidx));
	struct wroom *rm;
	int e = room_lock_open(w, r, &rm);
	if (e < 0)
		return e;
	int s = room_find_seat(w, rm, pidx);
	if (s < 0) {
		world_unlock_room(w, r);
		return -ENOENT;
	}
	*ret_room = r;
	*ret_rm = rm;
	*ret_seat = s;
	return 0;
}

int room_move(struct world *w, uint32_t pidx, int dx, int dy, uint32_t *ret_score)
{
	if (!w || pidx >= w->max_players || dx < -1 || dx > 1 || dy < -1 || dy > 1)
		return -EINVAL;
	struct wroom *rm;
	uint32_t r;
	int s, ret = lock_player_seat(w, pidx, &r, &rm, &s);
	if (ret < 0)
		return ret;
#if ARENA_TEST_FAULTS
	if (fault_armed)
		lock_fault(w, rm, s);
#endif
	struct wseat *st = &rm->seats[s];
	long nx = (long)st->x + dx, ny = (long)st->y + dy;
	bool scored = false;
	uint32_t score = 0;

	if ((dx || dy) && nx >= 0 && ny >= 0 && nx < (long)w->width && ny < (long)w->height &&
	    seat_at(rm, rm->nseats, (uint32_t)nx, (uint32_t)ny) < 0) {
		st->x = (uint16_t)nx;
		st->y = (uint16_t)ny;
		rm->version++;
		int g = gem_at(rm, rm->ngems, st->x, st->y, -1);
		if (g >= 0) {
			if (st->score < UINT32_MAX)
				st->score++;
			score = st->score;
			scored = true;
			uint16_t gx, gy;
			if (find_free_cell(w, rm, g, &gx, &gy) == 0) {
				rm->gems[g].x = gx;
				rm->gems[g].y = gy;
			} else {
				remove_gem(rm, (uint32_t)g);
			}
		}
	}
	world_unlock_room(w, r);
	*ret_score = scored ? score : 0;
	return 0;
}

int world_chat(struct world *w, uint32_t pidx, const char *text, size_t len)
{
	if (!w || !text || pidx >= w->max_players || len < 1 || len > ARENA_CHAT_MAX ||
	    !arena_utf8_valid(text, len))
		return -EINVAL;
	const struct wplayer *p = wplayer(w, pidx);
	struct wroom *rm;
	uint32_t r;
	int s, ret = lock_player_seat(w, pidx, &r, &rm, &s);
	if (ret < 0)
		return ret;
	room_chat_put_locked(w, rm, rm->seats[s].id, p->name,
	                     p->name_len <= ARENA_NAME_MAX ? p->name_len : ARENA_NAME_MAX, text,
	                     len);
	world_unlock_room(w, r);
	return 0;
}

void room_chat_put_locked(struct world *w, struct wroom *rm, uint32_t sender_id, const char *sender,
                          size_t sender_len, const char *text, size_t len)
{
	struct wchat *e = &wroom_chat(w, rm)[rm->chat_seq % WORLD_CHAT_RING];

	e->seq = UINT64_MAX; /* unreadable while half written */
	e->sender_id = sender_id;
	e->sender_len = (uint8_t)sender_len;
	memcpy(e->sender, sender, sender_len);
	e->sender[sender_len] = '\0';
	e->text_len = (uint8_t)len;
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->seq = rm->chat_seq;
	rm->chat_seq++;
}

static uint64_t chat_low(const struct wroom *rm)
{
	uint64_t lo = rm->chat_seq > WORLD_CHAT_RING ? rm->chat_seq - WORLD_CHAT_RING : 0;

	return rm->chat_valid_from > lo ? rm->chat_valid_from : lo;
}

int world_chat_read(struct world *w, uint32_t room, uint64_t *cursor, struct arena_chat_msg *out,
                    size_t max, size_t *ret_n, uint64_t *ret_lost)
{
	if (!w || !cursor || (!out && max) || !ret_n)
		return -EINVAL;
	struct wroom *rm;
	int ret = room_lock_open(w, room, &rm);
	if (ret < 0)
		return ret;
	uint64_t head = rm->chat_seq, lo = chat_low(rm), c = *cursor, lost = 0;
	size_t n = 0;

	if (c > head)
		c = head;
	if (c < lo) {
		lost = lo - c;
		c = lo;
	}
	for (; c < head && n < max; c++, n++) {
		const struct wchat *e = &wroom_chat(w, rm)[c % WORLD_CHAT_RING];
		struct arena_chat_msg *m = &out[n];

		memset(m, 0, sizeof(*m));
		m->sender_id = e->sender_id;
		m->sender.len = e->sender_len;
		memcpy(m->sender.s, e->sender, e->sender_len);
		m->room.len = rm->name_len;
		memcpy(m->room.s, rm->name, rm->name_len);
		m->text.len = e->text_len;
		memcpy(m->text.s, e->text, e->text_len);
	}
	world_unlock_room(w, room);
	*cursor = c;
	*ret_n = n;
	if (ret_lost)
		*ret_lost = lost;
	return 0;
}

int world_chat_head(struct world *w, uint32_t room, uint64_t *ret_seq)
{
	if (!w || !ret_seq)
		return -EINVAL;
	struct wroom *rm;
	int ret = room_lock_open(w, room, &rm);
	if (ret < 0)
		return ret;
	uint64_t seq = rm->chat_seq;
	world_unlock_room(w, room);
	*ret_seq = seq;
	return 0;
}

int world_room_view(struct world *w, uint32_t room, struct world_room_view *ret)
{
	if (!w || !ret)
		return -EINVAL;
	struct wroom *rm;
	int r = room_lock_open(w, room, &rm);
	if (r < 0)
		return r;
	ret->room = room;
	ret->version = rm->version;
	memcpy(ret->name, rm->name, rm->name_len);
	ret->name[rm->name_len] = '\0';
	ret->nplayers = (uint8_t)rm->nseats;
	for (uint32_t i = 0; i < rm->nseats; i++) {
		ret->players[i].id = rm->seats[i].id;
		ret->players[i].x = rm->seats[i].x;
		ret->players[i].y = rm->seats[i].y;
		ret->players[i].score = rm->seats[i].score;
	}
	ret->ngems = (uint8_t)rm->ngems;
	memcpy(ret->gems, rm->gems, rm->ngems * sizeof(rm->gems[0]));
	ret->chat_seq = rm->chat_seq;
	world_unlock_room(w, room);
	return 0;
}

int world_room_peek(struct world *w, uint32_t room, uint64_t *ret_version, uint64_t *ret_chat_seq)
{
	if (!w || !ret_version || !ret_chat_seq || room >= w->max_rooms)
		return -EINVAL;
	struct wroom *rm = wroom(w, room);

	/* No lock: each load pairs with the writer's atomic update under the room lock. The three
	 * are not one snapshot; a caller that acts on them takes the lock (world_room_view). */
	if (!atomic_load_explicit(&rm->open, memory_order_acquire))
		return -ENOENT;
	uint64_t version = atomic_load_explicit(&rm->version, memory_order_acquire);
	uint64_t chat_seq = atomic_load_explicit(&rm->chat_seq, memory_order_acquire);
	*ret_version = version;
	*ret_chat_seq = chat_seq;
	return 0;
}

int world_player_room(struct world *w, uint32_t pidx, struct world_room_info *ret)
{
	if (!w || !ret || pidx >= w->max_players)
		return -EINVAL;
	struct wroom *rm;
	uint32_t r;
	int s, e = lock_player_seat(w, pidx, &r, &rm, &s);
	if (e < 0)
		return e;
	room_info_locked(w, r, s, ret);
	world_unlock_room(w, r);
	return 0;
}

int world_player_score(struct world *w, uint32_t pidx, uint32_t *ret)
{
	if (!w || !ret || pidx >= w->max_players)
		return -EINVAL;
	struct wroom *rm;
	uint32_t r, score;
	int s, e = lock_player_seat(w, pidx, &r, &rm, &s);
	if (e == 0) {
		score = rm->seats[s].score;
		world_unlock_room(w, r);
	} else {
		/* In the lobby (or between): the record holds it, under the world lock. */
		e = world_lock_world(w);
		if (e < 0)
			return e;
		const struct wplayer *p = wplayer(w, pidx);
		score = p->score;
		e = p->state == WP_ATTACHED ? 0 : -ESTALE;
		world_unlock_world(w);
		if (e < 0)
			return e;
	}
	*ret = score;
	return 0;
}

/* ---- Repair and check ------------------------------------------------------------------- */

static bool chat_entry_valid(const struct wchat *e, uint64_t seq)
{
	return e->seq == seq && e->sender_len >= 1 && e->sender_len <= ARENA_NAME_MAX &&
	       e->text_len >= 1 && e->text_len <= ARENA_CHAT_MAX &&
	       e->sender[e->sender_len] == '\0' && e->text[e->text_len] == '\0' &&
	       arena_utf8_valid(e->sender, e->sender_len) && arena_utf8_valid(e->text, e->text_len);
}

static bool room_name_valid(const struct wroom *rm)
{
	return rm->name_len >= 1 && rm->name_len <= ARENA_ROOM_MAX &&
	       rm->name[rm->name_len] == '\0' && arena_utf8_valid(rm->name, rm->name_len);
}

void room_repair_locked(struct world *w, uint32_t r)
{
	struct wroom *rm = wroom(w, r);
	uint32_t k = 0;

	rm->open = rm->open ? 1 : 0;
	if (rm->name_len > ARENA_ROOM_MAX)
		rm->name_len = ARENA_ROOM_MAX;
	rm->name[rm->name_len] = '\0';
	if (!rm->rng)
		rm->rng = w->seed | 1;

	/* Seats: keep the used ones (in range, no pidx twice), packed at the front. */
	for (uint32_t i = 0; i < w->capacity; i++) {
		struct wseat s = rm->seats[i];
		bool dup = false;

		if (s.pidx >= w->max_players)
			continue;
		for (uint32_t j = 0; j < k; j++)
			dup = dup || rm->seats[j].pidx == s.pidx;
		if (!dup)
			rm->seats[k++] = s;
	}
	for (uint32_t i = k; i < w->capacity; i++) {
		memset(&rm->seats[i], 0, sizeof(rm->seats[i]));
		rm->seats[i].pidx = WORLD_NONE;
	}
	rm->nseats = rm->open ? k : 0;
	if (!rm->open)
		clear_seats(w, rm);

	/* Positions: clamp into the grid; a seat sharing a cell with an earlier one moves. */
	uint32_t nold = rm->ngems < w->gems ? rm->ngems : w->gems;
	rm->ngems = 0; /* gems are re-validated below; ignore them while placing players */
	for (uint32_t i = 0; i < rm->nseats; i++) {
		struct wseat *s = &rm->seats[i];

		if (s->x >= w->width)
			s->x = (uint16_t)(w->width - 1);
		if (s->y >= w->height)
			s->y = (uint16_t)(w->height - 1);
		if (seat_at(rm, i, s->x, s->y) >= 0) {
			uint16_t x, y;
			uint32_t n = rm->nseats;

			rm->nseats = i; /* free cell among the seats already settled */
			int e = find_free_cell(w, rm, -1, &x, &y);
			rm->nseats = n;
			if (e == 0) {
				s->x = x;
				s->y = y;
			}
		}
	}

	/* Gems: drop out-of-grid, duplicate and player-covered gems, then refill. */
	struct arena_gem old[ARENA_SNAP_GEMS_MAX];
	memcpy(old, rm->gems, sizeof(old));
	for (uint32_t i = 0; rm->open && i < nold; i++) {
		if (old[i].x >= w->width || old[i].y >= w->height ||
		    gem_at(rm, rm->ngems, old[i].x, old[i].y, -1) >= 0 ||
		    seat_at(rm, rm->nseats, old[i].x, old[i].y) >= 0)
			continue;
		rm->gems[rm->ngems++] = old[i];
	}
	if (rm->open)
		fill_gems(w, rm);

	/* Chat: the readable window holds only whole entries. */
	if (rm->chat_valid_from > rm->chat_seq)
		rm->chat_valid_from = rm->chat_seq;
	for (uint64_t s = chat_low(rm); s < rm->chat_seq; s++)
		if (!chat_entry_valid(&wroom_chat(w, rm)[s % WORLD_CHAT_RING], s))
			rm->chat_valid_from = s + 1;
	rm->version++;
}

int room_repair(void *arg)
{
	const struct room_ref *a = arg;

	room_repair_locked(a->w, a->r);
	return 0;
}

int room_check_locked(struct world *w, uint32_t r)
{
	struct wroom *rm = wroom(w, r);

	if (rm->open > 1 || rm->nseats > w->capacity || rm->ngems > ARENA_SNAP_GEMS_MAX)
		return -EUCLEAN;
	if (rm->open && !room_name_valid(rm))
		return -EUCLEAN;
	if (!rm->open && (rm->nseats || rm->ngems))
		return -EUCLEAN;
	if (rm->open && rm->ngems != w->gems)
		return -EUCLEAN;
	for (uint32_t i = 0; i < w->capacity; i++) {
		const struct wseat *s = &rm->seats[i];

		if (i >= rm->nseats) {
			if (s->pidx != WORLD_NONE)
				return -EUCLEAN;
			continue;
		}
		if (s->pidx >= w->max_players || s->x >= w->width || s->y >= w->height ||
		    seat_at(rm, i, s->x, s->y) >= 0)
			return -EUCLEAN;
		for (uint32_t j = 0; j < i; j++)
			if (rm->seats[j].pidx == s->pidx)
				return -EUCLEAN;
	}
	for (uint32_t i = 0; i < rm->ngems; i++) {
		const struct arena_gem *g = &rm->gems[i];

		if (g->x >= w->width || g->y >= w->height || gem_at(rm, i, g->x, g->y, -1) >= 0 ||
		    seat_at(rm, rm->nseats, g->x, g->y) >= 0)
			return -EUCLEAN;
	}
	if (rm->chat_valid_from > rm->chat_seq)
		return -EUCLEAN;
	for (uint64_t s = chat_low(rm); s < rm->chat_seq; s++)
		if (!chat_entry_valid(&wroom_chat(w, rm)[s % WORLD_CHAT_RING], s))
			return -EUCLEAN;
	return 0;
}
