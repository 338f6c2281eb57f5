/* test-proto.c: unit tests of the wire codec (arena_proto).
 *
 * Messages are built as structs, encoded with arena_encode() and decoded back; equality is
 * checked field by field, never through the encoder. Streams of many frames are fed to the
 * incremental decoder in every fragmentation (byte by byte, seeded random splits, one chunk) and
 * must yield the same sequence. Malformed input is made by encoding a valid frame and then
 * corrupting it at a known offset (a deliberate hostile edit), and each malformed class must give
 * its own error and leave the decoder failed. Strict prefixes are decoded from exact-size heap
 * copies so an out-of-bounds read is caught by AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arena_proto.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void set_str32(struct arena_str32 *dst, const char *s)
{
	size_t n = strlen(s);

	assert_true(n <= ARENA_NAME_MAX);
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->s, s, n);
	dst->len = (uint8_t)n;
}

static void set_text(struct arena_text *dst, const char *s)
{
	size_t n = strlen(s);

	assert_true(n <= ARENA_CHAT_MAX);
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->s, s, n);
	dst->len = (uint8_t)n;
}

/* A string of `len` bytes made of repetitions of `unit` (len must be a multiple of its length). */
static const char *repeat(char *buf, const char *unit, size_t len)
{
	size_t u = strlen(unit);

	assert_int_equal(len % u, 0);
	for (size_t i = 0; i < len; i += u)
		memcpy(buf + i, unit, u);
	buf[len] = '\0';
	return buf;
}

static struct arena_msg *new_msg(uint8_t type)
{
	struct arena_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->type = type;
	return m;
}

static const char *const names[] = {
    "a", "Ann", "Ünïcødé", "日本語の名前", "player_with_32_bytes_of_name_xyz", "😀😀😀😀😀😀😀😀",
};
static const char *const rooms[] = {"r", "lobby-2", "Zürich", "room_name_that_is_32_bytes_long_"};

/* Fill *m with a valid message of `type`; `v` varies sizes and values so that a run over
 * v = 0..N covers zero, typical and maximal counts. */
static void fill_sample(struct arena_msg *m, uint8_t type, unsigned v)
{
	static char big[ARENA_CHAT_MAX + 1];

	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case ARENA_HELLO:
		m->u.hello.version = (uint16_t)(v * 4099u);
		set_str32(&m->u.hello.name, names[v % 6]);
		if (v % 2)
			for (int i = 0; i < ARENA_TOKEN_LEN; i++)
				m->u.hello.token[i] = (uint8_t)(v * 31 + i * 17);
		break;
	case ARENA_JOIN:
		set_str32(&m->u.join.room, v % 5 == 0 ? "" : rooms[v % 4]);
		break;
	case ARENA_MOVE:
		m->u.move.seq = v * 2654435761u;
		m->u.move.dx = (int8_t)((int)(v % 3) - 1);
		m->u.move.dy = (int8_t)((int)(v / 3 % 3) - 1);
		break;
	case ARENA_CHAT:
		if (v % 3 == 0)
			set_text(&m->u.chat.text, repeat(big, "é", ARENA_CHAT_MAX));
		else if (v % 3 == 1)
			set_text(&m->u.chat.text, "x");
		else
			set_text(&m->u.chat.text, "hello, wörld ✓ 🎮");
		break;
	case ARENA_PING:
	case ARENA_PONG:
		m->u.ping.stamp = v * 0x9e3779b97f4a7c15ull;
		break;
	case ARENA_WELCOME:
		m->u.welcome.player_id = v == 1 ? UINT32_MAX : v * 7u;
		for (int i = 0; i < ARENA_TOKEN_LEN; i++)
			m->u.welcome.token[i] = (uint8_t)(0xf0 ^ (v + i));
		m->u.welcome.resume = (uint8_t)(v % 3);
		m->u.welcome.tick_rate = (uint16_t)(1 + v % 100);
		m->u.welcome.max_payload = v % 2 ? ARENA_PAYLOAD_MAX : ARENA_CLIENT_PAYLOAD_DEFAULT;
		m->u.welcome.input_rate = (uint16_t)(v * 3);
		m->u.welcome.chat_rate = UINT16_MAX;
		m->u.welcome.idle_timeout = (uint16_t)(60 + v);
		break;
	case ARENA_JOINED:
		m->u.joined.room_id = (uint16_t)(v * 1000);
		set_str32(&m->u.joined.room, rooms[v % 4]);
		m->u.joined.width = (uint16_t)(v % 2 ? 4096 : 1 + v);
		m->u.joined.height = (uint16_t)(v % 2 ? 1 : 4096 - v);
		m->u.joined.capacity = (uint8_t)(1 + v % ARENA_SNAP_PLAYERS_MAX);
		m->u.joined.x = (uint16_t)(m->u.joined.width - 1);
		m->u.joined.y = (uint16_t)(v % m->u.joined.height);
		break;
	case ARENA_SNAPSHOT:
		m->u.snapshot.tick = v * 20;
		m->u.snapshot.ack_seq = v == 2 ? UINT32_MAX : v;
		m->u.snapshot.room_id = (uint16_t)v;
		m->u.snapshot.nplayers = (uint8_t)(v * 13 % (ARENA_SNAP_PLAYERS_MAX + 1));
		if (v % 4 == 3)
			m->u.snapshot.nplayers = ARENA_SNAP_PLAYERS_MAX;
		for (unsigned i = 0; i < m->u.snapshot.nplayers; i++) {
			m->u.snapshot.players[i] = (struct arena_snap_player){
			    .id = i * 101 + v,
			    .x = (uint16_t)(i * 3),
			    .y = (uint16_t)(65535 - i),
			    .score = i == 0 ? UINT32_MAX : i * v,
			};
		}
		m->u.snapshot.ngems = (uint8_t)(v * 7 % (ARENA_SNAP_GEMS_MAX + 1));
		if (v % 4 == 3)
			m->u.snapshot.ngems = ARENA_SNAP_GEMS_MAX;
		for (unsigned i = 0; i < m->u.snapshot.ngems; i++)
			m->u.snapshot.gems[i] = (struct arena_gem){(uint16_t)i, (uint16_t)(i + v)};
		break;
	case ARENA_CHAT_MSG:
		m->u.chat_msg.sender_id = v + 1;
		set_str32(&m->u.chat_msg.sender, names[v % 6]);
		set_str32(&m->u.chat_msg.room, rooms[(v + 1) % 4]);
		if (v % 2)
			set_text(&m->u.chat_msg.text, repeat(big, "ab", ARENA_CHAT_MAX));
		else
			set_text(&m->u.chat_msg.text, "gg");
		break;
	case ARENA_LEADERBOARD:
		m->u.leaderboard.n = (uint8_t)(v * 37 % (ARENA_LEADERBOARD_MAX + 1));
		if (v % 4 == 3)
			m->u.leaderboard.n = ARENA_LEADERBOARD_MAX;
		for (unsigned i = 0; i < m->u.leaderboard.n; i++) {
			set_str32(&m->u.leaderboard.entries[i].name, names[(i + v) % 6]);
			m->u.leaderboard.entries[i].score = 1000000u - i;
		}
		break;
	case ARENA_ERROR:
		m->u.error.code = (uint16_t)(v % 2 ? 1 + v % 15 : 40000 + v);
		set_text(&m->u.error.text, v % 3 ? "room is full" : "");
		if (v % 5 == 4)
			set_text(&m->u.error.text, repeat(big, "€!", ARENA_TEXT_MAX - 4 * 2));
		break;
	case ARENA_BYE:
		m->u.bye.reason = (uint8_t)(1 + v % 8);
		set_text(&m->u.bye.text, v % 2 ? "" : "server shutting down");
		break;
	default: /* LEAVE, LEFT, LEADERBOARD_REQ */
		break;
	}
}

static void assert_str32_eq(const struct arena_str32 *a, const struct arena_str32 *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->s, b->s, a->len);
	assert_int_equal(a->s[a->len], '\0');
	assert_int_equal(b->s[b->len], '\0');
}

static void assert_text_eq(const struct arena_text *a, const struct arena_text *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->s, b->s, a->len);
	assert_int_equal(a->s[a->len], '\0');
	assert_int_equal(b->s[b->len], '\0');
}

/* Field-by-field equality of two messages of the same type. */
static void assert_msg_eq(const struct arena_msg *a, const struct arena_msg *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case ARENA_HELLO:
		assert_int_equal(a->u.hello.version, b->u.hello.version);
		assert_str32_eq(&a->u.hello.name, &b->u.hello.name);
		assert_memory_equal(a->u.hello.token, b->u.hello.token, ARENA_TOKEN_LEN);
		break;
	case ARENA_JOIN:
		assert_str32_eq(&a->u.join.room, &b->u.join.room);
		break;
	case ARENA_MOVE:
		assert_int_equal(a->u.move.seq, b->u.move.seq);
		assert_int_equal(a->u.move.dx, b->u.move.dx);
		assert_int_equal(a->u.move.dy, b->u.move.dy);
		break;
	case ARENA_CHAT:
		assert_text_eq(&a->u.chat.text, &b->u.chat.text);
		break;
	case ARENA_PING:
	case ARENA_PONG:
		assert_true(a->u.ping.stamp == b->u.ping.stamp);
		break;
	case ARENA_WELCOME:
		assert_int_equal(a->u.welcome.player_id, b->u.welcome.player_id);
		assert_memory_equal(a->u.welcome.token, b->u.welcome.token, ARENA_TOKEN_LEN);
		assert_int_equal(a->u.welcome.resume, b->u.welcome.resume);
		assert_int_equal(a->u.welcome.tick_rate, b->u.welcome.tick_rate);
		assert_int_equal(a->u.welcome.max_payload, b->u.welcome.max_payload);
		assert_int_equal(a->u.welcome.input_rate, b->u.welcome.input_rate);
		assert_int_equal(a->u.welcome.chat_rate, b->u.welcome.chat_rate);
		assert_int_equal(a->u.welcome.idle_timeout, b->u.welcome.idle_timeout);
		break;
	case ARENA_JOINED:
		assert_int_equal(a->u.joined.room_id, b->u.joined.room_id);
		assert_str32_eq(&a->u.joined.room, &b->u.joined.room);
		assert_int_equal(a->u.joined.width, b->u.joined.width);
		assert_int_equal(a->u.joined.height, b->u.joined.height);
		assert_int_equal(a->u.joined.capacity, b->u.joined.capacity);
		assert_int_equal(a->u.joined.x, b->u.joined.x);
		assert_int_equal(a->u.joined.y, b->u.joined.y);
		break;
	case ARENA_SNAPSHOT:
		assert_int_equal(a->u.snapshot.tick, b->u.snapshot.tick);
		assert_int_equal(a->u.snapshot.ack_seq, b->u.snapshot.ack_seq);
		assert_int_equal(a->u.snapshot.room_id, b->u.snapshot.room_id);
		assert_int_equal(a->u.snapshot.nplayers, b->u.snapshot.nplayers);
		for (unsigned i = 0; i < a->u.snapshot.nplayers; i++) {
			const struct arena_snap_player *pa = &a->u.snapshot.players[i];
			const struct arena_snap_player *pb = &b->u.snapshot.players[i];

			assert_int_equal(pa->id, pb->id);
			assert_int_equal(pa->x, pb->x);
			assert_int_equal(pa->y, pb->y);
			assert_int_equal(pa->score, pb->score);
		}
		assert_int_equal(a->u.snapshot.ngems, b->u.snapshot.ngems);
		for (unsigned i = 0; i < a->u.snapshot.ngems; i++) {
			assert_int_equal(a->u.snapshot.gems[i].x, b->u.snapshot.gems[i].x);
			assert_int_equal(a->u.snapshot.gems[i].y, b->u.snapshot.gems[i].y);
		}
		break;
	case ARENA_CHAT_MSG:
		assert_int_equal(a->u.chat_msg.sender_id, b->u.chat_msg.sender_id);
		assert_str32_eq(&a->u.chat_msg.sender, &b->u.chat_msg.sender);
		assert_str32_eq(&a->u.chat_msg.room, &b->u.chat_msg.room);
		assert_text_eq(&a->u.chat_msg.text, &b->u.chat_msg.text);
		break;
	case ARENA_LEADERBOARD:
		assert_int_equal(a->u.leaderboard.n, b->u.leaderboard.n);
		for (unsigned i = 0; i < a->u.leaderboard.n; i++) {
			assert_str32_eq(&a->u.leaderboard.entries[i].name,
			                &b->u.leaderboard.entries[i].name);
			assert_int_equal(a->u.leaderboard.entries[i].score,
			                 b->u.leaderboard.entries[i].score);
		}
		break;
	case ARENA_ERROR:
		assert_int_equal(a->u.error.code, b->u.error.code);
		assert_text_eq(&a->u.error.text, &b->u.error.text);
		break;
	case ARENA_BYE:
		assert_int_equal(a->u.bye.reason, b->u.bye.reason);
		assert_text_eq(&a->u.bye.text, &b->u.bye.text);
		break;
	case ARENA_LEAVE:
	case ARENA_LEFT:
	case ARENA_LEADERBOARD_REQ:
		break;
	default:
		fail_msg("unexpected type 0x%x", a->type);
	}
}

static const uint8_t client_types[] = {ARENA_HELLO, ARENA_JOIN, ARENA_LEAVE,          ARENA_MOVE,
                                       ARENA_CHAT,  ARENA_PING, ARENA_LEADERBOARD_REQ};
static const uint8_t server_types[] = {ARENA_WELCOME,     ARENA_JOINED,   ARENA_LEFT,
                                       ARENA_SNAPSHOT,    ARENA_CHAT_MSG, ARENA_PONG,
                                       ARENA_LEADERBOARD, ARENA_ERROR,    ARENA_BYE};

static enum arena_side side_for(uint8_t type)
{
	return type < 0x80 ? ARENA_SIDE_SERVER : ARENA_SIDE_CLIENT;
}

/* Encode *m into a fresh frame; returns its length. */
static size_t encode_ok(const struct arena_msg *m, uint8_t *buf, size_t cap)
{
	ssize_t n = arena_encode(m, buf, cap);

	assert_true(n >= ARENA_HEADER_SIZE);
	assert_int_equal((size_t)n, ARENA_HEADER_SIZE + ((size_t)buf[0] << 8 | buf[1]));
	assert_int_equal(buf[2], m->type);
	return (size_t)n;
}

/* encode -> peek -> decode_payload and encode -> stream decoder, both equal to *m. */
static void roundtrip(const struct arena_msg *m)
{
	static uint8_t buf[ARENA_FRAME_MAX];
	static struct arena_decoder d;
	struct arena_msg *out = new_msg(0);
	size_t n = encode_ok(m, buf, sizeof(buf)), flen = 0, used = 0;

	assert_int_equal(arena_frame_peek(buf, n, ARENA_PAYLOAD_MAX, &flen), 0);
	assert_int_equal(flen, n);
	assert_int_equal(arena_decode_payload(side_for(m->type), buf[2], buf + ARENA_HEADER_SIZE,
	                                      n - ARENA_HEADER_SIZE, out),
	                 0);
	assert_msg_eq(m, out);

	memset(out, 0xa5, sizeof(*out));
	arena_decoder_init(&d, side_for(m->type), ARENA_PAYLOAD_MAX);
	assert_int_equal(arena_decoder_feed(&d, buf, n, &used, out), 1);
	assert_int_equal(used, n);
	assert_msg_eq(m, out);
	free(out);
}

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

/* ---- malformed input ----------------------------------------------------------------------- */

/* A frame to corrupt: encoded from a valid message, then edited in place. */
struct frame {
	uint8_t b[ARENA_FRAME_MAX + 16];
	size_t len;
};

static void frame_from(struct frame *f, const struct arena_msg *m)
{
	f->len = encode_ok(m, f->b, ARENA_FRAME_MAX);
}

/* Rewrite the length field to match f->len (after a deliberate cut or extension). */
static void frame_fix_len(struct frame *f)
{
	size_t plen = f->len - ARENA_HEADER_SIZE;

	f->b[0] = (uint8_t)(plen >> 8);
	f->b[1] = (uint8_t)plen;
}

/* Expect `err` from decode_payload and from the stream decoder fed byte by byte (the error must
 * come on the frame's last byte, or on its header's third byte when `at_header`), and the
 * decoder must stay failed afterwards, consuming nothing, even for a valid frame. */
static void expect_bad(const struct frame *f, enum arena_side side, int err, bool at_header)
{
	static struct arena_decoder d;
	struct arena_msg *out = new_msg(0), *good = new_msg(0);
	struct frame ok;
	size_t used, i;
	int r = 0;

	if (!at_header)
		assert_int_equal(arena_decode_payload(side, f->b[2], f->b + ARENA_HEADER_SIZE,
		                                      f->len - ARENA_HEADER_SIZE, out),
		                 err);
	memset(out, 0x5a, sizeof(*out));
	memcpy(good, out, sizeof(*out));

	arena_decoder_init(&d, side, ARENA_PAYLOAD_MAX);
	for (i = 0; i < f->len; i++) {
		r = arena_decoder_feed(&d, f->b + i, 1, &used, out);
		if (r != 0)
			break;
		assert_int_equal(used, 1);
	}
	assert_int_equal(r, err);
	assert_int_equal(i + 1, at_header ? ARENA_HEADER_SIZE : f->len);
	assert_memory_equal(out, good, sizeof(*out)); /* untouched on failure */

	fill_sample(good, side == ARENA_SIDE_SERVER ? ARENA_PING : ARENA_PONG, 1);
	frame_from(&ok, good);
	used = 99;
	assert_int_equal(arena_decoder_feed(&d, ok.b, ok.len, &used, out), err);
	assert_int_equal(used, 0);
	assert_int_equal(arena_decoder_feed(&d, ok.b, 1, &used, out), err);
	assert_int_equal(used, 0);

	/* The same frame in one chunk fails the same way. */
	arena_decoder_init(&d, side, ARENA_PAYLOAD_MAX);
	assert_int_equal(arena_decoder_feed(&d, f->b, f->len, &used, out), err);
	assert_int_equal(used, at_header ? ARENA_HEADER_SIZE : f->len);
	free(out);
	free(good);
}

static void test_bad_truncated(void **state)
{
	struct arena_msg *m = new_msg(0);
	struct frame f;

	fill_sample(m, ARENA_MOVE, 4);
	frame_from(&f, m);
	f.len -= 1; /* dy missing */
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRUNCATED, false);

	fill_sample(m, ARENA_HELLO, 1); /* name "Ann": cut inside the name */
	frame_from(&f, m);
	f.len = ARENA_HEADER_SIZE + 2 + 1 + 2;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRUNCATED, false);

	fill_sample(m, ARENA_PING, 3);
	frame_from(&f, m);
	f.len -= 4;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRUNCATED, false);

	fill_sample(m, ARENA_SNAPSHOT, 3); /* 64 players: cut in the middle of the players */
	frame_from(&f, m);
	f.len = ARENA_HEADER_SIZE + 8 + 3 + 30 * 12 + 5;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_TRUNCATED, false);

	fill_sample(m, ARENA_JOIN, 0); /* empty payload: the str8 length byte is missing */
	frame_from(&f, m);
	f.len = ARENA_HEADER_SIZE;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRUNCATED, false);
	free(m);
}

static void test_bad_oversize(void **state)
{
	static struct arena_decoder d;
	struct arena_msg *out = new_msg(0);
	uint8_t hdr[ARENA_HEADER_SIZE + 4] = {0};
	size_t used, flen = 12345;

	/* Header claiming 513 bytes to a server accepting 512: refused after 3 bytes. */
	hdr[0] = (ARENA_CLIENT_PAYLOAD_DEFAULT + 1) >> 8;
	hdr[1] = (ARENA_CLIENT_PAYLOAD_DEFAULT + 1) & 0xff;
	hdr[2] = ARENA_CHAT;
	arena_decoder_init(&d, ARENA_SIDE_SERVER, ARENA_CLIENT_PAYLOAD_DEFAULT);
	assert_int_equal(arena_decoder_feed(&d, hdr, 1, &used, out), 0);
	assert_int_equal(arena_decoder_feed(&d, hdr + 1, 1, &used, out), 0);
	assert_int_equal(arena_decoder_feed(&d, hdr + 2, 1, &used, out), -ARENA_E_OVERSIZE);
	assert_int_equal(used, 1);
	assert_int_equal(arena_decoder_feed(&d, hdr, 3, &used, out), -ARENA_E_OVERSIZE);
	assert_int_equal(used, 0);
	/* In one chunk of 3 bytes too. */
	arena_decoder_init(&d, ARENA_SIDE_SERVER, ARENA_CLIENT_PAYLOAD_DEFAULT);
	assert_int_equal(arena_decoder_feed(&d, hdr, 3, &used, out), -ARENA_E_OVERSIZE);
	assert_int_equal(used, 3);
	assert_int_equal(arena_frame_peek(hdr, 3, ARENA_CLIENT_PAYLOAD_DEFAULT, &flen),
	                 -ARENA_E_OVERSIZE);
	assert_int_equal(flen, 12345);
	assert_int_equal(arena_frame_peek(hdr, 3, ARENA_CLIENT_PAYLOAD_DEFAULT + 1, &flen), 0);
	assert_int_equal(flen, ARENA_HEADER_SIZE + ARENA_CLIENT_PAYLOAD_DEFAULT + 1);

	/* A client decoder allows ARENA_PAYLOAD_MAX, never more, whatever it was told. */
	hdr[0] = (ARENA_PAYLOAD_MAX + 1) >> 8;
	hdr[1] = (ARENA_PAYLOAD_MAX + 1) & 0xff;
	hdr[2] = ARENA_SNAPSHOT;
	arena_decoder_init(&d, ARENA_SIDE_CLIENT, 65535);
	assert_int_equal(arena_decoder_feed(&d, hdr, 3, &used, out), -ARENA_E_OVERSIZE);
	assert_int_equal(arena_frame_peek(hdr, 3, 65535, &flen), -ARENA_E_OVERSIZE);
	hdr[0] = ARENA_PAYLOAD_MAX >> 8;
	hdr[1] = ARENA_PAYLOAD_MAX & 0xff;
	arena_decoder_init(&d, ARENA_SIDE_CLIENT, 65535);
	assert_int_equal(arena_decoder_feed(&d, hdr, 3, &used, out), 0);
	assert_int_equal(used, 3);
	assert_int_equal(arena_frame_peek(hdr, 3, 65535, &flen), 0);
	assert_int_equal(flen, ARENA_FRAME_MAX);
	free(out);
}

static void test_bad_unknown_type(void **state)
{
	const uint8_t to_server[] = {0x00, 0x08, 0x7f, 0x80, ARENA_WELCOME, ARENA_BYE, 0x8a, 0xff};
	const uint8_t to_client[] = {0x00, ARENA_HELLO, ARENA_LEADERBOARD_REQ, 0x08, 0x80,
	                             0x8a, 0xff};
	struct arena_msg *m = new_msg(0), *out = new_msg(0);
	struct frame f;

	fill_sample(m, ARENA_LEAVE, 0);
	frame_from(&f, m);
	for (size_t i = 0; i < sizeof(to_server); i++) {
		f.b[2] = to_server[i];
		expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_UNKNOWN, true);
		assert_int_equal(
		    arena_decode_payload(ARENA_SIDE_SERVER, to_server[i], NULL, 0, out),
		    -ARENA_E_UNKNOWN);
	}
	for (size_t i = 0; i < sizeof(to_client); i++) {
		f.b[2] = to_client[i];
		expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_UNKNOWN, true);
		assert_int_equal(
		    arena_decode_payload(ARENA_SIDE_CLIENT, to_client[i], NULL, 0, out),
		    -ARENA_E_UNKNOWN);
	}
	/* A whole valid HELLO sent to a client. */
	fill_sample(m, ARENA_HELLO, 2);
	frame_from(&f, m);
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_UNKNOWN, true);
	free(m);
	free(out);
}

/* HELLO whose name bytes are replaced by `bad` (same length as the valid name put first). */
static void bad_name_frame(struct frame *f, const char *bad)
{
	struct arena_msg *m = new_msg(ARENA_HELLO);
	size_t n = strlen(bad);
	char valid[ARENA_NAME_MAX + 1];

	assert_true(n > 0 && n <= ARENA_NAME_MAX);
	set_str32(&m->u.hello.name, repeat(valid, "a", n));
	frame_from(f, m);
	memcpy(f->b + ARENA_HEADER_SIZE + 2 + 1, bad, n); /* after u16 version and the length */
	free(m);
}

static void test_bad_utf8(void **state)
{
	const char *const bad[] = {
	    "\xc0\xaf",         /* overlong '/' */
	    "ab\xe0\x80\xaf",   /* overlong 3-byte */
	    "\xf0\x8f\xbf\xbf", /* overlong 4-byte */
	    "\xed\xa0\x80",     /* surrogate U+D800 */
	    "x\xed\xbf\xbfy",   /* surrogate U+DFFF */
	    "\x80",             /* lone continuation */
	    "ab\xbf",           /* lone continuation at the end */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf7\xbf\xbf\xbf", /* above U+10FFFF, F5..F7 lead */
	    "a\x01",            /* C0 control */
	    "tab\there",        /* TAB is a control too */
	    "del\x7f",          /* DEL */
	    "\xe2\x82",         /* truncated sequence at the end of the string */
	    "\xc3(",            /* bad continuation */
	};
	struct arena_msg *m = new_msg(0);
	struct frame f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bad_name_frame(&f, bad[i]);
		expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_UTF8, false);
	}
	/* A NUL byte inside a string. */
	bad_name_frame(&f, "abc");
	f.b[ARENA_HEADER_SIZE + 3 + 1] = 0;
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_UTF8, false);
	/* In CHAT text, too. */
	fill_sample(m, ARENA_CHAT, 1); /* "x" */
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 1] = 0xff;
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_UTF8, false);
	free(m);
}

static void test_bad_range(void **state)
{
	struct arena_msg *m = new_msg(0);
	struct frame f;

	fill_sample(m, ARENA_MOVE, 4); /* dx = 0, dy = 0 */
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 4] = 2; /* dx = 2 */
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);
	f.b[ARENA_HEADER_SIZE + 4] = 0;
	f.b[ARENA_HEADER_SIZE + 5] = 0xfe; /* dy = -2 */
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);
	f.b[ARENA_HEADER_SIZE + 5] = 0x80; /* dy = -128 */
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);

	fill_sample(m, ARENA_BYE, 0);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE] = 0; /* reason 0 */
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);
	f.b[ARENA_HEADER_SIZE] = ARENA_BYE_IP_LIMIT + 1;
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);

	/* Empty name: HELLO with the name length set to 0 and the name bytes dropped. */
	fill_sample(m, ARENA_HELLO, 0); /* name "a" */
	frame_from(&f, m);
	memmove(f.b + ARENA_HEADER_SIZE + 3, f.b + ARENA_HEADER_SIZE + 4, ARENA_TOKEN_LEN);
	f.b[ARENA_HEADER_SIZE + 2] = 0;
	f.len -= 1;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);
	/* Name length 33 (the bytes would be there). */
	fill_sample(m, ARENA_HELLO, 4); /* 32-byte name */
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 2] = ARENA_NAME_MAX + 1;
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);

	/* SNAPSHOT with nplayers 65 (and the bytes for 65 present). */
	fill_sample(m, ARENA_SNAPSHOT, 3);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 8 + 2] = ARENA_SNAP_PLAYERS_MAX + 1;
	f.len += 12;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);
	/* ngems 33. */
	fill_sample(m, ARENA_SNAPSHOT, 0); /* 0 players, 0 gems */
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 8 + 3] = ARENA_SNAP_GEMS_MAX + 1;
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);

	/* LEADERBOARD with n = 101. */
	fill_sample(m, ARENA_LEADERBOARD, 0);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE] = ARENA_LEADERBOARD_MAX + 1;
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);

	/* CHAT with 0 bytes of text. */
	fill_sample(m, ARENA_CHAT, 1);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE] = 0;
	f.len -= 1;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_RANGE, false);

	/* WELCOME.resume 3, tick_rate 0. */
	fill_sample(m, ARENA_WELCOME, 0);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 4 + ARENA_TOKEN_LEN] = 3;
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 4 + ARENA_TOKEN_LEN + 1] = 0;
	f.b[ARENA_HEADER_SIZE + 4 + ARENA_TOKEN_LEN + 2] = 0;
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);

	/* JOINED: spawn x equal to the width. */
	fill_sample(m, ARENA_JOINED, 0); /* room "r", width 1 */
	frame_from(&f, m);
	f.b[ARENA_HEADER_SIZE + 2 + 2 + 4 + 1 + 1] = 1; /* x low byte */
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_RANGE, false);
	free(m);
}

static void test_bad_trailing(void **state)
{
	struct arena_msg *m = new_msg(0);
	struct frame f;
	const uint8_t empties[] = {ARENA_LEAVE, ARENA_LEADERBOARD_REQ};

	for (size_t i = 0; i < sizeof(empties); i++) {
		fill_sample(m, empties[i], 0);
		frame_from(&f, m);
		f.b[f.len++] = 0;
		frame_fix_len(&f);
		expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRAILING, false);
	}
	fill_sample(m, ARENA_LEFT, 0);
	frame_from(&f, m);
	f.b[f.len++] = 'x';
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_TRAILING, false);

	fill_sample(m, ARENA_MOVE, 1);
	frame_from(&f, m);
	f.b[f.len++] = 0;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_SERVER, -ARENA_E_TRAILING, false);

	fill_sample(m, ARENA_LEADERBOARD, 3);
	frame_from(&f, m);
	f.b[f.len++] = 1;
	f.b[f.len++] = 2;
	frame_fix_len(&f);
	expect_bad(&f, ARENA_SIDE_CLIENT, -ARENA_E_TRAILING, false);
	free(m);
}

static void test_peek(void **state)
{
	uint8_t b[ARENA_HEADER_SIZE] = {0x01, 0x00, ARENA_CHAT};
	size_t flen = 7;

	assert_int_equal(arena_frame_peek(b, 0, 512, &flen), -EAGAIN);
	assert_int_equal(arena_frame_peek(NULL, 0, 512, &flen), -EAGAIN);
	assert_int_equal(arena_frame_peek(b, 2, 512, &flen), -EAGAIN);
	assert_int_equal(flen, 7);
	assert_int_equal(arena_frame_peek(b, 3, 512, &flen), 0);
	assert_int_equal(flen, 3 + 256);
	assert_int_equal(arena_frame_peek(b, 3, 255, &flen), -ARENA_E_OVERSIZE);
	b[0] = 0;
	b[1] = 0;
	assert_int_equal(arena_frame_peek(b, 3, 0, &flen), 0);
	assert_int_equal(flen, 3);
}

/* ---- UTF-8 table --------------------------------------------------------------------------- */

static void test_utf8_table(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} t[] = {
	    {"", true},
	    {"a", true},
	    {" ~", true},
	    {"héllo", true},
	    {"日本", true},
	    {"😀", true},
	    {"\xc2\x80", true},         /* U+0080 */
	    {"\xdf\xbf", true},         /* U+07FF */
	    {"\xe0\xa0\x80", true},     /* U+0800 */
	    {"\xed\x9f\xbf", true},     /* U+D7FF */
	    {"\xee\x80\x80", true},     /* U+E000 */
	    {"\xef\xbf\xbf", true},     /* U+FFFF */
	    {"\xf0\x90\x80\x80", true}, /* U+10000 */
	    {"\xf4\x8f\xbf\xbf", true}, /* U+10FFFF */
	    {"\x1f", false},
	    {"\x7f", false},
	    {"a\nb", false},
	    {"\r", false},
	    {"\xc0\x80", false}, /* overlong NUL */
	    {"\xc1\xbf", false},
	    {"\xe0\x80\xaf", false},
	    {"\xe0\x9f\xbf", false},
	    {"\xf0\x8f\xbf\xbf", false},
	    {"\xed\xa0\x80", false},
	    {"\xed\xbf\xbf", false},
	    {"\xf4\x90\x80\x80", false},
	    {"\xf5\x80\x80\x80", false},
	    {"\xf8\x88\x80\x80\x80", false},
	    {"\xfe", false},
	    {"\xff", false},
	    {"\x80", false},
	    {"\xbf", false},
	    {"\xc2", false},
	    {"\xe2\x82", false},
	    {"\xf0\x9f\x98", false},
	    {"a\xc2", false},
	    {"\xc2\x41", false},
	    {"\xe2\x28\xa1", false},
	    {"\xf0\x9f\x98\x80\x80", false}, /* valid then a stray continuation */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = strlen(t[i].s);
		char *copy = malloc(n ? n : 1); /* exact size: an over-read is caught by ASan */

		assert_non_null(copy);
		memcpy(copy, t[i].s, n);
		if (arena_utf8_valid(copy, n) != t[i].ok)
			fail_msg("utf8 case %zu: expected %s", i, t[i].ok ? "valid" : "invalid");
		free(copy);
	}
	assert_true(arena_utf8_valid(NULL, 0));
	assert_false(arena_utf8_valid("\0", 1));
	/* Only len bytes are looked at: the first byte of a 2-byte sequence alone is invalid. */
	assert_false(arena_utf8_valid("é", 1));
	assert_true(arena_utf8_valid("ab\x01", 2));
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
