/* fuzz-proxy.c: libFuzzer target for the PROXY protocol parser and encoders.
 *
 * The input is the start of a connection's byte stream. Every parse is made on a heap copy of
 * exactly the bytes given, so the sanitizers catch a read past the end; besides that, the target
 * aborts when a property breaks:
 *   - the result is a length in 1..min(len, PROXY_HEADER_MAX) (at most PROXY_V1_MAX for v1) or
 *     one of the documented errors, -ENOMSG exactly when the first byte is neither 'P' nor CR,
 *     and *ret is untouched by a failure;
 *   - every proper prefix of a found header is -EAGAIN (a handful of them), and the header
 *     followed by other bytes gives the same length and the same info;
 *   - a local result has zeroed addresses, any other has INET/INET6 ones that re-encode (same
 *     version) into a header parsing back to the same addresses, or are a family mix the
 *     encoders refuse;
 *   - -EAGAIN stays -EAGAIN when bytes are removed from the end, and an error stays the same
 *     error when bytes are added;
 *   - the input read as two addresses encodes with both versions into headers that parse back.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* proxy_parse() on an exact-size heap copy of buf[0..len) followed by `extra` bytes of `fill`;
 * checks the result's range and that *ret is untouched on failure. */
static int parse(const uint8_t *buf, size_t len, size_t extra, uint8_t fill, struct proxy_info *ret)
{
	uint8_t *copy = malloc(len + extra ? len + extra : 1);
	struct proxy_info sentinel, info;
	int r;

	CHECK(copy);
	if (len)
		memcpy(copy, buf, len);
	memset(copy + len, fill, extra);
	memset(&sentinel, 0xa5, sizeof(sentinel));
	info = sentinel;
	r = proxy_parse(copy, len + extra, &info);
	free(copy);
	if (r > 0) {
		CHECK((size_t)r <= len + extra && r <= PROXY_HEADER_MAX);
		CHECK(info.version == 1 || info.version == 2);
		CHECK(info.version == 2 || r <= PROXY_V1_MAX);
		*ret = info;
	} else {
		CHECK(r == -EAGAIN || r == -ENOMSG || r == -EBADMSG || r == -E2BIG);
		CHECK(memcmp(&info, &sentinel, sizeof(info)) == 0);
	}
	return r;
}

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool same_peer(const struct peer_addr *a, const struct peer_addr *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Encode src -> dst with `version`, then parse it back: the same addresses, or -EINVAL for a
 * family mix. */
static void check_encode(int version, const struct peer_addr *src, const struct peer_addr *dst)
{
	uint8_t out[PROXY_HEADER_MAX];
	struct proxy_info info;
	int n, r;

	n = version == 1 ? proxy_encode_v1(src, dst, (char *)out, sizeof(out))
	                 : proxy_encode_v2(src, dst, out, sizeof(out));
	if (src->family != 0 && src->family != dst->family) {
		CHECK(n == -EINVAL);
		return;
	}
	CHECK(n > 0);
	r = parse(out, (size_t)n, 0, 0, &info);
	CHECK(r == n);
	CHECK(info.version == version);
	CHECK(info.local == (src->family == 0));
	if (!info.local) {
		CHECK(same_peer(&info.src, src));
		CHECK(same_peer(&info.dst, dst));
	}
	/* One byte short of room. */
	n = version == 1 ? proxy_encode_v1(src, dst, (char *)out, (size_t)n - 1)
	                 : proxy_encode_v2(src, dst, out, (size_t)n - 1);
	CHECK(n == -ENOBUFS);
}

static void check_found(const uint8_t *data, size_t size, int r, const struct proxy_info *info)
{
	size_t len = (size_t)r, prefixes[6] = {0, 1, len / 2, len - 2, len - 1, data[0] % len};
	struct proxy_info again;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (prefixes[i] < len)
			CHECK(parse(data, prefixes[i], 0, 0, &again) == -EAGAIN);
	/* Trailing bytes are not looked at. */
	CHECK(parse(data, len, 7, size > len ? data[len] ^ 0xff : 0x0a, &again) == r);
	CHECK(memcmp(&again, info, sizeof(again)) == 0);
	CHECK(parse(data, len, 1, '\n', &again) == r);
	CHECK(memcmp(&again, info, sizeof(again)) == 0);

	if (info->local) {
		CHECK(is_zero(&info->src, sizeof(info->src)) &&
		      is_zero(&info->dst, sizeof(info->dst)));
		return;
	}
	CHECK(info->src.family == AF_INET || info->src.family == AF_INET6);
	CHECK(info->dst.family == AF_INET || info->dst.family == AF_INET6);
	check_encode(info->version, &info->src, &info->dst);
}

/* Two addresses drawn from the input, each family chosen by a bit. */
static void check_encoders(const uint8_t *data, size_t size)
{
	struct peer_addr a[2];

	if (size < 2 * 19)
		return;
	for (int k = 0; k < 2; k++) {
		const uint8_t *p = data + 19 * k;

		memset(&a[k], 0, sizeof(a[k]));
		a[k].family = (p[0] & 1) ? AF_INET6 : AF_INET;
		if ((p[0] & 6) == 6)
			a[k].family = 0;
		a[k].port = (uint16_t)((p[1] << 8) | p[2]);
		memcpy(a[k].addr, p + 3, a[k].family == AF_INET6 ? 16 : 4);
		/* What the parser would give back: mapped IPv6 folds to IPv4. */
		if (a[k].family == AF_INET6 && is_zero(a[k].addr, 10) && a[k].addr[10] == 0xff &&
		    a[k].addr[11] == 0xff) {
			memmove(a[k].addr, a[k].addr + 12, 4);
			memset(a[k].addr + 4, 0, 12);
			a[k].family = AF_INET;
		}
	}
	if (a[0].family == 0) {
		check_encode(1, &a[0], &a[1]);
		check_encode(2, &a[0], &a[1]);
		return;
	}
	if (a[1].family == 0)
		a[1].family = a[0].family;
	check_encode(1, &a[0], &a[1]);
	check_encode(2, &a[0], &a[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_info info, again;
	int r = parse(data, size, 0, 0, &info);

	if (size == 0)
		CHECK(r == -EAGAIN);
	else
		CHECK((r == -ENOMSG) == (data[0] != 'P' && data[0] != '\r'));

	if (r > 0) {
		check_found(data, size, r, &info);
	} else if (r == -EAGAIN) {
		/* Every byte belongs to the header; fewer bytes are still a maybe. */
		CHECK(size < PROXY_HEADER_MAX);
		if (size > 0 && data[0] == 'P')
			CHECK(size < PROXY_V1_MAX && !memchr(data, '\n', size));
		if (size >= 16 && data[0] == '\r')
			CHECK(size < 16 + (((size_t)data[14] << 8) | data[15]));
		CHECK(parse(data, size / 2, 0, 0, &again) == -EAGAIN);
		if (size > 0)
			CHECK(parse(data, size - 1, 0, 0, &again) == -EAGAIN);
	} else {
		/* A verdict on a prefix holds whatever follows. */
		CHECK(parse(data, size, 5, size > 1 ? data[1] : 0, &again) == r);
		CHECK(parse(data, size, 200, '\n', &again) == r);
	}

	check_encoders(data, size);
	return 0;
}
