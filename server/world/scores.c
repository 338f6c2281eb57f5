/* scores.c: the best-score-by-name table, its leaderboard, and lock-free export for the master.
 *
 * The table is a fixed array of entries (world-impl.h) with an open-addressing name hash for
 * lookup and a cached, sorted list of the ARENA_LEADERBOARD_MAX best entries, so a LEADERBOARD
 * request costs O(100) whatever the table size. Order: score descending, then name bytewise
 * ascending (names are unique, so the order is total). Scores only grow; when the table is full
 * a new name evicts the lowest entry if it beats it.
 *
 * Writers hold the world lock and wrap each change in a seqlock (odd while writing). The master
 * reads with no lock: it copies the entries, then retries if the sequence moved. Every entry
 * word is an atomic accessed with relaxed order between acquire/release fences, so concurrent
 * reading is well defined in C11 and needs no lock the master could hang on.
 *
 * scores.c never takes the world lock itself: every writer here runs inside its caller's world
 * lock section (world.c, directory.c, repair.c), so the lock's repair may call into it freely.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "world-impl.h"

#define EXPORT_TRIES 64

/* ---- Entry access ------------------------------------------------------------------------ */

static uint32_t sc_score(struct world *w, uint32_t i)
{
	return atomic_load_explicit(&wscore(w, i)->w[0], memory_order_relaxed);
}

static void sc_get(struct world *w, uint32_t i, struct world_score *out)
{
	struct wscore *e = wscore(w, i);
	uint32_t len = atomic_load_explicit(&e->w[1], memory_order_relaxed);

	out->score = atomic_load_explicit(&e->w[0], memory_order_relaxed);
	if (len > ARENA_NAME_MAX)
		len = ARENA_NAME_MAX;
	for (uint32_t k = 0; k < ARENA_NAME_MAX / 4; k++) {
		uint32_t v = atomic_load_explicit(&e->w[2 + k], memory_order_relaxed);
		memcpy(out->name + 4 * k, &v, 4);
	}
	out->name[len] = '\0';
}

static void sc_put(struct world *w, uint32_t i, const char *name, size_t len, uint32_t score)
{
	struct wscore *e = wscore(w, i);
	char buf[ARENA_NAME_MAX] = {0};

	memcpy(buf, name, len);
	atomic_store_explicit(&e->w[0], score, memory_order_relaxed);
	atomic_store_explicit(&e->w[1], (uint32_t)len, memory_order_relaxed);
	for (uint32_t k = 0; k < ARENA_NAME_MAX / 4; k++) {
		uint32_t v;
		memcpy(&v, buf + 4 * k, 4);
		atomic_store_explicit(&e->w[2 + k], v, memory_order_relaxed);
	}
}

static void sc_set_score(struct world *w, uint32_t i, uint32_t score)
{
	atomic_store_explicit(&wscore(w, i)->w[0], score, memory_order_relaxed);
}

static uint32_t nscores(struct world *w)
{
	uint32_t n = atomic_load_explicit(&w->nscores, memory_order_relaxed);

	return n <= w->score_cap ? n : w->score_cap;
}

static void seq_begin(struct world *w)
{
	uint32_t s = atomic_load_explicit(&w->score_seq, memory_order_relaxed);

	atomic_store_explicit(&w->score_seq, (s | 1), memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void seq_end(struct world *w)
{
	uint32_t s = atomic_load_explicit(&w->score_seq, memory_order_relaxed);

	atomic_store_explicit(&w->score_seq, (s | 1) + 1, memory_order_release);
}

/* ---- Name hash (world lock) -------------------------------------------------------------- */

static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return h;
}

static bool sc_name_eq(struct world *w, uint32_t i, const char *name, size_t len)
{
	struct world_score s;

	if (atomic_load_explicit(&wscore(w, i)->w[1], memory_order_relaxed) != len)
		return false;
	sc_get(w, i, &s);
	return !memcmp(s.name, name, len);
}

static uint32_t hash_find(struct world *w, const char *name, size_t len)
{
	uint32_t *h = wscore_hash(w), mask = w->hash_size - 1;
	uint32_t k = name_hash(name, len) & mask;

	for (uint32_t n = 0; n < w->hash_size && h[k]; n++, k = (k + 1) & mask)
		if (h[k] - 1 < w->score_cap && sc_name_eq(w, h[k] - 1, name, len))
			return h[k] - 1;
	return WORLD_NONE;
}

static void hash_insert(struct world *w, const char *name, size_t len, uint32_t idx)
{
	uint32_t *h = wscore_hash(w), mask = w->hash_size - 1;
	uint32_t k = name_hash(name, len) & mask;

	for (uint32_t n = 0; n < w->hash_size && h[k]; n++)
		k = (k + 1) & mask;
	h[k] = idx + 1; /* the hash is twice the table, so a free slot always exists */
}

static void hash_rebuild(struct world *w)
{
	struct world_score s;

	memset(wscore_hash(w), 0, (size_t)w->hash_size * sizeof(uint32_t));
	for (uint32_t i = 0; i < nscores(w); i++) {
		sc_get(w, i, &s);
		hash_insert(w, s.name, strlen(s.name), i);
	}
}

/* ---- Leaderboard cache (world lock) ------------------------------------------------------ */

/* True if entry a ranks before entry b. */
static bool better(struct world *w, uint32_t a, uint32_t b)
{
	struct world_score sa, sb;

	sc_get(w, a, &sa);
	sc_get(w, b, &sb);
	if (sa.score != sb.score)
		return sa.score > sb.score;
	return strcmp(sa.name, sb.name) < 0;
}

/* Entry idx just rose (or is new, then `fresh` skips looking for it): move it into or up the
 * cached top list. */
static void top_place(struct world *w, uint32_t idx, bool fresh)
{
	int pos = -1;

	for (uint32_t i = 0; !fresh && i < w->top_n; i++)
		if (w->top[i] == idx)
			pos = (int)i;
	if (pos < 0) {
		if (w->top_n < ARENA_LEADERBOARD_MAX)
			pos = (int)w->top_n++;
		else if (better(w, idx, w->top[w->top_n - 1]))
			pos = (int)w->top_n - 1;
		else
			return;
		w->top[pos] = idx;
	}
	for (; pos > 0 && better(w, w->top[pos], w->top[pos - 1]); pos--) {
		uint32_t t = w->top[pos];
		w->top[pos] = w->top[pos - 1];
		w->top[pos - 1] = t;
	}
}

static void top_rebuild(struct world *w)
{
	w->top_n = 0;
	for (uint32_t i = 0; i < nscores(w); i++)
		top_place(w, i, true);
}

static void top_raise(struct world *w, uint32_t idx)
{
	top_place(w, idx, false);
}

/* ---- Updates (world lock) ---------------------------------------------------------------- */

void scores_reset(struct world *w)
{
	seq_begin(w);
	atomic_store_explicit(&w->nscores, 0, memory_order_relaxed);
	seq_end(w);
	memset(wscore_hash(w), 0, (size_t)w->hash_size * sizeof(uint32_t));
	w->top_n = 0;
}

/* The lowest-ranked entry. */
static uint32_t lowest(struct world *w)
{
	uint32_t lo = 0;

	for (uint32_t i = 1; i < nscores(w); i++)
		if (better(w, lo, i))
			lo = i;
	return lo;
}

int scores_update_locked(struct world *w, const char *name, size_t len, uint32_t score)
{
	if (score == 0)
		return 0;
	if (len < 1 || len > ARENA_NAME_MAX)
		return -EINVAL;
	uint32_t i = hash_find(w, name, len), n = nscores(w);

	if (i != WORLD_NONE) {
		if (sc_score(w, i) >= score)
			return 0;
		seq_begin(w);
		sc_set_score(w, i, score);
		seq_end(w);
		top_raise(w, i);
		return 0;
	}
	if (n < w->score_cap) {
		seq_begin(w);
		sc_put(w, n, name, len, score);
		atomic_store_explicit(&w->nscores, n + 1, memory_order_relaxed);
		seq_end(w);
		hash_insert(w, name, len, n);
		top_raise(w, n);
		return 0;
	}
	uint32_t lo = lowest(w);
	if (sc_score(w, lo) >= score)
		return -ENOSPC;
	bool in_top = false;
	for (uint32_t k = 0; k < w->top_n; k++)
		in_top = in_top || w->top[k] == lo;
	seq_begin(w);
	sc_put(w, lo, name, len, score);
	seq_end(w);
	hash_rebuild(w);
	if (in_top)
		top_rebuild(w);
	else
		top_raise(w, lo);
	return 0;
}

void scores_repair_locked(struct world *w)
{
	struct world_score s;
	uint32_t n = nscores(w), k = 0;

	seq_begin(w); /* also makes an odd sequence left by a dead writer even again below */
	memset(wscore_hash(w), 0, (size_t)w->hash_size * sizeof(uint32_t));
	for (uint32_t i = 0; i < n; i++) {
		sc_get(w, i, &s);
		size_t len = strlen(s.name);
		uint32_t stored_len =
		    atomic_load_explicit(&wscore(w, i)->w[1], memory_order_relaxed);
		if (s.score == 0 || len < 1 || len != stored_len || !arena_utf8_valid(s.name, len))
			continue;
		uint32_t dup = hash_find(w, s.name, len);
		if (dup != WORLD_NONE) {
			if (sc_score(w, dup) < s.score)
				sc_set_score(w, dup, s.score);
			continue;
		}
		sc_put(w, k, s.name, len, s.score);
		hash_insert(w, s.name, len, k);
		k++;
	}
	atomic_store_explicit(&w->nscores, k, memory_order_relaxed);
	seq_end(w);
	top_rebuild(w);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int scores_check_locked(struct world *w)
{
	uint32_t n = atomic_load_explicit(&w->nscores, memory_order_relaxed), used = 0;
	uint32_t sorted[ARENA_LEADERBOARD_MAX];
	struct world_score s;

	if ((atomic_load(&w->score_seq) & 1) || n > w->score_cap)
		return -EUCLEAN;
	for (uint32_t i = 0; i < w->hash_size; i++)
		used += wscore_hash(w)[i] != 0;
	if (used != n)
		return -EUCLEAN;
	for (uint32_t i = 0; i < n; i++) {
		sc_get(w, i, &s);
		size_t len = strlen(s.name);
		if (s.score == 0 || len < 1 || !arena_utf8_valid(s.name, len) ||
		    hash_find(w, s.name, len) != i)
			return -EUCLEAN;
	}
	if (w->top_n != (n < ARENA_LEADERBOARD_MAX ? n : ARENA_LEADERBOARD_MAX))
		return -EUCLEAN;
	for (uint32_t i = 0; i < w->top_n; i++) {
		if (w->top[i] >= n || (i > 0 && !better(w, w->top[i - 1], w->top[i])))
			return -EUCLEAN;
		sorted[i] = w->top[i];
	}
	qsort(sorted, w->top_n, sizeof(sorted[0]), cmp_u32);
	for (uint32_t i = 0; w->top_n && i < n; i++) {
		if (bsearch(&i, sorted, w->top_n, sizeof(sorted[0]), cmp_u32))
			continue;
		if (better(w, i, w->top[w->top_n - 1]))
			return -EUCLEAN;
	}
	return 0;
}

/* ---- Leaderboard, import (world lock held) and lock-free export -------------------------- */

void scores_leaderboard_locked(struct world *w, unsigned n, struct arena_leaderboard *ret)
{
	struct world_score s;

	if (n > ARENA_LEADERBOARD_MAX)
		n = ARENA_LEADERBOARD_MAX;
	if (n > w->top_n)
		n = w->top_n;
	ret->n = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		sc_get(w, w->top[i], &s);
		memset(&ret->entries[i], 0, sizeof(ret->entries[i]));
		ret->entries[i].name.len = (uint8_t)strlen(s.name);
		memcpy(ret->entries[i].name.s, s.name, ret->entries[i].name.len);
		ret->entries[i].score = s.score;
	}
}

int world_scores_export(struct world *w, struct world_score *out, size_t max, size_t *ret_n)
{
	if (!w || (!out && max) || !ret_n)
		return -EINVAL;
	for (int attempt = 0; attempt < EXPORT_TRIES; attempt++) {
		uint32_t s1 = atomic_load_explicit(&w->score_seq, memory_order_acquire);
		if (s1 & 1) {
			sched_yield();
			continue;
		}
		size_t n = nscores(w);
		if (n > max)
			n = max;
		for (size_t i = 0; i < n; i++)
			sc_get(w, (uint32_t)i, &out[i]);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&w->score_seq, memory_order_relaxed) == s1) {
			*ret_n = n;
			return 0;
		}
	}
	return -EAGAIN;
}

static int cmp_score_desc(const void *a, const void *b)
{
	const struct world_score *x = *(const struct world_score *const *)a;
	const struct world_score *y = *(const struct world_score *const *)b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->name, y->name);
}

int scores_import_order(const struct world_score *in, size_t n, const struct world_score ***ret,
                        size_t *ret_n)
{
	const struct world_score **order = n ? calloc(n, sizeof(*order)) : NULL;
	size_t m = 0;

	if (n && !order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(in[i].name, ARENA_NAME_MAX + 1);
		if (in[i].score > 0 && len >= 1 && len <= ARENA_NAME_MAX &&
		    arena_utf8_valid(in[i].name, len))
			order[m++] = &in[i];
	}
	if (m)
		qsort(order, m, sizeof(*order), cmp_score_desc);
	*ret = order;
	*ret_n = m;
	return 0;
}

void scores_load_locked(struct world *w, const struct world_score *const *order, size_t m)
{
	scores_reset(w);
	/* Best first, so once the table is full everything left is no better: drop it. */
	for (size_t i = 0; i < m && nscores(w) < w->score_cap; i++) {
		size_t len = strlen(order[i]->name);
		if (hash_find(w, order[i]->name, len) != WORLD_NONE)
			continue;
		uint32_t k = nscores(w);
		seq_begin(w);
		sc_put(w, k, order[i]->name, len, order[i]->score);
		atomic_store_explicit(&w->nscores, k + 1, memory_order_relaxed);
		seq_end(w);
		hash_insert(w, order[i]->name, len, k);
	}
	top_rebuild(w);
}

size_t world_scores_capacity(const struct world *w)
{
	return w ? w->score_cap : 0;
}
