/* shm.c: the shared-memory region (see shm.h for the layout) and the monotonic clock.
 *
 * One anonymous MAP_SHARED mapping, made by the master before any fork, so every worker
 * inherits it at the same address and sees every store. The header and scoreboard come first;
 * the world starts at the next page boundary so its alignment never depends on the header size.
 * The kernel hands out zeroed pages, which is the valid initial state of every scoreboard slot
 * (EMPTY, gen 0). MADV_DONTFORK is deliberately not used: workers need the mapping. Library
 * code: no logging.
 */
#include "shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

uint64_t arena_now_ms(void)
{
	return arena_now_us() / 1000u;
}

uint64_t arena_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *shm_state_name(uint32_t state)
{
	static const char *const names[] = {
	    [WORKER_EMPTY] = "empty", [WORKER_STARTING] = "starting",
	    [WORKER_READY] = "ready", [WORKER_DRAINING] = "draining",
	    [WORKER_DEAD] = "dead",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

void shm_totals(const struct shm_header *hdr, struct shm_totals *ret)
{
	struct shm_totals t = {0};

	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++) {
		const struct worker_slot *s = &hdr->slots[i];

		t.clients += atomic_load_explicit(&s->clients, memory_order_relaxed);
		t.players += atomic_load_explicit(&s->players, memory_order_relaxed);
		t.in_rooms += atomic_load_explicit(&s->in_rooms, memory_order_relaxed);
	}
	*ret = t;
}

const uint32_t shm_hist_bounds_us[SHM_HIST_BUCKETS - 1] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
};

void shm_hist_observe(struct shm_hist *h, uint64_t us)
{
	unsigned i = 0;

	while (i < SHM_HIST_BUCKETS - 1 && us > shm_hist_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

static size_t page_round(size_t n, size_t page)
{
	return (n + page - 1) / page * page;
}

int shm_create(size_t world_size, struct shm_header **ret_hdr)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;
	size_t world_offset = page_round(sizeof(struct shm_header), page);
	size_t total;
	struct shm_header *hdr;
	void *p;

	if (world_size > SIZE_MAX / 2 - world_offset - page)
		return -ENOMEM;
	total = page_round(world_offset + world_size, page);

	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;

	hdr = p;
	hdr->magic = ARENA_SHM_MAGIC;
	hdr->version = ARENA_SHM_VERSION;
	hdr->nslots = ARENA_WORKERS_MAX;
	hdr->total_size = total;
	hdr->world_offset = world_offset;
	hdr->world_size = world_size;
	hdr->start_ms = arena_now_ms();
	atomic_store(&hdr->shutdown, 0);
	atomic_store(&hdr->deaths, 0);
	atomic_store(&hdr->lock_repairs, 0);
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		atomic_store(&hdr->slots[i].state, WORKER_EMPTY);

	*ret_hdr = hdr;
	return 0;
}

void shm_destroy(struct shm_header *hdr)
{
	if (!hdr)
		return;
	munmap(hdr, hdr->total_size);
}

int shm_check(const struct shm_header *hdr)
{
	if (!hdr || hdr->magic != ARENA_SHM_MAGIC || hdr->version != ARENA_SHM_VERSION ||
	    hdr->nslots != ARENA_WORKERS_MAX)
		return -EPROTO;
	if (hdr->world_offset < sizeof(*hdr) || hdr->world_offset > hdr->total_size ||
	    hdr->world_size > hdr->total_size - hdr->world_offset)
		return -EPROTO;
	return 0;
}
