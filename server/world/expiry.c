/* expiry.c: the expiry heap of detached players (world lock held).
 *
 * Detached players (resumable for resume_grace) sit in a binary min-heap on (expire_ms, pidx),
 * entries [0, ndetached) of the heap table (world-impl.h), each player remembering its position
 * in heap_pos. So the once-a-second GC frees the expired ones without scanning the player table,
 * and a HELLO that finds the table full evicts the detached player closest to its deadline in
 * O(log n). Calls nothing but the layout accessors; used by world.c and repair.c.
 */
#include "world-impl.h"

bool expiry_before(struct world *w, uint32_t a, uint32_t b)
{
	uint64_t ea = wplayer(w, a)->expire_ms, eb = wplayer(w, b)->expire_ms;

	return ea < eb || (ea == eb && a < b);
}

static void heap_put(struct world *w, uint32_t pos, uint32_t pidx)
{
	wheap(w)[pos] = pidx;
	wplayer(w, pidx)->heap_pos = pos;
}

static void heap_up(struct world *w, uint32_t pos)
{
	uint32_t *h = wheap(w), pidx = h[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!expiry_before(w, pidx, h[parent]))
			break;
		heap_put(w, pos, h[parent]);
		pos = parent;
	}
	heap_put(w, pos, pidx);
}

static void heap_down(struct world *w, uint32_t pos)
{
	uint32_t *h = wheap(w), n = w->ndetached, pidx = h[pos];

	for (;;) {
		uint64_t child = 2 * (uint64_t)pos + 1;
		if (child >= n)
			break;
		if (child + 1 < n && expiry_before(w, h[child + 1], h[child]))
			child++;
		if (!expiry_before(w, h[child], pidx))
			break;
		heap_put(w, pos, h[child]);
		pos = (uint32_t)child;
	}
	heap_put(w, pos, pidx);
}

void expiry_rebuild(struct world *w)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < w->max_players; i++) {
		if (wplayer(w, i)->state == WP_DETACHED)
			heap_put(w, n++, i);
		else
			wplayer(w, i)->heap_pos = WORLD_NONE;
	}
	w->ndetached = n;
	for (uint32_t i = n / 2; i-- > 0;)
		heap_down(w, i);
}

/* The detached player closest to its deadline, or WORLD_NONE. */
uint32_t expiry_top(struct world *w)
{
	uint32_t top = w->ndetached > 0 ? wheap(w)[0] : WORLD_NONE;

	return top < w->max_players && wplayer(w, top)->state == WP_DETACHED ? top : WORLD_NONE;
}

/* p became DETACHED with its expire_ms set: count it and file it in the heap. */
void expiry_add(struct world *w, uint32_t pidx)
{
	if (w->ndetached >= w->max_players)
		return; /* only a damaged count; world_check() reports it */
	uint32_t pos = w->ndetached++;

	wheap(w)[pos] = pidx;
	heap_up(w, pos);
}

/* p stops being DETACHED: uncount it and take it out of the heap. */
void expiry_remove(struct world *w, uint32_t pidx)
{
	struct wplayer *p = wplayer(w, pidx);
	uint32_t pos = p->heap_pos, *h = wheap(w);

	p->heap_pos = WORLD_NONE;
	if (w->ndetached == 0 || pos >= w->ndetached || h[pos] != pidx)
		return; /* not filed: only a damaged table; world_check() reports it */
	uint32_t last = h[--w->ndetached];
	if (pos == w->ndetached)
		return;
	heap_put(w, pos, last);
	heap_down(w, pos);
	heap_up(w, wplayer(w, last)->heap_pos);
}
