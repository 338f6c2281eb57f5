/* hist.h: a log-linear latency histogram (HdrHistogram layout), 3 significant digits, 1 us..1 h.
 *
 * Values are microseconds. The value range is split into power-of-two "buckets", each divided
 * linearly into 2048 sub-buckets (the lower half of every bucket but the first overlaps the
 * previous bucket and is not stored), so any recorded value is known to within 1/1024 of
 * itself (better than 3 significant digits). Memory is fixed: HIST_COUNTS counters, allocated
 * inside the struct, no pointers, so a histogram can be copied, zeroed and merged bucket by
 * bucket. Values above HIST_MAX_VALUE are clamped to it and counted in `clamped`; the exact
 * min, max and sum of the recorded values are kept beside the counts.
 *
 * Two histograms merge by adding counts (never by averaging percentiles). The text form,
 * "value count" lines per non-empty bucket after a header line, carries a histogram between
 * processes and into --hist-out files.
 */
#ifndef ARENA_HIST_H
#define ARENA_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HIST_MAX_VALUE     3600000000ULL /* 1 hour in microseconds */
#define HIST_SUB_BITS      11            /* 2048 sub-buckets: 3 significant digits */
#define HIST_SUB_COUNT     (1u << HIST_SUB_BITS)
#define HIST_SUB_HALF      (HIST_SUB_COUNT / 2)
#define HIST_BUCKETS       22 /* HIST_SUB_COUNT << (HIST_BUCKETS - 1) > HIST_MAX_VALUE */
#define HIST_COUNTS        ((HIST_BUCKETS + 1) * HIST_SUB_HALF)
#define HIST_TEXT_LINE_MAX 64 /* longest line of the text form, newline included */

struct hist {
	uint64_t total;   /* number of recorded values */
	uint64_t clamped; /* values above HIST_MAX_VALUE recorded as HIST_MAX_VALUE */
	uint64_t min;     /* exact, valid when total > 0 */
	uint64_t max;     /* exact, valid when total > 0 */
	uint64_t sum;     /* exact sum of the (clamped) values, for the mean */
	uint64_t counts[HIST_COUNTS];
};

/* Empty the histogram. Cannot fail. */
void hist_reset(struct hist *h);

/* Record `value` (microseconds) `n` times; values above HIST_MAX_VALUE are clamped. */
void hist_record_n(struct hist *h, uint64_t value, uint64_t n);

/* Record one value. */
void hist_record(struct hist *h, uint64_t value);

/* The value at percentile p (0 < p <= 100): the smallest recorded value v such that at least
 * p% of all values are <= v, reported as the highest value equivalent to v's bucket but never
 * above the exact maximum (so it is within 1/1024 of the true value). 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Exact extremes and mean of what was recorded; 0 when empty. */
uint64_t hist_min(const struct hist *h);
uint64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);

/* Add every count of `src` into `dst` (dst = union of both). Cannot fail. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The counter index a value falls into, and the lowest / highest value sharing that counter.
 * Exposed for tests and for the text form. */
size_t hist_index(uint64_t value);
uint64_t hist_index_lowest(size_t index);
uint64_t hist_index_highest(size_t index);

/* Write the text form: "hist <total> <clamped> <min> <max> <sum> <lines>\n" then <lines> lines
 * "value count\n" (value = lowest value of a non-empty bucket, ascending), then "end\n".
 * Returns 0 or -EIO. */
int hist_write(const struct hist *h, FILE *out);

/* Parse one line of the text form into the line state machine: call hist_parse_begin() with
 * the header line, then hist_parse_line() for each following line until it returns 1 ("end"
 * seen and everything consistent). Every field is validated (ranges, ascending order, the
 * count of lines and the total against the header); on any error -EBADMSG and *h is left in
 * an unspecified but valid state (the caller discards it). */
struct hist_parser {
	uint64_t total, clamped, min, max, sum; /* from the header */
	uint64_t lines_left;                    /* value lines still expected */
	uint64_t seen;                          /* counts added so far */
	size_t next_index;                      /* indices must be strictly ascending */
};
int hist_parse_begin(struct hist_parser *p, struct hist *h, const char *line);
int hist_parse_line(struct hist_parser *p, struct hist *h, const char *line);

/* Convenience: read a whole text-form histogram from a stream (for tests and tools). Returns
 * 0 and fills *ret, or -EBADMSG / -EIO / -ENOMEM; *ret untouched on failure. */
int hist_read(FILE *in, struct hist *ret);

/* Strict decimal, as the text formats of histograms and results write it: at least one digit,
 * no sign, no leading space, overflow checked; it must be followed by a single space and the
 * next number, or by the end of the line (a trailing '\n' is accepted). Advances *s past the
 * number and its space. Returns 0 or -EBADMSG (*s and ret untouched). */
int hist_parse_u64(const char **s, uint64_t *ret);

#endif /* ARENA_HIST_H */
