/* session.h: one client connection inside a worker, as seen by the game modules.
 *
 * session.c (net/) owns the connection: the socket, the incremental decoder, the handshake and
 * idle timers, the output cap, HELLO and WELCOME, PING and PONG, and closing. It knows nothing
 * of the game's rules: a welcomed session's game messages go to the handlers the worker put in
 * session_env.game (struct session_game, implemented by game/play.c), so net/ never calls up
 * into game/. Each tick, game/tick.c sends snapshots and chat through session_send(). The fields
 * below marked "game" belong to the game layer; the core only initialises them.
 */
#ifndef ARENA_SESSION_H
#define ARENA_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_config.h"
#include "arena_proto.h"

struct world;
struct shm_header;
struct peer_addr;
struct worker_slot;
struct session;
struct arena_msg;

/* The game's side of a session: what session.c calls on the game layer's behalf. Every handler
 * is required. The game layer (game/play.c: play_game) implements it; the worker installs it in
 * session_env.game. */
struct session_game {
	/* The session was just welcomed (WELCOME queued); room is where a resume put the player
	 * (WORLD_NO_ROOM in the lobby). Sets the game fields up. */
	int (*welcomed)(struct session *s, uint32_t room, uint64_t now_ms);
	/* Charge one PING to the session's request budget: 1 to answer it, 0 if dropped, or a
	 * negative errno if the session was closed (BYE(flood)). */
	int (*request)(struct session *s, uint64_t now_ms);
	/* One decoded game message of a welcomed session (anything but HELLO and PING). Returns 0,
	 * or a negative errno if the handler closed the session. */
	int (*message)(struct session *s, const struct arena_msg *m, uint64_t now_ms);
	/* The session is going away, for any reason, while welcomed. */
	void (*gone)(struct session *s, uint64_t now_ms);
};

/* Multi-node hooks (docs/SCALE.md), filled by the worker when `redis` is set; env->cluster is NULL
 * on a single node. ctx is passed back to each. */
struct session_cluster {
	void *ctx;
	/* HELLO's token is unknown here: ask the other nodes. 0 when asked: the session then waits,
	 * reading nothing, for session_remote_resume(); < 0 to go on with a fresh player. */
	int (*ask_resume)(void *ctx, struct session *s, const uint8_t token[ARENA_TOKEN_LEN]);
	/* CHAT from s in its room `room`: 0 when handed on to every node (this one included, in
	 * the cluster's order); < 0 (Redis down) to put it in the room here only. */
	int (*chat)(void *ctx, struct session *s, const char *room, const char *text, size_t len);
	/* The global leaderboard's first n entries: 0, or < 0 when there is no fresh one. */
	int (*board)(void *ctx, unsigned n, struct arena_leaderboard *ret);
};

/* What every session of one worker shares. Owned by the worker; replaced (cfg) on reload. */
struct tick_ctx; /* game/tick.h */

struct session_env {
	struct world *world;
	struct shm_header *shm;
	const struct arena_config *cfg;
	unsigned slot;                         /* this worker's scoreboard slot */
	uint32_t gen;                          /* and its generation */
	struct worker_slot *stats;             /* &shm->slots[slot] */
	const struct session_game *game;       /* the game's handlers (required) */
	const struct session_cluster *cluster; /* NULL: a single node */
	struct tick_ctx *tick;                 /* the worker's tick (game/tick.h); may be NULL */
};

struct session_core; /* private to session.c */

struct session {
	struct session_env *env;
	struct session_core *core; /* private to session.c */

	/* Identity, set by the core at WELCOME. */
	bool welcomed;
	uint32_t pidx; /* world player index (valid once welcomed) */
	uint32_t player_id;
	char name[ARENA_NAME_MAX + 1];
	uint8_t token[ARENA_TOKEN_LEN]; /* the player's resume token */

	/* cluster: the resume record published for this player (worker-cluster.c) */
	bool record_dirty;       /* new or score changed since last published */
	uint64_t record_sent_ms; /* when it was last published */

	/* game: maintained by play.c and tick.c */
	uint32_t room;               /* WORLD_NO_ROOM in the lobby; session_set_room() */
	uint32_t ack_seq;            /* last MOVE seq processed */
	uint64_t chat_cursor;        /* next chat sequence to deliver from the room ring */
	uint64_t sent_version;       /* room version in the last SNAPSHOT sent */
	uint32_t sent_ack;           /* ack_seq in the last SNAPSHOT sent */
	uint64_t sent_ms;            /* when the last SNAPSHOT was sent */
	uint32_t key_gap_ms;         /* wait for the next keyframe (0: keyframe_interval) */
	double move_tokens;          /* input token bucket */
	double chat_tokens;          /* chat token bucket */
	double req_tokens;           /* request (JOIN, LEAVE, LEADERBOARD_REQ, PING) token bucket */
	uint64_t bucket_ms;          /* last refill */
	uint32_t dropped_in_row;     /* inputs dropped in a row, for BYE(flood) */
	uint32_t req_dropped_in_row; /* requests dropped in a row, for BYE(flood) */
	uint64_t rate_err_ms; /* when the last ERROR(rate limited) for MOVE or a request was sent */
};

/* The other nodes' answer to ask_resume: found (with the score the token had there) or not.
 * Welcomes the waiting session: resume OK with the score restored (a new id, in the lobby), or
 * EXPIRED as for any unknown token. Does nothing if s is not waiting. */
void session_remote_resume(struct session *s, bool found, uint32_t score);

/* Whether s is waiting for session_remote_resume(). */
bool session_resume_pending(const struct session *s);

/* Queue one encoded frame for the client. Returns 0, or -ENOBUFS when the client's pending
 * output would exceed output_buffer: the session is then closed with BYE(too slow) and must not
 * be used further by the caller (-EPIPE: already closing). Never blocks. */
int session_send(struct session *s, const void *frame, size_t len);

/* Encode and queue an ERROR (non-fatal: the session stays open). */
int session_error(struct session *s, enum arena_error_code code, const char *text);

/* Send BYE(reason, text), flush what is queued, and close. After this the session is closing:
 * further sends return -EPIPE. */
void session_bye(struct session *s, enum arena_bye_reason reason, const char *text);

/* Encode and queue any message (helper over arena_encode + session_send). */
int session_send_msg(struct session *s, const struct arena_msg *m);

/* The client's address (as the master accounted for it: peer.h). Valid while s is. */
const struct peer_addr *session_peer(const struct session *s);

/* Set s->room (the only way to change it), moving the sessions generation (sessions.h). */
void session_set_room(struct session *s, uint32_t room);

#endif /* ARENA_SESSION_H */
