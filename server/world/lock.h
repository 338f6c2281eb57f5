/* lock.h: process-shared robust mutexes for the world in shared memory.
 *
 * Every lock in the world is a struct arena_lock. If a worker dies holding one, the next
 * locker gets EOWNERDEAD: arena_lock_acquire() then calls the caller's repair function, which
 * must validate and fix the data the lock guards, and only if that succeeds marks the mutex
 * consistent. The caller learns that a repair happened (to log it; this module never logs).
 * Lock order (documented in docs/ARCHITECTURE.md): world lock before any room lock; never two
 * room locks at once. The master never locks.
 */
#ifndef ARENA_LOCK_H
#define ARENA_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdbool.h>

struct arena_lock {
	pthread_mutex_t m;
};

/* Initialise as PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST. The attributes are read back at
 * run time: -ENOTSUP if the platform silently refused either. */
int arena_lock_init(struct arena_lock *l);

/* repair(arg) runs with the lock held after the previous owner died; it returns 0 when the
 * guarded data is consistent again, or a negative errno if it cannot be fixed. */
typedef int (*arena_lock_repair_fn)(void *arg);

/* Lock. Returns 0 (with *ret_repaired set to whether a dead owner's state was repaired, if
 * ret_repaired is non-NULL), or a negative errno: -ENOTRECOVERABLE if a repair failed now or
 * earlier. On failure the lock is not held. */
int arena_lock_acquire(struct arena_lock *l, arena_lock_repair_fn repair, void *arg,
                       bool *ret_repaired);

void arena_lock_release(struct arena_lock *l);

/* How many dead owners' states this process has repaired (successful repairs inside
 * arena_lock_acquire()) since the last call; resets the count. */
unsigned arena_lock_take_repairs(void);

/* Optional, per process: while arena_lock_acquire() waits for a lock held by someone else,
 * *since_ms holds the CLOCK_MONOTONIC ms the wait began (0 otherwise), so a supervisor can
 * tell a wedged lock holder from the workers merely queued behind it. NULL turns it off. */
void arena_lock_set_wait_flag(_Atomic uint64_t *since_ms);

/* Destroy (for unit tests; the daemon just unmaps). */
void arena_lock_destroy(struct arena_lock *l);

#endif /* ARENA_LOCK_H */
