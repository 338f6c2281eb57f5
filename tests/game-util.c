/* game-util.c: helpers shared by the game black-box tests; see game-util.h.
 *
 * All frames go through the protocol library (hc_send); every loop is bounded by a deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "game-util.h"

/* The answer to a JOIN already sent; on ERROR its text goes to ret_text if not NULL. */
static int join_reply(struct hc *c, struct arena_joined *ret, char *ret_text, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	struct arena_msg m;

	for (;;) {
		int r = hc_recv(c, &m, (unsigned)h_remaining(deadline));

		if (r < 0)
			return r;
		if (m.type == ARENA_JOINED) {
			if (ret)
				*ret = m.u.joined;
			return 0;
		}
		if (m.type == ARENA_ERROR) {
			if (ret_text) {
				memcpy(ret_text, m.u.error.text.s, m.u.error.text.len);
				ret_text[m.u.error.text.len] = '\0';
			}
			return m.u.error.code;
		}
		if (m.type == ARENA_BYE)
			return -EPROTO;
	}
}

int gu_join_reply(struct hc *c, struct arena_joined *ret, unsigned timeout_ms)
{
	return join_reply(c, ret, NULL, timeout_ms);
}

int gu_join_text(struct hc *c, const char *room, struct arena_joined *ret,
                 char ret_text[ARENA_TEXT_MAX + 1], unsigned timeout_ms)
{
	struct arena_msg m = {.type = ARENA_JOIN};

	ret_text[0] = '\0';
	m.u.join.room.len = (uint8_t)strlen(room);
	snprintf(m.u.join.room.s, sizeof(m.u.join.room.s), "%s", room);
	int r = hc_send(c, &m);
	return r < 0 ? r : join_reply(c, ret, ret_text, timeout_ms);
}

int gu_join(struct hc *c, const char *room, struct arena_joined *ret, unsigned timeout_ms)
{
	char text[ARENA_TEXT_MAX + 1];

	return gu_join_text(c, room, ret, text, timeout_ms);
}

int gu_move(struct hc *c, uint32_t seq, int dx, int dy)
{
	struct arena_msg m = {.type = ARENA_MOVE};

	m.u.move.seq = seq;
	m.u.move.dx = (int8_t)dx;
	m.u.move.dy = (int8_t)dy;
	return hc_send(c, &m);
}

int gu_snapshot(struct hc *c, struct arena_snapshot *ret, unsigned timeout_ms)
{
	struct arena_msg m;
	int r = hc_recv_type(c, ARENA_SNAPSHOT, &m, timeout_ms);

	if (r == 0)
		*ret = m.u.snapshot;
	return r;
}

int gu_wait_ack(struct hc *c, uint32_t seq, struct arena_snapshot *ret, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int r = gu_snapshot(c, ret, (unsigned)h_remaining(deadline));

		if (r < 0)
			return r;
		if (ret->ack_seq >= seq)
			return 0;
	}
}

int gu_find(const struct arena_snapshot *s, uint32_t id)
{
	for (int i = 0; i < s->nplayers; i++)
		if (s->players[i].id == id)
			return i;
	return -1;
}

unsigned long gu_score_sum(const struct arena_snapshot *s)
{
	unsigned long sum = 0;

	for (int i = 0; i < s->nplayers; i++)
		sum += s->players[i].score;
	return sum;
}

int gu_leaderboard(struct hc *c, struct arena_leaderboard *ret, unsigned timeout_ms)
{
	struct arena_msg m = {.type = ARENA_LEADERBOARD_REQ};
	int r = hc_send(c, &m);

	if (r < 0)
		return r;
	r = hc_recv_type(c, ARENA_LEADERBOARD, &m, timeout_ms);
	if (r == 0)
		*ret = m.u.leaderboard;
	return r;
}

int gu_hello_token(struct hc *c, const char *name, const uint8_t token[ARENA_TOKEN_LEN],
                   unsigned timeout_ms)
{
	struct arena_msg m = {.type = ARENA_HELLO};

	m.u.hello.version = ARENA_PROTO_VERSION;
	m.u.hello.name.len = (uint8_t)strlen(name);
	snprintf(m.u.hello.name.s, sizeof(m.u.hello.name.s), "%s", name);
	memcpy(m.u.hello.token, token, ARENA_TOKEN_LEN);
	int r = hc_send(c, &m);
	return r < 0 ? r : hc_recv_type(c, ARENA_WELCOME, &m, timeout_ms);
}

pid_t gu_owner(struct hd *d, struct hc *c)
{
	pid_t pids[HD_WORKERS_MAX], owner = 0;
	int n = hd_workers(d, pids, HD_WORKERS_MAX);

	if (n <= 0 || hproc_map_clients(d->port, &c, 1, pids, (size_t)n, &owner) != 1)
		return 0;
	return owner;
}

void gu_distinct_workers(struct hd *d, size_t n, const char *prefix, struct hc **ret,
                         pid_t *ret_pid)
{
	size_t have = 0;

	for (int attempt = 0; attempt < 64 && have < n; attempt++) {
		char name[ARENA_NAME_MAX + 1];
		struct hc *c = hc_connect(d, NULL);

		snprintf(name, sizeof(name), "%s%zu", prefix, have);
		if (!c || hc_hello(c, name, 5000) < 0) {
			hc_close(c);
			continue;
		}
		pid_t owner = gu_owner(d, c);
		bool dup = owner == 0;
		for (size_t i = 0; i < have; i++)
			dup = dup || ret_pid[i] == owner;
		if (dup) {
			hc_close(c);
			continue;
		}
		ret[have] = c;
		ret_pid[have] = owner;
		have++;
	}
	if (have < n)
		h_bail("could not place %zu clients on distinct workers (got %zu)", n, have);
}
