/* hist.c: the log-linear latency histogram of hist.h, and its text form.
 *
 * The layout is HdrHistogram's with a unit of 1 us and 2048 sub-buckets: bucket b covers
 * [1024 << b, 2048 << b) in steps of (1 << b) (bucket 0 covers [0, 2048) in steps of 1), so a
 * counter stands for a range no wider than 1/1024 of its lowest value. The index of a value is
 * two shifts and a count-leading-zeros; nothing is allocated. The text parser is written for
 * hostile input: numbers are strict decimal with overflow checks, indices strictly ascending,
 * and the totals must match the header exactly.
 */
#include "hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SUB_MASK  ((uint64_t)HIST_SUB_COUNT - 1)
#define HALF_BITS (HIST_SUB_BITS - 1)
#define LZ_BASE   (64 - HALF_BITS - 1)

static unsigned bucket_of(uint64_t value)
{
	return (unsigned)(LZ_BASE - __builtin_clzll(value | SUB_MASK));
}

size_t hist_index(uint64_t value)
{
	if (value > HIST_MAX_VALUE)
		value = HIST_MAX_VALUE;
	unsigned b = bucket_of(value);
	uint64_t sub = value >> b;
	return ((size_t)(b + 1) << HALF_BITS) + (size_t)(sub - HIST_SUB_HALF);
}

uint64_t hist_index_lowest(size_t index)
{
	long b = (long)(index >> HALF_BITS) - 1;
	uint64_t sub = (index & (HIST_SUB_HALF - 1)) + HIST_SUB_HALF;
	if (b < 0) {
		sub -= HIST_SUB_HALF;
		b = 0;
	}
	return sub << b;
}

uint64_t hist_index_highest(size_t index)
{
	uint64_t low = hist_index_lowest(index);
	return low + (1ULL << bucket_of(low)) - 1;
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_record_n(struct hist *h, uint64_t value, uint64_t n)
{
	if (n == 0)
		return;
	if (value > HIST_MAX_VALUE) {
		value = HIST_MAX_VALUE;
		h->clamped += n;
	}
	h->counts[hist_index(value)] += n;
	if (h->total == 0 || value < h->min)
		h->min = value;
	if (h->total == 0 || value > h->max)
		h->max = value;
	h->total += n;
	h->sum += value * n;
}

void hist_record(struct hist *h, uint64_t value)
{
	hist_record_n(h, value, 1);
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	if (h->total == 0)
		return 0;
	if (p > 100.0)
		p = 100.0;
	if (!(p > 0.0))
		return h->min;
	double want = p / 100.0 * (double)h->total;
	uint64_t target = (uint64_t)want;
	if ((double)target < want)
		target++;
	if (target < 1)
		target = 1;
	if (target > h->total)
		target = h->total;
	uint64_t seen = 0;
	for (size_t i = 0; i < HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= target) {
			uint64_t v = hist_index_highest(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

uint64_t hist_min(const struct hist *h)
{
	return h->total ? h->min : 0;
}

uint64_t hist_max(const struct hist *h)
{
	return h->total ? h->max : 0;
}

double hist_mean(const struct hist *h)
{
	return h->total ? (double)h->sum / (double)h->total : 0.0;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->total == 0)
		return;
	for (size_t i = 0; i < HIST_COUNTS; i++)
		dst->counts[i] += src->counts[i];
	if (dst->total == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->total == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->total += src->total;
	dst->clamped += src->clamped;
	dst->sum += src->sum;
}

int hist_write(const struct hist *h, FILE *out)
{
	uint64_t lines = 0;
	for (size_t i = 0; i < HIST_COUNTS; i++)
		lines += h->counts[i] != 0;
	if (fprintf(out, "hist %llu %llu %llu %llu %llu %llu\n", (unsigned long long)h->total,
	            (unsigned long long)h->clamped, (unsigned long long)hist_min(h),
	            (unsigned long long)hist_max(h), (unsigned long long)h->sum,
	            (unsigned long long)lines) < 0)
		return -EIO;
	for (size_t i = 0; i < HIST_COUNTS; i++) {
		if (h->counts[i] == 0)
			continue;
		if (fprintf(out, "%llu %llu\n", (unsigned long long)hist_index_lowest(i),
		            (unsigned long long)h->counts[i]) < 0)
			return -EIO;
	}
	if (fputs("end\n", out) == EOF)
		return -EIO;
	return 0;
}

int hist_parse_u64(const char **s, uint64_t *ret)
{
	const char *p = *s;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return -EBADMSG;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	if (*p == ' ' && p[1] >= '0' && p[1] <= '9')
		p++;
	else if (*p == '\n' && p[1] == '\0')
		p++;
	else if (*p != '\0')
		return -EBADMSG;
	*s = p;
	*ret = v;
	return 0;
}

static bool at_end(const char *s)
{
	return *s == '\0';
}

int hist_parse_begin(struct hist_parser *p, struct hist *h, const char *line)
{
	uint64_t v[6];
	if (strncmp(line, "hist ", 5) != 0)
		return -EBADMSG;
	line += 5;
	for (size_t i = 0; i < 6; i++)
		if (hist_parse_u64(&line, &v[i]) < 0)
			return -EBADMSG;
	if (!at_end(line))
		return -EBADMSG;
	struct hist_parser np = {
	    .total = v[0],
	    .clamped = v[1],
	    .min = v[2],
	    .max = v[3],
	    .sum = v[4],
	    .lines_left = v[5],
	    .seen = 0,
	    .next_index = 0,
	};
	if (np.lines_left > HIST_COUNTS || np.clamped > np.total || np.max > HIST_MAX_VALUE ||
	    np.min > np.max)
		return -EBADMSG;
	if ((np.total == 0) != (np.lines_left == 0))
		return -EBADMSG;
	if (np.total == 0 && (np.min || np.max || np.sum))
		return -EBADMSG;
	if (np.total > 0 && (np.sum / np.total < np.min || np.sum / np.total > np.max))
		return -EBADMSG;
	hist_reset(h);
	*p = np;
	return 0;
}

int hist_parse_line(struct hist_parser *p, struct hist *h, const char *line)
{
	if (strcmp(line, "end") == 0 || strcmp(line, "end\n") == 0) {
		if (p->lines_left != 0 || p->seen != p->total)
			return -EBADMSG;
		if (p->total > 0 && (hist_index(p->min) != hist_index(h->min) ||
		                     hist_index(p->max) != hist_index(h->max)))
			return -EBADMSG;
		h->total = p->total;
		h->clamped = p->clamped;
		h->min = p->min;
		h->max = p->max;
		h->sum = p->sum;
		return 1;
	}
	uint64_t value, count;
	if (p->lines_left == 0 || hist_parse_u64(&line, &value) < 0 ||
	    hist_parse_u64(&line, &count) < 0 || !at_end(line))
		return -EBADMSG;
	if (value > HIST_MAX_VALUE || count == 0 || count > p->total - p->seen)
		return -EBADMSG;
	size_t idx = hist_index(value);
	if (hist_index_lowest(idx) != value || idx < p->next_index)
		return -EBADMSG;
	/* Record through the normal path so min/max reflect the buckets; the exact values from
	 * the header replace them once "end" checks out. */
	h->counts[idx] += count;
	if (h->total == 0 || value < h->min)
		h->min = value;
	if (h->total == 0 || value > h->max)
		h->max = value;
	h->total += count;
	p->seen += count;
	p->next_index = idx + 1;
	p->lines_left--;
	return 0;
}

int hist_read(FILE *in, struct hist *ret)
{
	struct hist_parser p;
	char line[HIST_TEXT_LINE_MAX + 8];
	struct hist *tmp = malloc(sizeof(*tmp)); /* ~190 KiB: not on the stack */
	int r = -EBADMSG;
	if (!tmp)
		return -ENOMEM;
	if (!fgets(line, sizeof(line), in)) {
		r = ferror(in) ? -EIO : -EBADMSG;
		goto out;
	}
	if (!strchr(line, '\n') || hist_parse_begin(&p, tmp, line) < 0)
		goto out;
	for (;;) {
		if (!fgets(line, sizeof(line), in)) {
			r = ferror(in) ? -EIO : -EBADMSG;
			goto out;
		}
		if (!strchr(line, '\n')) {
			r = -EBADMSG;
			goto out;
		}
		r = hist_parse_line(&p, tmp, line);
		if (r < 0)
			goto out;
		if (r == 1)
			break;
	}
	memcpy(ret, tmp, sizeof(*tmp));
	r = 0;
out:
	free(tmp);
	return r;
}
