/* test-proto.c: unit tests of the wire codec (arena_proto), and the test runner.
 *
 * Messages are built as structs, encoded with arena_encode() and decoded back; equality is
 * checked field by field, never through the encoder. Streams of many frames are fed to the
 * incremental decoder in every fragmentation (byte by byte, seeded random splits, one chunk) and
 * must yield the same sequence. Strict prefixes are decoded from exact-size heap copies so an
 * out-of-bounds read is caught by AddressSanitizer. The encoder's refusals (-EINVAL, -ENOBUFS)
 * must leave the buffer untouched. Malformed input is tested in test-proto-bad.c; main() runs
 * both groups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena_proto.h"
#include "test-util.h"

/* ---- round trips --------------------------------------------------------------------------- */

static void test_roundtrip_every_type(void **state)
{
	struct arena_msg *m = new_msg(0);

	for (size_t t = 0; t < sizeof(client_types); t++)
		for (unsigned v = 0; v < 12; v++) {
			fill_sample(m, client_types[t], v);
			roundtrip(m);
		}
	for (size_t t = 0; t < sizeof(server_types); t++)
		for (unsigned v = 0; v < 12; v++) {
			fill_sample(m, server_types[t], v);
			roundtrip(m);
		}
	free(m);
}

static void test_roundtrip_boundaries(void **state)
{
	static uint8_t buf[ARENA_FRAME_MAX];
	char big[ARENA_CHAT_MAX + 1];
	struct arena_msg *m = new_msg(ARENA_HELLO);

	/* 32-byte names, ASCII and 4-byte sequences. */
	set_str32(&m->u.hello.name, repeat(big, "n", ARENA_NAME_MAX));
	roundtrip(m);
	set_str32(&m->u.hello.name, repeat(big, "😀", ARENA_NAME_MAX));
	roundtrip(m);

	/* JOIN with an empty room (matchmaking) and a 32-byte room. */
	fill_sample(m, ARENA_JOIN, 0);
	assert_int_equal(m->u.join.room.len, 0);
	roundtrip(m);
	set_str32(&m->u.join.room, repeat(big, "r", ARENA_ROOM_MAX));
	roundtrip(m);

	/* 200-byte chat, empty and 200-byte ERROR / BYE text. */
	fill_sample(m, ARENA_CHAT, 0);
	assert_int_equal(m->u.chat.text.len, ARENA_CHAT_MAX);
	roundtrip(m);
	fill_sample(m, ARENA_ERROR, 0);
	assert_int_equal(m->u.error.text.len, 0);
	roundtrip(m);
	set_text(&m->u.error.text, repeat(big, "e", ARENA_TEXT_MAX));
	roundtrip(m);
	for (uint8_t r = ARENA_BYE_SHUTDOWN; r <= ARENA_BYE_IP_LIMIT; r++) {
		fill_sample(m, ARENA_BYE, 1);
		m->u.bye.reason = r;
		roundtrip(m);
	}
	set_text(&m->u.bye.text, repeat(big, "b", ARENA_TEXT_MAX));
	roundtrip(m);

	/* Extreme integers. */
	fill_sample(m, ARENA_PING, 0);
	m->u.ping.stamp = UINT64_MAX;
	roundtrip(m);
	m->type = ARENA_PONG;
	m->u.ping.stamp = 0x0102030405060708ull;
	roundtrip(m);
	fill_sample(m, ARENA_MOVE, 0);
	m->u.move.seq = UINT32_MAX;
	m->u.move.dx = -1;
	m->u.move.dy = 1;
	roundtrip(m);

	/* SNAPSHOT with 0/0 and 64/32; LEADERBOARD with 0 and 100 longest entries. */
	fill_sample(m, ARENA_SNAPSHOT, 0);
	assert_int_equal(m->u.snapshot.nplayers, 0);
	assert_int_equal(m->u.snapshot.ngems, 0);
	roundtrip(m);
	fill_sample(m, ARENA_SNAPSHOT, 3);
	assert_int_equal(m->u.snapshot.nplayers, ARENA_SNAP_PLAYERS_MAX);
	assert_int_equal(m->u.snapshot.ngems, ARENA_SNAP_GEMS_MAX);
	roundtrip(m);
	assert_int_equal(arena_encode(m, buf, sizeof(buf)), ARENA_SNAP_FRAME_MAX);

	fill_sample(m, ARENA_LEADERBOARD, 0);
	assert_int_equal(m->u.leaderboard.n, 0);
	roundtrip(m);
	m->u.leaderboard.n = ARENA_LEADERBOARD_MAX;
	for (unsigned i = 0; i < ARENA_LEADERBOARD_MAX; i++) {
		set_str32(&m->u.leaderboard.entries[i].name, repeat(big, "ü", ARENA_NAME_MAX));
		m->u.leaderboard.entries[i].score = UINT32_MAX - i;
	}
	roundtrip(m);
	/* The largest server frame fits in ARENA_FRAME_MAX. */
	assert_int_equal(arena_encode(m, buf, sizeof(buf)),
	                 ARENA_HEADER_SIZE + 1 + ARENA_LEADERBOARD_MAX * (1 + ARENA_NAME_MAX + 4));

	/* JOINED at the grid limits. */
	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.width = 4096;
	m->u.joined.height = 4096;
	m->u.joined.x = 4095;
	m->u.joined.y = 4095;
	m->u.joined.capacity = ARENA_SNAP_PLAYERS_MAX;
	roundtrip(m);
	m->u.joined.width = m->u.joined.height = m->u.joined.capacity = 1;
	m->u.joined.x = m->u.joined.y = 0;
	roundtrip(m);
	free(m);
}

/* Every strict prefix of a valid payload is TRUNCATED, read from an exact-size heap copy. */
static void test_prefixes_truncated(void **state)
{
	static uint8_t buf[ARENA_FRAME_MAX];
	struct arena_msg *m = new_msg(0), *out = new_msg(0);
	const uint8_t *all[] = {client_types, server_types};
	size_t counts[] = {sizeof(client_types), sizeof(server_types)};

	for (int s = 0; s < 2; s++)
		for (size_t t = 0; t < counts[s]; t++)
			for (unsigned v = 0; v < 4; v++) {
				size_t n, plen;

				fill_sample(m, all[s][t], v);
				n = encode_ok(m, buf, sizeof(buf));
				plen = n - ARENA_HEADER_SIZE;
				for (size_t k = 0; k < plen; k++) {
					uint8_t *copy = malloc(k ? k : 1);

					assert_non_null(copy);
					memcpy(copy, buf + ARENA_HEADER_SIZE, k);
					assert_int_equal(arena_decode_payload(side_for(m->type),
					                                      m->type, copy, k,
					                                      out),
					                 -ARENA_E_TRUNCATED);
					free(copy);
				}
			}
	free(m);
	free(out);
}

/* ---- snapshot two-part encoder ------------------------------------------------------------- */

static void test_snapshot_two_part(void **state)
{
	static uint8_t whole[ARENA_FRAME_MAX], room[ARENA_SNAP_ROOM_MAX], frame[ARENA_FRAME_MAX];
	struct arena_msg *m = new_msg(0);

	for (unsigned v = 0; v < 16; v++) {
		const struct arena_snapshot *s = &m->u.snapshot;
		ssize_t nw, nr, nf;

		fill_sample(m, ARENA_SNAPSHOT, v);
		nw = arena_encode(m, whole, sizeof(whole));
		assert_true(nw > 0);
		nr = arena_encode_snapshot_room(s->room_id, s->players, s->nplayers, s->gems,
		                                s->ngems, room, sizeof(room));
		assert_true(nr > 0);
		nf = arena_encode_snapshot_frame(s->tick, s->ack_seq, room, (size_t)nr, frame,
		                                 sizeof(frame));
		assert_int_equal(nf, nw);
		assert_memory_equal(frame, whole, (size_t)nw);
		/* Exact capacities are enough; one byte less is not. */
		assert_int_equal(arena_encode_snapshot_room(s->room_id, s->players, s->nplayers,
		                                            s->gems, s->ngems, room, (size_t)nr),
		                 nr);
		assert_int_equal(arena_encode_snapshot_room(s->room_id, s->players, s->nplayers,
		                                            s->gems, s->ngems, room,
		                                            (size_t)nr - 1),
		                 -ENOBUFS);
		assert_int_equal(arena_encode_snapshot_frame(s->tick, s->ack_seq, room, (size_t)nr,
		                                             frame, (size_t)nf - 1),
		                 -ENOBUFS);
		/* A room part cut short or with a byte too many is refused. */
		assert_int_equal(
		    arena_encode_snapshot_frame(1, 1, room, (size_t)nr - 1, frame, sizeof(frame)),
		    -EINVAL);
		assert_int_equal(
		    arena_encode_snapshot_frame(1, 1, room, (size_t)nr + 1, frame, sizeof(frame)),
		    -EINVAL);
	}
	/* Counts above the limits. */
	fill_sample(m, ARENA_SNAPSHOT, 3);
	assert_int_equal(arena_encode_snapshot_room(1, m->u.snapshot.players,
	                                            ARENA_SNAP_PLAYERS_MAX + 1, NULL, 0, room,
	                                            sizeof(room)),
	                 -EINVAL);
	assert_int_equal(arena_encode_snapshot_room(1, NULL, 0, m->u.snapshot.gems,
	                                            ARENA_SNAP_GEMS_MAX + 1, room, sizeof(room)),
	                 -EINVAL);
	assert_int_equal(arena_encode_snapshot_room(1, NULL, 1, NULL, 0, room, sizeof(room)),
	                 -EINVAL);
	/* A room part whose player count says 65 is refused by the frame encoder. */
	assert_int_equal(arena_encode_snapshot_room(1, NULL, 0, NULL, 0, room, sizeof(room)), 4);
	room[2] = ARENA_SNAP_PLAYERS_MAX + 1;
	assert_int_equal(arena_encode_snapshot_frame(1, 1, room, 4, frame, sizeof(frame)), -EINVAL);
	free(m);
}

/* ---- streams ------------------------------------------------------------------------------- */

#define STREAM_MSGS 120

struct stream {
	enum arena_side side;
	struct arena_msg *msgs; /* STREAM_MSGS expected messages */
	uint8_t *bytes;
	size_t len;
};

static void stream_build(struct stream *s, enum arena_side side)
{
	const uint8_t *types = side == ARENA_SIDE_SERVER ? client_types : server_types;
	size_t ntypes = side == ARENA_SIDE_SERVER ? sizeof(client_types) : sizeof(server_types);

	s->side = side;
	s->msgs = calloc(STREAM_MSGS, sizeof(*s->msgs));
	s->bytes = malloc((size_t)STREAM_MSGS * ARENA_FRAME_MAX);
	assert_non_null(s->msgs);
	assert_non_null(s->bytes);
	s->len = 0;
	for (unsigned i = 0; i < STREAM_MSGS; i++) {
		fill_sample(&s->msgs[i], types[(i * 5 + i / ntypes) % ntypes], i);
		s->len += encode_ok(&s->msgs[i], s->bytes + s->len, ARENA_FRAME_MAX);
	}
}

static void stream_free(struct stream *s)
{
	free(s->msgs);
	free(s->bytes);
}

static uint32_t xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Feed the stream in chunks: chunk == 0 means random sizes 1..300 from `seed`, else fixed. */
static void stream_check(const struct stream *s, size_t chunk, uint32_t seed)
{
	static struct arena_decoder d;
	struct arena_msg *out = new_msg(0);
	size_t pos = 0, got = 0, calls = 0;

	arena_decoder_init(&d, s->side, ARENA_PAYLOAD_MAX);
	while (pos < s->len) {
		size_t n = chunk ? chunk : 1 + xorshift(&seed) % 300;
		const uint8_t *p = s->bytes + pos;

		if (n > s->len - pos)
			n = s->len - pos;
		pos += n;
		while (n > 0) {
			size_t used = SIZE_MAX;
			int r = arena_decoder_feed(&d, p, n, &used, out);

			assert_true(++calls < 10 * s->len);
			assert_true(r == 0 || r == 1);
			assert_true(used <= n);
			p += used;
			n -= used;
			if (r == 0) {
				assert_int_equal(n, 0);
			} else {
				assert_true(got < STREAM_MSGS);
				assert_msg_eq(&s->msgs[got], out);
				got++;
			}
		}
	}
	assert_int_equal(got, STREAM_MSGS);
	assert_int_equal(d.have, 0);
	free(out);
}

static void test_stream_fragmentation(void **state)
{
	enum arena_side sides[] = {ARENA_SIDE_SERVER, ARENA_SIDE_CLIENT};

	for (int i = 0; i < 2; i++) {
		struct stream s;

		stream_build(&s, sides[i]);
		stream_check(&s, 1, 0);     /* one byte at a time */
		stream_check(&s, s.len, 0); /* all in one chunk */
		for (uint32_t seed = 1; seed <= 6; seed++)
			stream_check(&s, 0, seed * 2654435761u);
		stream_check(&s, 2, 0);
		stream_check(&s, 7, 0);
		stream_free(&s);
	}
}

/* One call never takes more than one frame, even when more are available. */
static void test_feed_one_frame_per_call(void **state)
{
	static uint8_t buf[3 * ARENA_FRAME_MAX];
	static struct arena_decoder d;
	struct arena_msg *m = new_msg(0), *out = new_msg(0);
	size_t n1, n2, used;

	fill_sample(m, ARENA_MOVE, 1);
	n1 = encode_ok(m, buf, ARENA_FRAME_MAX);
	fill_sample(m, ARENA_LEAVE, 0);
	n2 = encode_ok(m, buf + n1, ARENA_FRAME_MAX);
	arena_decoder_init(&d, ARENA_SIDE_SERVER, ARENA_CLIENT_PAYLOAD_DEFAULT);
	assert_int_equal(arena_decoder_feed(&d, buf, n1 + n2, &used, out), 1);
	assert_int_equal(used, n1);
	assert_int_equal(out->type, ARENA_MOVE);
	assert_int_equal(arena_decoder_feed(&d, buf + n1, n2, &used, out), 1);
	assert_int_equal(used, n2);
	assert_int_equal(out->type, ARENA_LEAVE);
	assert_int_equal(arena_decoder_feed(&d, buf, 0, &used, out), 0);
	assert_int_equal(used, 0);
	assert_int_equal(arena_decoder_feed(&d, NULL, 0, &used, out), 0);
	assert_int_equal(arena_decoder_feed(&d, NULL, 5, &used, out), -EINVAL);
	assert_int_equal(used, 0);
	assert_int_equal(d.error, 0);
	free(m);
	free(out);
}

/* ---- encoder refusals ---------------------------------------------------------------------- */

static void expect_einval(const struct arena_msg *m)
{
	static uint8_t buf[ARENA_FRAME_MAX], canary[ARENA_FRAME_MAX];

	memset(buf, 0xaa, sizeof(buf));
	memset(canary, 0xaa, sizeof(canary));
	assert_int_equal(arena_encode(m, buf, sizeof(buf)), -EINVAL);
	assert_memory_equal(buf, canary, sizeof(buf));
}

static void test_encode_einval(void **state)
{
	struct arena_msg *m = new_msg(0);
	char big[ARENA_CHAT_MAX + 2];

	assert_int_equal(arena_encode(NULL, big, sizeof(big)), -EINVAL);
	fill_sample(m, ARENA_HELLO, 0);
	m->u.hello.name.len = 0;
	expect_einval(m);
	m->u.hello.name.len = ARENA_NAME_MAX + 1;
	expect_einval(m);
	set_str32(&m->u.hello.name, "bad\x7f");
	expect_einval(m);
	set_str32(&m->u.hello.name, "\xed\xa0\x80");
	expect_einval(m);

	fill_sample(m, ARENA_JOIN, 1);
	m->u.join.room.len = ARENA_ROOM_MAX + 1;
	expect_einval(m);
	fill_sample(m, ARENA_CHAT, 1);
	m->u.chat.text.len = 0;
	expect_einval(m);
	m->u.chat.text.len = ARENA_CHAT_MAX + 1;
	expect_einval(m);
	set_text(&m->u.chat.text, "line\nbreak");
	expect_einval(m);

	fill_sample(m, ARENA_MOVE, 0);
	m->u.move.dx = 2;
	expect_einval(m);
	m->u.move.dx = 0;
	m->u.move.dy = -2;
	expect_einval(m);

	fill_sample(m, ARENA_BYE, 0);
	m->u.bye.reason = 0;
	expect_einval(m);
	m->u.bye.reason = ARENA_BYE_IP_LIMIT + 1;
	expect_einval(m);
	fill_sample(m, ARENA_ERROR, 0);
	m->u.error.text.len = ARENA_TEXT_MAX + 1;
	expect_einval(m);

	fill_sample(m, ARENA_SNAPSHOT, 3);
	m->u.snapshot.nplayers = ARENA_SNAP_PLAYERS_MAX + 1;
	expect_einval(m);
	fill_sample(m, ARENA_SNAPSHOT, 3);
	m->u.snapshot.ngems = ARENA_SNAP_GEMS_MAX + 1;
	expect_einval(m);

	fill_sample(m, ARENA_LEADERBOARD, 3);
	m->u.leaderboard.n = ARENA_LEADERBOARD_MAX + 1;
	expect_einval(m);
	fill_sample(m, ARENA_LEADERBOARD, 3);
	m->u.leaderboard.entries[99].name.len = 0; /* the last entry has an empty name */
	expect_einval(m);

	fill_sample(m, ARENA_CHAT_MSG, 0);
	m->u.chat_msg.room.len = 0;
	expect_einval(m);

	fill_sample(m, ARENA_WELCOME, 0);
	m->u.welcome.resume = 3;
	expect_einval(m);
	fill_sample(m, ARENA_WELCOME, 0);
	m->u.welcome.tick_rate = 0;
	expect_einval(m);
	fill_sample(m, ARENA_WELCOME, 0);
	m->u.welcome.max_payload = ARENA_PAYLOAD_MAX + 1;
	expect_einval(m);

	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.width = 0;
	expect_einval(m);
	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.height = 4097;
	expect_einval(m);
	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.capacity = 0;
	expect_einval(m);
	m->u.joined.capacity = ARENA_SNAP_PLAYERS_MAX + 1;
	expect_einval(m);
	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.x = m->u.joined.width;
	expect_einval(m);
	fill_sample(m, ARENA_JOINED, 0);
	m->u.joined.y = m->u.joined.height;
	expect_einval(m);
	m->u.joined.room.len = 0;
	expect_einval(m);

	memset(m, 0, sizeof(*m));
	for (unsigned t = 0; t < 256; t++) {
		m->type = (uint8_t)t;
		if ((t >= 0x08 && t <= 0x80) || t >= 0x8a || t == 0)
			expect_einval(m);
	}
	free(m);
}

static void test_encode_enobufs(void **state)
{
	static uint8_t buf[ARENA_FRAME_MAX], canary[ARENA_FRAME_MAX];
	struct arena_msg *m = new_msg(0);

	for (size_t t = 0; t < sizeof(server_types); t++) {
		ssize_t n;

		fill_sample(m, server_types[t], 3);
		n = arena_encode(m, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(arena_encode(m, buf, (size_t)n), n);
		memset(buf, 0xaa, sizeof(buf));
		memset(canary, 0xaa, sizeof(canary));
		assert_int_equal(arena_encode(m, buf, (size_t)n - 1), -ENOBUFS);
		assert_int_equal(arena_encode(m, buf, 0), -ENOBUFS);
		assert_int_equal(arena_encode(m, NULL, 0), -ENOBUFS);
		assert_memory_equal(buf, canary, sizeof(buf));
	}
	/* -EINVAL wins over -ENOBUFS. */
	fill_sample(m, ARENA_MOVE, 0);
	m->u.move.dx = 5;
	assert_int_equal(arena_encode(m, buf, 1), -EINVAL);
	free(m);
}

/* ---- names --------------------------------------------------------------------------------- */

static void test_names(void **state)
{
	assert_string_equal(arena_msg_type_name(ARENA_HELLO), "HELLO");
	assert_string_equal(arena_msg_type_name(ARENA_LEADERBOARD_REQ), "LEADERBOARD_REQ");
	assert_string_equal(arena_msg_type_name(ARENA_WELCOME), "WELCOME");
	assert_string_equal(arena_msg_type_name(ARENA_BYE), "BYE");
	assert_string_equal(arena_msg_type_name(0), "unknown");
	assert_string_equal(arena_msg_type_name(0x80), "unknown");
	assert_string_equal(arena_msg_type_name(0x8a), "unknown");
	assert_string_equal(arena_msg_type_name(-1), "unknown");
	assert_string_equal(arena_msg_type_name(100000), "unknown");
	for (unsigned t = 0; t < 256; t++) {
		bool known = (t >= 1 && t <= 7) || (t >= 0x81 && t <= 0x89);

		assert_int_equal(strcmp(arena_msg_type_name((int)t), "unknown") != 0, known);
	}
	assert_string_equal(arena_error_name(ARENA_ERR_MALFORMED), "malformed");
	assert_string_equal(arena_error_name(ARENA_ERR_INTERNAL), "internal");
	assert_string_equal(arena_error_name(0), "unknown");
	assert_string_equal(arena_error_name(16), "unknown");
	for (int c = 1; c <= 15; c++)
		assert_string_not_equal(arena_error_name(c), "unknown");
	assert_string_equal(arena_bye_name(ARENA_BYE_SHUTDOWN), "shutdown");
	assert_string_equal(arena_bye_name(ARENA_BYE_IP_LIMIT), "ip_limit");
	assert_string_equal(arena_bye_name(0), "unknown");
	assert_string_equal(arena_bye_name(9), "unknown");
	for (int r = 1; r <= 8; r++)
		assert_string_not_equal(arena_bye_name(r), "unknown");
	assert_string_equal(arena_decode_strerror(-ARENA_E_TRUNCATED), "truncated frame");
	assert_string_equal(arena_decode_strerror(-ARENA_E_TRAILING), "trailing bytes in frame");
	assert_string_equal(arena_decode_strerror(-EIO), "unknown decoder error");
}

static void test_error_for_decode(void **state)
{
	assert_int_equal(arena_error_for_decode(-ARENA_E_TRUNCATED), ARENA_ERR_MALFORMED);
	assert_int_equal(arena_error_for_decode(-ARENA_E_TRAILING), ARENA_ERR_MALFORMED);
	assert_int_equal(arena_error_for_decode(-ARENA_E_OVERSIZE), ARENA_ERR_FRAME_TOO_BIG);
	assert_int_equal(arena_error_for_decode(-ARENA_E_UNKNOWN), ARENA_ERR_UNKNOWN_TYPE);
	assert_int_equal(arena_error_for_decode(-ARENA_E_UTF8), ARENA_ERR_BAD_UTF8);
	assert_int_equal(arena_error_for_decode(-ARENA_E_RANGE), ARENA_ERR_OUT_OF_RANGE);
	/* The six classes are distinct errno values. */
	const int e[] = {ARENA_E_TRUNCATED, ARENA_E_OVERSIZE, ARENA_E_UNKNOWN,
	                 ARENA_E_UTF8,      ARENA_E_RANGE,    ARENA_E_TRAILING};
	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			assert_int_not_equal(e[i], e[j]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_every_type),
	    cmocka_unit_test(test_roundtrip_boundaries),
	    cmocka_unit_test(test_prefixes_truncated),
	    cmocka_unit_test(test_snapshot_two_part),
	    cmocka_unit_test(test_stream_fragmentation),
	    cmocka_unit_test(test_feed_one_frame_per_call),
	    cmocka_unit_test(test_bad_truncated),
	    cmocka_unit_test(test_bad_oversize),
	    cmocka_unit_test(test_bad_unknown_type),
	    cmocka_unit_test(test_bad_utf8),
	    cmocka_unit_test(test_bad_range),
	    cmocka_unit_test(test_bad_trailing),
	    cmocka_unit_test(test_peek),
	    cmocka_unit_test(test_utf8_table),
	    cmocka_unit_test(test_encode_einval),
	    cmocka_unit_test(test_encode_enobufs),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_error_for_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
