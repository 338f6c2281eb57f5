/* tick.c: one worker's tick: SNAPSHOT and CHAT_MSG fan-out to its sessions.
 *
 * The sessions in rooms are sorted by room, and each room is handled once per tick: one
 * world_room_view (one room-lock section), the room part of SNAPSHOT encoded once and framed per
 * recipient with its own ack_seq, then one world_chat_read from the lowest recipient cursor,
 * each CHAT_MSG encoded once and sent to every recipient whose cursor had not reached it, in
 * ring order. A recipient whose room version and ack did not move since its last snapshot is
 * skipped, except for a keyframe at least once per keyframe_interval; a recipient that fell further
 * behind than the ring holds loses the oldest messages, which are counted (tick_chat_lost). The
 * worker calls world_sweep() just before each tick, so players of a dead worker are already
 * gone from the views read here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tick.h"
#include "world.h"

#define TICK_CHAT_MAX  64   /* messages read per room per tick: the ring's size */
#define CHAT_FRAME_MAX 512  /* a CHAT_MSG frame is at most 3 + 4 + 33 + 33 + 201 bytes */
#define SNAP_FRAME_MAX 1024 /* SNAPSHOT: 3 + 8 + 2 + 1 + 64 * 12 + 1 + 32 * 4 bytes */

struct tick_ctx {
	struct session_env *env;
	struct session **list;
	size_t cap;
	uint64_t chat_lost;
	struct world_room_view view;
	struct arena_chat_msg msgs[TICK_CHAT_MAX];
	struct arena_msg msg;
	size_t chat_len[TICK_CHAT_MAX];
	uint8_t chat_frames[TICK_CHAT_MAX][CHAT_FRAME_MAX];
	uint8_t part[SNAP_FRAME_MAX];
	uint8_t frame[SNAP_FRAME_MAX];
};

int tick_new(struct session_env *env, struct tick_ctx **ret)
{
	if (!env || !ret)
		return -EINVAL;
	struct tick_ctx *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->env = env;
	*ret = t;
	return 0;
}

void tick_free(struct tick_ctx *t)
{
	if (!t)
		return;
	free(t->list);
	free(t);
}

uint64_t tick_chat_lost(const struct tick_ctx *t)
{
	return t ? t->chat_lost : 0;
}

static int cmp_room(const void *a, const void *b)
{
	const struct session *x = *(struct session *const *)a, *y = *(struct session *const *)b;

	return (x->room > y->room) - (x->room < y->room);
}

static void send_snapshots(struct tick_ctx *t, uint32_t tick, uint64_t now_ms,
                           struct session **group, size_t n)
{
	const struct world_room_view *v = &t->view;
	ssize_t plen = -1;

	for (size_t i = 0; i < n; i++) {
		struct session *s = group[i];

		if (s->sent_ms && s->sent_version == v->version && s->sent_ack == s->ack_seq &&
		    now_ms - s->sent_ms < t->env->cfg->keyframe_interval_ms)
			continue;
		if (plen < 0) {
			plen =
			    arena_encode_snapshot_room((uint16_t)v->room, v->players, v->nplayers,
			                               v->gems, v->ngems, t->part, sizeof(t->part));
			if (plen < 0)
				return;
		}
		ssize_t flen = arena_encode_snapshot_frame(tick, s->ack_seq, t->part, (size_t)plen,
		                                           t->frame, sizeof(t->frame));
		if (flen < 0 || session_send(s, t->frame, (size_t)flen) < 0)
			continue;
		s->sent_version = v->version;
		s->sent_ack = s->ack_seq;
		s->sent_ms = now_ms ? now_ms : 1;
	}
}

static void send_chat(struct tick_ctx *t, uint32_t room, struct session **group, size_t n)
{
	uint64_t lo = UINT64_MAX, cursor, lost;
	size_t nmsg;

	for (size_t i = 0; i < n; i++)
		if (group[i]->chat_cursor < lo)
			lo = group[i]->chat_cursor;
	if (lo >= t->view.chat_seq)
		return;
	cursor = lo;
	if (world_chat_read(t->env->world, room, &cursor, t->msgs, TICK_CHAT_MAX, &nmsg, &lost) < 0)
		return;
	uint64_t first = cursor - nmsg;
	for (size_t k = 0; k < nmsg; k++) {
		t->msg.type = ARENA_CHAT_MSG;
		t->msg.u.chat_msg = t->msgs[k];
		ssize_t len = arena_encode(&t->msg, t->chat_frames[k], CHAT_FRAME_MAX);
		t->chat_len[k] = len > 0 ? (size_t)len : 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct session *s = group[i];
		uint64_t seq = s->chat_cursor;

		if (seq < first) {
			t->chat_lost += first - seq;
			seq = first;
		}
		for (; seq < cursor; seq++) {
			size_t k = (size_t)(seq - first);
			if (t->chat_len[k] &&
			    session_send(s, t->chat_frames[k], t->chat_len[k]) < 0)
				break; /* the session is closing */
		}
		if (s->chat_cursor < cursor)
			s->chat_cursor = cursor;
	}
}

void tick_run(struct tick_ctx *t, uint32_t tick, uint64_t now_ms, struct session **sessions,
              size_t n)
{
	size_t m = 0;

	if (!t)
		return;
	if (n > t->cap) {
		struct session **l = realloc(t->list, n * sizeof(*l));
		if (!l)
			return; /* no fan-out this tick; the next one sends keyframes */
		t->list = l;
		t->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct session *s = sessions[i];
		if (s && s->welcomed && s->room != WORLD_NO_ROOM)
			t->list[m++] = s;
	}
	if (m > 1)
		qsort(t->list, m, sizeof(t->list[0]), cmp_room);
	for (size_t i = 0, j; i < m; i = j) {
		uint32_t room = t->list[i]->room;

		for (j = i + 1; j < m && t->list[j]->room == room;)
			j++;
		if (world_room_view(t->env->world, room, &t->view) < 0)
			continue;
		send_snapshots(t, tick, now_ms, t->list + i, j - i);
		send_chat(t, room, t->list + i, j - i);
	}
}
