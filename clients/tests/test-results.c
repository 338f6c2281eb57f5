/* test-results.c: unit tests of arena-bots' result pipe (results.c) and its arithmetic.
 *
 * What a load process writes must come back identical through the parent's reader, live
 * updates and final results interleaved as they are on the pipe; merging adds counts; the error
 * total is the sum of its kinds; and anything malformed or out of order breaks the reader for
 * good instead of producing a half-read result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bots.h"

static struct run_stats *sample(uint64_t k)
{
	struct run_stats *s = malloc(sizeof(*s));
	assert_non_null(s);
	run_stats_reset(s);
	for (size_t i = 0; i < C_COUNT; i++)
		s->c[i] = k * 1000 + i;
	for (size_t i = 0; i < BYE_REASONS; i++) {
		s->bye[i] = k + i;
		s->bye_early[i] = i % 2;
	}
	for (size_t i = 0; i < ERROR_CODES; i++)
		s->err_code[i] = k * i;
	for (size_t h = 0; h < H_COUNT; h++)
		for (uint64_t v = 1; v < 5000; v += 7 + h)
			hist_record_n(&s->h[h], v * (k + 1) * 13, h + 1);
	return s;
}

/* Feed a whole text to a reader line by line; returns the first error or 0. */
static int feed(struct results_reader *r, char *text)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int k = results_reader_line(r, line);
		if (k < 0)
			return k;
	}
	return 0;
}

static char *render(const struct run_stats *s, bool with_live)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (with_live) {
		struct hist *d = malloc(sizeof(*d));
		assert_non_null(d);
		hist_reset(d);
		hist_record_n(d, 1234, 5);
		assert_int_equal(results_write_live(f, 777, s, d), 0);
		assert_int_equal(results_write_live(f, 1777, s, d), 0);
		free(d);
	}
	assert_int_equal(results_write_final(f, s), 0);
	fclose(f);
	return buf;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct run_stats *s = sample(3), *back = malloc(sizeof(*back));
	struct hist *delta = malloc(sizeof(*delta));
	assert_non_null(back);
	assert_non_null(delta);
	char *text = render(s, true);
	struct results_reader r;
	results_reader_init(&r, back, delta);
	assert_int_equal(feed(&r, text), 0);
	assert_true(r.have_final);
	assert_memory_equal(back, s, sizeof(*s));
	assert_int_equal(r.live_elapsed_us, 1777);
	assert_int_equal(r.live[C_inputs_sent], s->c[C_inputs_sent]);
	assert_int_equal(r.live_errors, run_stats_errors(s));
	assert_int_equal(delta->total, 5);
	/* nothing may follow the final results */
	assert_true(results_reader_line(&r, "F") < 0);
	free(text);
	free(s);
	free(back);
	free(delta);
}

static void test_merge_and_errors(void **state)
{
	(void)state;
	struct run_stats *a = sample(1), *b = sample(2), *sum = malloc(sizeof(*sum));
	assert_non_null(sum);
	run_stats_reset(sum);
	run_stats_merge(sum, a);
	run_stats_merge(sum, b);
	for (size_t i = 0; i < C_COUNT; i++)
		assert_int_equal(sum->c[i], a->c[i] + b->c[i]);
	for (size_t h = 0; h < H_COUNT; h++)
		assert_int_equal(sum->h[h].total, a->h[h].total + b->h[h].total);
	uint64_t want = sum->c[C_err_connect] + sum->c[C_err_connect_timeout] +
	                sum->c[C_err_decode] + sum->c[C_err_disconnect] + sum->c[C_err_overflow] +
	                sum->c[C_inputs_timed_out];
	for (size_t i = 0; i < BYE_REASONS; i++)
		want += sum->bye[i];
	for (size_t i = 0; i < ERROR_CODES; i++)
		want += sum->err_code[i];
	assert_int_equal(run_stats_errors(sum), want);
	free(a);
	free(b);
	free(sum);
}

/* Corrupt one line of a valid report in various ways: the reader must refuse, and stay
 * refused. */
static void test_hostile(void **state)
{
	(void)state;
	struct run_stats *s = sample(1), *back = malloc(sizeof(*back));
	struct hist *delta = malloc(sizeof(*delta));
	assert_non_null(back);
	assert_non_null(delta);
	const char *edits[][2] = {
	    {"c connects_ok ", "c connects_OK "}, /* wrong counter name */
	    {"c welcomed ", "c joined "},         /* out of order */
	    {"b 3 ", "b 4 "},                     /* wrong index */
	    {"h service", "h response"},          /* wrong histogram */
	    {"done", "done!"},                    /* bad terminator */
	    {"e 2 ", "e 2 -"},                    /* sign */
	    {"L 777 ", "L 777 x"},                /* junk in a live line */
	};
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *text = render(s, true);
		char *at = strstr(text, edits[i][0]);
		assert_non_null(at);
		size_t ol = strlen(edits[i][0]), nl = strlen(edits[i][1]);
		char *mod = malloc(strlen(text) + nl + 1);
		assert_non_null(mod);
		memcpy(mod, text, (size_t)(at - text));
		memcpy(mod + (at - text), edits[i][1], nl);
		strcpy(mod + (at - text) + nl, at + ol);
		struct results_reader r;
		results_reader_init(&r, back, delta);
		if (feed(&r, mod) == 0)
			fail_msg("edit #%zu was accepted", i);
		assert_false(r.have_final);
		assert_true(results_reader_line(&r, "F") < 0); /* stays broken */
		free(mod);
		free(text);
	}
	/* a truncated report never completes */
	char *text = render(s, false);
	text[strlen(text) / 2] = '\0';
	struct results_reader r;
	results_reader_init(&r, back, delta);
	feed(&r, text);
	assert_false(r.have_final);
	free(text);
	free(s);
	free(back);
	free(delta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_merge_and_errors),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
