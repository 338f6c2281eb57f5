/* tick.c: one worker's tick: SNAPSHOT and CHAT_MSG fan-out to its sessions.
 *
 * The seated sessions are kept in a list sorted by room, rebuilt only when the sessions
 * module's generation moved (a session added, welcomed, unwelcomed, freed, or moved to another
 * room), so a quiet worker neither collects nor sorts. Each room is handled once per tick: a
 * lock-free world_room_peek of its version and chat head first; when no recipient is due a
 * SNAPSHOT (its room version and ack did not move since its last one and no keyframe is due:
 * keyframe_interval after a change, the gap doubling with each keyframe of an unchanged room
 * up to keyframe_max, so idle rooms cost little) and none has unread chat, the room is done
 * without touching its lock.
 * Otherwise one world_room_view (one room-lock section), the room part of SNAPSHOT encoded once
 * and framed per recipient with its own ack_seq, then one world_chat_read from the lowest
 * recipient cursor, each CHAT_MSG encoded once and sent to every recipient whose cursor had not
 * reached it, in ring order; due recipients are decided on the view, exactly as without the
 * peek. A recipient that fell further behind than the ring holds loses the oldest messages,
 * which are counted (tick_chat_lost). The worker calls world_sweep() just before each tick, so
 * players of a dead worker are already gone from the views read here.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tick.h"
#include "world.h"

#define TICK_CHAT_MAX  64   /* messages read per room per tick: the ring's size */
#define CHAT_FRAME_MAX 512  /* a CHAT_MSG frame is at most 3 + 4 + 33 + 33 + 201 bytes */
#define SNAP_FRAME_MAX 1024 /* SNAPSHOT: 3 + 8 + 2 + 1 + 64 * 12 + 1 + 32 * 4 bytes */

struct tick_ctx {
	struct session_env *env;
	uint32_t last_tick;    /* the number of the last tick run */
	struct session **list; /* the seated sessions, sorted by room */
	size_t nlist, cap;
	uint64_t list_gen; /* the sessions generation the list was built at */
	bool list_valid;
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

/* Whether s's room at `version` or its ack moved since its last SNAPSHOT (or it never had one). */
static bool snapshot_changed(const struct session *s, uint64_t version)
{
	return !s->sent_ms || s->sent_version != version || s->sent_ack != s->ack_seq;
}

/* How long s waits for its next keyframe: keyframe_interval after a change, doubling with
 * each keyframe of an unchanged room up to keyframe_max (both read live, for reloads). */
static uint64_t key_gap(const struct tick_ctx *t, const struct session *s)
{
	const struct arena_config *cfg = t->env->cfg;
	uint64_t gap = s->key_gap_ms ? s->key_gap_ms : cfg->keyframe_interval_ms;

	if (gap < cfg->keyframe_interval_ms)
		gap = cfg->keyframe_interval_ms;
	return gap < cfg->keyframe_max_ms ? gap : cfg->keyframe_max_ms;
}

/* Whether s gets a SNAPSHOT this tick when its room is at `version`. */
static bool snapshot_due(const struct tick_ctx *t, const struct session *s, uint64_t version,
                         uint64_t now_ms)
{
	return snapshot_changed(s, version) || now_ms - s->sent_ms >= key_gap(t, s);
}

/* Whether a room at (version, chat_seq) has nothing for any recipient of the group. */
static bool group_quiet(const struct tick_ctx *t, uint64_t now_ms, uint64_t version,
                        uint64_t chat_seq, struct session *const *group, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (group[i]->chat_cursor < chat_seq || snapshot_due(t, group[i], version, now_ms))
			return false;
	return true;
}

static void send_snapshots(struct tick_ctx *t, uint32_t tick, uint64_t now_ms,
                           struct session **group, size_t n, bool all)
{
	const struct world_room_view *v = &t->view;
	ssize_t plen = -1;

	for (size_t i = 0; i < n; i++) {
		struct session *s = group[i];

		if (!all && !snapshot_due(t, s, v->version, now_ms))
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
		bool changed = snapshot_changed(s, v->version);
		if (flen < 0 || session_send(s, t->frame, (size_t)flen) < 0)
			continue;
		uint64_t gap = changed ? t->env->cfg->keyframe_interval_ms : 2 * key_gap(t, s);
		s->key_gap_ms =
		    (uint32_t)(gap < t->env->cfg->keyframe_max_ms ? gap
		                                                  : t->env->cfg->keyframe_max_ms);
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

/* Collect the seated sessions and sort them by room. -ENOMEM leaves no valid list. */
static int build_list(struct tick_ctx *t, struct session **sessions, size_t n)
{
	size_t m = 0;

	t->list_valid = false;
	if (n > t->cap) {
		struct session **l = realloc(t->list, n * sizeof(*l));
		if (!l)
			return -ENOMEM;
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
	t->nlist = m;
	t->list_valid = true;
	return 0;
}

void tick_run(struct tick_ctx *t, uint32_t tick, uint64_t now_ms, struct session **sessions,
              size_t n, uint64_t gen)
{
	if (!t)
		return;
	t->last_tick = tick;
	if (!t->list_valid || t->list_gen != gen) {
		if (build_list(t, sessions, n) < 0)
			return; /* no fan-out this tick; the next one tries again */
		t->list_gen = gen;
	}
	for (size_t i = 0, j; i < t->nlist; i = j) {
		uint32_t room = t->list[i]->room;
		uint64_t version, chat_seq;

		for (j = i + 1; j < t->nlist && t->list[j]->room == room;)
			j++;
		if (world_room_peek(t->env->world, room, &version, &chat_seq) < 0 ||
		    group_quiet(t, now_ms, version, chat_seq, t->list + i, j - i))
			continue;
		if (world_room_view(t->env->world, room, &t->view) < 0)
			continue;
		send_snapshots(t, tick, now_ms, t->list + i, j - i, false);
		send_chat(t, room, t->list + i, j - i);
	}
}

int tick_snapshot_now(struct tick_ctx *t, struct session *s, uint64_t now_ms)
{
	if (!t || !s || !s->welcomed || s->room == WORLD_NO_ROOM)
		return -EINVAL;
	int r = world_room_view(t->env->world, s->room, &t->view);
	if (r < 0)
		return r;
	send_snapshots(t, t->last_tick, now_ms, &s, 1, true);
	return s->sent_version == t->view.version && s->sent_ack == s->ack_seq ? 0 : -EPIPE;
}
