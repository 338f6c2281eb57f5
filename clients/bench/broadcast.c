/* broadcast.c: benchmark baseline "broadcast": rooms of 16 and a 20 Hz snapshot to each member.
 *
 * The floor for the active-players benchmark. Each thread keeps its own rooms (no shared
 * state, no locks): JOIN puts the player in the first room of that thread with space, MOVE
 * updates its position and ack_seq, and every 50 ms tick (a clock shared by all threads, like
 * arenad's) each room is encoded once and a SNAPSHOT frame with the recipient's ack_seq goes to
 * every member: the same frame sizes as arenad with 16 players and 4 gems, sent every tick.
 * LEAVE -> LEFT, PING -> PONG.
 *
 * --send-players N and --send-gems N (defaults 16 and 4) put only the first N player and gem
 * records in each SNAPSHOT: a smaller frame for the same number of sends, which bench/fanout.sh
 * uses to measure what a smaller snapshot (a delta) would save. Every frame is still a valid
 * SNAPSHOT carrying the recipient's ack_seq, so the bots need no change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

#define CAPACITY 16
#define GRID     64
#define GEMS     4
#define TICK_HZ  20

static unsigned send_players = CAPACITY, send_gems = GEMS;

static int option(const char *name, const char *value)
{
	char *end;
	unsigned long v = strtoul(value, &end, 10);

	if (*value == '\0' || *end != '\0')
		return -1;
	if (strcmp(name, "--send-players") == 0 && v <= CAPACITY)
		send_players = (unsigned)v;
	else if (strcmp(name, "--send-gems") == 0 && v <= GEMS)
		send_gems = (unsigned)v;
	else
		return -1;
	return 0;
}

struct room {
	unsigned n;
	struct bconn *members[CAPACITY];
};

struct rooms {
	struct room *v;
	unsigned n, cap;
};

static int thread_init(struct bthread *t)
{
	t->state = calloc(1, sizeof(struct rooms));
	return t->state ? 0 : -1;
}

static void thread_fini(struct bthread *t)
{
	struct rooms *rs = t->state;
	if (rs)
		free(rs->v);
	free(rs);
}

static void leave(struct bthread *t, struct bconn *c)
{
	struct rooms *rs = t->state;
	if (c->room < 0)
		return;
	struct room *r = &rs->v[c->room];
	unsigned last = --r->n;
	r->members[c->member] = r->members[last];
	r->members[c->member]->member = c->member;
	c->room = -1;
}

static void join(struct bthread *t, struct bconn *c)
{
	struct rooms *rs = t->state;
	unsigned i;
	for (i = 0; i < rs->n; i++)
		if (rs->v[i].n < CAPACITY)
			break;
	if (i == rs->n) {
		if (rs->n == rs->cap) {
			unsigned cap = rs->cap ? rs->cap * 2 : 64;
			struct room *v = realloc(rs->v, cap * sizeof(*v));
			if (!v) {
				base_close(t, c);
				return;
			}
			rs->v = v;
			rs->cap = cap;
		}
		memset(&rs->v[rs->n++], 0, sizeof(struct room));
	}
	struct room *r = &rs->v[i];
	c->room = (int32_t)i;
	c->member = r->n;
	r->members[r->n++] = c;
	c->x = (uint16_t)(rand() % GRID);
	c->y = (uint16_t)(rand() % GRID);
	struct arena_msg *m = &t->tx;
	m->type = ARENA_JOINED;
	m->u.joined.room_id = (uint16_t)i;
	m->u.joined.room.len = (uint8_t)snprintf(m->u.joined.room.s, sizeof(m->u.joined.room.s),
	                                         "room-%u-%u", t->idx, i);
	m->u.joined.width = GRID;
	m->u.joined.height = GRID;
	m->u.joined.capacity = CAPACITY;
	m->u.joined.x = c->x;
	m->u.joined.y = c->y;
	base_send_msg(t, c, m);
}

static void on_msg(struct bthread *t, struct bconn *c, const struct arena_msg *m)
{
	struct arena_msg *r = &t->tx;
	switch (m->type) {
	case ARENA_HELLO:
		if (!c->welcomed)
			base_welcome(t, c, TICK_HZ);
		break;
	case ARENA_JOIN:
		leave(t, c);
		join(t, c);
		break;
	case ARENA_LEAVE:
		leave(t, c);
		r->type = ARENA_LEFT;
		base_send_msg(t, c, r);
		break;
	case ARENA_MOVE: {
		c->ack_seq = m->u.move.seq;
		int x = c->x + m->u.move.dx, y = c->y + m->u.move.dy;
		if (x >= 0 && x < GRID && y >= 0 && y < GRID) {
			c->x = (uint16_t)x;
			c->y = (uint16_t)y;
		}
		break;
	}
	case ARENA_PING:
		r->type = ARENA_PONG;
		r->u.ping.stamp = m->u.ping.stamp;
		base_send_msg(t, c, r);
		break;
	default:
		break;
	}
}

static void on_close(struct bthread *t, struct bconn *c)
{
	leave(t, c);
}

static void on_tick(struct bthread *t, uint32_t tick)
{
	struct rooms *rs = t->state;
	struct arena_snap_player players[CAPACITY];
	static const struct arena_gem gems[GEMS] = {{1, 1}, {10, 20}, {30, 40}, {50, 60}};
	uint8_t part[ARENA_PAYLOAD_MAX], frame[ARENA_FRAME_MAX];
	for (unsigned i = 0; i < rs->n; i++) {
		struct room *r = &rs->v[i];
		if (r->n == 0)
			continue;
		for (unsigned k = 0; k < r->n; k++) {
			players[k].id = r->members[k]->id;
			players[k].x = r->members[k]->x;
			players[k].y = r->members[k]->y;
			players[k].score = r->members[k]->score;
		}
		ssize_t plen = arena_encode_snapshot_room((uint16_t)i, players,
		                                          r->n < send_players ? r->n : send_players,
		                                          gems, send_gems, part, sizeof(part));
		if (plen < 0)
			continue;
		/* members may leave (send failure) while we iterate: walk backwards */
		for (unsigned k = r->n; k-- > 0;) {
			if (k >= r->n)
				continue;
			struct bconn *c = r->members[k];
			ssize_t flen = arena_encode_snapshot_frame(
			    tick, c->ack_seq, part, (size_t)plen, frame, sizeof(frame));
			if (flen > 0)
				base_send(t, c, frame, (size_t)flen);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct bapp app = {
	    .name = "bench-broadcast",
	    .tick_hz = TICK_HZ,
	    .thread_init = thread_init,
	    .thread_fini = thread_fini,
	    .on_msg = on_msg,
	    .on_close = on_close,
	    .on_tick = on_tick,
	    .options_help = " [--send-players 0..16] [--send-gems 0..4]",
	    .option = option,
	};
	return base_main(argc, argv, &app);
}
