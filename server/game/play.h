/* play.h: game messages of a welcomed session (JOIN, LEAVE, MOVE, CHAT, LEADERBOARD_REQ).
 *
 * play.c implements the session layer's game handlers (struct session_game, session.h): the
 * worker installs play_game in its session_env, and session.c calls it after the decoder
 * validated a frame. play.c applies the rules through world.h, enforces the per-player input,
 * chat and request rate limits (token buckets from the config), and answers with JOINED, LEFT,
 * LEADERBOARD or a non-fatal ERROR via session.h.
 *
 *   welcomed  reset the game fields of a session just welcomed (room from a resume, buckets
 *             full); if the resume put the player back in a room, send JOINED for it
 *   request   charge one PING to the request bucket shared with JOIN, LEAVE and
 *             LEADERBOARD_REQ: 1 to answer it, 0 if dropped (ERROR(rate limited) may have been
 *             sent), a negative errno if the session was closed with BYE(flood)
 *   message   handle one game message: 0, or a negative errno if play.c closed the session
 *   gone      the session is going away (any reason): detach the player so it can resume
 */
#ifndef ARENA_PLAY_H
#define ARENA_PLAY_H

#include "session.h"

extern const struct session_game play_game;

#endif /* ARENA_PLAY_H */
