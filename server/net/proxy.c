/* proxy.c: the PROXY protocol v1/v2 parser and encoders; see proxy.h.
 *
 * The parser is written for partial input: it walks the bytes it has in order and judges each one
 * as soon as it is seen, so a verdict on a prefix never depends on bytes not yet received. That
 * gives the two guarantees the caller relies on: -EAGAIN means every byte so far is part of a
 * header that can still be valid (so it may all be consumed), and a prefix that is rejected stays
 * rejected whatever follows. v1 is a small recursive-descent reader over a cursor that stops with
 * -EAGAIN at the end of the bytes; tokens that cannot be checked byte by byte (an IPv6 address)
 * are only constrained to their character set and length until their terminating space, where
 * inet_pton() decides. v1 never looks past PROXY_V1_MAX bytes. v2 checks the fixed 16 bytes as
 * they come, then the declared length against the bound and the family's address block, then
 * walks the TLVs as far as the bytes go. Addresses go through peer_from_sockaddr() so IPv4-mapped
 * IPv6 addresses fold to AF_INET exactly as for accepted sockets.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define V2_FIXED 16 /* signature(12), version/command, family/transport, length(2) */

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

enum { V2_CMD_LOCAL = 0x0, V2_CMD_PROXY = 0x1 };
enum { V2_FAM_UNSPEC = 0x0, V2_FAM_INET = 0x1, V2_FAM_INET6 = 0x2, V2_FAM_UNIX = 0x3 };
enum { V2_TRANS_UNSPEC = 0x0, V2_TRANS_STREAM = 0x1 };

/* Address block length by v2 family. */
static const unsigned v2_addr_len[4] = {0, 12, 36, 216};

static void set_in(struct peer_addr *p, const uint8_t addr[4], uint16_t port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	memcpy(&sa.sin_addr, addr, 4);
	peer_from_sockaddr((const struct sockaddr *)&sa, sizeof(sa), p);
}

static void set_in6(struct peer_addr *p, const uint8_t addr[16], uint16_t port)
{
	struct sockaddr_in6 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(port);
	memcpy(&sa.sin6_addr, addr, 16);
	peer_from_sockaddr((const struct sockaddr *)&sa, sizeof(sa), p);
}

/* ---- v1 ----------------------------------------------------------------------------------- */

/* The bytes left to read. Readers return 0 having consumed their token, -EAGAIN at the end of
 * the bytes (all consistent so far) or -EBADMSG at the first byte that cannot belong. */
struct cursor {
	const uint8_t *p;
	size_t n, i;
};

static int expect(struct cursor *c, const char *s)
{
	for (; *s; s++, c->i++) {
		if (c->i == c->n)
			return -EAGAIN;
		if (c->p[c->i] != (uint8_t)*s)
			return -EBADMSG;
	}
	return 0;
}

static bool is_digit(uint8_t b)
{
	return b >= '0' && b <= '9';
}

/* A decimal number up to max, no sign, no leading zero (but "0"), ended by term (consumed). */
static int read_decimal(struct cursor *c, unsigned max, uint8_t term, unsigned *ret)
{
	unsigned v = 0, ndigits = 0;

	for (; c->i < c->n; c->i++) {
		uint8_t b = c->p[c->i];

		if (b == term && ndigits > 0) {
			c->i++;
			*ret = v;
			return 0;
		}
		if (!is_digit(b) || (ndigits > 0 && v == 0))
			return -EBADMSG;
		v = v * 10 + (unsigned)(b - '0');
		if (v > max)
			return -EBADMSG;
		ndigits++;
	}
	return -EAGAIN;
}

/* A dotted quad ended by a space. */
static int read_ipv4(struct cursor *c, uint8_t ret[4])
{
	for (int k = 0; k < 4; k++) {
		unsigned v;
		int r = read_decimal(c, 255, k < 3 ? '.' : ' ', &v);

		if (r < 0)
			return r;
		ret[k] = (uint8_t)v;
	}
	return 0;
}

#define V1_IPV6_MAX (INET6_ADDRSTRLEN - 1) /* longest text inet_pton() can take */

/* An IPv6 address ended by a space: hex digits, ':' and '.' (an embedded IPv4 tail) until the
 * space, then inet_pton(). */
static int read_ipv6(struct cursor *c, uint8_t ret[16])
{
	char text[V1_IPV6_MAX + 1];
	size_t k = 0;

	for (; c->i < c->n; c->i++) {
		uint8_t b = c->p[c->i];

		if (b == ' ' && k > 0) {
			c->i++;
			text[k] = '\0';
			return inet_pton(AF_INET6, text, ret) == 1 ? 0 : -EBADMSG;
		}
		if (k == V1_IPV6_MAX || !(is_digit(b) || (b >= 'a' && b <= 'f') ||
		                          (b >= 'A' && b <= 'F') || b == ':' || b == '.'))
			return -EBADMSG;
		text[k++] = (char)b;
	}
	return -EAGAIN;
}

/* After "UNKNOWN": anything up to CRLF; a CR must be followed by LF, and an LF preceded by CR. */
static int skip_to_crlf(struct cursor *c)
{
	for (; c->i < c->n; c->i++) {
		if (c->p[c->i] == '\n')
			return -EBADMSG;
		if (c->p[c->i] == '\r')
			return expect(c, "\r\n");
	}
	return -EAGAIN;
}

static int read_v1(struct cursor *c, struct proxy_info *info)
{
	uint8_t src[16], dst[16];
	unsigned sport, dport;
	bool v6;
	int r;

	r = expect(c, "PROXY ");
	if (r < 0)
		return r;
	if (c->i == c->n)
		return -EAGAIN;
	if (c->p[c->i] == 'U') {
		r = expect(c, "UNKNOWN");
		if (r < 0)
			return r;
		r = skip_to_crlf(c);
		if (r < 0)
			return r;
		info->local = true;
		return 0;
	}
	r = expect(c, "TCP");
	if (r < 0)
		return r;
	if (c->i == c->n)
		return -EAGAIN;
	if (c->p[c->i] != '4' && c->p[c->i] != '6')
		return -EBADMSG;
	v6 = c->p[c->i++] == '6';
	r = expect(c, " ");
	if (r < 0)
		return r;
	r = v6 ? read_ipv6(c, src) : read_ipv4(c, src);
	if (r < 0)
		return r;
	r = v6 ? read_ipv6(c, dst) : read_ipv4(c, dst);
	if (r < 0)
		return r;
	r = read_decimal(c, 65535, ' ', &sport);
	if (r < 0)
		return r;
	r = read_decimal(c, 65535, '\r', &dport);
	if (r < 0)
		return r;
	r = expect(c, "\n");
	if (r < 0)
		return r;
	if (v6) {
		set_in6(&info->src, src, (uint16_t)sport);
		set_in6(&info->dst, dst, (uint16_t)dport);
	} else {
		set_in(&info->src, src, (uint16_t)sport);
		set_in(&info->dst, dst, (uint16_t)dport);
	}
	return 0;
}

static int parse_v1(const uint8_t *b, size_t len, struct proxy_info *ret)
{
	struct cursor c = {b, len < PROXY_V1_MAX ? len : PROXY_V1_MAX, 0};
	struct proxy_info info;
	int r;

	memset(&info, 0, sizeof(info));
	info.version = 1;
	r = read_v1(&c, &info);
	if (r == -EAGAIN && c.n == PROXY_V1_MAX)
		return -EBADMSG; /* no CRLF within the longest line allowed */
	if (r < 0)
		return r;
	*ret = info;
	return (int)c.i;
}

/* ---- v2 ----------------------------------------------------------------------------------- */

static uint16_t load16_be(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static void store16_be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int parse_v2(const uint8_t *b, size_t len, struct proxy_info *ret)
{
	unsigned cmd, fam, total, pos;
	struct proxy_info info;
	size_t avail;

	if (memcmp(b, v2_sig, len < sizeof(v2_sig) ? len : sizeof(v2_sig)) != 0)
		return -EBADMSG;
	if (len < 13)
		return -EAGAIN;
	cmd = b[12] & 0x0f;
	if (b[12] >> 4 != 2 || (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY))
		return -EBADMSG;
	if (len < 14)
		return -EAGAIN;
	fam = b[13] >> 4;
	if (fam > V2_FAM_UNIX || (b[13] & 0x0f) > V2_TRANS_STREAM)
		return -EBADMSG;
	if (len < V2_FIXED)
		return -EAGAIN;
	total = V2_FIXED + load16_be(b + 14);
	if (total > PROXY_HEADER_MAX)
		return -E2BIG;
	if (total < V2_FIXED + v2_addr_len[fam])
		return -EBADMSG;
	/* The TLVs after the address block must tile the rest exactly; walk them as far as the
	 * bytes go (a TLV header needs its 3 bytes to be judged). */
	avail = len < total ? len : total;
	for (pos = V2_FIXED + v2_addr_len[fam]; pos < total;) {
		if (total - pos < 3)
			return -EBADMSG;
		if (avail < pos + 3)
			return -EAGAIN;
		if (load16_be(b + pos + 1) > total - pos - 3)
			return -EBADMSG;
		pos += 3 + load16_be(b + pos + 1);
	}
	if (len < total)
		return -EAGAIN;

	memset(&info, 0, sizeof(info));
	info.version = 2;
	if (cmd == V2_CMD_LOCAL || fam == V2_FAM_UNSPEC || fam == V2_FAM_UNIX) {
		info.local = true;
	} else if (fam == V2_FAM_INET) {
		set_in(&info.src, b + 16, load16_be(b + 24));
		set_in(&info.dst, b + 20, load16_be(b + 26));
	} else {
		set_in6(&info.src, b + 16, load16_be(b + 48));
		set_in6(&info.dst, b + 32, load16_be(b + 50));
	}
	*ret = info;
	return (int)total;
}

int proxy_parse(const void *buf, size_t len, struct proxy_info *ret)
{
	const uint8_t *b = buf;

	if (len == 0)
		return -EAGAIN;
	if (b[0] == 'P')
		return parse_v1(b, len, ret);
	if (b[0] == '\r')
		return parse_v2(b, len, ret);
	return -ENOMSG;
}

/* ---- Encoders ----------------------------------------------------------------------------- */

/* 0 when src/dst make a PROXY (same INET/INET6 family) or LOCAL (src family 0) header. */
static int check_pair(const struct peer_addr *src, const struct peer_addr *dst)
{
	if (!src)
		return -EINVAL;
	if (src->family == 0)
		return 0;
	if (src->family != AF_INET && src->family != AF_INET6)
		return -EINVAL;
	if (!dst || dst->family != src->family)
		return -EINVAL;
	return 0;
}

int proxy_encode_v1(const struct peer_addr *src, const struct peer_addr *dst, char *buf,
                    size_t size)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], line[PROXY_V1_MAX + 32];
	int r = check_pair(src, dst), n;

	if (r < 0)
		return r;
	if (src->family == 0) {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	} else {
		int af = src->family;

		if (!inet_ntop(af, src->addr, s, sizeof(s)) ||
		    !inet_ntop(af, dst->addr, d, sizeof(d)))
			return -EINVAL;
		n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
		             af == AF_INET ? "TCP4" : "TCP6", s, d, (unsigned)src->port,
		             (unsigned)dst->port);
	}
	if (n < 0 || n > PROXY_V1_MAX)
		return -EINVAL; /* cannot happen: inet_ntop()'s longest still fits */
	if ((size_t)n > size)
		return -ENOBUFS;
	memcpy(buf, line, (size_t)n);
	return n;
}

int proxy_encode_v2(const struct peer_addr *src, const struct peer_addr *dst, void *buf,
                    size_t size)
{
	uint8_t h[V2_FIXED + 36];
	int r = check_pair(src, dst);
	unsigned alen = 0;

	if (r < 0)
		return r;
	memcpy(h, v2_sig, sizeof(v2_sig));
	if (src->family == 0) {
		h[12] = 0x20 | V2_CMD_LOCAL;
		h[13] = (V2_FAM_UNSPEC << 4) | V2_TRANS_UNSPEC;
	} else if (src->family == AF_INET) {
		h[12] = 0x20 | V2_CMD_PROXY;
		h[13] = (V2_FAM_INET << 4) | V2_TRANS_STREAM;
		alen = 12;
		memcpy(h + 16, src->addr, 4);
		memcpy(h + 20, dst->addr, 4);
		store16_be(h + 24, src->port);
		store16_be(h + 26, dst->port);
	} else {
		h[12] = 0x20 | V2_CMD_PROXY;
		h[13] = (V2_FAM_INET6 << 4) | V2_TRANS_STREAM;
		alen = 36;
		memcpy(h + 16, src->addr, 16);
		memcpy(h + 32, dst->addr, 16);
		store16_be(h + 48, src->port);
		store16_be(h + 50, dst->port);
	}
	store16_be(h + 14, (uint16_t)alen);
	if (V2_FIXED + alen > size)
		return -ENOBUFS;
	memcpy(buf, h, V2_FIXED + alen);
	return (int)(V2_FIXED + alen);
}
