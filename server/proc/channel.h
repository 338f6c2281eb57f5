/* channel.h: typed messages between the master and one worker over a SOCK_SEQPACKET pair.
 *
 * Each message is one datagram: a struct ch_hdr (type, payload length) then the payload, plus at
 * most one file descriptor passed with SCM_RIGHTS. The receiver checks everything before the
 * callback sees it: the type must be one this end accepts, the payload size must equal the
 * type's size exactly, an fd may come only with NEW_CONN and exactly one. An fd that arrives
 * with a message it does not belong to is closed, never leaked. MSG_CTRUNC (the kernel could
 * not install the fd, e.g. the receiver hit its fd limit) is counted and the message delivered
 * with fd -1 and `truncated` set, so the receiver can still account for the connection. Any
 * other violation, EOF, or a read error is fatal for the channel: reading stops and the error
 * callback runs once (the worker then exits; the master kills and replaces that worker).
 *
 * Messages without an fd are queued in memory when the socket is full and sent in order when it
 * drains. A message with an fd is never queued: channel_send returns -EAGAIN so the master can
 * offer the connection to another worker instead.
 *
 *   type            direction        payload                 fd
 *   NEW_CONN        master -> worker struct ch_new_conn      the client socket
 *   SHUTDOWN        master -> worker none                    -
 *   RELOAD          master -> worker struct ch_reload        -
 *   DRAIN           master -> worker none                    -
 *   READY           worker -> master struct ch_ready         -
 *   CONN_CLOSED     worker -> master struct ch_conn_closed   -
 *   ADMIN           master -> worker struct ch_admin         a memory file for the answer
 *   ADMIN_DONE      worker -> master struct ch_admin_done    -
 *   CHAT_OUT        worker -> master struct ch_chat          -  (redis set: to every node)
 *   CHAT_IN         master -> worker struct ch_chat          -  (into the room's ring)
 *   BOARD           master -> worker struct ch_board         -  (the global leaderboard)
 *   SESSIONS        worker -> master struct ch_sessions      -  (resume records to publish)
 *   RESUME_ASK      worker -> master struct ch_resume        -  (a token unknown here)
 *   RESUME_ANSWER   master -> worker struct ch_resume        -
 *   ROOMS           worker -> master struct ch_rooms         -  (slot 0: the node's open rooms)
 */
#ifndef ARENA_CHANNEL_H
#define ARENA_CHANNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_config.h"
#include "arena_proto.h"
#include "peer.h"

struct event_base;

enum ch_type {
	CH_NEW_CONN = 1,
	CH_SHUTDOWN = 2,
	CH_RELOAD = 3,
	CH_DRAIN = 4,
	CH_READY = 5,
	CH_CONN_CLOSED = 6,
	CH_ADMIN = 7,
	CH_ADMIN_DONE = 8,
	CH_CHAT_OUT = 9,
	CH_CHAT_IN = 10,
	CH_BOARD = 11,
	CH_SESSIONS = 12,
	CH_RESUME_ASK = 13,
	CH_RESUME_ANSWER = 14,
	CH_ROOMS = 15,
	CH_HANDOVER = 16, /* live upgrade: like SHUTDOWN, but a connection is welcomed before BYE */
	CH_TYPE_MAX
};

#define CH_MASK(t) (1u << (t))
#define CH_MASK_WORKER                                                                             \
	(CH_MASK(CH_NEW_CONN) | CH_MASK(CH_SHUTDOWN) | CH_MASK(CH_RELOAD) | CH_MASK(CH_DRAIN) |    \
	 CH_MASK(CH_ADMIN) | CH_MASK(CH_CHAT_IN) | CH_MASK(CH_BOARD) | CH_MASK(CH_RESUME_ANSWER) | \
	 CH_MASK(CH_HANDOVER))
#define CH_MASK_MASTER                                                                             \
	(CH_MASK(CH_READY) | CH_MASK(CH_CONN_CLOSED) | CH_MASK(CH_ADMIN_DONE) |                    \
	 CH_MASK(CH_CHAT_OUT) | CH_MASK(CH_SESSIONS) | CH_MASK(CH_RESUME_ASK) | CH_MASK(CH_ROOMS))
/* The types that carry exactly one fd (and only they may). */
#define CH_MASK_FD (CH_MASK(CH_NEW_CONN) | CH_MASK(CH_ADMIN))

struct ch_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes after the header */
};

struct ch_new_conn {
	struct peer_addr peer;
};

/* The tick clock: tick n starts at base_ms + (n - base_tick) * 1000 / tick_rate. A reload that
 * changes tick_rate moves the base to a future tick boundary so numbering stays monotonic and
 * identical in every worker. */
struct ch_tick_clock {
	uint64_t base_ms;
	uint32_t base_tick;
	uint32_t tick_rate;
};

/* When tick n starts on clock c (ticks before the base start at the base). */
static inline uint64_t tick_clock_time(const struct ch_tick_clock *c, uint32_t n)
{
	uint64_t k = n >= c->base_tick ? n - c->base_tick : 0;

	return c->base_ms + k * 1000u / c->tick_rate;
}

/* The tick whose period contains now_ms (the base tick if now_ms is before the base). */
static inline uint32_t tick_clock_at(const struct ch_tick_clock *c, uint64_t now_ms)
{
	if (now_ms <= c->base_ms)
		return c->base_tick;
	return c->base_tick + (uint32_t)((now_ms - c->base_ms) * c->tick_rate / 1000u);
}

struct ch_reload {
	struct arena_config cfg;
	struct ch_tick_clock clock;
};

struct ch_ready {
	uint32_t max_conns; /* connections this worker can hold within its fd limit */
	uint32_t pad;
};

struct ch_conn_closed {
	struct peer_addr peer;
};

/* An operator's request (admin.c) that needs the world or the sessions, done by a worker. */
enum ch_admin_op {
	CH_ADMIN_PLAYERS = 1, /* write the player listing (room: filter) into the fd */
	CH_ADMIN_ROOMS = 2,   /* write the room listing into the fd */
	CH_ADMIN_KICK = 3,    /* BYE(kicked, text) to player_id if this worker serves it */
	CH_ADMIN_NOTICE = 4,  /* a server CHAT_MSG of text into room (or every room) */
};

struct ch_admin {
	uint32_t req; /* echoed in ADMIN_DONE */
	uint32_t op;  /* enum ch_admin_op */
	uint32_t player_id;
	uint8_t json; /* listings as JSON instead of text columns */
	char room[ARENA_ROOM_MAX + 1];
	char text[ARENA_CHAT_MAX + 1];
};

struct ch_admin_done {
	uint32_t req;
	int32_t result; /* >= 0: rows written, players kicked, rooms reached; < 0: -errno */
};

/* A chat line crossing nodes (cluster.c): the room by name, the author as its node knows it. */
struct ch_chat {
	uint32_t sender_id;
	char room[ARENA_ROOM_MAX + 1];
	char sender[ARENA_NAME_MAX + 1];
	char text[ARENA_CHAT_MAX + 1];
};

/* The global leaderboard as Redis last gave it. */
struct ch_board {
	struct arena_leaderboard board;
};

/* Resume records of connected players (token -> name and score), published so another node can
 * restore the score if this one dies. */
#define CH_SESSIONS_MAX 32
struct ch_session_rec {
	uint8_t token[ARENA_TOKEN_LEN];
	uint32_t score;
	char name[ARENA_NAME_MAX + 1];
};
struct ch_sessions {
	uint32_t n; /* 1..CH_SESSIONS_MAX */
	struct ch_session_rec rec[CH_SESSIONS_MAX];
};

/* RESUME_ASK: HELLO with a token this node does not know; RESUME_ANSWER: found (score) or not. */
struct ch_resume {
	uint32_t player_id; /* the new player waiting for its WELCOME */
	uint32_t pidx;
	uint8_t token[ARENA_TOKEN_LEN];
	char name[ARENA_NAME_MAX + 1];
	uint8_t found;
	uint32_t score;
};

/* The node's open rooms for presence, in batches: the first batch of a listing has `first`, the
 * last `last` (one batch with n = 0 and both: no room open). */
#define CH_ROOMS_MAX 32
struct ch_rooms {
	uint32_t n; /* 0..CH_ROOMS_MAX */
	uint8_t first, last;
	struct {
		char name[ARENA_ROOM_MAX + 1];
		uint32_t members;
	} rows[CH_ROOMS_MAX];
};

/* Payload size of a type, or SIZE_MAX for a type that does not exist. */
size_t channel_payload_size(unsigned type);

/* Short name of a type for logs. */
const char *channel_type_name(unsigned type);

/* One received, validated message. `fd` is owned by the callback (it must close or keep it);
 * -1 when none came. */
struct channel_msg {
	unsigned type;
	const void *payload;
	size_t len;
	int fd;
	bool truncated; /* MSG_CTRUNC: an fd was meant to come but the kernel dropped it */
};

struct channel;

struct channel_ops {
	/* A valid message. May call channel_free() on this channel. */
	void (*message)(struct channel *c, const struct channel_msg *m, void *userdata);
	/* The channel failed for good (-EPIPE at EOF, -EBADMSG for a protocol violation, or the
	 * errno of a failed read/write); text says what. Reading has stopped. May free. */
	void (*failed)(struct channel *c, int error, const char *text, void *userdata);
};

/* Make a connected pair (SOCK_SEQPACKET, non-blocking, close-on-exec): ret_fds[0] for the
 * master, ret_fds[1] for the worker. 0 or -errno. */
int channel_socketpair(int ret_fds[2]);

/* Wrap fd (taken over: closed by channel_free) and start reading it on base. accept_mask is the
 * set of CH_MASK() types this end accepts. ctrunc, if not NULL, is bumped on every MSG_CTRUNC.
 * 0 or -errno (fd untouched on failure). */
int channel_new(struct event_base *base, int fd, unsigned accept_mask,
                const struct channel_ops *ops, void *userdata, _Atomic uint64_t *ctrunc,
                struct channel **ret);

/* Close the socket and free; pending queued messages are dropped. Safe inside callbacks (the
 * memory is released when the callback returns). NULL is fine. */
void channel_free(struct channel *c);

/* Send one message. Without an fd (fd < 0) it is queued if the socket is full: 0 or -errno of a
 * hard failure. With an fd it is sent now or not at all: 0, -EAGAIN when the peer is congested
 * (full socket, queued messages, or too many fds in flight), or another -errno. The caller
 * keeps ownership of fd either way. */
int channel_send(struct channel *c, unsigned type, const void *payload, size_t len, int fd);

/* Messages waiting in the in-memory queue. */
size_t channel_queued(const struct channel *c);

#endif /* ARENA_CHANNEL_H */
