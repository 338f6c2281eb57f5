/* peer.c: client address keys and the per-address connection table; see peer.h.
 *
 * The table is a chained hash keyed by (family, address, slot) with SipHash-2-4 under a random
 * 128-bit key, doubled when it holds more entries than buckets. The address in a key is the
 * IPv4 address, or the /64 prefix of an IPv6 address (the interface half zeroed): one site or
 * host usually gets a whole /64, so counting full IPv6 addresses would let it open a fresh
 * address per connection. It lives in the master only and
 * is touched from the master's single-threaded event loop, so there is no locking.
 */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void peer_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct peer_addr *ret)
{
	struct peer_addr p;

	memset(&p, 0, sizeof(p));
	if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		p.family = AF_INET;
		p.port = ntohs(in->sin_port);
		memcpy(p.addr, &in->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 &&
	           len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		p.port = ntohs(in6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			p.family = AF_INET;
			memcpy(p.addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			p.family = AF_INET6;
			memcpy(p.addr, &in6->sin6_addr, 16);
		}
	}
	*ret = p;
}

const char *peer_format(const struct peer_addr *p, char buf[PEER_TEXT_MAX])
{
	char a[INET6_ADDRSTRLEN];

	if (p->family == AF_INET && inet_ntop(AF_INET, p->addr, a, sizeof(a)))
		snprintf(buf, PEER_TEXT_MAX, "%s:%u", a, (unsigned)p->port);
	else if (p->family == AF_INET6 && inet_ntop(AF_INET6, p->addr, a, sizeof(a)))
		snprintf(buf, PEER_TEXT_MAX, "[%s]:%u", a, (unsigned)p->port);
	else
		snprintf(buf, PEER_TEXT_MAX, "local");
	return buf;
}

/* ---- SipHash-2-4 (Aumasson & Bernstein), 64-bit output --------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = ROTL(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = ROTL(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = ROTL(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = ROTL(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = ROTL(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = ROTL(v2, 32);                                                                 \
	} while (0)

static uint64_t load64_le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t siphash24(const uint8_t key[16], const uint8_t *in, size_t len)
{
	uint64_t k0 = load64_le(key), k1 = load64_le(key + 8);
	uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
	uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
	uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
	uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m = load64_le(in + i);

		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- The table ---------------------------------------------------------------------------- */

struct peer_entry {
	struct peer_entry *next;
	uint16_t family;
	uint16_t slot;
	uint8_t addr[16];
	unsigned count;
};

struct peer_table {
	struct peer_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t nentries;
	unsigned total;
	uint8_t key[16];
};

#define PEER_BUCKETS_MIN 64

int peer_table_new(struct peer_table **ret)
{
	struct peer_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->nbuckets = PEER_BUCKETS_MIN;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return -ENOMEM;
	}
	if (getrandom(t->key, sizeof(t->key), GRND_NONBLOCK) != (ssize_t)sizeof(t->key)) {
		/* No entropy yet (early boot): still unpredictable enough from outside. */
		struct timespec ts;
		uint64_t mix[2];

		clock_gettime(CLOCK_MONOTONIC, &ts);
		mix[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
		mix[1] = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)t;
		memcpy(t->key, mix, sizeof(t->key));
	}
	*ret = t;
	return 0;
}

void peer_table_free(struct peer_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct peer_entry *e = t->buckets[i];

		while (e) {
			struct peer_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(t->buckets);
	free(t);
}

/* The part of p's address the table counts by: all of IPv4, the /64 prefix of IPv6. */
static void key_addr(const struct peer_addr *p, uint8_t ret[16])
{
	memcpy(ret, p->addr, 16);
	if (p->family == AF_INET6)
		memset(ret + 8, 0, 8);
}

void peer_key(const struct peer_addr *p, struct peer_addr *ret)
{
	struct peer_addr k;

	memset(&k, 0, sizeof(k));
	k.family = p->family;
	key_addr(p, k.addr);
	*ret = k;
}

static size_t bucket_of(const struct peer_table *t, uint16_t family, const uint8_t addr[16],
                        uint16_t slot)
{
	uint8_t k[20];

	memcpy(k, &family, 2);
	memcpy(k + 2, &slot, 2);
	memcpy(k + 4, addr, 16);
	return (size_t)siphash24(t->key, k, sizeof(k)) & (t->nbuckets - 1);
}

static struct peer_entry **find(struct peer_table *t, const struct peer_addr *p, uint16_t slot)
{
	uint8_t k[16];
	struct peer_entry **pe;

	key_addr(p, k);
	pe = &t->buckets[bucket_of(t, p->family, k, slot)];
	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->slot == slot && (*pe)->family == p->family &&
		    memcmp((*pe)->addr, k, 16) == 0)
			return pe;
	return pe; /* points at the terminating NULL: where a new entry goes */
}

static void grow(struct peer_table *t)
{
	size_t n = t->nbuckets * 2;
	struct peer_entry **b = calloc(n, sizeof(*b));
	struct peer_entry **old = t->buckets;
	size_t oldn = t->nbuckets;

	if (!b)
		return; /* keep working with longer chains */
	t->buckets = b;
	t->nbuckets = n;
	for (size_t i = 0; i < oldn; i++) {
		struct peer_entry *e = old[i];

		while (e) {
			struct peer_entry *next = e->next;
			size_t h = bucket_of(t, e->family, e->addr, e->slot);

			e->next = b[h];
			b[h] = e;
			e = next;
		}
	}
	free(old);
}

unsigned peer_table_count(const struct peer_table *t, const struct peer_addr *p)
{
	struct peer_entry **pe = find((struct peer_table *)t, p, PEER_SLOT_ALL);

	return *pe ? (*pe)->count : 0;
}

/* Count one more under (p, slot), creating the entry if needed. */
static int bump(struct peer_table *t, const struct peer_addr *p, uint16_t slot)
{
	struct peer_entry **pe = find(t, p, slot);
	struct peer_entry *e;

	if (*pe) {
		(*pe)->count++;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->family = p->family;
	e->slot = slot;
	key_addr(p, e->addr);
	e->count = 1;
	*pe = e;
	t->nentries++;
	return 0;
}

/* Subtract n from the (p, slot) entry, freeing it at zero. */
static void drop(struct peer_table *t, const struct peer_addr *p, uint16_t slot, unsigned n)
{
	struct peer_entry **pe = find(t, p, slot);
	struct peer_entry *e = *pe;

	if (!e)
		return;
	if (e->count > n) {
		e->count -= n;
		return;
	}
	*pe = e->next;
	free(e);
	t->nentries--;
}

int peer_table_add(struct peer_table *t, const struct peer_addr *p, unsigned slot)
{
	int r;

	if (slot >= PEER_SLOT_ALL)
		return -EINVAL;
	if (t->nentries + 2 > t->nbuckets)
		grow(t);
	r = bump(t, p, (uint16_t)slot);
	if (r < 0)
		return r;
	r = bump(t, p, PEER_SLOT_ALL);
	if (r < 0) {
		drop(t, p, (uint16_t)slot, 1);
		return r;
	}
	t->total++;
	return 0;
}

int peer_table_remove(struct peer_table *t, const struct peer_addr *p, unsigned slot)
{
	if (slot >= PEER_SLOT_ALL || !*find(t, p, (uint16_t)slot))
		return -ENOENT;
	drop(t, p, (uint16_t)slot, 1);
	drop(t, p, PEER_SLOT_ALL, 1);
	t->total--;
	return 0;
}

unsigned peer_table_release_slot(struct peer_table *t, unsigned slot)
{
	struct peer_entry *list = NULL;
	unsigned released = 0;

	if (slot >= PEER_SLOT_ALL)
		return 0;
	/* Unlink the slot's entries first, then settle the totals: dropping a total while walking
	 * a chain could free the link the walk stands on. */
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct peer_entry **pe = &t->buckets[i];

		while (*pe) {
			struct peer_entry *e = *pe;

			if (e->slot != slot) {
				pe = &e->next;
				continue;
			}
			*pe = e->next;
			t->nentries--;
			e->next = list;
			list = e;
		}
	}
	while (list) {
		struct peer_entry *e = list;
		struct peer_addr p;

		list = e->next;
		memset(&p, 0, sizeof(p));
		p.family = e->family;
		memcpy(p.addr, e->addr, 16);
		drop(t, &p, PEER_SLOT_ALL, e->count);
		released += e->count;
		t->total -= e->count;
		free(e);
	}
	return released;
}

unsigned peer_table_total(const struct peer_table *t)
{
	return t->total;
}
