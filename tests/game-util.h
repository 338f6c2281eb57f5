/* game-util.h: helpers shared by the game black-box tests (tests/test-game-*.c).
 *
 * Thin layers over the harness clients: JOIN and wait for its answer, MOVE and wait for its
 * acknowledgement in a SNAPSHOT, read the next SNAPSHOT, find a player in one, ask for the
 * leaderboard, HELLO with a resume token, and pick clients that are served by distinct worker
 * processes. Every wait is bounded; messages of other types met while waiting are skipped
 * (tests that care about CHAT_MSG read them themselves).
 */
#ifndef ARENA_GAME_UTIL_H
#define ARENA_GAME_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* Bail out of the test (h_bail: message, cleanup, exit 1) unless cond holds. */
#define MUST(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			h_bail(__VA_ARGS__);                                                       \
	} while (0)

/* JOIN room ("" = matchmaking) and wait for the answer: 0 with *ret filled (may be NULL) on
 * JOINED, the ERROR code (> 0) on ERROR, or a negative errno (timeout, closed). */
int gu_join(struct hc *c, const char *room, struct arena_joined *ret, unsigned timeout_ms);

/* gu_join, and on ERROR its text (at most ARENA_TEXT_MAX bytes) in ret_text. */
int gu_join_text(struct hc *c, const char *room, struct arena_joined *ret,
                 char ret_text[ARENA_TEXT_MAX + 1], unsigned timeout_ms);

/* Wait for the answer to a JOIN already sent, as gu_join. */
int gu_join_reply(struct hc *c, struct arena_joined *ret, unsigned timeout_ms);

/* Send MOVE(seq, dx, dy). 0 or -errno. */
int gu_move(struct hc *c, uint32_t seq, int dx, int dy);

/* Read until a SNAPSHOT with ack_seq >= seq: 0 and *ret, or a negative errno. */
int gu_wait_ack(struct hc *c, uint32_t seq, struct arena_snapshot *ret, unsigned timeout_ms);

/* Read until the next SNAPSHOT: 0 and *ret, or a negative errno. */
int gu_snapshot(struct hc *c, struct arena_snapshot *ret, unsigned timeout_ms);

/* Index of player id in a snapshot, or -1. */
int gu_find(const struct arena_snapshot *s, uint32_t id);

/* Sum of the scores in a snapshot. */
unsigned long gu_score_sum(const struct arena_snapshot *s);

/* LEADERBOARD_REQ and wait for LEADERBOARD: 0 and *ret, or a negative errno. */
int gu_leaderboard(struct hc *c, struct arena_leaderboard *ret, unsigned timeout_ms);

/* Send HELLO(name, token) and wait for WELCOME (then in c->welcome): 0 or a negative errno. */
int gu_hello_token(struct hc *c, const char *name, const uint8_t token[ARENA_TOKEN_LEN],
                   unsigned timeout_ms);

/* Connect and welcome clients ("<prefix><i>") until n of them are served by n different
 * workers (n <= the daemon's workers). Stores them in ret[0..n) and their worker pids in
 * ret_pid[0..n); the extra clients made on the way are closed. Bails out if it cannot. */
void gu_distinct_workers(struct hd *d, size_t n, const char *prefix, struct hc **ret,
                         pid_t *ret_pid);

/* The worker serving c (one of the daemon's current workers), or 0 if not found. */
pid_t gu_owner(struct hd *d, struct hc *c);

#endif /* ARENA_GAME_UTIL_H */
