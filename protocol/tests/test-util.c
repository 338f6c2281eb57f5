/* test-util.c: shared helpers of the codec unit tests: message samples and field equality.
 *
 * fill_sample() builds a valid message of any type, with sizes and values driven by a variant
 * number so loops over variants cover empty, typical and maximal messages. assert_msg_eq()
 * compares two messages field by field (never through the encoder), and roundtrip() runs a
 * message through the encoder, frame peek, payload decoder and stream decoder.
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

void set_str32(struct arena_str32 *dst, const char *s)
{
	size_t n = strlen(s);

	assert_true(n <= ARENA_NAME_MAX);
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->s, s, n);
	dst->len = (uint8_t)n;
}

void set_text(struct arena_text *dst, const char *s)
{
	size_t n = strlen(s);

	assert_true(n <= ARENA_CHAT_MAX);
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->s, s, n);
	dst->len = (uint8_t)n;
}

/* A string of `len` bytes made of repetitions of `unit` (len must be a multiple of its length). */
const char *repeat(char *buf, const char *unit, size_t len)
{
	size_t u = strlen(unit);

	assert_int_equal(len % u, 0);
	for (size_t i = 0; i < len; i += u)
		memcpy(buf + i, unit, u);
	buf[len] = '\0';
	return buf;
}

struct arena_msg *new_msg(uint8_t type)
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
void fill_sample(struct arena_msg *m, uint8_t type, unsigned v)
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
void assert_msg_eq(const struct arena_msg *a, const struct arena_msg *b)
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

const uint8_t client_types[] = {ARENA_HELLO, ARENA_JOIN, ARENA_LEAVE,          ARENA_MOVE,
                                ARENA_CHAT,  ARENA_PING, ARENA_LEADERBOARD_REQ};
const uint8_t server_types[] = {ARENA_WELCOME,     ARENA_JOINED,   ARENA_LEFT,
                                ARENA_SNAPSHOT,    ARENA_CHAT_MSG, ARENA_PONG,
                                ARENA_LEADERBOARD, ARENA_ERROR,    ARENA_BYE};

enum arena_side side_for(uint8_t type)
{
	return type < 0x80 ? ARENA_SIDE_SERVER : ARENA_SIDE_CLIENT;
}

/* Encode *m into a fresh frame; returns its length. */
size_t encode_ok(const struct arena_msg *m, uint8_t *buf, size_t cap)
{
	ssize_t n = arena_encode(m, buf, cap);

	assert_true(n >= ARENA_HEADER_SIZE);
	assert_int_equal((size_t)n, ARENA_HEADER_SIZE + ((size_t)buf[0] << 8 | buf[1]));
	assert_int_equal(buf[2], m->type);
	return (size_t)n;
}

/* encode -> peek -> decode_payload and encode -> stream decoder, both equal to *m. */
void roundtrip(const struct arena_msg *m)
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
