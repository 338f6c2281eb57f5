/* fuzz-decoder.c: libFuzzer target for the stream decoder, the payload decoder and the encoder.
 *
 * The input is a raw byte stream as read from a socket. It is decoded on both sides (a server with
 * the default client max_payload, a client with ARENA_PAYLOAD_MAX), first in one chunk and then
 * in small chunks whose sizes come from the input itself; besides the sanitizers catching any bad
 * access, the target aborts when a property breaks:
 *   - both fragmentations yield the same messages and stop with the same error at the same byte;
 *   - arena_frame_peek() and arena_decode_payload() agree with the stream decoder;
 *   - every decoded message re-encodes to exactly the frame it came from (the encoding is
 *     canonical, and the encoder accepts everything the decoder accepts);
 *   - a failed decoder stays failed and consumes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static struct arena_decoder dec;
static struct arena_msg msg, again;
static uint8_t enc[ARENA_FRAME_MAX];

/* A decoded message must re-encode to the exact frame bytes it was decoded from. */
static void check_reencode(enum arena_side side, const uint8_t *frame, size_t len)
{
	ssize_t n = arena_encode(&msg, enc, sizeof(enc));

	CHECK(n > 0 && (size_t)n == len);
	CHECK(memcmp(enc, frame, len) == 0);
	CHECK(arena_decode_payload(side, frame[2], frame + ARENA_HEADER_SIZE,
	                           len - ARENA_HEADER_SIZE, &again) == 0);
	CHECK(again.type == msg.type);
	(void)arena_msg_type_name(msg.type);
}

/* One chunk: returns the final status (0 or an error) and where it stopped; frames are
 * checked one by one against peek, decode_payload and the encoder. */
static int run_whole(enum arena_side side, size_t max_payload, const uint8_t *data, size_t size,
                     size_t *ret_msgs, size_t *ret_pos)
{
	size_t pos = 0, msgs = 0;
	int r = 0;

	arena_decoder_init(&dec, side, max_payload);
	while (pos < size) {
		size_t used = SIZE_MAX, flen = 0;
		int pr = arena_frame_peek(data + pos, size - pos, max_payload, &flen);

		r = arena_decoder_feed(&dec, data + pos, size - pos, &used, &msg);
		CHECK(used <= size - pos);
		if (r == 1) {
			/* A whole frame was there from the start of pos. */
			CHECK(pr == 0 && flen == used);
			check_reencode(side, data + pos, used);
			msgs++;
		} else if (r == 0) {
			CHECK(used == size - pos);
			CHECK(pr == -EAGAIN || (pr == 0 && flen > size - pos));
		} else {
			CHECK(r == -ARENA_E_TRUNCATED || r == -ARENA_E_OVERSIZE ||
			      r == -ARENA_E_UNKNOWN || r == -ARENA_E_UTF8 || r == -ARENA_E_RANGE ||
			      r == -ARENA_E_TRAILING);
			CHECK((r == -ARENA_E_OVERSIZE) == (pr == -ARENA_E_OVERSIZE));
			CHECK(arena_error_for_decode(r) >= ARENA_ERR_MALFORMED &&
			      arena_error_for_decode(r) <= ARENA_ERR_OUT_OF_RANGE);
			(void)arena_decode_strerror(r);
		}
		pos += used;
		if (r <= 0)
			break;
	}
	if (r < 0) {
		size_t used = 1;

		CHECK(arena_decoder_feed(&dec, data, size, &used, &msg) == r && used == 0);
	}
	*ret_msgs = msgs;
	*ret_pos = pos;
	return r < 0 ? r : 0;
}

/* Small chunks (1..16 bytes, sizes drawn from the data): must match run_whole. */
static int run_chunked(enum arena_side side, size_t max_payload, const uint8_t *data, size_t size,
                       size_t *ret_msgs, size_t *ret_pos)
{
	size_t pos = 0, msgs = 0, k = 0;
	int r = 0;

	arena_decoder_init(&dec, side, max_payload);
	while (pos < size && r >= 0) {
		size_t chunk = 1 + (data[k++ % size] & 0x0f);

		if (chunk > size - pos)
			chunk = size - pos;
		while (chunk > 0) {
			size_t used = SIZE_MAX;

			r = arena_decoder_feed(&dec, data + pos, chunk, &used, &msg);
			CHECK(used <= chunk);
			pos += used;
			chunk -= used;
			if (r < 0)
				break;
			if (r == 1)
				msgs++;
			else
				CHECK(chunk == 0);
		}
	}
	*ret_msgs = msgs;
	*ret_pos = pos;
	return r < 0 ? r : 0;
}

static void run_side(enum arena_side side, size_t max_payload, const uint8_t *data, size_t size)
{
	size_t m1, p1, m2, p2;
	int r1 = run_whole(side, max_payload, data, size, &m1, &p1);
	int r2 = run_chunked(side, max_payload, data, size, &m2, &p2);

	CHECK(r1 == r2 && m1 == m2);
	/* After an error both stopped inside the same frame: the whole run at its end (or after
	 * its header), the chunked run at the byte that completed what was judged. */
	if (r1 == 0)
		CHECK(p1 == size && p2 == size);
	else
		CHECK(p1 == p2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	run_side(ARENA_SIDE_SERVER, ARENA_CLIENT_PAYLOAD_DEFAULT, data, size);
	run_side(ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX, data, size);
	/* The payload decoder alone, on the whole input, for both sides and the first byte as type.
	 */
	(void)arena_decode_payload(ARENA_SIDE_SERVER, data[0], data + 1, size - 1, &msg);
	(void)arena_decode_payload(ARENA_SIDE_CLIENT, data[0], data + 1, size - 1, &msg);
	(void)arena_utf8_valid(data, size);
	return 0;
}
