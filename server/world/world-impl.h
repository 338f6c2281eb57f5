/* world-impl.h: the private layout of the world in shared memory, and the world's inner calls.
 *
 * The block starts with struct world (magic, geometry, table offsets, the world lock and the
 * counters it guards), followed by page-independent, 64-byte aligned tables addressed by index:
 * players, the expiry heap of detached players, room directory entries, rooms (each with its
 * own lock, seats, gems and chat ring), the score table and its name hash. Nothing inside holds
 * a pointer, so any process that maps the block anywhere can use it. Which lock guards which
 * field is written next to the field; `_Atomic` fields are the few read without that lock.
 */
#ifndef ARENA_WORLD_IMPL_H
#define ARENA_WORLD_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lock.h"
#include "world.h"

#define WORLD_MAGIC        UINT64_C(0x31444c524f574e41) /* "ANWORLD1" little endian */
#define WORLD_VERSION      4
#define WORLD_CHAT_RING    64 /* chat messages a room keeps */
#define WORLD_NONE         UINT32_MAX
#define WORLD_GC_PERIOD_MS 1000
#define WORLD_ALIGN        64
#define WSCORE_WORDS       10 /* score, name_len, 32 name bytes */

enum wplayer_state {
	WP_FREE = 0,
	WP_ATTACHED = 1, /* owned by a live session */
	WP_DETACHED = 2, /* connection gone; resumable until expire_ms */
};

/* One player record. Guarded by the world lock, except `room`, which is written under the
 * world lock and read atomically by world_move()/world_chat() to find the room to lock. */
struct wplayer {
	uint32_t state;
	uint32_t id;
	uint8_t token[ARENA_TOKEN_LEN];
	uint32_t owner_slot;
	uint32_t owner_gen;
	_Atomic uint32_t room; /* ATTACHED: seated room; DETACHED: room to resume into */
	uint32_t score;        /* authoritative while not seated (the seat has it otherwise) */
	uint64_t expire_ms;    /* DETACHED: freed at this time */
	uint32_t next_free;
	uint32_t heap_pos; /* DETACHED: its index in the expiry heap */
	uint8_t name_len;
	char name[ARENA_NAME_MAX + 1];
	uint8_t room_public; /* the last room joined, to re-create it on resume */
	uint8_t room_name_len;
	char room_name[ARENA_ROOM_MAX + 1];
};

enum wroom_state {
	WR_FREE = 0,
	WR_OPEN = 1,
};

/* Directory entry of a room. Guarded by the world lock. */
struct wroom_dir {
	uint32_t state;
	uint32_t nmembers;   /* ATTACHED players with room == this */
	uint32_t nresumable; /* DETACHED players with room == this */
	uint8_t is_public;   /* created by matchmaking */
	uint8_t name_len;
	char name[ARENA_ROOM_MAX + 1];
	uint8_t has_origin;             /* opened by a JOIN from a known address ... */
	uint8_t origin[WORLD_ADDR_LEN]; /* ... this one (max_rooms_per_ip counts it) */
};

struct wseat {
	uint32_t pidx; /* WORLD_NONE when the seat is empty */
	uint32_t id;
	uint16_t x, y;
	uint32_t score;
};

struct wchat {
	uint64_t seq;
	uint32_t sender_id;
	uint8_t sender_len;
	uint8_t text_len;
	char sender[ARENA_NAME_MAX + 1];
	char text[ARENA_CHAT_MAX + 1];
};

/* A room's live state. Guarded by its own lock. Seats 0..nseats-1 are used, the rest empty;
 * the capacity seats are followed (at world->chat_off) by the WORLD_CHAT_RING chat entries.
 * Chat message `seq` lives in entry seq % WORLD_CHAT_RING; the readable window is
 * [max(chat_valid_from, chat_seq - RING), chat_seq). `open`, `version` and `chat_seq` are
 * written only under the lock but are atomics, so world_room_peek() may read them without it
 * (a worker's cheap "did anything change" test before it takes the lock). */
struct wroom {
	struct arena_lock lock;
	_Atomic uint32_t open;
	uint32_t nseats;
	uint32_t ngems;
	uint8_t name_len;
	char name[ARENA_ROOM_MAX + 1];
	_Atomic uint64_t version; /* bumped on every change of seats, positions, scores, gems */
	uint64_t rng;
	_Atomic uint64_t chat_seq;
	uint64_t chat_valid_from;
	struct arena_gem gems[ARENA_SNAP_GEMS_MAX];
	struct wseat seats[];
};

/* A score entry, written under the world lock inside the seqlock, read by the master without
 * any lock: every word is an atomic so the reader never races in the C11 sense. */
struct wscore {
	_Atomic uint32_t w[WSCORE_WORDS];
};

struct world {
	uint64_t magic;
	uint32_t version;
	uint32_t capacity; /* seats per room (<= cfg room_capacity, <= cells) */
	uint64_t size;
	uint32_t max_players;
	uint32_t max_rooms;
	uint32_t width, height;
	uint32_t gems; /* gems per room (<= cfg gems_per_room, fits beside the seats) */
	uint32_t score_cap;
	uint32_t hash_size;               /* power of two >= 2 * score_cap */
	_Atomic uint32_t resume_grace_ms; /* follows reloads: world_set_resume_grace() */
	uint64_t players_off, heap_off, dirs_off, rooms_off, room_stride, chat_off, scores_off,
	    hash_off;
	uint64_t seed;

	struct arena_lock lock;
	/* guarded by the world lock */
	uint32_t next_id;
	uint32_t free_head;
	uint32_t nattached;
	uint32_t ndetached;           /* also the size of the expiry heap */
	_Atomic uint32_t nrooms_open; /* written under the world lock; read by world_rooms_open() */
	uint32_t room_hwm;            /* rooms at index >= room_hwm are all free */
	uint32_t next_room_n;
	uint32_t top_n;
	uint32_t top[ARENA_LEADERBOARD_MAX]; /* best score entries, best first */

	/* read without the world lock */
	_Atomic uint32_t score_seq; /* seqlock: odd while the score table is being written */
	_Atomic uint32_t nscores;
	_Atomic uint32_t seen_deaths;
	_Atomic uint64_t next_gc_ms;
	_Atomic uint64_t repairs;
};

static inline struct wplayer *wplayer(struct world *w, uint32_t i)
{
	return (struct wplayer *)((char *)w + w->players_off) + i;
}

/* The expiry heap: the pidx of every DETACHED player, a binary min-heap on (expire_ms, pidx)
 * in entries [0, ndetached), so entry 0 is the next to expire (and the one a full table
 * evicts). Guarded by the world lock. */
static inline uint32_t *wheap(struct world *w)
{
	return (uint32_t *)((char *)w + w->heap_off);
}

static inline struct wroom_dir *wdir(struct world *w, uint32_t r)
{
	return (struct wroom_dir *)((char *)w + w->dirs_off) + r;
}

static inline struct wroom *wroom(struct world *w, uint32_t r)
{
	return (struct wroom *)((char *)w + w->rooms_off + (size_t)r * w->room_stride);
}

static inline struct wchat *wroom_chat(struct world *w, struct wroom *rm)
{
	return (struct wchat *)((char *)rm + w->chat_off);
}

static inline struct wscore *wscore(struct world *w, uint32_t i)
{
	return (struct wscore *)((char *)w + w->scores_off) + i;
}

static inline uint32_t *wscore_hash(struct world *w)
{
	return (uint32_t *)((char *)w + w->hash_off);
}

static inline uint32_t wplayer_room(struct wplayer *p)
{
	return atomic_load_explicit(&p->room, memory_order_relaxed);
}

static inline void wplayer_set_room(struct wplayer *p, uint32_t r)
{
	atomic_store_explicit(&p->room, r, memory_order_relaxed);
}

static inline bool world_str_valid(const char *s, size_t len, size_t max)
{
	return len >= 1 && len <= max && s[len] == '\0' && arena_utf8_valid(s, len);
}

/* Count a repair in the world header (lock.c counts it for the process). */
static inline void world_count_repair(struct world *w)
{
	atomic_fetch_add_explicit(&w->repairs, 1, memory_order_relaxed);
}

/* The files of the world, each calling only the ones listed after it (world.c's comment draws
 * it). Locks: world_lock_world() is in repair.c, beside the repair it runs; room locks are in
 * room.c. Both return 0 or a negative errno (lock not held then). */

/* repair.c */
int world_lock_world(struct world *w);
void world_unlock_world(struct world *w);
/* The repair function of the world lock (world lock held). */
int world_repair(void *arg);

/* directory.c: with the world lock held. */
/* The open room called name, or WORLD_NONE. */
uint32_t dir_find_room(struct world *w, const char *name, size_t len);
/* Open a new room, recording origin (NULL: none) as its creator's address; WORLD_NONE when
 * max_rooms are open or its lock is unrecoverable. */
uint32_t dir_create_room(struct world *w, const char *name, size_t len, bool is_public,
                         const uint8_t *origin);
/* Close room r if nobody is seated there or may resume into it. */
void dir_maybe_close(struct world *w, uint32_t r);
/* Seat p in open room r. 0, -EBUSY (full or no cell) or a lock error. */
int dir_seat_player(struct world *w, uint32_t pidx, uint32_t r, struct world_room_info *ret);
/* Take p out of room r's seats, keeping its score in the record and the score table. */
void dir_unseat_player(struct world *w, uint32_t pidx, uint32_t r);

/* expiry.c: the heap of DETACHED players, with the world lock held. */
/* Whether entry a of the heap may sit above entry b: a expires first (ties: lower pidx). */
bool expiry_before(struct world *w, uint32_t a, uint32_t b);
/* Rebuild the heap, and ndetached (its size), from the DETACHED players. */
void expiry_rebuild(struct world *w);
/* The detached player closest to its deadline, or WORLD_NONE. */
uint32_t expiry_top(struct world *w);
/* p became DETACHED with its expire_ms set: count it and file it in the heap. */
void expiry_add(struct world *w, uint32_t pidx);
/* p stops being DETACHED: uncount it and take it out of the heap. */
void expiry_remove(struct world *w, uint32_t pidx);

/* room.c: the room lock (taking it repairs a dead owner's room). */
int world_lock_room(struct world *w, uint32_t r);
void world_unlock_room(struct world *w, uint32_t r);
/* Lock room r if it is open: 0 with the lock held and *ret_rm set, or -ENOENT (or the lock's
 * error) with the lock not held. */
int room_lock_open(struct world *w, uint32_t r, struct wroom **ret_rm);
/* Move pidx one step in its room (world_move()'s checks and rules); *ret_score is the seat's new
 * score if it picked a gem, else 0. Takes only the room lock. 0, -EINVAL or -ENOENT. */
int room_move(struct world *w, uint32_t pidx, int dx, int dy, uint32_t *ret_score);

/* The argument of room_repair(). */
struct room_ref {
	struct world *w;
	uint32_t r;
};

/* room.c: everything below runs with the room lock of r held. */
void room_init(struct world *w, uint32_t r);
void room_open_locked(struct world *w, uint32_t r, const char *name, size_t len);
void room_close_locked(struct world *w, uint32_t r);
/* Seat a player at a random free cell. -EBUSY if every seat or cell is taken. */
int room_seat_locked(struct world *w, uint32_t r, uint32_t pidx, uint32_t id, uint32_t score,
                     struct world_room_info *ret);
/* Remove a player's seat; its score in *ret_score. -ENOENT if not seated here. */
int room_unseat_locked(struct world *w, uint32_t r, uint32_t pidx, uint32_t *ret_score);
/* The seat of pidx, or -1. */
int room_find_seat(struct world *w, struct wroom *rm, uint32_t pidx);
void room_info_locked(struct world *w, uint32_t r, int seat, struct world_room_info *ret);
/* Append a chat message (text and sender checked by the caller) to the room's ring. */
void room_chat_put_locked(struct world *w, struct wroom *rm, uint32_t sender_id, const char *sender,
                          size_t sender_len, const char *text, size_t len);
/* Repair what the room lock guards from the room alone; the world repair then reconciles the
 * seats with the player table. Never fails. */
int room_repair(void *arg);
void room_repair_locked(struct world *w, uint32_t r);
/* 0 if the room's own invariants hold, -EUCLEAN otherwise. */
int room_check_locked(struct world *w, uint32_t r);

/* scores.c: with the world lock held. */
void scores_reset(struct world *w);
void scores_leaderboard_locked(struct world *w, unsigned n, struct arena_leaderboard *ret);
/* The valid entries of in[0..n), best first, in a new array (*ret, to free) of *ret_n. 0 or
 * -ENOMEM. Takes no lock. */
int scores_import_order(const struct world_score *in, size_t n, const struct world_score ***ret,
                        size_t *ret_n);
/* Replace the table with order[0..m) (best first), as many as fit. */
void scores_load_locked(struct world *w, const struct world_score *const *order, size_t m);
int scores_update_locked(struct world *w, const char *name, size_t len, uint32_t score);
void scores_repair_locked(struct world *w);
int scores_check_locked(struct world *w);

/* A small fast PRNG (xorshift64*), state never zero. */
static inline uint64_t world_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : UINT64_C(0x9e3779b97f4a7c15);

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

#endif /* ARENA_WORLD_IMPL_H */
