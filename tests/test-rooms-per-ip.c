/* test-rooms-per-ip.c: max_rooms_per_ip=3: one address cannot open a 4th room.
 *
 * Three clients from 127.0.0.2 JOIN three new rooms; a fourth client from 127.0.0.2 asking for a
 * new room (by name or by matchmaking, which finds no public room) gets ERROR(too_many_rooms)
 * naming the per-address limit and stays in the lobby, yet can still JOIN one of the three open
 * rooms. A client from 127.0.0.3 opens a room of its own. When one 127.0.0.2 client LEAVEs its
 * room (empty: closed), a new room from 127.0.0.2 opens, and the address is at its limit again.
 */
#include <stdio.h>
#include <string.h>

#include "game-util.h"

#define CAP     3
#define WAIT_MS 5000

/* LEAVE: the reply type (ARENA_LEFT, or the ERROR code + 256), or a negative errno. */
static int leave(struct hc *c)
{
	struct arena_msg m = {.type = ARENA_LEAVE};
	uint64_t deadline = h_now_ms() + WAIT_MS;
	int r = hc_send(c, &m);

	if (r < 0)
		return r;
	for (int i = 0; i < 1000; i++) {
		int left = h_remaining(deadline);

		if (left <= 0)
			return -ETIMEDOUT;
		r = hc_recv(c, &m, (unsigned)left);
		if (r < 0)
			return r;
		if (m.type == ARENA_LEFT)
			return ARENA_LEFT;
		if (m.type == ARENA_ERROR)
			return 256 + m.u.error.code;
	}
	return -ETIMEDOUT;
}

int main(void)
{
	struct hc *a[CAP + 2], *b;
	struct arena_joined j, opened[CAP];
	char text[ARENA_TEXT_MAX + 1];
	struct hd *d;
	int r;

	h_init("rooms-per-ip", "max_rooms_per_ip=3 limits the rooms one address opens");
	d = hd_start((const char *const[]){"workers=2", "limits.max_rooms_per_ip=3", NULL});

	size_t n = hc_connect_many(d, "127.0.0.2", CAP + 2, 0, WAIT_MS, a);
	MUST(n == CAP + 2 && hc_hello_many(a, CAP + 2, "two", WAIT_MS) == CAP + 2,
	     "%d clients from 127.0.0.2 welcomed", CAP + 2);
	for (int i = 0; i < CAP; i++) {
		char room[16];

		snprintf(room, sizeof(room), "two-%d", i);
		r = gu_join_text(a[i], room, &opened[i], text, WAIT_MS);
		MUST(r == 0, "client %d from 127.0.0.2 opens room %s (got %d %s)", i, room, r,
		     text);
	}
	CHECK(opened[0].room_id != opened[1].room_id && opened[1].room_id != opened[2].room_id &&
	          opened[0].room_id != opened[2].room_id,
	      "three distinct rooms were opened");

	r = gu_join_text(a[CAP], "two-3", &j, text, WAIT_MS);
	CHECK(r == ARENA_ERR_TOO_MANY_ROOMS,
	      "a 4th room from 127.0.0.2: ERROR(too_many_rooms) (%d)", r);
	CHECK(strstr(text, "address") != NULL, "the text names the per-address limit ('%s')", text);
	r = gu_join_text(a[CAP], "", &j, text, WAIT_MS);
	CHECK(r == ARENA_ERR_TOO_MANY_ROOMS,
	      "matchmaking that must open a room: ERROR(too_many_rooms) too (%d)", r);
	r = leave(a[CAP]);
	CHECK(r == 256 + ARENA_ERR_NOT_IN_ROOM, "the refused client is still in the lobby (%d)", r);
	r = gu_join_text(a[CAP], "two-1", &j, text, WAIT_MS);
	CHECK(r == 0 && j.room_id == opened[1].room_id,
	      "it can still JOIN an open room by name (%d, room %u)", r, r == 0 ? j.room_id : 0);

	b = hc_connect(d, "127.0.0.3");
	MUST(b && hc_hello(b, "three", WAIT_MS) == 0, "a client from 127.0.0.3 welcomed");
	r = gu_join_text(b, "three-0", &j, text, WAIT_MS);
	CHECK(r == 0, "127.0.0.3 opens a room of its own (%d %s)", r, text);

	r = leave(a[0]);
	CHECK(r == ARENA_LEFT, "client 0 from 127.0.0.2 leaves its room, which closes (%d)", r);
	r = gu_join_text(a[CAP + 1], "two-4", &j, text, WAIT_MS);
	CHECK(r == 0, "then a new room from 127.0.0.2 opens (%d %s)", r, text);
	r = gu_join_text(a[0], "two-5", &j, text, WAIT_MS);
	CHECK(r == ARENA_ERR_TOO_MANY_ROOMS, "and 127.0.0.2 is at its limit again (%d)", r);

	hc_close(b);
	hc_close_all(a, CAP + 2);
	CHECK(hd_log_clean(d), "no sanitizer report in the log");
	return h_done();
}
