/* test-hostile-frames.c: every kind of bad frame gets its documented reply; nobody else notices.
 *
 * Each case uses a fresh connection and checks the reply from PROTOCOL.md's violation table:
 * decoding errors are ERROR(code) then BYE(protocol error) then close, with the code naming the
 * class (frame too big, malformed, unknown type, bad UTF-8, out of range); protocol-state
 * errors likewise (version, not welcomed, already welcomed); a frame cut off and left hanging is
 * ended by the handshake or idle timeout with BYE(idle). A valid session written one byte at a
 * time still works. The hostile bytes are built by hand on purpose (no encoder would produce
 * them); the valid ones come from arena_encode. Meanwhile 4 honest clients PING every 50 ms and
 * must get every PONG within 500 ms, and no worker may crash.
 */
#include <string.h>

#include "harness.h"

#define HANDSHAKE_MS 1000
#define IDLE_MS      2000
#define REPLY_MS     2000

static struct hd *d;

/* Send bytes (after a HELLO if welcome) and expect ERROR(code) (any code if 0), then
 * BYE(protocol error), then the close. */
static void expect_fatal(const char *what, bool welcome, const void *bytes, size_t len,
                         uint16_t code)
{
	struct hc *c = hc_connect(d, NULL);
	struct arena_msg m1 = {0}, m2 = {0};
	int r1 = -1, r2 = -1, rc = -1;

	if (!c || (welcome && hc_hello(c, "hostile", REPLY_MS) < 0)) {
		CHECK(false, "%s: could not set up the connection", what);
		hc_close(c);
		return;
	}
	if (hc_send_raw(c, bytes, len) == 0) {
		r1 = hc_recv(c, &m1, REPLY_MS);
		if (r1 == 0)
			r2 = hc_recv(c, &m2, REPLY_MS);
		if (r2 == 0)
			rc = hc_wait_close(c, REPLY_MS);
	}
	bool error_ok = r1 == 0 && m1.type == ARENA_ERROR && (!code || m1.u.error.code == code);
	bool bye_ok =
	    r2 == 0 && m2.type == ARENA_BYE && m2.u.bye.reason == ARENA_BYE_PROTOCOL_ERROR;
	CHECK(error_ok && bye_ok && rc == 0,
	      "%s -> ERROR(%s) + BYE(protocol error) + close (got %s %s, then %s %s, close %s)",
	      what, code ? arena_error_name(code) : "any",
	      r1 == 0 ? arena_msg_type_name(m1.type) : "nothing",
	      r1 == 0 && m1.type == ARENA_ERROR ? arena_error_name(m1.u.error.code) : "",
	      r2 == 0 ? arena_msg_type_name(m2.type) : "nothing",
	      r2 == 0 && m2.type == ARENA_BYE ? arena_bye_name(m2.u.bye.reason) : "",
	      rc == 0 ? "yes" : "no");
	hc_close(c);
}

/* Send a frame's first bytes and go silent: BYE(idle) then close within limit_ms. */
static void expect_idle_cut(const char *what, bool welcome, unsigned limit_ms)
{
	struct arena_msg m = {.type = ARENA_PING}, got = {0};
	uint8_t frame[64];
	struct hc *c = hc_connect(d, NULL);
	uint64_t t0;
	int r = -1, rc = -1;

	if (!c || (welcome && hc_hello(c, "sleepy", REPLY_MS) < 0)) {
		CHECK(false, "%s: could not set up the connection", what);
		hc_close(c);
		return;
	}
	m.u.ping.stamp = 42;
	if (!welcome) {
		m.type = ARENA_HELLO;
		m.u.hello.version = ARENA_PROTO_VERSION;
		m.u.hello.name.len = 6;
		memcpy(m.u.hello.name.s, "sleepy", 7);
	}
	ssize_t len = arena_encode(&m, frame, sizeof(frame));
	if (len <= 5)
		h_bail("cannot encode the frame to cut");
	t0 = h_now_ms();
	if (hc_send_raw(c, frame, 5) == 0) {
		r = hc_recv(c, &got, limit_ms);
		if (r == 0)
			rc = hc_wait_close(c, REPLY_MS);
	}
	CHECK(r == 0 && got.type == ARENA_BYE && got.u.bye.reason == ARENA_BYE_IDLE && rc == 0,
	      "%s -> BYE(idle) + close after %llu ms (bound %u ms; got %s %s)", what,
	      (unsigned long long)(h_now_ms() - t0), limit_ms,
	      r == 0 ? arena_msg_type_name(got.type) : "nothing",
	      r == 0 && got.type == ARENA_BYE ? arena_bye_name(got.u.bye.reason) : "");
	hc_close(c);
}

/* A HELLO payload by hand: version, a name of name_len bytes from name, no token. */
static size_t raw_hello(uint8_t *buf, uint16_t version, const void *name, uint8_t name_len)
{
	size_t plen = 2 + 1 + name_len + ARENA_TOKEN_LEN;

	buf[0] = (uint8_t)(plen >> 8);
	buf[1] = (uint8_t)plen;
	buf[2] = ARENA_HELLO;
	buf[3] = (uint8_t)(version >> 8);
	buf[4] = (uint8_t)version;
	buf[5] = name_len;
	memcpy(buf + 6, name, name_len);
	memset(buf + 6 + name_len, 0, ARENA_TOKEN_LEN);
	return ARENA_HEADER_SIZE + plen;
}

static void byte_at_a_time(void)
{
	struct arena_msg hello = {.type = ARENA_HELLO}, ping = {.type = ARENA_PING}, m;
	uint8_t buf[128];
	struct hc *c = hc_connect(d, NULL);
	ssize_t a, b;
	int r1 = -1, r2 = -1;

	hello.u.hello.version = ARENA_PROTO_VERSION;
	hello.u.hello.name.len = 4;
	memcpy(hello.u.hello.name.s, "slow", 5);
	ping.u.ping.stamp = 0x1122334455667788ULL;
	a = arena_encode(&hello, buf, sizeof(buf));
	b = a > 0 ? arena_encode(&ping, buf + a, sizeof(buf) - (size_t)a) : -1;
	if (!c || a <= 0 || b <= 0)
		h_bail("cannot set up the byte-at-a-time session");
	for (ssize_t i = 0; i < a + b; i++) {
		if (hc_send_raw(c, buf + i, 1) < 0)
			break;
		h_sleep_ms(3);
	}
	r1 = hc_recv_type(c, ARENA_WELCOME, &m, REPLY_MS);
	if (r1 == 0)
		r2 = hc_recv_type(c, ARENA_PONG, &m, REPLY_MS);
	CHECK(r1 == 0 && r2 == 0 && m.u.ping.stamp == ping.u.ping.stamp,
	      "HELLO and PING written one byte at a time -> WELCOME and the matching PONG");
	hc_close(c);
}

int main(void)
{
	uint8_t buf[512];
	pid_t w[4];
	struct hp *hp;
	size_t n;

	h_init("hostile-frames", "bad frames get ERROR + BYE; honest clients do not notice");
	d = hd_start((const char *const[]){"workers=4", "handshake_timeout=1s", "idle_timeout=2s",
	                                   "max_payload=300", NULL});
	REQUIRE(hd_workers(d, w, 4) == 4, "arenad runs 4 workers");
	hp = hp_start(d, 4, 50, NULL, "honest");

	static const char http[] = "GET / HTTP/1.1\r\nHost: arena\r\n\r\n";
	expect_fatal("garbage (an HTTP request)", false, http, sizeof(http) - 1, 0);

	static const uint8_t huge[] = {0xff, 0xff, ARENA_HELLO};
	expect_fatal("length 0xFFFF, header only", false, huge, sizeof(huge),
	             ARENA_ERR_FRAME_TOO_BIG);
	/* The configured max_payload (300 here), not the protocol's ceiling (8192), is the limit:
	 * a 301-byte payload is refused from its header alone. */
	static const uint8_t over_cfg[] = {0x01, 0x2d, ARENA_CHAT};
	expect_fatal("length max_payload + 1 after WELCOME, header only", true, over_cfg,
	             sizeof(over_cfg), ARENA_ERR_FRAME_TOO_BIG);

	{
		struct arena_msg ping = {.type = ARENA_PING};
		ssize_t len = arena_encode(&ping, buf, sizeof(buf));

		if (len != ARENA_HEADER_SIZE + 8)
			h_bail("cannot encode a PING");
		buf[1]++; /* one more byte inside the frame ... */
		buf[len] = 0xaa;
		expect_fatal("PING with a trailing byte inside the frame", true, buf,
		             (size_t)len + 1, ARENA_ERR_MALFORMED);
	}

	static const uint8_t unknown[] = {0x00, 0x00, 0x7e};
	expect_fatal("unknown message type 0x7e", true, unknown, sizeof(unknown),
	             ARENA_ERR_UNKNOWN_TYPE);
	static const uint8_t reversed[] = {0x00, 0x00, ARENA_PONG};
	expect_fatal("a server-to-client type (PONG) from the client", true, reversed,
	             sizeof(reversed), ARENA_ERR_UNKNOWN_TYPE);

	n = raw_hello(buf, ARENA_PROTO_VERSION + 1, "future", 6);
	expect_fatal("HELLO with protocol version 2", false, buf, n, ARENA_ERR_VERSION);

	n = raw_hello(buf, ARENA_PROTO_VERSION, "twice", 5);
	expect_fatal("a second HELLO", true, buf, n, ARENA_ERR_ALREADY_WELCOMED);

	{
		struct arena_msg ping = {.type = ARENA_PING};
		ssize_t len = arena_encode(&ping, buf, sizeof(buf));

		if (len <= 0)
			h_bail("cannot encode a PING");
		expect_fatal("PING before HELLO", false, buf, (size_t)len, ARENA_ERR_NOT_WELCOMED);
	}

	static const uint8_t overlong[] = {0xc0, 0xaf, 'a'};
	n = raw_hello(buf, ARENA_PROTO_VERSION, overlong, sizeof(overlong));
	expect_fatal("HELLO with a name that is not UTF-8 (overlong '/')", false, buf, n,
	             ARENA_ERR_BAD_UTF8);

	{
		char name[ARENA_NAME_MAX + 1];

		memset(name, 'n', sizeof(name));
		n = raw_hello(buf, ARENA_PROTO_VERSION, name, sizeof(name));
		expect_fatal("HELLO with a 33-byte name", false, buf, n, ARENA_ERR_OUT_OF_RANGE);
	}
	{
		size_t plen = 1 + ARENA_CHAT_MAX + 1;

		buf[0] = (uint8_t)(plen >> 8);
		buf[1] = (uint8_t)plen;
		buf[2] = ARENA_CHAT;
		buf[3] = ARENA_CHAT_MAX + 1;
		memset(buf + 4, 'c', ARENA_CHAT_MAX + 1);
		expect_fatal("CHAT with 201 bytes of text", true, buf, ARENA_HEADER_SIZE + plen,
		             ARENA_ERR_OUT_OF_RANGE);
	}

	expect_idle_cut("half a HELLO, then silence", false, HANDSHAKE_MS + 2000);
	expect_idle_cut("half a PING after WELCOME, then silence", true, IDLE_MS + 2000);
	byte_at_a_time();

	hp_stop(hp);
	hp_check(hp, 500, "during the abuse");
	CHECK(hd_workers_unchanged(d, w, 4), "no worker crashed or was replaced");
	hp_free(hp);
	return h_done();
}
