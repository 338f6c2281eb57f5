/* tick.h: per-worker tick: SNAPSHOT and CHAT_MSG fan-out to this worker's sessions.
 *
 * Every worker ticks at tick_rate Hz on a shared clock (tick n starts at shm start_ms +
 * n * period), so tick numbers agree across workers. Each tick the room part of a SNAPSHOT is
 * encoded once per room and reused for every local recipient in that room; a recipient whose
 * room did not change and whose ack did not advance is skipped, except for keyframes:
 * keyframe_interval after the last change, then at doubling gaps up to keyframe_max. New chat
 * messages of each room are delivered in ring order. A room where no local recipient is due
 * anything costs a few lock-free loads, not its lock.
 */
#ifndef ARENA_TICK_H
#define ARENA_TICK_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

struct tick_ctx;

int tick_new(struct session_env *env, struct tick_ctx **ret);
void tick_free(struct tick_ctx *t);

/* Run one tick over the worker's sessions (welcomed or not; others are skipped). gen is
 * sessions_generation() (sessions.h) at the call: while it is unchanged, tick_run trusts that
 * the set of sessions, their `welcomed` and their `room` are what they were at the previous
 * call and reuses its list sorted by room without reading `sessions`; a freed session always
 * moves the generation first, so the list never holds a dangling pointer. A session may be
 * closed by session_send() during the call (too slow); tick_run tolerates that: the core defers
 * freeing closed sessions until after tick_run returns. */
void tick_run(struct tick_ctx *t, uint32_t tick, uint64_t now_ms, struct session **sessions,
              size_t n, uint64_t gen);

/* SNAPSHOT of s's room to s now, out of the tick (immediate_ack: the answer to a MOVE). It
 * carries the number of the last tick run, so a client may see the same tick number twice in
 * a row (the later SNAPSHOT is the newer). It counts as s's last SNAPSHOT: the next tick skips
 * s unless the room changes again. 0, -EINVAL (s not seated), or -EPIPE if it could not be
 * queued (the session is closing). */
int tick_snapshot_now(struct tick_ctx *t, struct session *s, uint64_t now_ms);

/* Chat messages this worker's recipients missed because they fell more than the room's ring
 * behind, since tick_new. */
uint64_t tick_chat_lost(const struct tick_ctx *t);

#endif /* ARENA_TICK_H */
