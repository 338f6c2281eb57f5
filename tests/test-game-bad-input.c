/* test-game-bad-input.c: game-level misuse: lobby MOVE, bad room names, chat flooding.
 *
 * - MOVE, CHAT and LEAVE in the lobby: ERROR(not in room), and the session goes on.
 * - JOIN with a 33-byte room name, or with invalid UTF-8: the decoder refuses the frame, so
 *   ERROR then BYE(protocol error) and the connection closes. These two frames are written
 *   by hand on purpose: the encoder would refuse to produce them.
 * - A player sends 30 CHATs at once against chat_burst 5: the excess gets ERROR(rate
 *   limited), the flooder stays connected, and two neighbours in the room (one on the
 *   flooder's worker, one elsewhere) get exactly the 5 admitted messages and can still chat.
 */
#include <stdio.h>
#include <string.h>

#include "game-util.h"

#define WAIT_MS 3000
#define FLOOD   30
#define BURST   5

static void expect_error(struct hc *c, uint16_t code, const char *what)
{
	struct arena_msg m;
	int r = hc_recv_type(c, ARENA_ERROR, &m, WAIT_MS);

	CHECK(r == 0 && m.u.error.code == code, "%s: ERROR(%s) (got %s)", what,
	      arena_error_name(code), r == 0 ? arena_error_name(m.u.error.code) : strerror(-r));
}

/* A JOIN frame with a room string of `len` bytes copied from `bytes`, built by hand. */
static void send_raw_join(struct hc *c, const char *bytes, size_t len)
{
	unsigned char f[3 + 1 + 64];
	size_t payload = 1 + len;

	f[0] = (unsigned char)(payload >> 8);
	f[1] = (unsigned char)payload;
	f[2] = ARENA_JOIN;
	f[3] = (unsigned char)len;
	memcpy(f + 4, bytes, len);
	REQUIRE(hc_send_raw(c, f, 3 + payload) == 0, "raw JOIN sent");
}

static void expect_protocol_bye(struct hc *c, const char *what)
{
	struct arena_msg m;
	bool err = false, bye = false;
	uint64_t deadline = h_now_ms() + WAIT_MS;

	while (!bye && hc_recv(c, &m, (unsigned)h_remaining(deadline)) == 0) {
		err = err || m.type == ARENA_ERROR;
		bye = m.type == ARENA_BYE && m.u.bye.reason == ARENA_BYE_PROTOCOL_ERROR;
	}
	CHECK(err && bye, "%s: ERROR then BYE(protocol error)", what);
	CHECK(hc_wait_close(c, WAIT_MS) == 0, "%s: the connection is closed", what);
}

static void chat(struct hc *c, const char *text)
{
	struct arena_msg m = {.type = ARENA_CHAT};

	m.u.chat.text.len = (uint8_t)strlen(text);
	snprintf(m.u.chat.text.s, sizeof(m.u.chat.text.s), "%s", text);
	REQUIRE(hc_send(c, &m) == 0, "CHAT sent");
}

/* Count CHAT_MSG from `sender` and ERROR(rate limited) on c for a while. */
static void count(struct hc *c, uint32_t sender, unsigned ms, unsigned *ret_msgs,
                  unsigned *ret_limited, bool *ret_mine)
{
	uint64_t deadline = h_now_ms() + ms;
	struct arena_msg m;

	*ret_msgs = *ret_limited = 0;
	if (ret_mine)
		*ret_mine = false;
	while (hc_recv(c, &m, (unsigned)h_remaining(deadline)) == 0) {
		if (m.type == ARENA_CHAT_MSG && m.u.chat_msg.sender_id == sender)
			++*ret_msgs;
		if (m.type == ARENA_CHAT_MSG && ret_mine &&
		    !strcmp(m.u.chat_msg.text.s, "still here"))
			*ret_mine = true;
		if (m.type == ARENA_ERROR && m.u.error.code == ARENA_ERR_RATE_LIMITED)
			++*ret_limited;
	}
}

int main(void)
{
	struct hc *c, *n[2], *f;
	struct hd *d;

	h_init("game-bad-input", "lobby moves, bad room names and chat floods");
	d = hd_start((const char *const[]){"workers=4", "chat_rate=5", "chat_burst=5", NULL});

	/* The lobby. */
	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "lost", WAIT_MS) == 0, "a player is welcomed");
	REQUIRE(gu_move(c, 1, 1, 0) == 0, "MOVE before JOIN");
	expect_error(c, ARENA_ERR_NOT_IN_ROOM, "MOVE in the lobby");
	chat(c, "anyone?");
	expect_error(c, ARENA_ERR_NOT_IN_ROOM, "CHAT in the lobby");
	struct arena_msg leave = {.type = ARENA_LEAVE};
	REQUIRE(hc_send(c, &leave) == 0, "LEAVE sent");
	expect_error(c, ARENA_ERR_NOT_IN_ROOM, "LEAVE in the lobby");
	CHECK(hc_ping(c, WAIT_MS) >= 0 && !c->closed, "the session goes on (PING answered)");
	CHECK(gu_join(c, "", NULL, WAIT_MS) == 0, "and can then JOIN");
	hc_close(c);

	/* Room names the decoder refuses. */
	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "longname", WAIT_MS) == 0, "a player is welcomed");
	send_raw_join(c, "abcdefghijklmnopqrstuvwxyz0123456", 33);
	expect_protocol_bye(c, "JOIN with a 33-byte room name");
	hc_close(c);
	c = hc_connect(d, NULL);
	REQUIRE(c && hc_hello(c, "badutf8", WAIT_MS) == 0, "a player is welcomed");
	send_raw_join(c, "ro\xc3\x28m", 5);
	expect_protocol_bye(c, "JOIN with invalid UTF-8");
	hc_close(c);

	/* Chat flood. 8 clients fill the 4 workers; the flooder, a neighbour on its worker and a
	 * neighbour on another are picked among them. */
	struct hc *pool[8];
	pid_t workers[4], own[8];
	REQUIRE(hd_workers(d, workers, 4) == 4, "arenad runs 4 workers");
	REQUIRE(hc_connect_many(d, NULL, 8, 0, WAIT_MS, pool) == 8 &&
	            hc_hello_many(pool, 8, "chatter", WAIT_MS) == 8,
	        "8 chatters are welcomed");
	REQUIRE(hproc_map_clients(d->port, pool, 8, workers, 4, own) == 8,
	        "every chatter is found on a worker");
	int fi = 0, n0 = -1, n1 = -1;
	for (int i = 1; i < 8; i++) {
		if (own[i] == own[fi] && n0 < 0)
			n0 = i;
		else if (own[i] != own[fi] && n1 < 0)
			n1 = i;
	}
	REQUIRE(n0 > 0 && n1 > 0, "a neighbour on the flooder's worker and one on another");
	f = pool[fi];
	n[0] = pool[n0];
	n[1] = pool[n1];
	for (int i = 0; i < 8; i++)
		if (i != fi && i != n0 && i != n1)
			hc_close(pool[i]);
	REQUIRE(gu_join(n[0], "pub", NULL, WAIT_MS) == 0 &&
	            gu_join(n[1], "pub", NULL, WAIT_MS) == 0 &&
	            gu_join(f, "pub", NULL, WAIT_MS) == 0,
	        "all three are in room 'pub'");
	for (int i = 0; i < FLOOD; i++) {
		char text[32];
		snprintf(text, sizeof(text), "spam %d", i);
		chat(f, text);
	}
	unsigned fmsgs, flimited, nmsgs[2], nlim[2];
	bool mine[2];
	count(f, f->welcome.player_id, 1000, &fmsgs, &flimited, NULL);
	CHECK(flimited == FLOOD - BURST && fmsgs == BURST,
	      "the flooder got %d ERROR(rate limited) (%u) and its %d admitted messages (%u)",
	      FLOOD - BURST, flimited, BURST, fmsgs);
	CHECK(!f->closed && hc_ping(f, WAIT_MS) >= 0, "the flooder is still connected");
	chat(n[1], "still here");
	for (int i = 0; i < 2; i++)
		count(n[i], f->welcome.player_id, 1000, &nmsgs[i], &nlim[i], &mine[i]);
	CHECK(nmsgs[0] == BURST && nmsgs[1] == BURST,
	      "each neighbour got exactly the %d admitted messages (%u, %u)", BURST, nmsgs[0],
	      nmsgs[1]);
	CHECK(nlim[0] == 0 && nlim[1] == 0, "the neighbours got no rate-limit errors");
	CHECK(mine[0] && mine[1], "a neighbour's own message reaches both neighbours");
	CHECK(hc_ping(n[0], WAIT_MS) >= 0 && hc_ping(n[1], WAIT_MS) >= 0,
	      "both neighbours still get PONGs");
	hc_close(f);
	hc_close(n[0]);
	hc_close(n[1]);
	return h_done();
}
