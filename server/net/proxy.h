/* proxy.h: the PROXY protocol header (HAProxy's v1 text line and v2 binary block) that a load
 * balancer puts in front of a client's byte stream to tell the server who the client really is.
 *
 * proxy_parse() is pure: it looks at the bytes received so far and says whether they are a whole
 * header (and how long), the start of one (everything seen so far belongs to it and is valid up to
 * there), or not a header at all. It never reads past the bytes given, never allocates and never
 * logs, so the master can feed it straight from its read buffer on every readable event. The
 * encoders write the headers a well-behaved proxy would send, for tests and tools.
 *
 * Spec: https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 */
#ifndef ARENA_PROXY_H
#define ARENA_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define PROXY_V1_MAX     107  /* spec: longest v1 line incl. CRLF */
#define PROXY_HEADER_MAX 1024 /* longest header (v2: 16 + length) this server accepts */

struct proxy_info {
	uint8_t version;      /* 1 or 2 */
	bool local;           /* v2 LOCAL command, v2 AF_UNSPEC/AF_UNIX family, or v1 "UNKNOWN": the
	                       * receiver uses the connection's own addresses; src/dst zeroed */
	struct peer_addr src; /* the real client (family AF_INET or AF_INET6) */
	struct peer_addr dst;
};

/* Parse the start of a connection's byte stream.
 * Returns the header's length in bytes (> 0) with *ret filled when buf holds a whole valid header
 * (bytes after it are not looked at);
 * -EAGAIN when buf (possibly empty) is a proper prefix of a header that may still be valid, in
 *   which case every byte of buf belongs to the header (the caller may consume them all): for v1,
 *   no '\n' seen yet and len < PROXY_V1_MAX; for v2, fewer than 16 bytes, or fewer than 16 +
 *   length; and every byte seen so far is consistent with the signature and grammar;
 * -ENOMSG when the first byte is neither 'P' (v1) nor '\r' (v2): not a PROXY header at all;
 * -EBADMSG when malformed. v1 is strictly "PROXY TCP4 a.b.c.d e.f.g.h sport dport\r\n", the same
 *   with TCP6 and IPv6 addresses (inet_pton), or "PROXY UNKNOWN" and anything up to CRLF: single
 *   spaces, dotted quads and ports in plain decimal without leading zeros (a lone "0" is fine),
 *   ports up to 65535, a CR always followed by LF, at most PROXY_V1_MAX bytes. v2 needs the
 *   signature, version 2, command LOCAL or PROXY, family UNSPEC/INET/INET6/UNIX, transport UNSPEC
 *   or STREAM, a length holding the family's address block (0, 12, 36, 216), and well-formed
 *   TLVs (type, 16-bit big-endian length, value) filling the rest exactly;
 * -E2BIG when a v2 header declares 16 + length > PROXY_HEADER_MAX.
 * IPv4-mapped IPv6 addresses come out as AF_INET, as from peer_from_sockaddr(). *ret is untouched
 * unless the return is > 0. */
int proxy_parse(const void *buf, size_t len, struct proxy_info *ret);

/* Encoders, for tests and tools: write a v1 line (no NUL) / a v2 header (no TLV) for a PROXY
 * command from src to dst (both the same family, AF_INET or AF_INET6; family 0 for src means
 * "UNKNOWN" / LOCAL, and dst is then ignored and may be NULL).
 * Return the length written or -EINVAL (bad family mix) / -ENOBUFS (size too small). */
int proxy_encode_v1(const struct peer_addr *src, const struct peer_addr *dst, char *buf,
                    size_t size);
int proxy_encode_v2(const struct peer_addr *src, const struct peer_addr *dst, void *buf,
                    size_t size);

#endif /* ARENA_PROXY_H */
