/* play.h: game messages of a welcomed session (JOIN, LEAVE, MOVE, CHAT, LEADERBOARD_REQ).
 *
 * Called by session.c after the decoder validated the frame. play.c applies the rules through
 * world.h, enforces the per-player input, chat and request rate limits (token buckets from the
 * config), and answers with JOINED, LEFT, LEADERBOARD or a non-fatal ERROR via session.h.
 */
#ifndef ARENA_PLAY_H
#define ARENA_PLAY_H

#include <stdint.h>

#include "session.h"

/* Reset the game fields of a session just welcomed (room from a resume, buckets full). If the
 * resume put the player back in a room, send JOINED for it. */
int play_welcomed(struct session *s, uint32_t room, uint64_t now_ms);

/* Charge one PING (a request handled by the core) to the session's request bucket, shared
 * with JOIN, LEAVE and LEADERBOARD_REQ. Returns 1 to answer it, 0 if it was dropped (ERROR(rate
 * limited) may have been sent), or a negative errno if the session was closed with BYE(flood). */
int play_request(struct session *s, uint64_t now_ms);

/* Handle one game message. Returns 0, or a negative errno if the session was closed (play.c
 * already sent BYE through session_bye, e.g. for flooding). */
int play_message(struct session *s, const struct arena_msg *m, uint64_t now_ms);

/* The session is going away (any reason): detach the player so it can resume. */
void play_gone(struct session *s, uint64_t now_ms);

#endif /* ARENA_PLAY_H */
