/* test-proto-bad.c: unit tests of the codec on malformed input, and the UTF-8 table.
 *
 * Malformed frames are made by encoding a valid message and then corrupting it at a known offset
 * (a deliberate hostile edit). Each malformed class must give its own error, from the payload
 * decoder and from the stream decoder at the right byte, leave the output untouched, and leave
 * the stream decoder failed (same error, nothing consumed) for whatever comes next.
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

void test_bad_truncated(void **state)
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

void test_bad_oversize(void **state)
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

void test_bad_unknown_type(void **state)
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

void test_bad_utf8(void **state)
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

void test_bad_range(void **state)
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

void test_bad_trailing(void **state)
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

void test_peek(void **state)
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

void test_utf8_table(void **state)
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
