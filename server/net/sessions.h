/* sessions.h: the worker's set of client connections (implemented in session.c with session.h).
 *
 * The worker hands each received client fd to sessions_add() and from then on the set owns it:
 * reading and decoding, HELLO/WELCOME, PING/PONG, timeouts, the output cap, BYE and the
 * lingering close. Sessions are freed only from the set's own deferred callback, which libevent
 * runs after the callback that closed them has returned, so a session closed in the middle of
 * tick_run() or of a game handler stays valid memory until that code has unwound.
 *
 * Session life:
 *
 *     OPEN --session_bye(), EOF, --> CLOSING ---output flushed---> LINGER ---+
 *       |     cut (too slow)            |                              |      |
 *       |  I/O error                    |  close deadline, I/O error   |      | peer EOF, all
 *       +-------------------------------+------------------------------+----> CLOSED (fd closed)
 *                                                                             | deferred
 *                                                                             v
 *                                                                           freed
 *
 *   OPEN     frames are decoded and handled; output is queued and flushed.
 *   CLOSING  BYE queued; input is read and discarded; output still flushing.
 *   LINGER   shutdown(SHUT_WR) done; wait until the peer acknowledged everything (SIOCOUTQ 0)
 *            or closed, or the deadline, so close() never turns unread input into an RST that
 *            would destroy our last frames in flight.
 *   CLOSED   fd closed, counted out, the worker told (ops->closed); freed after the callback.
 */
#ifndef ARENA_SESSIONS_H
#define ARENA_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "session.h"

struct event_base;
struct sessions;

struct sessions_ops {
	/* A connection's fd was closed (any reason). Runs inside session code: it must not free
	 * sessions; sending on the channel is fine. */
	void (*closed)(const struct peer_addr *peer, void *userdata);
};

/* Make an empty set on base. env must outlive the set. 0 or -ENOMEM. */
int sessions_new(struct event_base *base, struct session_env *env, const struct sessions_ops *ops,
                 void *userdata, struct sessions **ret);

/* Close every connection at once (no goodbye) and free everything. NULL is fine. */
void sessions_free(struct sessions *t);

/* Start serving a client fd (non-blocking, cloexec). The fd is taken in every case: on failure
 * it is closed (and ops->closed called) and a negative errno returned. */
int sessions_add(struct sessions *t, int fd, const struct peer_addr *peer);

/* Connections whose fd is still open (including those saying goodbye). */
size_t sessions_open(const struct sessions *t);

/* The sessions array for tick_run(): every session not yet freed; tick skips the ones that are
 * not welcomed (closing sessions are no longer welcomed). */
struct session **sessions_array(struct sessions *t, size_t *ret_n);

/* A counter that moves whenever the array above or any session's `welcomed` or `room` may have
 * changed (added, welcomed, unwelcomed, freed, session_set_room), for tick_run() to reuse its
 * list while it stays put. */
uint64_t sessions_generation(const struct sessions *t);

/* Send BYE(reason, text) to every open session and close them gracefully, all done by
 * deadline_ms at the latest (then cut). Returns how many were told goodbye. */
size_t sessions_goodbye_all(struct sessions *t, enum arena_bye_reason reason, const char *text,
                            uint64_t deadline_ms);
/* The same for a live upgrade's handover: only welcomed sessions get BYE now; one still in its
 * handshake gets it right after its WELCOME (its player is then resumable on the new master),
 * so no connection is turned away before it was welcomed. Returns the BYEs sent now. */
size_t sessions_goodbye_welcomed(struct sessions *t, enum arena_bye_reason reason, const char *text,
                                 uint64_t deadline_ms);

/* Log the summary of the kicked clients whose own lines were held back by the log budget, once
 * their one-second window is over (see kicklog.h). Call periodically, e.g. from the heartbeat. */
void sessions_log_flush(uint64_t now_ms);

/* Close every remaining connection now, without waiting for output. */
void sessions_abort_all(struct sessions *t);

#endif /* ARENA_SESSIONS_H */
