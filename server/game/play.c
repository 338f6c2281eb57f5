/* play.c: a welcomed session's game messages: JOIN, LEAVE, MOVE, CHAT, LEADERBOARD_REQ.
 *
 * MOVE and CHAT are first charged to per-session token buckets (session.h): MOVE at input_rate
 * per second with depth input_burst, CHAT at chat_rate per 10 s with depth chat_burst. JOIN,
 * LEAVE, LEADERBOARD_REQ and (through the request handler, called by session.c) PING share a third
 * bucket, request_rate per second with depth request_burst. Rates are read from the current
 * configuration on every refill, so a reload applies at once. A dropped message is counted in
 * the worker's scoreboard; MOVE and request drops are answered with ERROR(rate limited) at most
 * once a second (one period for both) and, after flood_kick of them in a row (MOVE and requests
 * counted apart), BYE(flood); CHAT drops are answered every time (each is a human action the
 * sender should know was lost). Everything
 * else is applied through world.h and answered with JOINED, LEFT, LEADERBOARD or a non-fatal
 * ERROR. A JOIN carries the client's address key (peer_key(), as max_clients_per_ip counts it)
 * and max_rooms_per_ip to world_join_from(), which refuses to open a room beyond that limit
 * (ERROR(too_many_rooms) with a text naming it). The session's `room` mirrors the world: it is set
 * from what the world answered, always through session_set_room() so the tick knows its sorted list
 * is stale.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "peer.h"
#include "play.h"
#include "shm.h"
#include "tick.h"
#include "world.h"

#define RATE_ERROR_PERIOD_MS 1000

static void refill(struct session *s, uint64_t now_ms)
{
	const struct arena_config *cfg = s->env->cfg;

	if (now_ms > s->bucket_ms) {
		double dt = (double)(now_ms - s->bucket_ms);

		s->move_tokens += dt * cfg->input_rate / 1000.0;
		s->chat_tokens += dt * cfg->chat_rate / 10000.0;
		s->req_tokens += dt * cfg->request_rate / 1000.0;
		s->bucket_ms = now_ms;
	}
	/* Also clamps after a reload that made the bursts smaller. */
	if (s->move_tokens > cfg->input_burst)
		s->move_tokens = cfg->input_burst;
	if (s->chat_tokens > cfg->chat_burst)
		s->chat_tokens = cfg->chat_burst;
	if (s->req_tokens > cfg->request_burst)
		s->req_tokens = cfg->request_burst;
}

enum bucket { B_MOVE, B_CHAT, B_REQUEST };

/* A message was dropped by a rate limit. Returns 0, or a negative errno if the session closed. */
static int dropped(struct session *s, uint64_t now_ms, enum bucket b)
{
	const struct arena_config *cfg = s->env->cfg;
	uint32_t *row = b == B_MOVE ? &s->dropped_in_row : &s->req_dropped_in_row;

	if (s->env->stats)
		atomic_fetch_add_explicit(&s->env->stats->inputs_dropped, 1, memory_order_relaxed);
	if (b == B_CHAT)
		return session_error(s, ARENA_ERR_RATE_LIMITED, "chat rate limited");
	(*row)++;
	if (*row >= cfg->flood_kick) {
		session_bye(s, ARENA_BYE_FLOOD, b == B_MOVE ? "input flood" : "request flood");
		return -ECONNRESET;
	}
	if (s->rate_err_ms && now_ms - s->rate_err_ms < RATE_ERROR_PERIOD_MS)
		return 0;
	s->rate_err_ms = now_ms ? now_ms : 1;
	return session_error(s, ARENA_ERR_RATE_LIMITED, "rate limited");
}

/* Charge one message to its bucket. 1 = go on, 0 = dropped, < 0 = session closed. */
static int charge(struct session *s, uint64_t now_ms, enum bucket b)
{
	double *tokens = b == B_MOVE   ? &s->move_tokens
	                 : b == B_CHAT ? &s->chat_tokens
	                               : &s->req_tokens;

	refill(s, now_ms);
	if (*tokens < 1.0) {
		int r = dropped(s, now_ms, b);
		return r < 0 ? r : 0;
	}
	*tokens -= 1.0;
	if (b == B_MOVE)
		s->dropped_in_row = 0;
	else if (b == B_REQUEST)
		s->req_dropped_in_row = 0;
	return 1;
}

static int play_request(struct session *s, uint64_t now_ms)
{
	return charge(s, now_ms, B_REQUEST);
}

static int send_joined(struct session *s, const struct world_room_info *info)
{
	struct arena_msg m;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_JOINED;
	m.u.joined.room_id = (uint16_t)info->room;
	m.u.joined.room.len = (uint8_t)strlen(info->name);
	memcpy(m.u.joined.room.s, info->name, m.u.joined.room.len);
	m.u.joined.width = info->width;
	m.u.joined.height = info->height;
	m.u.joined.capacity = info->capacity;
	m.u.joined.x = info->x;
	m.u.joined.y = info->y;
	return session_send_msg(s, &m);
}

/* The session now sits in info->room: start its snapshot and chat streams there. */
static void entered(struct session *s, const struct world_room_info *info)
{
	if (s->room != info->room) {
		s->chat_cursor = info->chat_head;
		s->sent_version = 0;
		s->sent_ack = 0;
		s->sent_ms = 0;
		s->key_gap_ms = 0;
	}
	session_set_room(s, info->room);
}

static int play_welcomed(struct session *s, uint32_t room, uint64_t now_ms)
{
	const struct arena_config *cfg = s->env->cfg;
	struct world_room_info info;

	session_set_room(s, WORLD_NO_ROOM);
	s->ack_seq = 0;
	s->chat_cursor = 0;
	s->sent_version = 0;
	s->sent_ack = 0;
	s->sent_ms = 0;
	s->key_gap_ms = 0;
	s->move_tokens = cfg->input_burst;
	s->chat_tokens = cfg->chat_burst;
	s->req_tokens = cfg->request_burst;
	s->bucket_ms = now_ms;
	s->dropped_in_row = 0;
	s->req_dropped_in_row = 0;
	s->rate_err_ms = 0;
	if (room == WORLD_NO_ROOM || world_player_room(s->env->world, s->pidx, &info) < 0)
		return 0;
	entered(s, &info);
	return send_joined(s, &info);
}

_Static_assert(sizeof(struct peer_addr) == WORLD_ADDR_LEN, "a peer key is a world address");

static int on_join(struct session *s, const struct arena_join *j)
{
	struct world_room_info info;
	struct world_origin from = {.max_rooms = s->env->cfg->max_rooms_per_ip};
	struct peer_addr key;

	peer_key(session_peer(s), &key);
	memcpy(from.addr, &key, WORLD_ADDR_LEN);
	int r = world_join_from(s->env->world, s->pidx, j->room.s, &from, &info);

	if (r == 0) {
		entered(s, &info);
		return send_joined(s, &info);
	}
	/* A failed join may still have taken the player out of its previous room. */
	if (world_player_room(s->env->world, s->pidx, &info) < 0)
		session_set_room(s, WORLD_NO_ROOM);
	switch (r) {
	case -EBUSY:
		return session_error(s, ARENA_ERR_ROOM_FULL, "room full");
	case -ENOSPC:
		return session_error(s, ARENA_ERR_TOO_MANY_ROOMS, "too many rooms");
	case -EDQUOT:
		return session_error(s, ARENA_ERR_TOO_MANY_ROOMS,
		                     "too many rooms opened from your address (max_rooms_per_ip)");
	case -EINVAL:
		return session_error(s, ARENA_ERR_BAD_NAME, "bad room name");
	default:
		return session_error(s, ARENA_ERR_INTERNAL, "join failed");
	}
}

static int not_in_room(struct session *s)
{
	session_set_room(s, WORLD_NO_ROOM);
	return session_error(s, ARENA_ERR_NOT_IN_ROOM, "not in room");
}

static int on_leave(struct session *s)
{
	struct arena_msg m = {.type = ARENA_LEFT};

	if (s->room == WORLD_NO_ROOM)
		return not_in_room(s);
	int r = world_leave(s->env->world, s->pidx);
	if (r == -ENOENT)
		return not_in_room(s);
	if (r < 0)
		return session_error(s, ARENA_ERR_INTERNAL, "leave failed");
	session_set_room(s, WORLD_NO_ROOM);
	return session_send_msg(s, &m);
}

static int on_move(struct session *s, const struct arena_move *mv)
{
	bool scored;

	if (s->room == WORLD_NO_ROOM)
		return not_in_room(s);
	int r = world_move(s->env->world, s->pidx, mv->dx, mv->dy, &scored);
	if (r == -ENOENT)
		return not_in_room(s);
	if (r < 0)
		return session_error(s, ARENA_ERR_INTERNAL, "move failed");
	if (scored)
		s->record_dirty =
		    true; /* the resume record other nodes may need (worker-cluster.c) */
	s->ack_seq = mv->seq;
	if (s->env->cfg->immediate_ack && s->env->tick)
		(void)tick_snapshot_now(s->env->tick, s,
		                        arena_now_ms()); /* else the tick sends it */
	return 0;
}

static int on_chat(struct session *s, const struct arena_chat *c)
{
	const struct session_cluster *cl = s->env->cluster;
	struct world_room_info where;

	if (s->room == WORLD_NO_ROOM)
		return not_in_room(s);
	if (cl && world_player_room(s->env->world, s->pidx, &where) == 0 &&
	    where.room != WORLD_NO_ROOM &&
	    cl->chat(cl->ctx, s, where.name, c->text.s, c->text.len) == 0)
		return 0;
	int r = world_chat(s->env->world, s->pidx, c->text.s, c->text.len);
	if (r == -ENOENT)
		return not_in_room(s);
	if (r < 0)
		return session_error(s, ARENA_ERR_INTERNAL, "chat failed");
	return 0;
}

static int on_leaderboard(struct session *s)
{
	struct arena_msg m;
	unsigned n = s->env->cfg->leaderboard_size;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_LEADERBOARD;
	if (n > ARENA_LEADERBOARD_MAX)
		n = ARENA_LEADERBOARD_MAX;
	if ((!s->env->cluster ||
	     s->env->cluster->board(s->env->cluster->ctx, n, &m.u.leaderboard) < 0) &&
	    world_leaderboard(s->env->world, n, &m.u.leaderboard) < 0)
		return session_error(s, ARENA_ERR_INTERNAL, "leaderboard unavailable");
	return session_send_msg(s, &m);
}

static int play_message(struct session *s, const struct arena_msg *m, uint64_t now_ms)
{
	int r;

	switch (m->type) {
	case ARENA_JOIN:
		r = charge(s, now_ms, B_REQUEST);
		return r <= 0 ? r : on_join(s, &m->u.join);
	case ARENA_LEAVE:
		r = charge(s, now_ms, B_REQUEST);
		return r <= 0 ? r : on_leave(s);
	case ARENA_MOVE:
		r = charge(s, now_ms, B_MOVE);
		return r <= 0 ? r : on_move(s, &m->u.move);
	case ARENA_CHAT:
		r = charge(s, now_ms, B_CHAT);
		return r <= 0 ? r : on_chat(s, &m->u.chat);
	case ARENA_LEADERBOARD_REQ:
		r = charge(s, now_ms, B_REQUEST);
		return r <= 0 ? r : on_leaderboard(s);
	default:
		return 0; /* not a game message: the core handles HELLO and PING */
	}
}

static void play_gone(struct session *s, uint64_t now_ms)
{
	if (s->welcomed) {
		/* The grace in force now (it may have been reloaded) applies to this player. */
		world_set_resume_grace(s->env->world, s->env->cfg->resume_grace_ms);
		world_player_detach(s->env->world, s->pidx, now_ms);
	}
	session_set_room(s, WORLD_NO_ROOM);
}

const struct session_game play_game = {
    .welcomed = play_welcomed,
    .request = play_request,
    .message = play_message,
    .gone = play_gone,
};
