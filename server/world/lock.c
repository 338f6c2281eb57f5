/* lock.c: process-shared robust mutexes; see lock.h for the contract and the lock order.
 *
 * Robustness is the whole point, so it is verified when each lock is made rather than assumed
 * from headers: the attribute is set, then read back, and a mismatch is an error.
 */
#include "lock.h"

#include <errno.h>
#include <time.h>

int arena_lock_init(struct arena_lock *l)
{
	pthread_mutexattr_t a;
	int r, pshared = 0, robust = 0;

	r = pthread_mutexattr_init(&a);
	if (r)
		return -r;
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!r)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!r)
		r = pthread_mutexattr_getpshared(&a, &pshared);
	if (!r)
		r = pthread_mutexattr_getrobust(&a, &robust);
	if (!r && (pshared != PTHREAD_PROCESS_SHARED || robust != PTHREAD_MUTEX_ROBUST))
		r = ENOTSUP;
	if (!r)
		r = pthread_mutex_init(&l->m, &a);
	pthread_mutexattr_destroy(&a);
	return -r;
}

static _Atomic uint64_t *lock_wait_flag;
static unsigned repairs_here; /* repairs this process made, since the last take */

unsigned arena_lock_take_repairs(void)
{
	unsigned n = repairs_here;

	repairs_here = 0;
	return n;
}

void arena_lock_set_wait_flag(_Atomic uint64_t *since_ms)
{
	lock_wait_flag = since_ms;
}

int arena_lock_acquire(struct arena_lock *l, arena_lock_repair_fn repair, void *arg,
                       bool *ret_repaired)
{
	int r = pthread_mutex_trylock(&l->m);

	if (r == EBUSY) {
		/* Someone holds it: say so while we wait (see arena_lock_set_wait_flag). */
		struct timespec ts;

		if (lock_wait_flag) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			atomic_store(lock_wait_flag, (uint64_t)ts.tv_sec * 1000u +
			                                 (uint64_t)ts.tv_nsec / 1000000u + 1u);
		}
		r = pthread_mutex_lock(&l->m);
		if (lock_wait_flag)
			atomic_store(lock_wait_flag, 0);
	}

	if (r == 0) {
		if (ret_repaired)
			*ret_repaired = false;
		return 0;
	}
	if (r != EOWNERDEAD)
		return -r;
	/* The previous owner died inside its critical section: fix what it guarded first. */
	if (repair && repair(arg) < 0) {
		/* Unlocking without consistent() makes the mutex ENOTRECOVERABLE for everyone. */
		pthread_mutex_unlock(&l->m);
		return -ENOTRECOVERABLE;
	}
	r = pthread_mutex_consistent(&l->m);
	if (r) {
		pthread_mutex_unlock(&l->m);
		return -r;
	}
	repairs_here++;
	if (ret_repaired)
		*ret_repaired = true;
	return 0;
}

void arena_lock_release(struct arena_lock *l)
{
	pthread_mutex_unlock(&l->m);
}

void arena_lock_destroy(struct arena_lock *l)
{
	pthread_mutex_destroy(&l->m);
}
