/* test-hist.c: unit tests of the latency histogram (hist.c): precision, merge, text form.
 *
 * Known distributions are recorded and their percentiles compared with the exact answer,
 * allowing only the documented precision (1/1024 of the value). Merge is checked counter by
 * counter against a histogram of the union, and the text form must round-trip exactly and
 * refuse malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"

static struct hist *new_hist(void)
{
	struct hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	hist_reset(h);
	return h;
}

/* |got - want| within the histogram's precision bound. */
static void assert_close(uint64_t got, uint64_t want)
{
	uint64_t tol = want / 1024 + 1;
	uint64_t diff = got > want ? got - want : want - got;
	if (diff > tol)
		fail_msg("got %llu, want %llu (+-%llu)", (unsigned long long)got,
		         (unsigned long long)want, (unsigned long long)tol);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void test_index_bounds(void **state)
{
	(void)state;
	for (int i = 0; i < 200000; i++) {
		uint64_t v = rnd() % (HIST_MAX_VALUE + 1);
		if (i % 3 == 0)
			v %= 5000;
		size_t idx = hist_index(v);
		assert_true(idx < HIST_COUNTS);
		uint64_t lo = hist_index_lowest(idx), hi = hist_index_highest(idx);
		assert_true(lo <= v && v <= hi);
		assert_true(hi - lo + 1 <= (lo / 1024 > 1 ? lo / 1024 : 1));
		assert_int_equal(hist_index(lo), idx);
		assert_int_equal(hist_index(hi), idx);
	}
	/* Every value below 2048 has a counter of its own. */
	for (uint64_t v = 0; v < 2048; v++)
		assert_int_equal(hist_index_lowest(hist_index(v)), v);
	assert_true(hist_index(HIST_MAX_VALUE) < HIST_COUNTS);
}

static void test_uniform(void **state)
{
	(void)state;
	struct hist *h = new_hist();
	const uint64_t n = 1000000;
	for (uint64_t v = 1; v <= n; v++)
		hist_record(h, v);
	assert_int_equal(h->total, n);
	assert_int_equal(hist_min(h), 1);
	assert_int_equal(hist_max(h), n);
	assert_true(hist_mean(h) > 500000.0 && hist_mean(h) < 500001.0);
	const double ps[] = {0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		/* exact: the smallest v with v >= p% of n */
		uint64_t want = (uint64_t)(ps[i] / 100.0 * (double)n + 0.999999);
		assert_close(hist_percentile(h, ps[i]), want);
	}
	assert_int_equal(hist_percentile(h, 100), n);
	free(h);
}

static void test_constant(void **state)
{
	(void)state;
	struct hist *h = new_hist();
	hist_record_n(h, 123457, 1000);
	assert_int_equal(hist_percentile(h, 50), 123457);
	assert_int_equal(hist_percentile(h, 99.9), 123457);
	assert_int_equal(hist_percentile(h, 100), 123457);
	assert_int_equal(hist_min(h), 123457);
	assert_int_equal(hist_max(h), 123457);
	assert_true(hist_mean(h) == 123457.0);
	free(h);
}

static void test_two_point(void **state)
{
	(void)state;
	struct hist *h = new_hist();
	hist_record_n(h, 100, 9000);
	hist_record_n(h, 1000000, 1000);
	assert_int_equal(hist_percentile(h, 50), 100);
	assert_int_equal(hist_percentile(h, 90), 100);
	assert_close(hist_percentile(h, 90.01), 1000000);
	assert_close(hist_percentile(h, 99), 1000000);
	assert_int_equal(hist_max(h), 1000000);
	assert_int_equal(hist_min(h), 100);
	assert_true(hist_mean(h) == (100.0 * 9000 + 1e6 * 1000) / 10000);
	free(h);
}

static void test_empty_and_clamp(void **state)
{
	(void)state;
	struct hist *h = new_hist();
	assert_int_equal(hist_percentile(h, 99), 0);
	assert_int_equal(hist_max(h), 0);
	assert_true(hist_mean(h) == 0.0);
	hist_record(h, HIST_MAX_VALUE * 2);
	assert_int_equal(h->clamped, 1);
	assert_int_equal(hist_max(h), HIST_MAX_VALUE);
	assert_int_equal(hist_percentile(h, 50), HIST_MAX_VALUE);
	free(h);
}

static void test_merge(void **state)
{
	(void)state;
	struct hist *a = new_hist(), *b = new_hist(), *u = new_hist();
	for (int i = 0; i < 100000; i++) {
		uint64_t v = rnd() % 5000000;
		if (i & 1) {
			hist_record(a, v);
		} else {
			v = v / 7 + 3;
			hist_record(b, v);
		}
		hist_record(u, v);
	}
	hist_merge(a, b);
	assert_int_equal(a->total, u->total);
	assert_int_equal(a->min, u->min);
	assert_int_equal(a->max, u->max);
	assert_int_equal(a->sum, u->sum);
	for (size_t i = 0; i < HIST_COUNTS; i++)
		assert_int_equal(a->counts[i], u->counts[i]);
	assert_int_equal(hist_percentile(a, 99), hist_percentile(u, 99));
	/* merging an empty histogram changes nothing, merging into an empty one copies */
	struct hist *e = new_hist();
	hist_merge(a, e);
	assert_memory_equal(a, u, sizeof(*a));
	hist_merge(e, u);
	assert_memory_equal(e, u, sizeof(*e));
	free(a);
	free(b);
	free(u);
	free(e);
}

static void roundtrip(const struct hist *h)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(hist_write(h, f), 0);
	assert_int_equal(fclose(f), 0);
	f = fmemopen(buf, len, "r");
	assert_non_null(f);
	struct hist *back = new_hist();
	back->total = 42; /* must be overwritten */
	assert_int_equal(hist_read(f, back), 0);
	fclose(f);
	free(buf);
	assert_memory_equal(back, h, sizeof(*h));
	free(back);
}

static void test_text_roundtrip(void **state)
{
	(void)state;
	struct hist *h = new_hist();
	roundtrip(h); /* empty */
	for (int i = 0; i < 50000; i++)
		hist_record(h, rnd() % (i % 2 ? 3000 : 200000000));
	hist_record(h, HIST_MAX_VALUE + 5);
	roundtrip(h);
	free(h);
}

static int parse_text(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	struct hist *h = new_hist();
	hist_record(h, 77);
	struct hist *before = new_hist();
	memcpy(before, h, sizeof(*h));
	int r = hist_read(f, h);
	fclose(f);
	if (r < 0)
		assert_memory_equal(h, before, sizeof(*h)); /* untouched on failure */
	free(h);
	free(before);
	return r;
}

static void test_text_hostile(void **state)
{
	(void)state;
	assert_int_equal(parse_text("hist 2 0 5 9 14 2\n5 1\n9 1\nend\n"), 0);
	const char *bad[] = {
	    "",
	    "hist 2 0 5 9 14 2\n5 1\n9 1\n",                      /* no end */
	    "hist 2 0 5 9 14 2\n9 1\n5 1\nend\n",                 /* descending */
	    "hist 2 0 5 9 14 2\n5 2\nend\n",                      /* line count */
	    "hist 3 0 5 9 14 2\n5 1\n9 1\nend\n",                 /* total */
	    "hist 2 0 5 9 14 2\n5 1\n9 0\nend\n",                 /* zero count */
	    "hist 2 0 5 9 14 2\n5 1\n5 1\nend\n",                 /* duplicate */
	    "hist 2 0 5 9 14 2\n5 1\n-9 1\nend\n",                /* sign */
	    "hist 2 0 5 9 14 2\n5 1\n9 1 \nend\n",                /* trailing space */
	    "hist 2 0 5 9 14 2\n5 1\n9 1x\nend\n",                /* junk */
	    "hist 2 0 9 5 14 2\n5 1\n9 1\nend\n",                 /* min > max */
	    "hist 2 0 6 9 14 2\n5 1\n9 1\nend\n",                 /* min not in the first bucket */
	    "hist 2 0 5 9 99999 2\n5 1\n9 1\nend\n",              /* sum inconsistent */
	    "hist 1 0 4097 4097 4097 1\n4097 1\nend\n",           /* not a bucket's lowest value */
	    "hist 1 0 5 5 5 1\n99999999999999999999999 1\nend\n", /* overflow */
	    "hist 1 0 5 5 5 99999999\n5 1\nend\n",                /* more lines than counters */
	    "hist 0 0 0 0 0 0\n5 1\nend\n",                       /* lines after an empty header */
	    "hist 1 2 5 5 5 1\n5 1\nend\n",                       /* clamped > total */
	    "hist 1 0 5 5 5\n5 1\nend\n",                         /* short header */
	    "HIST 1 0 5 5 5 1\n5 1\nend\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_text(bad[i]);
		if (r >= 0)
			fail_msg("accepted hostile text #%zu", i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_bounds),    cmocka_unit_test(test_uniform),
	    cmocka_unit_test(test_constant),        cmocka_unit_test(test_two_point),
	    cmocka_unit_test(test_empty_and_clamp), cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_text_roundtrip),  cmocka_unit_test(test_text_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
