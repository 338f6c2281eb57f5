/* kicklog.h: a per-process budget for the one log line written per kicked client.
 *
 * Each client the worker kicks (protocol error, idle, too slow, flood) is worth one info line,
 * but a flood of hostile connections would turn that into a log flood. A struct kicklog admits
 * at most KICKLOG_LINES_PER_SEC such lines in a one-second window that opens at the first kick
 * after a quiet spell; the kicks beyond it are only counted, by BYE reason, and once the window
 * is over kicklog_flush() formats one summary line for them. It does no I/O and keeps no
 * clock: the caller passes the time and writes the lines, so the logic is testable alone.
 */
#ifndef ARENA_KICKLOG_H
#define ARENA_KICKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KICKLOG_LINES_PER_SEC 10
#define KICKLOG_WINDOW_MS     1000
#define KICKLOG_REASONS       16 /* BYE reasons counted apart; larger ones share the last */

struct kicklog {
	uint64_t window_ms;                      /* start of the current window; 0 = none open */
	unsigned lines;                          /* lines admitted in it */
	unsigned cut;                            /* kicks not logged in it ... */
	unsigned cut_by_reason[KICKLOG_REASONS]; /* ... by BYE reason */
};

/* One client is being kicked for `reason` at now_ms. Returns true if its own line may be
 * logged, false if it was counted for the summary instead. Call kicklog_flush() first so that
 * a finished window's summary is not folded into the next one. */
bool kicklog_admit(struct kicklog *k, int reason, uint64_t now_ms);

/* If the current window is over at now_ms and kicks went unlogged in it, write the summary
 * "N more clients cut in the last second (REASON n, ...)" into buf (always NUL-terminated,
 * truncated to len) and return N; otherwise return 0 and leave buf untouched. A window that is
 * over is closed either way. */
unsigned kicklog_flush(struct kicklog *k, uint64_t now_ms, char *buf, size_t len);

#endif /* ARENA_KICKLOG_H */
