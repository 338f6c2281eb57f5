/* test-kick-log.c: a burst of kicked clients costs the log a few lines and one summary.
 *
 * One worker; 40 clients each send PING before HELLO, which the server answers with
 * BYE(protocol error). The worker logs its first 10 kicks of the second verbatim ("client ...
 * kicked: protocol_error: message before HELLO") and then, once the second is over, a single
 * summary: "30 more clients cut in the last second (protocol_error 30)". A later lone kick,
 * after a quiet spell, is logged verbatim again. Every kicked client still gets its BYE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N        40
#define LINES    10 /* KICKLOG_LINES_PER_SEC in server/net/kicklog.h */
#define VERBATIM "kicked: protocol_error: message before HELLO"

/* Lines of the daemon's log that contain needle. */
static unsigned log_count(struct hd *d, const char *needle)
{
	FILE *f = fopen(d->log, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned n = 0;

	if (!f)
		return 0;
	while (getline(&line, &cap, f) >= 0)
		if (strstr(line, needle))
			n++;
	free(line);
	fclose(f);
	return n;
}

/* Connect, send PING before HELLO, and expect BYE(protocol error) and the close. */
static bool kick_one(struct hd *d)
{
	struct arena_msg ping = {.type = ARENA_PING};
	struct hc *c = hc_connect(d, NULL);
	bool ok;

	if (!c)
		return false;
	ok = hc_send(c, &ping) == 0 && hc_wait_close(c, 3000) == 0 && c->got_bye &&
	     c->bye_reason == ARENA_BYE_PROTOCOL_ERROR;
	hc_close(c);
	return ok;
}

int main(void)
{
	char summary[128];
	unsigned kicked = 0;
	uint64_t t0, burst_ms, deadline;
	struct hd *d;

	h_init("kick-log", "a burst of kicked clients: 10 log lines, then one summary line");
	d = hd_start((const char *const[]){"workers=1", NULL});

	t0 = h_now_ms();
	for (int i = 0; i < N; i++)
		kicked += kick_one(d);
	burst_ms = h_now_ms() - t0;
	REQUIRE(kicked == N, "all %u clients got BYE(protocol error) (%u)", N, kicked);
	/* The summary is due when the window of the first kick is over: within a second of it,
	 * plus a heartbeat (100 ms); allow 3 s after the burst. */
	snprintf(summary, sizeof(summary), "%u more clients cut in the last second", N - LINES);
	deadline = h_now_ms() + 3000;
	while (h_now_ms() < deadline && !hd_log_contains(d, summary))
		h_sleep_ms(50);
	if (burst_ms < 900) {
		/* The burst took under a second: all of it fell in one window. */
		CHECK(log_count(d, VERBATIM) == LINES,
		      "the first %u kicks were logged verbatim (%u)", LINES,
		      log_count(d, VERBATIM));
		snprintf(summary, sizeof(summary),
		         "%u more clients cut in the last second (protocol_error %u)", N - LINES,
		         N - LINES);
		CHECK(hd_log_contains(d, summary), "the log holds the summary '%s'", summary);
	} else {
		/* A slow machine: the burst spread over more windows; the budget still holds. */
		unsigned secs = (unsigned)(burst_ms / 1000) + 1;

		CHECK(log_count(d, VERBATIM) <= LINES * secs,
		      "at most %u verbatim lines in %u s (%u)", LINES * secs, secs,
		      log_count(d, VERBATIM));
		CHECK(log_count(d, "more clients cut in the last second") >= 1,
		      "the log holds a summary line");
	}
	CHECK(burst_ms >= 900 || log_count(d, "more clients cut in the last second") == 1,
	      "one summary line for the burst (it took %llu ms)", (unsigned long long)burst_ms);

	/* After a quiet second the budget is back: a lone kick is logged verbatim. */
	h_sleep_ms(1200);
	{
		unsigned before = log_count(d, VERBATIM);

		REQUIRE(kick_one(d), "a lone client got BYE(protocol error)");
		deadline = h_now_ms() + 2000;
		while (h_now_ms() < deadline && log_count(d, VERBATIM) == before)
			h_sleep_ms(20);
		CHECK(log_count(d, VERBATIM) == before + 1, "the lone kick was logged verbatim");
	}
	return h_done();
}
