/* shm.h: the shared-memory region: a versioned header, the worker scoreboard, then the world.
 *
 * The master creates one MAP_SHARED region (a memfd) before it forks any worker, so every
 * worker maps it at the same address; a new master adopts it across exec() in a live upgrade
 * (shm_adopt()) at another address, which is why nothing inside holds a raw pointer: the world
 * is found at header->world_offset and refers to its own records by index.
 *
 *     +--------------------+ 0
 *     | struct shm_header  |  magic, version, sizes, shutdown flag, death counter,
 *     |   slots[]          |  one scoreboard slot per worker (lock-free atomics only)
 *     +--------------------+ world_offset (page aligned)
 *     | world (world.h)    |  rooms, players, chat rings, leaderboard: robust-mutex guarded
 *     +--------------------+ total_size
 *
 * The scoreboard is written by its worker (heartbeat, counters) and by the master (state, gen,
 * pid) with atomic stores only: the master never takes a lock in shared memory, so it can never
 * hang on one. Library code: no logging.
 */
#ifndef ARENA_SHM_H
#define ARENA_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARENA_SHM_MAGIC   UINT64_C(0x31484d53414e4552) /* "RENASMH1" little endian */
#define ARENA_SHM_VERSION 3
#define ARENA_WORKERS_MAX 256

/* Worker slot states, written by the master (STARTING, DEAD, EMPTY) and the worker (READY,
 * DRAINING). See docs/ARCHITECTURE.md for the state machine. */
enum worker_state {
	WORKER_EMPTY = 0,
	WORKER_STARTING = 1,
	WORKER_READY = 2,
	WORKER_DRAINING = 3,
	WORKER_DEAD = 4,
};

/* Metric arrays in a slot. Message types index by their low nibble (client types 0x01..0x07,
 * server types 0x81..0x89; 0 counts nothing); ERROR codes and BYE reasons by their value (1..15,
 * 0 for a value beyond). */
#define SHM_TYPE_SLOTS   16
#define SHM_CODE_SLOTS   16
#define SHM_HIST_BUCKETS 12 /* 11 bounds (shm_hist_bounds_us) and +Inf */

static inline unsigned shm_type_index(unsigned type)
{
	return (type & 0x70u) == 0 ? type & 0x0fu : 0;
}

static inline unsigned shm_code_index(unsigned code)
{
	return code < SHM_CODE_SLOTS ? code : 0;
}

/* A latency histogram written by one process with relaxed atomic adds: bucket[i] counts the
 * observations <= shm_hist_bounds_us[i] (not cumulative; the reader sums), the last bucket the
 * rest. */
struct shm_hist {
	_Atomic uint64_t bucket[SHM_HIST_BUCKETS];
	_Atomic uint64_t sum_us;
	_Atomic uint64_t count;
};

extern const uint32_t shm_hist_bounds_us[SHM_HIST_BUCKETS - 1];

void shm_hist_observe(struct shm_hist *h, uint64_t us);

/* Each slot starts a cache line of its own: a worker bumps its counters per frame, and must
 * not share those lines with its neighbour's. */
struct worker_slot {
	_Alignas(64) _Atomic uint32_t state; /* enum worker_state */
	_Atomic uint32_t gen; /* bumped by the master each time the slot is (re)filled */
	_Atomic int32_t pid;
	_Atomic uint64_t heartbeat_ms; /* CLOCK_MONOTONIC ms, stored by the worker's loop */
	_Atomic uint32_t clients;      /* connections currently served */
	_Atomic uint32_t players;      /* of which welcomed */
	_Atomic uint64_t accepted;     /* fds received from the master */
	_Atomic uint64_t frames_in;
	_Atomic uint64_t frames_out;
	_Atomic uint64_t inputs_dropped; /* MOVE/CHAT dropped by rate limits */
	_Atomic uint64_t kicked;         /* connections closed by the server for cause */
	_Atomic uint64_t ctrunc;         /* SCM_RIGHTS messages that arrived truncated */
	_Atomic uint64_t late_ticks;     /* ticks that started more than one period late */
	_Atomic uint64_t ticks;
	_Atomic uint64_t lock_wait_ms; /* since when it waits for a world lock (0: not waiting) */

	/* Metrics (docs/DEPLOY.md, "Metrics"): counters only grow for the life of the slot, across
	 * the processes that fill it; the gauge in_rooms is reset with clients and players. */
	_Atomic uint32_t in_rooms; /* welcomed sessions seated in a room */
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out; /* taken by the kernel */
	_Atomic uint64_t frames_in_type[SHM_TYPE_SLOTS];
	_Atomic uint64_t frames_out_type[SHM_TYPE_SLOTS]; /* queued */
	_Atomic uint64_t errors_sent[SHM_CODE_SLOTS];     /* ERROR by code */
	_Atomic uint64_t byes_sent[SHM_CODE_SLOTS];       /* BYE by reason */
	struct shm_hist tick_us;                          /* a whole tick: sweep + fan-out */
	struct shm_hist fanout_us;                        /* SNAPSHOT/CHAT_MSG fan-out alone */
};
_Static_assert(sizeof(struct worker_slot) % 64 == 0, "worker slots must not share cache lines");

struct shm_header {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots; /* ARENA_WORKERS_MAX */
	uint64_t total_size;
	uint64_t world_offset;
	uint64_t world_size;
	uint64_t start_ms;             /* CLOCK_MONOTONIC ms when the region was made: tick 0 */
	_Atomic uint32_t shutdown;     /* 1 once graceful shutdown began, 2 for fast shutdown */
	_Atomic uint32_t deaths;       /* bumped by the master after marking a slot DEAD */
	_Atomic uint64_t lock_repairs; /* robust-lock recoveries, for STATUS and tests */
	_Atomic uint32_t cluster_up;   /* 1 while the master's Redis link works (cluster.c) */
	uint32_t pad;
	struct worker_slot slots[ARENA_WORKERS_MAX];
};

/* Create the region with room for a world of world_size bytes. Returns 0 and *ret_hdr, or a
 * negative errno. The region is inherited by children across fork(). */
int shm_create(size_t world_size, struct shm_header **ret_hdr);
/* The same, also returning the memfd behind it (close-on-exec) in *ret_fd, for a live upgrade to
 * hand to the next master. */
int shm_create_fd(size_t world_size, struct shm_header **ret_hdr, int *ret_fd);
/* Map the region behind fd (made by shm_create_fd() in another process), after checking its
 * header: 0 and *ret_hdr, -EPROTO if it is not a region of this version, or -errno. */
int shm_adopt(int fd, struct shm_header **ret_hdr);

/* Unmap the region (NULL is fine). */
void shm_destroy(struct shm_header *hdr);

/* Check magic, version and sizes: 0 or -EPROTO. */
int shm_check(const struct shm_header *hdr);

static inline void *shm_world(struct shm_header *hdr)
{
	return (char *)hdr + hdr->world_offset;
}

/* A slot is alive for world bookkeeping when it is STARTING/READY/DRAINING with gen `gen`. */
static inline int shm_slot_alive(const struct shm_header *hdr, unsigned slot, uint32_t gen)
{
	if (slot >= ARENA_WORKERS_MAX)
		return 0;
	const struct worker_slot *s = &hdr->slots[slot];
	uint32_t st = atomic_load(&s->state);
	return atomic_load(&s->gen) == gen &&
	       (st == WORKER_STARTING || st == WORKER_READY || st == WORKER_DRAINING);
}

uint64_t arena_now_ms(void); /* CLOCK_MONOTONIC in ms */
uint64_t arena_now_us(void); /* CLOCK_MONOTONIC in us (tick timing) */

/* "empty", "starting", "ready", "draining", "dead", or "unknown". */
const char *shm_state_name(uint32_t state);

/* The live counts of every slot, summed (lock-free reads: a moment's view). */
struct shm_totals {
	unsigned long long clients, players, in_rooms;
};
void shm_totals(const struct shm_header *hdr, struct shm_totals *ret);

#endif /* ARENA_SHM_H */
