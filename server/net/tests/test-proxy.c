/* test-proxy.c: unit tests for the PROXY protocol v1/v2 parser and encoders.
 *
 * The parser sits in front of every proxied connection and sees bytes as they arrive, so beside
 * the happy paths of each version and family the tests feed every valid header one byte at a
 * time (each proper prefix must say "more" and then the whole must say its exact length, with
 * trailing bytes left alone), check each documented error class with a minimal case, and run
 * the encoders' output back through the parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy.h"

static struct peer_addr v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa;
	struct peer_addr p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	peer_from_sockaddr((struct sockaddr *)&sa, sizeof(sa), &p);
	return p;
}

static struct peer_addr v6raw(const char *ip, uint16_t port)
{
	struct peer_addr p;

	memset(&p, 0, sizeof(p));
	p.family = AF_INET6;
	p.port = port;
	assert_int_equal(inet_pton(AF_INET6, ip, p.addr), 1);
	return p;
}

static void assert_peer_equal(const struct peer_addr *a, const struct peer_addr *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->port, b->port);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
}

static void assert_zero_peer(const struct peer_addr *p)
{
	static const struct peer_addr zero;

	assert_memory_equal(p, &zero, sizeof(zero));
}

/* Parse from a heap copy of exactly len bytes, so ASan catches any read past the end; checks
 * that *ret is untouched unless the result is > 0. */
static int parse(const void *buf, size_t len, struct proxy_info *ret)
{
	struct proxy_info sentinel, info;
	void *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	memset(&sentinel, 0x5a, sizeof(sentinel));
	info = sentinel;
	r = proxy_parse(copy, len, &info);
	free(copy);
	if (r <= 0)
		assert_memory_equal(&info, &sentinel, sizeof(info));
	else
		*ret = info;
	return r;
}

/* Every proper prefix of the len-byte header h is -EAGAIN, the whole is len, and so is the whole
 * followed by trailing bytes (a game frame); returns the info. */
static struct proxy_info parse_whole(const void *h, size_t len)
{
	struct proxy_info info, again;
	uint8_t buf[PROXY_HEADER_MAX + 8];

	assert_true(len + 8 <= sizeof(buf));
	for (size_t n = 0; n < len; n++)
		assert_int_equal(parse(h, n, &info), -EAGAIN);
	assert_int_equal(parse(h, len, &info), (int)len);
	memcpy(buf, h, len);
	memcpy(buf + len, "\x00\x05\x01PROXY\r", 8);
	assert_int_equal(parse(buf, len + 8, &again), (int)len);
	assert_memory_equal(&info, &again, sizeof(info));
	return info;
}

static struct proxy_info parse_line(const char *line)
{
	return parse_whole(line, strlen(line));
}

static void assert_line_fails(const char *line, int err)
{
	struct proxy_info info;

	assert_int_equal(parse(line, strlen(line), &info), err);
}

/* ---- v1 ----------------------------------------------------------------------------------- */

static void test_v1_tcp4(void **state)
{
	struct proxy_info info = parse_line("PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\n");
	struct peer_addr src = v4("192.168.0.1", 56324), dst = v4("10.0.0.2", 443);

	assert_int_equal(info.version, 1);
	assert_false(info.local);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);

	info = parse_line("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n");
	src = v4("0.0.0.0", 0);
	dst = v4("255.255.255.255", 65535);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
}

static void test_v1_tcp6(void **state)
{
	struct proxy_info info = parse_line("PROXY TCP6 2001:db8::1 ::1 1234 7777\r\n");
	struct peer_addr src = v6raw("2001:db8::1", 1234), dst = v6raw("::1", 7777);

	assert_int_equal(info.version, 1);
	assert_false(info.local);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);

	/* The longest line there is: two full-length IPv6 addresses, two 5-digit ports. */
	info = parse_line("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                  "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n");
	src = v6raw("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &src);
}

static void test_v1_unknown(void **state)
{
	struct proxy_info info = parse_line("PROXY UNKNOWN\r\n");

	assert_int_equal(info.version, 1);
	assert_true(info.local);
	assert_zero_peer(&info.src);
	assert_zero_peer(&info.dst);
	/* Anything up to the CRLF is ignored. */
	info = parse_line("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n");
	assert_true(info.local);
	assert_zero_peer(&info.src);
	info = parse_line("PROXY UNKNOWNjunk\t\x01\xff\r\n");
	assert_true(info.local);
}

static void test_v1_mapped(void **state)
{
	struct proxy_info info = parse_line("PROXY TCP6 ::ffff:10.1.2.3 ::ffff:10.0.0.1 80 81\r\n");
	struct peer_addr src = v4("10.1.2.3", 80), dst = v4("10.0.0.1", 81);

	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
}

static void test_v1_bad(void **state)
{
	static const char *const bad[] = {
	    "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",    /* double space */
	    "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",    /* double space */
	    "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",    /* double space */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",    /* double space */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",    /* trailing space */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",       /* missing port */
	    "PROXY TCP4 ::1 ::1 1 2\r\n",             /* TCP4 with IPv6 */
	    "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",     /* TCP6 with IPv4 */
	    "PROXY TCP6 ::1 1.2.3.4 1 2\r\n",         /* TCP6 with IPv4 */
	    "PROXY TCP6 1:2:3 ::1 1 2\r\n",           /* inet_pton says no */
	    "PROXY TCP6 :::1 ::1 1 2\r\n",            /* inet_pton says no */
	    "PROXY TCP6 ::g ::1 1 2\r\n",             /* not a hex digit */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", /* port out of range */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", /* port out of range */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",    /* leading zero */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",    /* sign */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",    /* sign */
	    "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",    /* leading zero */
	    "PROXY TCP4 1.2.3.00 5.6.7.8 1 2\r\n",    /* leading zero */
	    "PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n",   /* octet out of range */
	    "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",       /* three octets */
	    "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",   /* five octets */
	    "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n",      /* empty octet */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",      /* CR without LF */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",       /* LF without CR */
	    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",   /* CR without LF */
	    "PROXY UNKNOWN\rX",                       /* CR without LF */
	    "PROXY UNKNOWN foo\n",                    /* LF without CR */
	    "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",     /* protocol */
	    "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",     /* protocol */
	    "PROXY UNKNOWm\r\n",                      /* protocol */
	    "PROXY\r\n",                              /* nothing */
	    "PROXY \r\n",                             /* nothing */
	    "PROXY TCP4\r\n",                         /* nothing */
	    "PX",                                     /* signature */
	    "Proxy",                                  /* signature */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_line_fails(bad[i], -EBADMSG);
	}
}

/* The line is looked at for PROXY_V1_MAX bytes at most: a line that has not ended by then is bad,
 * whatever comes after. */
static void test_v1_too_long(void **state)
{
	char line[256];
	struct proxy_info info;

	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN", 13);
	assert_int_equal(parse(line, PROXY_V1_MAX - 1, &info), -EAGAIN);
	assert_int_equal(parse(line, PROXY_V1_MAX, &info), -EBADMSG);
	assert_int_equal(parse(line, PROXY_V1_MAX + 1, &info), -EBADMSG);
	/* An UNKNOWN line of exactly PROXY_V1_MAX bytes is fine, one more is not. */
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 2);
	assert_int_equal(parse(line, sizeof(line), &info), PROXY_V1_MAX);
	assert_true(info.local);
	line[PROXY_V1_MAX - 2] = 'x';
	memcpy(line + PROXY_V1_MAX - 1, "\r\n", 2);
	assert_int_equal(parse(line, sizeof(line), &info), -EBADMSG);
	/* A TCP6 line with embedded-IPv4 addresses can be valid to inet_pton() and still too long.
	 */
	assert_line_fails("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
	                  "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n",
	                  -EBADMSG);
}

/* Wrong bytes are rejected as soon as they are seen, not when the line ends. */
static void test_v1_early(void **state)
{
	assert_line_fails("PX", -EBADMSG);
	assert_line_fails("PROXY X", -EBADMSG);
	assert_line_fails("PROXY TCP4 1", -EAGAIN);
	assert_line_fails("PROXY TCP4 01", -EBADMSG);
	assert_line_fails("PROXY TCP4 256", -EBADMSG);
	assert_line_fails("PROXY TCP4 1.2.3.4 5.6.7.8 65536", -EBADMSG);
	assert_line_fails("PROXY TCP4 1.2.3.4 5.6.7.8 6553", -EAGAIN);
	assert_line_fails("PROXY TCP6 ::1 ", -EAGAIN);
	assert_line_fails("PROXY TCP6 :::1 ", -EBADMSG);
	assert_line_fails("PROXY UNKNOWN whatever", -EAGAIN);
}

/* ---- v2 ----------------------------------------------------------------------------------- */

#define SIG "\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"

/* A v2 header: signature, ver_cmd, fam, then `body` (length bytes taken from blen). */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body, size_t blen)
{
	memcpy(out, SIG, 12);
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

static void test_v2_inet(void **state)
{
	static const uint8_t body[12] = {192, 168, 0, 1, 10, 0, 0, 2, 0xdc, 0x04, 0x01, 0xbb};
	uint8_t h[64];
	size_t n = v2(h, 0x21, 0x11, body, sizeof(body));
	struct proxy_info info = parse_whole(h, n);
	struct peer_addr src = v4("192.168.0.1", 56324), dst = v4("10.0.0.2", 443);

	assert_int_equal(n, 28);
	assert_int_equal(info.version, 2);
	assert_false(info.local);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
	/* Transport UNSPEC is accepted too. */
	n = v2(h, 0x21, 0x10, body, sizeof(body));
	info = parse_whole(h, n);
	assert_peer_equal(&info.src, &src);
}

static void test_v2_inet6(void **state)
{
	uint8_t body[36], h[64];
	struct peer_addr src = v6raw("2001:db8::7", 1234), dst = v6raw("fe80::1", 7777);
	struct proxy_info info;
	size_t n;

	memcpy(body, src.addr, 16);
	memcpy(body + 16, dst.addr, 16);
	memcpy(body + 32, "\x04\xd2\x1e\x61", 4);
	n = v2(h, 0x21, 0x21, body, sizeof(body));
	info = parse_whole(h, n);
	assert_int_equal(n, 52);
	assert_false(info.local);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);

	/* IPv4-mapped addresses fold to AF_INET. */
	src = v6raw("::ffff:10.1.2.3", 1234);
	memcpy(body, src.addr, 16);
	n = v2(h, 0x21, 0x21, body, sizeof(body));
	info = parse_whole(h, n);
	src = v4("10.1.2.3", 1234);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
}

static void test_v2_local(void **state)
{
	static const uint8_t body[12] = {192, 168, 0, 1, 10, 0, 0, 2, 0xdc, 0x04, 0x01, 0xbb};
	uint8_t h[300], unix_body[216];
	struct proxy_info info;
	size_t n;

	/* LOCAL (a health check from the proxy itself): no addresses. */
	n = v2(h, 0x20, 0x00, NULL, 0);
	info = parse_whole(h, n);
	assert_int_equal(n, 16);
	assert_int_equal(info.version, 2);
	assert_true(info.local);
	assert_zero_peer(&info.src);
	assert_zero_peer(&info.dst);
	/* LOCAL with an address block: still local, the block is ignored. */
	n = v2(h, 0x20, 0x11, body, sizeof(body));
	info = parse_whole(h, n);
	assert_true(info.local);
	assert_zero_peer(&info.src);
	/* PROXY over UNSPEC or AF_UNIX: local too. */
	n = v2(h, 0x21, 0x00, NULL, 0);
	info = parse_whole(h, n);
	assert_true(info.local);
	memset(unix_body, 'u', sizeof(unix_body));
	n = v2(h, 0x21, 0x31, unix_body, sizeof(unix_body));
	info = parse_whole(h, n);
	assert_int_equal(n, 16 + 216);
	assert_true(info.local);
	assert_zero_peer(&info.src);
	assert_zero_peer(&info.dst);
}

static void test_v2_tlv(void **state)
{
	/* Address block, then ALPN "h2", an authority, a NOOP of length 0 and a CRC32C. */
	static const uint8_t body[] = {1,    2, 3, 4,    5,   6,    7,    8,    0,    1,   0,   2,
	                               0x01, 0, 2, 'h',  '2', 0x02, 0,    4,    'a',  '.', 'b', 'c',
	                               0x04, 0, 0, 0x03, 0,   4,    0xde, 0xad, 0xbe, 0xef};
	uint8_t h[128], buf[128];
	struct proxy_info info, r;
	struct peer_addr src = v4("1.2.3.4", 1);
	size_t n = v2(h, 0x21, 0x11, body, sizeof(body));

	info = parse_whole(h, n);
	assert_int_equal(n, 16 + sizeof(body));
	assert_peer_equal(&info.src, &src);
	/* The last TLV overrunning the declared length by one. */
	memcpy(buf, h, n);
	buf[n - 5] = 5;
	assert_int_equal(parse(buf, n, &r), -EBADMSG);
	/* ...which is seen as soon as that TLV's header is there. */
	assert_int_equal(parse(buf, n - 4, &r), -EBADMSG);
	assert_int_equal(parse(buf, n - 5, &r), -EAGAIN);
	/* Bytes left over that cannot hold a TLV header. */
	n = v2(h, 0x21, 0x11, body, 12 + 2);
	assert_int_equal(parse(h, n, &r), -EBADMSG);
	assert_int_equal(parse(h, 16, &r), -EBADMSG);
	/* TLVs after LOCAL/UNSPEC are checked too. */
	n = v2(h, 0x20, 0x00, body + 12, sizeof(body) - 12);
	info = parse_whole(h, n);
	assert_true(info.local);
	/* TLVs up to the size bound. */
	{
		uint8_t big[PROXY_HEADER_MAX];
		uint8_t tlvs[PROXY_HEADER_MAX - 16 - 12];

		memset(tlvs, 'z', sizeof(tlvs));
		tlvs[0] = 0xee;
		tlvs[1] = (uint8_t)((sizeof(tlvs) - 3) >> 8);
		tlvs[2] = (uint8_t)(sizeof(tlvs) - 3);
		memcpy(big, SIG, 12);
		big[12] = 0x21;
		big[13] = 0x11;
		big[14] = (uint8_t)((12 + sizeof(tlvs)) >> 8);
		big[15] = (uint8_t)(12 + sizeof(tlvs));
		memcpy(big + 16, body, 12);
		memcpy(big + 28, tlvs, sizeof(tlvs));
		assert_int_equal(parse(big, sizeof(big), &r), PROXY_HEADER_MAX);
		assert_peer_equal(&r.src, &src);
	}
}

static void test_v2_bad(void **state)
{
	static const uint8_t body[36] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2};
	static const uint8_t zeros[2000];
	uint8_t h[2100];
	struct proxy_info info;
	size_t n;

	/* Bad signature, wherever it breaks. */
	for (size_t i = 1; i < 12; i++) {
		n = v2(h, 0x21, 0x11, body, 12);
		h[i] ^= 0x40;
		assert_int_equal(parse(h, n, &info), -EBADMSG);
		assert_int_equal(parse(h, i + 1, &info), -EBADMSG);
		assert_int_equal(parse(h, i, &info), -EAGAIN);
	}
	/* Version 1 (or anything but 2) in the binary header, seen at byte 12. */
	n = v2(h, 0x11, 0x11, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	assert_int_equal(parse(h, 13, &info), -EBADMSG);
	assert_int_equal(parse(h, 12, &info), -EAGAIN);
	n = v2(h, 0x31, 0x11, body, 12);
	assert_int_equal(parse(h, 13, &info), -EBADMSG);
	/* Command 3. */
	n = v2(h, 0x23, 0x11, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	assert_int_equal(parse(h, 13, &info), -EBADMSG);
	n = v2(h, 0x22, 0x11, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	/* DGRAM, and transports/families out of range. */
	n = v2(h, 0x21, 0x12, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	assert_int_equal(parse(h, 14, &info), -EBADMSG);
	n = v2(h, 0x21, 0x22, body, 36);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	n = v2(h, 0x21, 0x13, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	n = v2(h, 0x21, 0x41, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	n = v2(h, 0x21, 0xf1, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	/* A length too short for the family's address block: seen once the length is there. */
	n = v2(h, 0x21, 0x11, body, 11);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	assert_int_equal(parse(h, 16, &info), -EBADMSG);
	assert_int_equal(parse(h, 15, &info), -EAGAIN);
	n = v2(h, 0x21, 0x21, body, 12);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	n = v2(h, 0x21, 0x31, body, 36);
	assert_int_equal(parse(h, n, &info), -EBADMSG);
	/* An overrunning TLV. */
	{
		uint8_t b2[12 + 3 + 2] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0x01, 0, 3, 'h', '2'};

		n = v2(h, 0x21, 0x11, b2, sizeof(b2));
		assert_int_equal(parse(h, n, &info), -EBADMSG);
	}
	/* Too big: 16 + 2000 > PROXY_HEADER_MAX, known from the length alone. */
	memset(h, 0, sizeof(h));
	n = v2(h, 0x21, 0x11, zeros, sizeof(zeros));
	assert_int_equal(parse(h, n, &info), -E2BIG);
	assert_int_equal(parse(h, 16, &info), -E2BIG);
	/* The largest accepted (one TLV filling it), and one more. */
	h[13] = 0x00;
	h[14] = (PROXY_HEADER_MAX - 16) >> 8;
	h[15] = (PROXY_HEADER_MAX - 16) & 0xff;
	h[16] = 0xee;
	h[17] = (PROXY_HEADER_MAX - 19) >> 8;
	h[18] = (PROXY_HEADER_MAX - 19) & 0xff;
	assert_int_equal(parse(h, PROXY_HEADER_MAX, &info), PROXY_HEADER_MAX);
	assert_int_equal(parse(h, PROXY_HEADER_MAX - 1, &info), -EAGAIN);
	h[15]++;
	assert_int_equal(parse(h, 16, &info), -E2BIG);
}

/* ---- Both --------------------------------------------------------------------------------- */

static void test_not_proxy(void **state)
{
	struct proxy_info info;

	/* A game frame (HELLO), and anything else not starting with 'P' or CR. */
	assert_int_equal(parse("\x00\x05\x01", 3, &info), -ENOMSG);
	assert_int_equal(parse("\x00", 1, &info), -ENOMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\n", 16, &info), -ENOMSG);
	assert_int_equal(parse("\n", 1, &info), -ENOMSG);
	assert_int_equal(parse("proxy", 5, &info), -ENOMSG);
	/* Nothing yet: maybe. */
	assert_int_equal(parse("", 0, &info), -EAGAIN);
	assert_int_equal(parse("P", 1, &info), -EAGAIN);
	assert_int_equal(parse("\r", 1, &info), -EAGAIN);
}

static void roundtrip(const struct peer_addr *src, const struct peer_addr *dst)
{
	uint8_t buf[PROXY_HEADER_MAX];
	struct proxy_info info;
	int n;

	n = proxy_encode_v1(src, dst, (char *)buf, sizeof(buf));
	assert_true(n > 0 && n <= PROXY_V1_MAX);
	info = parse_whole(buf, (size_t)n);
	assert_int_equal(info.version, 1);
	assert_int_equal(info.local, src->family == 0);
	if (src->family) {
		assert_peer_equal(&info.src, src);
		assert_peer_equal(&info.dst, dst);
	}
	assert_int_equal(proxy_encode_v1(src, dst, (char *)buf, (size_t)n), n);
	assert_int_equal(proxy_encode_v1(src, dst, (char *)buf, (size_t)n - 1), -ENOBUFS);

	n = proxy_encode_v2(src, dst, buf, sizeof(buf));
	assert_int_equal(n, src->family == AF_INET ? 28 : src->family == AF_INET6 ? 52 : 16);
	info = parse_whole(buf, (size_t)n);
	assert_int_equal(info.version, 2);
	assert_int_equal(info.local, src->family == 0);
	if (src->family) {
		assert_peer_equal(&info.src, src);
		assert_peer_equal(&info.dst, dst);
	}
	assert_int_equal(proxy_encode_v2(src, dst, buf, (size_t)n), n);
	assert_int_equal(proxy_encode_v2(src, dst, buf, (size_t)n - 1), -ENOBUFS);
}

static void test_encode(void **state)
{
	struct peer_addr a4 = v4("203.0.113.9", 40000), b4 = v4("10.0.0.1", 7777);
	struct peer_addr a6 = v6raw("2001:db8:1:2:3:4:5:6", 1), b6 = v6raw("::", 0);
	struct peer_addr full = v6raw("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	struct peer_addr none, unix_addr;
	char line[PROXY_V1_MAX];

	memset(&none, 0, sizeof(none));
	unix_addr = none;
	unix_addr.family = AF_UNIX;
	roundtrip(&a4, &b4);
	roundtrip(&a6, &b6);
	roundtrip(&full, &full);
	roundtrip(&none, NULL);
	roundtrip(&none, &a4);

	assert_int_equal(proxy_encode_v1(&a4, &b4, line, sizeof(line)),
	                 strlen("PROXY TCP4 203.0.113.9 10.0.0.1 40000 7777\r\n"));
	assert_memory_equal(line, "PROXY TCP4 203.0.113.9 10.0.0.1 40000 7777\r\n", 44);
	assert_int_equal(proxy_encode_v1(&none, NULL, line, sizeof(line)), 15);
	assert_memory_equal(line, "PROXY UNKNOWN\r\n", 15);

	/* Family mixes. */
	assert_int_equal(proxy_encode_v1(&a4, &b6, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v2(&a6, &b4, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v1(&a4, &none, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v2(&a4, NULL, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v1(&unix_addr, &unix_addr, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v2(&unix_addr, &unix_addr, line, sizeof(line)), -EINVAL);
	assert_int_equal(proxy_encode_v2(NULL, &a4, line, sizeof(line)), -EINVAL);
}

/* An IPv4-mapped address given to the encoders comes back as the IPv4 client it stands for. */
static void test_encode_mapped(void **state)
{
	struct peer_addr m = v6raw("::ffff:192.0.2.1", 5), d = v6raw("::ffff:192.0.2.2", 6);
	struct peer_addr src = v4("192.0.2.1", 5), dst = v4("192.0.2.2", 6);
	uint8_t buf[128];
	struct proxy_info info;
	int n;

	n = proxy_encode_v1(&m, &d, (char *)buf, sizeof(buf));
	assert_true(n > 0);
	info = parse_whole(buf, (size_t)n);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
	n = proxy_encode_v2(&m, &d, buf, sizeof(buf));
	assert_int_equal(n, 52);
	info = parse_whole(buf, (size_t)n);
	assert_peer_equal(&info.src, &src);
	assert_peer_equal(&info.dst, &dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_tcp4),       cmocka_unit_test(test_v1_tcp6),
	    cmocka_unit_test(test_v1_unknown),    cmocka_unit_test(test_v1_mapped),
	    cmocka_unit_test(test_v1_bad),        cmocka_unit_test(test_v1_too_long),
	    cmocka_unit_test(test_v1_early),      cmocka_unit_test(test_v2_inet),
	    cmocka_unit_test(test_v2_inet6),      cmocka_unit_test(test_v2_local),
	    cmocka_unit_test(test_v2_tlv),        cmocka_unit_test(test_v2_bad),
	    cmocka_unit_test(test_not_proxy),     cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_encode_mapped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
