/* peer.h: client addresses as the master accounts for them, and the per-address counter table.
 *
 * A struct peer_addr is a fixed-size, padding-free copy of a client's IP address and port,
 * small enough to travel in channel messages. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d,
 * seen on dual-stack sockets) are folded to plain IPv4 so a client counts once whatever
 * socket it came in on.
 *
 * The peer table counts open connections per source address for max_clients_per_ip: per IPv4
 * address, and per /64 prefix for IPv6 (every address of one /64 counts as the same client). Each
 * connection is counted twice: once under its address (the total checked against the cap) and
 * once under (address, worker slot), so when a worker dies every connection it held can be
 * released at once without the worker's help. Buckets are chosen by SipHash-2-4 with a random
 * key, so clients cannot aim many addresses at one bucket; entries are freed when their count
 * reaches zero, so memory follows the number of distinct live addresses.
 */
#ifndef ARENA_PEER_H
#define ARENA_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct peer_addr {
	uint16_t family; /* AF_INET or AF_INET6; 0 for anything else (e.g. AF_UNIX) */
	uint16_t port;   /* host byte order */
	uint8_t addr[16];
};

#define PEER_TEXT_MAX 64

/* Fill *ret from a socket address (folding IPv4-mapped IPv6). Unknown families give an address
 * of family 0, which every such peer shares. */
void peer_from_sockaddr(const struct sockaddr *sa, socklen_t len, struct peer_addr *ret);

/* The address p is counted under for the per-address limits: same family, port 0, the IPv4
 * address or the /64 prefix of an IPv6 address (the rest zeroed). Two peers share a key exactly
 * when peer_table_count() counts them together; every byte of *ret is set (no padding). */
void peer_key(const struct peer_addr *p, struct peer_addr *ret);

/* "1.2.3.4:5555" or "[::1]:5555" (or "local" for family 0) into buf; returns buf. */
const char *peer_format(const struct peer_addr *p, char buf[PEER_TEXT_MAX]);

struct peer_table;

#define PEER_SLOT_ALL UINT16_MAX /* pseudo-slot holding an address's total */

/* Make an empty table. 0 or -ENOMEM. */
int peer_table_new(struct peer_table **ret);

/* Free the table (NULL is fine). */
void peer_table_free(struct peer_table *t);

/* Open connections from the address of p (any port, any worker; for IPv6, any address of p's
 * /64). */
unsigned peer_table_count(const struct peer_table *t, const struct peer_addr *p);

/* Count one more connection from p, held by worker slot `slot`. 0 or -ENOMEM (nothing counted). */
int peer_table_add(struct peer_table *t, const struct peer_addr *p, unsigned slot);

/* A connection from p held by `slot` closed. Unknown pairs are ignored (returns -ENOENT). */
int peer_table_remove(struct peer_table *t, const struct peer_addr *p, unsigned slot);

/* Forget every connection held by `slot` (its worker died): returns how many were released. */
unsigned peer_table_release_slot(struct peer_table *t, unsigned slot);

/* Connections counted in total. */
unsigned peer_table_total(const struct peer_table *t);

#endif /* ARENA_PEER_H */
