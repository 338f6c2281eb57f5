/* kicklog.c: the per-process budget for per-client kick log lines; see kicklog.h.
 *
 * Fixed one-second windows, each opened by the first kick that finds no window open: a steady
 * trickle below the budget is logged line by line as before, and a burst costs the log
 * KICKLOG_LINES_PER_SEC lines plus one summary per second it lasts. Reason names come from the
 * protocol library so the summary uses the same words as the verbatim lines.
 */
#include "kicklog.h"

#include <stdio.h>
#include <string.h>

#include "arena_proto.h"

static unsigned reason_index(int reason)
{
	if (reason < 0)
		return 0;
	return reason >= KICKLOG_REASONS ? KICKLOG_REASONS - 1 : (unsigned)reason;
}

static bool window_over(const struct kicklog *k, uint64_t now_ms)
{
	return k->window_ms && now_ms - k->window_ms >= KICKLOG_WINDOW_MS;
}

bool kicklog_admit(struct kicklog *k, int reason, uint64_t now_ms)
{
	if (now_ms < k->window_ms) /* the clock cannot go back; never stall on it */
		now_ms = k->window_ms;
	if (!k->window_ms || (window_over(k, now_ms) && k->cut == 0)) {
		memset(k, 0, sizeof(*k));
		k->window_ms = now_ms ? now_ms : 1;
	}
	if (k->lines < KICKLOG_LINES_PER_SEC) {
		k->lines++;
		return true;
	}
	k->cut++;
	k->cut_by_reason[reason_index(reason)]++;
	return false;
}

unsigned kicklog_flush(struct kicklog *k, uint64_t now_ms, char *buf, size_t len)
{
	unsigned cut = k->cut;
	size_t n;

	if (!window_over(k, now_ms))
		return 0;
	if (cut && buf && len) {
		n = (size_t)snprintf(buf, len, "%u more client%s cut in the last second (", cut,
		                     cut == 1 ? "" : "s");
		for (unsigned r = 0; r < KICKLOG_REASONS && n < len; r++) {
			if (!k->cut_by_reason[r])
				continue;
			n += (size_t)snprintf(buf + n, len - n, "%s%s %u",
			                      buf[n - 1] == '(' ? "" : ", ", arena_bye_name((int)r),
			                      k->cut_by_reason[r]);
		}
		if (n < len)
			snprintf(buf + n, len - n, ")");
	}
	memset(k, 0, sizeof(*k));
	return cut;
}
