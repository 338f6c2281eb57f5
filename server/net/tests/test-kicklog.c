/* test-kicklog.c: unit tests for the budget of per-client kick log lines.
 *
 * A hostile client flood must not become a log flood: the tests check that at most
 * KICKLOG_LINES_PER_SEC kicks a second get their own line, that the rest are summed up by reason
 * in one summary once the second is over (and not before), that a quiet trickle is never
 * summarised, and that the summary stays within its buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena_proto.h"
#include "kicklog.h"

static void test_burst_then_summary(void **state)
{
	struct kicklog k = {0};
	char buf[256] = "";
	unsigned admitted = 0;

	/* 25 kicks in the same 100 ms: 10 lines, 15 counted. */
	for (int i = 0; i < 25; i++)
		admitted += kicklog_admit(&k, i < 20 ? ARENA_BYE_FLOOD : ARENA_BYE_PROTOCOL_ERROR,
		                          5000 + (uint64_t)i * 4);
	assert_int_equal(admitted, KICKLOG_LINES_PER_SEC);

	/* Not before the second is over. */
	assert_int_equal(kicklog_flush(&k, 5999, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(kicklog_flush(&k, 6000, buf, sizeof(buf)), 15);
	assert_string_equal(buf,
	                    "15 more clients cut in the last second (protocol_error 5, flood 10)");

	/* Once only; the next kick opens a fresh window with a fresh budget. */
	assert_int_equal(kicklog_flush(&k, 7000, buf, sizeof(buf)), 0);
	assert_true(kicklog_admit(&k, ARENA_BYE_IDLE, 7001));
}

static void test_trickle_never_summarised(void **state)
{
	struct kicklog k = {0};
	char buf[128] = "";

	/* 9 kicks a second for 10 s: every one is logged, no summary. */
	for (uint64_t t = 1000; t < 11000; t += 111) {
		assert_int_equal(kicklog_flush(&k, t, buf, sizeof(buf)), 0);
		assert_true(kicklog_admit(&k, ARENA_BYE_IDLE, t));
	}
	assert_int_equal(kicklog_flush(&k, 20000, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_sustained_flood(void **state)
{
	struct kicklog k = {0};
	char buf[256];
	unsigned lines = 0, summaries = 0, summed = 0;

	/* 1000 kicks a second for 5 s, the caller flushing before each kick as session.c does:
	 * about 10 lines and one summary per second, and every kick accounted for. */
	for (uint64_t t = 1; t <= 5000; t++) {
		unsigned n = kicklog_flush(&k, t, buf, sizeof(buf));

		if (n) {
			summaries++;
			summed += n;
		}
		lines += kicklog_admit(&k, ARENA_BYE_TOO_SLOW, t);
	}
	summed += kicklog_flush(&k, 1000000, buf, sizeof(buf));
	assert_int_equal(lines + summed, 5000);
	assert_true(lines <= 5 * KICKLOG_LINES_PER_SEC);
	assert_true(summaries >= 4 && summaries <= 5);
	assert_non_null(strstr(buf, "too_slow "));
}

static void test_odd_reasons_and_small_buffer(void **state)
{
	struct kicklog k = {0};
	char buf[20];

	for (int i = 0; i < KICKLOG_LINES_PER_SEC; i++)
		assert_true(kicklog_admit(&k, ARENA_BYE_KICKED, 100));
	assert_false(kicklog_admit(&k, -3, 100));
	assert_false(kicklog_admit(&k, 250, 100));
	assert_false(kicklog_admit(&k, ARENA_BYE_KICKED, 100));
	/* The clock never goes back, but a smaller time must not stall or reopen the window. */
	assert_false(kicklog_admit(&k, ARENA_BYE_KICKED, 50));
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(kicklog_flush(&k, 1100, buf, sizeof(buf)), 4);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_memory_equal(buf, "4 more clients cut ", sizeof(buf) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_summary),
	    cmocka_unit_test(test_trickle_never_summarised),
	    cmocka_unit_test(test_sustained_flood),
	    cmocka_unit_test(test_odd_reasons_and_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
