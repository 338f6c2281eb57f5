/* shm.c: the shared-memory region (see shm.h for the layout) and the monotonic clock.
 *
 * One MAP_SHARED mapping of a memfd, made by the master before any fork, so every worker
 * inherits it at the same address and sees every store. The memfd (not an anonymous mapping)
 * lets a new master binary adopt the same region across exec() in a live upgrade
 * (shm_adopt(), proc/upgrade.c): nothing in it is a pointer, so another address is fine. The header
 * and scoreboard come first; the world starts at the next page boundary so its alignment never
 * depends on the header size. The kernel hands out zeroed pages, which is the valid initial state
 * of every scoreboard slot (EMPTY, gen 0). MADV_DONTFORK is deliberately not used: workers need the
 * mapping. Library code: no logging.
 */
#include "shm.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int shm_create_fd(size_t world_size, struct shm_header **ret_hdr, int *ret_fd)
{
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;
	size_t world_offset = page_round(sizeof(struct shm_header), page);
	size_t total;
	struct shm_header *hdr;
	void *p;
	int fd, r;

	if (world_size > SIZE_MAX / 2 - world_offset - page)
		return -ENOMEM;
	total = page_round(world_offset + world_size, page);

	fd = memfd_create("arena-world", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)total) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}

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
	*ret_fd = fd;
	return 0;
}

int shm_create(size_t world_size, struct shm_header **ret_hdr)
{
	struct shm_header *hdr;
	int fd, r = shm_create_fd(world_size, &hdr, &fd);

	if (r < 0)
		return r;
	close(fd); /* the mapping keeps the memory */
	*ret_hdr = hdr;
	return 0;
}

int shm_adopt(int fd, struct shm_header **ret_hdr)
{
	struct shm_header *hdr;
	struct stat st;
	size_t total;
	void *p;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(struct shm_header))
		return -EPROTO;
	p = mmap(NULL, sizeof(struct shm_header), PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	hdr = p;
	r = shm_check(hdr);
	total = (size_t)hdr->total_size;
	munmap(p, sizeof(struct shm_header));
	if (r < 0)
		return r;
	if ((uint64_t)st.st_size != total)
		return -EPROTO;
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	hdr = p;
	if (shm_check(hdr) < 0 || hdr->total_size != total) {
		munmap(p, total);
		return -EPROTO;
	}
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
