/* test-game-capacity.c: room capacity under a join storm, and matchmaking that fills rooms.
 *
 * 200 welcomed clients spread over 4 workers all send JOIN "storm" (capacity 16) at once:
 * exactly 16 get JOINED, the other 184 get ERROR(room full), and the room's snapshots never
 * list more than 16 players. Then 40 more clients join by matchmaking at once: the public rooms
 * fill before new ones open, so the members split 16, 16, 8 whatever the interleaving.
 */
#include <stdlib.h>
#include <string.h>

#include "game-util.h"

#define STORM   200
#define MATCH   40
#define CAP     16
#define WAIT_MS 10000

static int cmp_desc(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x < y) - (x > y);
}

/* Send JOIN(room) on every client first, then collect every answer. */
static void join_all(struct hc **cs, size_t n, const char *room, int *ret_result,
                     uint16_t *ret_room)
{
	struct arena_msg m = {.type = ARENA_JOIN};

	m.u.join.room.len = (uint8_t)strlen(room);
	memcpy(m.u.join.room.s, room, m.u.join.room.len);
	for (size_t i = 0; i < n; i++)
		ret_result[i] = cs[i] ? hc_send(cs[i], &m) : -ENOTCONN;
	for (size_t i = 0; i < n; i++) {
		struct arena_joined j;

		if (ret_result[i] < 0)
			continue;
		ret_result[i] = gu_join_reply(cs[i], &j, WAIT_MS);
		ret_room[i] = ret_result[i] == 0 ? j.room_id : UINT16_MAX;
	}
}

int main(void)
{
	static struct hc *cs[STORM], *mm[MATCH];
	static int res[STORM];
	static uint16_t room[STORM];
	pid_t workers[4], owner[STORM];
	unsigned joined = 0, full = 0, other = 0, per_worker[4] = {0};
	struct hd *d;

	h_init("game-capacity", "200 concurrent JOINs of a 16-seat room; matchmaking fills rooms");
	d = hd_start((const char *const[]){"workers=4", "room_capacity=16", NULL});
	REQUIRE(hd_workers(d, workers, 4) == 4, "arenad runs 4 workers");

	size_t got = hc_connect_many(d, NULL, STORM, 0, WAIT_MS, cs);
	size_t hi = hc_hello_many(cs, STORM, "storm", WAIT_MS);
	REQUIRE(got == STORM && hi == STORM, "%d clients connected (%zu) and welcomed (%zu)", STORM,
	        got, hi);
	REQUIRE(hproc_map_clients(d->port, cs, STORM, workers, 4, owner) == STORM,
	        "every client is found on a worker");
	for (size_t i = 0; i < STORM; i++)
		for (int k = 0; k < 4; k++)
			per_worker[k] += owner[i] == workers[k];
	CHECK(per_worker[0] && per_worker[1] && per_worker[2] && per_worker[3],
	      "the clients are spread over the 4 workers (%u, %u, %u, %u)", per_worker[0],
	      per_worker[1], per_worker[2], per_worker[3]);

	join_all(cs, STORM, "storm", res, room);
	for (size_t i = 0; i < STORM; i++) {
		joined += res[i] == 0;
		full += res[i] == ARENA_ERR_ROOM_FULL;
		other += res[i] != 0 && res[i] != ARENA_ERR_ROOM_FULL;
	}
	CHECK(joined == CAP, "exactly %d JOINs were admitted (%u)", CAP, joined);
	CHECK(full == STORM - CAP && other == 0,
	      "all %d others got ERROR(room full) (%u, %u other answers)", STORM - CAP, full,
	      other);

	/* Every admitted member sees the same room with 16 players, never more. */
	unsigned worst = 0, seen = 0;
	for (size_t i = 0; i < STORM; i++) {
		struct arena_snapshot s;
		if (res[i] != 0)
			continue;
		uint64_t until = h_now_ms() + 300;
		while (gu_snapshot(cs[i], &s, (unsigned)h_remaining(until)) == 0) {
			if (s.nplayers > worst)
				worst = s.nplayers;
			seen++;
		}
	}
	CHECK(seen > 0 && worst == CAP,
	      "the room's snapshots list at most (and finally) %d players "
	      "(max %u over %u snapshots)",
	      CAP, worst, seen);
	hc_close_all(cs, STORM);

	/* Matchmaking: 40 concurrent JOINs with an empty name. */
	got = hc_connect_many(d, NULL, MATCH, 0, WAIT_MS, mm);
	hi = hc_hello_many(mm, MATCH, "match", WAIT_MS);
	REQUIRE(got == MATCH && hi == MATCH, "%d more clients welcomed", MATCH);
	join_all(mm, MATCH, "", res, room);
	unsigned counts[MATCH] = {0}, nrooms = 0, failed = 0;
	uint16_t ids[MATCH];
	for (size_t i = 0; i < MATCH; i++) {
		if (res[i] != 0) {
			failed++;
			continue;
		}
		unsigned k = 0;
		while (k < nrooms && ids[k] != room[i])
			k++;
		if (k == nrooms)
			ids[nrooms++] = room[i];
		counts[k]++;
	}
	qsort(counts, nrooms, sizeof(counts[0]), cmp_desc);
	CHECK(failed == 0, "every matchmaking JOIN was admitted (%u refused)", failed);
	CHECK(nrooms == 3 && counts[0] == 16 && counts[1] == 16 && counts[2] == 8,
	      "matchmaking filled rooms before opening new ones: %u rooms (%u, %u, %u)", nrooms,
	      counts[0], nrooms > 1 ? counts[1] : 0, nrooms > 2 ? counts[2] : 0);
	hc_close_all(mm, MATCH);
	return h_done();
}
