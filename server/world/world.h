/* world.h: the game world in shared memory: players, rooms, gems, chat rings, leaderboard.
 *
 * The world is one block inside the shm region (shm.h), laid out by world_init() from the
 * config and addressed only by offsets and indices, never by pointers stored inside it. Every
 * worker calls these functions on the same block; the master only sizes and initialises it
 * before forking and otherwise never touches it (except world_scores_export via the seqlock,
 * which takes no lock).
 *
 * Locks (lock.h, robust, process-shared):
 *   - the world lock guards the player table (alloc/free, tokens, owner), the room directory
 *     (names, creation, matchmaking, membership counts) and the score table / leaderboard;
 *   - one lock per room guards that room's grid positions, gems, member list and chat ring.
 *   Order: world lock, then at most one room lock. Never a room lock then the world lock.
 * On a dead owner, the repair functions rebuild the derived data (member counts, gem cells,
 * chat ring indices) from the authoritative records and clamp anything out of range.
 *
 * Every function returns 0 or a negative errno; outputs come last, untouched on failure. This
 * module does not log; functions that took a lock report a repair through *ret_repaired-style
 * counters (world_take_repairs()) so the caller can log once with context.
 *
 * Players are identified inside the world by index (pidx) and on the wire by a u32 id that is
 * never reused while the daemon runs. A player record has an owner (worker slot + slot gen):
 * when the owner is no longer alive (shm_slot_alive() false), world_sweep() detaches it.
 */
#ifndef ARENA_WORLD_H
#define ARENA_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_config.h"
#include "arena_proto.h"

struct shm_header;
struct world; /* opaque; lives in shared memory */

#define WORLD_NO_ROOM UINT32_MAX

/* ---- Set-up (master, before fork) -------------------------------------------------------- */

/* Bytes needed for a world sized by cfg (max_players, max_rooms, room_capacity, ...). */
size_t world_size(const struct arena_config *cfg);

/* Lay out and initialise the world in mem[0..size): all locks, empty tables. seed feeds the
 * gem placement PRNG. Returns 0 or -EINVAL (size too small), -ENOTSUP (no robust locks). */
int world_init(void *mem, size_t size, const struct arena_config *cfg, uint64_t seed);
/* Check that mem (size bytes, from shm_adopt()) holds a world this build lays out exactly as
 * world_init() would for cfg, so it can be used as is: 0, -EPROTO (not a world of this version)
 * or -EINVAL (another geometry: max_players, max_rooms, room size, capacity or gems differ). */
int world_adopt(void *mem, size_t size, const struct arena_config *cfg);

/* ---- Players ------------------------------------------------------------------------------ */

struct world_player_info {
	uint32_t pidx;                  /* index in the player table */
	uint32_t id;                    /* wire id */
	uint8_t token[ARENA_TOKEN_LEN]; /* resume token (random, never all zero) */
	uint8_t resume;                 /* enum arena_resume_status */
	uint32_t room;                  /* room index, or WORLD_NO_ROOM (lobby) */
	uint32_t score;
};

/* Create a player for a HELLO, or resume one: if token is non-zero and names a detached player
 * whose grace has not run out, that player is re-owned by (slot, gen), keeps id, score and room
 * (rejoining the room if it still has space, else the lobby) and resume = ARENA_RESUME_OK;
 * otherwise a fresh player is made with resume = NONE (no token) or EXPIRED (bad token).
 * Returns -ENOSPC when the player table is full. */
int world_player_attach(struct world *w, unsigned slot, uint32_t gen, const char *name,
                        const uint8_t token[ARENA_TOKEN_LEN], uint64_t now_ms,
                        struct world_player_info *ret);

/* A player resumed on another node (docs/SCALE.md): give the fresh player pidx, still in the
 * lobby, the score its token had there (kept if higher already; the best-score table notes
 * it). -ESTALE if pidx is no longer an attached player in the lobby. */
int world_player_restore_score(struct world *w, uint32_t pidx, uint32_t score);

/* The current score of attached player pidx (its seat's while in a room). */
int world_player_score(struct world *w, uint32_t pidx, uint32_t *ret);

/* The connection went away: leave the room (freeing the seat) but keep the record, resumable
 * until now_ms + resume_grace. With resume_grace 0 the record is freed at once. */
int world_player_detach(struct world *w, uint32_t pidx, uint64_t now_ms);

/* The resume grace for players detached from now on (world_init took cfg->resume_grace_ms);
 * sessions pass the current configuration's value so a reload applies. Lock-free. */
void world_set_resume_grace(struct world *w, uint32_t grace_ms);

/* Detach every player whose owner slot is no longer alive, and free detached players whose
 * grace has expired. Cheap when nothing changed (checks shm deaths counter and a timer). */
int world_sweep(struct world *w, const struct shm_header *hdr, uint64_t now_ms);

/* ---- Rooms -------------------------------------------------------------------------------- */

struct world_room_info {
	uint32_t room; /* room index; also the wire room_id */
	char name[ARENA_ROOM_MAX + 1];
	uint16_t width, height;
	uint8_t capacity;
	uint16_t x, y;      /* the player's spawn cell */
	uint64_t chat_head; /* room chat sequence at the join: deliver from here */
};

/* JOIN: name non-empty joins or creates that room; empty = matchmaking: the fullest public room
 * with a free seat, else a new room named "room-<n>". A player already in a room leaves it first
 * (joining the same room again is a no-op that succeeds). Errors: -EBUSY room full,
 * -ENOSPC max_rooms reached, -EINVAL bad name (the caller validated UTF-8 already). The rooms
 * it opens count for no address: world_join_from() with from = NULL. */
int world_join(struct world *w, uint32_t pidx, const char *name, struct world_room_info *ret);

/* Where a JOIN comes from, for max_rooms_per_ip: the client's address key (opaque bytes, equal
 * for every client the limit should group: the daemon uses peer_key(), i.e. the IPv4 address or
 * the IPv6 /64) and the limit (>= 1) at the time of the JOIN. */
#define WORLD_ADDR_LEN 20
struct world_origin {
	uint8_t addr[WORLD_ADDR_LEN];
	unsigned max_rooms; /* rooms this address may have open at once */
};

/* world_join() from an address: a room it opens records from->addr as its creator's address
 * for as long as it stays open; when opening one would give that address more than
 * from->max_rooms open rooms, the JOIN fails with -EDQUOT and the player stays where it was.
 * Joining a room that is already open is never limited. from = NULL: no limit, no record. */
int world_join_from(struct world *w, uint32_t pidx, const char *name,
                    const struct world_origin *from, struct world_room_info *ret);

/* The room the player is seated in, as JOINED reports it (x, y = its current cell), e.g. after
 * a resume put it back in a room. -ENOENT in the lobby. */
int world_player_room(struct world *w, uint32_t pidx, struct world_room_info *ret);

/* LEAVE: back to the lobby. -ENOENT if not in a room. */
int world_leave(struct world *w, uint32_t pidx);

/* MOVE: apply (dx, dy) if the target is inside the grid, else ignore (still returns 0).
 * Stepping on a gem scores one point and respawns the gem at a random free cell: exactly one
 * point per gem however many workers race for it. *ret_scored tells whether this move scored.
 * -ENOENT if not in a room. */
int world_move(struct world *w, uint32_t pidx, int dx, int dy, bool *ret_scored);

/* CHAT: append to the room's chat ring with the next sequence number (one total order per
 * room). -ENOENT if not in a room. */
int world_chat(struct world *w, uint32_t pidx, const char *text, size_t len);

/* ---- Reading for ticks -------------------------------------------------------------------- */

struct world_room_view {
	uint32_t room;
	uint64_t version; /* bumped on every change of positions, scores, members, gems */
	char name[ARENA_ROOM_MAX + 1];
	uint8_t nplayers;
	struct arena_snap_player players[ARENA_SNAP_PLAYERS_MAX];
	uint8_t ngems;
	struct arena_gem gems[ARENA_SNAP_GEMS_MAX];
	uint64_t chat_seq; /* sequence number the next chat message will get */
};

/* Copy a room's state under its lock. -ENOENT if the room index is not an open room. */
int world_room_view(struct world *w, uint32_t room, struct world_room_view *ret);

/* The room's version and chat_seq (as world_room_view would report them) without taking any
 * lock: a few atomic loads, so a worker can tell cheaply that nothing it would send has
 * changed. -EINVAL for a room index outside the world, -ENOENT if the room is not open. The
 * answer may already be stale when it returns (another worker may change the room at once);
 * it is never torn, and version and chat_seq only grow, so a caller that looks again later
 * (the next tick) misses nothing. */
int world_room_peek(struct world *w, uint32_t room, uint64_t *ret_version, uint64_t *ret_chat_seq);

/* A chat line from another node (docs/SCALE.md) into the open room called room, as from
 * sender_id/sender there. -ENOENT when no room of that name is open here (nobody to tell),
 * -EINVAL for names or text out of bounds or not valid UTF-8. */
int world_chat_remote(struct world *w, const char *room, uint32_t sender_id, const char *sender,
                      const char *text);

/* Fetch chat messages of a room with sequence >= *cursor, up to max, in order. *cursor is
 * advanced past what was returned; if the ring has already overwritten messages the cursor is
 * moved to the oldest one still held and *ret_lost says how many were skipped. */
int world_chat_read(struct world *w, uint32_t room, uint64_t *cursor, struct arena_chat_msg *out,
                    size_t max, size_t *ret_n, uint64_t *ret_lost);

/* Current chat sequence of a room (for a newly joined session to start from). */
int world_chat_head(struct world *w, uint32_t room, uint64_t *ret_seq);

/* Top n best scores by player name, best first. */
int world_leaderboard(struct world *w, unsigned n, struct arena_leaderboard *ret);

/* ---- Persistence (scores by name) --------------------------------------------------------- */

struct world_score {
	char name[ARENA_NAME_MAX + 1];
	uint32_t score;
};

/* Copy the score table without taking any lock (seqlock read, bounded retries: -EAGAIN if a
 * writer kept it busy). Safe for the master. *ret_n entries written to out[0..max). */
int world_scores_export(struct world *w, struct world_score *out, size_t max, size_t *ret_n);

/* Load scores (master, before fork). Extra entries beyond the table are dropped lowest first. */
int world_scores_import(struct world *w, const struct world_score *in, size_t n);

/* Size of the score table (for allocating an export buffer). */
size_t world_scores_capacity(const struct world *w);

/* ---- The operator's view (census.c) ------------------------------------------------------ */

struct world_room_row {
	uint32_t room; /* index, the wire room_id */
	char name[ARENA_ROOM_MAX + 1];
	uint32_t members;   /* players seated */
	uint32_t resumable; /* disconnected players who may resume into it */
	bool is_public;     /* opened by matchmaking */
};

struct world_player_row {
	uint32_t id;
	char name[ARENA_NAME_MAX + 1];
	bool attached; /* false: disconnected, resumable until its grace ends */
	uint32_t slot; /* the worker slot serving it (attached) or that served it last */
	uint32_t room; /* seated (or resuming into) this room, or WORLD_NO_ROOM */
	char room_name[ARENA_ROOM_MAX + 1];
	uint32_t score;
};

/* Callbacks run with world locks held: quick, no world calls. A negative return stops the
 * listing and is returned. */
typedef int (*world_room_cb)(const struct world_room_row *row, void *arg);
typedef int (*world_player_cb)(const struct world_player_row *row, void *arg);

/* Every open room, in index order. 0, the callback's error, or a lock error. */
int world_list_rooms(struct world *w, world_room_cb cb, void *arg);
/* Every player (attached or resumable), in table order; only those of room `room` if it is
 * not NULL or empty (-ENOENT if no such room is open). */
int world_list_players(struct world *w, const char *room, world_player_cb cb, void *arg);
/* A server notice (CHAT_MSG from sender id 0, "server") into room `room`, or into every open
 * room when room is NULL or empty. 0 and the rooms reached in *ret_rooms; -EINVAL for text
 * that is not 1..ARENA_CHAT_MAX bytes of valid UTF-8, -ENOENT for no such room. */
int world_announce(struct world *w, const char *room, const char *text, size_t len,
                   unsigned *ret_rooms);

/* ---- Health ------------------------------------------------------------------------------- */

/* Number of robust-lock repairs this process performed since the last call (resets to 0). */
unsigned world_take_repairs(void);

/* Rooms open right now: one atomic load, no lock (for metrics and status; may be a moment
 * stale). */
unsigned world_rooms_open(const struct world *w);

/* Full invariant check (member counts, seats, positions inside grid, gems on distinct cells,
 * chat ring indices). Takes the locks. 0 if consistent, -EUCLEAN otherwise. For tests and the
 * worker's periodic self-check. */
int world_check(struct world *w);

/* Test builds only (ARENA_TEST_FAULTS): the next world_move() by this process takes the room
 * lock, leaves the room half-updated, and blocks forever, so a test can SIGKILL it mid-section. */
void world_test_arm_lock_fault(void);

#endif /* ARENA_WORLD_H */
