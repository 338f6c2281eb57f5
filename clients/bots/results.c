/* results.c: arena-bots' result arithmetic, and the text pipe from load processes to parent.
 *
 * A load process writes two kinds of messages on its pipe, one field per line:
 *
 *     L <elapsed_us> <counter>... <errors>       live update, once a second, followed by the
 *     hist ... end                              response histogram recorded since the last one
 *
 *     F                                         final results: every counter, BYE and ERROR
 *     c <name> <value>          (each counter)  count, then every histogram in full, in the
 *     b <reason> <n> / x <reason> <n>           fixed order of bots.h, then "done"
 *     e <code> <n>
 *     h <name>, hist ... end    (each histogram)
 *     done
 *
 * The parent feeds every line to a results_reader, which checks the order, every number and
 * every name; anything unexpected makes the whole child's report invalid (-EBADMSG). Text keeps
 * the format debuggable (`strace -e write` shows it) and the histogram part is hist.c's own
 * text form, so there is only one histogram serialisation.
 */
#include "bots.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *const bot_counter_names[C_COUNT] = {
#define BOT_COUNTER_NAME(name) #name,
    BOT_COUNTERS(BOT_COUNTER_NAME)
#undef BOT_COUNTER_NAME
};

const char *const bot_hist_names[H_COUNT] = {
#define BOT_HIST_NAME(name) #name,
    BOT_HISTS(BOT_HIST_NAME)
#undef BOT_HIST_NAME
};

void run_stats_reset(struct run_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void run_stats_merge(struct run_stats *dst, const struct run_stats *src)
{
	for (size_t i = 0; i < C_COUNT; i++)
		dst->c[i] += src->c[i];
	for (size_t i = 0; i < BYE_REASONS; i++) {
		dst->bye[i] += src->bye[i];
		dst->bye_early[i] += src->bye_early[i];
	}
	for (size_t i = 0; i < ERROR_CODES; i++)
		dst->err_code[i] += src->err_code[i];
	for (size_t i = 0; i < H_COUNT; i++)
		hist_merge(&dst->h[i], &src->h[i]);
}

uint64_t run_stats_errors(const struct run_stats *s)
{
	uint64_t n = s->c[C_err_connect] + s->c[C_err_connect_timeout] + s->c[C_err_decode] +
	             s->c[C_err_disconnect] + s->c[C_err_overflow] + s->c[C_inputs_timed_out];
	for (size_t i = 0; i < BYE_REASONS; i++)
		n += s->bye[i];
	for (size_t i = 0; i < ERROR_CODES; i++)
		n += s->err_code[i];
	return n;
}

int results_write_live(FILE *out, uint64_t elapsed_us, const struct run_stats *s,
                       const struct hist *response_delta)
{
	if (fprintf(out, "L %" PRIu64, elapsed_us) < 0)
		return -EIO;
	for (size_t i = 0; i < C_COUNT; i++)
		if (fprintf(out, " %" PRIu64, s->c[i]) < 0)
			return -EIO;
	if (fprintf(out, " %" PRIu64 "\n", run_stats_errors(s)) < 0)
		return -EIO;
	if (hist_write(response_delta, out) < 0 || fflush(out) == EOF)
		return -EIO;
	return 0;
}

int results_write_final(FILE *out, const struct run_stats *s)
{
	if (fputs("F\n", out) == EOF)
		return -EIO;
	for (size_t i = 0; i < C_COUNT; i++)
		if (fprintf(out, "c %s %" PRIu64 "\n", bot_counter_names[i], s->c[i]) < 0)
			return -EIO;
	for (size_t i = 0; i < BYE_REASONS; i++)
		if (fprintf(out, "b %zu %" PRIu64 "\n", i, s->bye[i]) < 0)
			return -EIO;
	for (size_t i = 0; i < BYE_REASONS; i++)
		if (fprintf(out, "x %zu %" PRIu64 "\n", i, s->bye_early[i]) < 0)
			return -EIO;
	for (size_t i = 0; i < ERROR_CODES; i++)
		if (fprintf(out, "e %zu %" PRIu64 "\n", i, s->err_code[i]) < 0)
			return -EIO;
	for (size_t i = 0; i < H_COUNT; i++) {
		if (fprintf(out, "h %s\n", bot_hist_names[i]) < 0 || hist_write(&s->h[i], out) < 0)
			return -EIO;
	}
	if (fputs("done\n", out) == EOF || fflush(out) == EOF)
		return -EIO;
	return 0;
}

/* Reader states. Final results are read in this fixed order: counters, BYEs, early BYEs,
 * ERROR codes, histograms. */
enum {
	R_IDLE = 0,
	R_LIVE_HIST_HEAD,
	R_LIVE_HIST,
	R_FINAL,
	R_FINAL_HIST_HEAD,
	R_FINAL_HIST,
	R_DONE,
	R_BROKEN,
};

void results_reader_init(struct results_reader *r, struct run_stats *fin, struct hist *delta)
{
	memset(r, 0, sizeof(*r));
	r->state = R_IDLE;
	r->fin = fin;
	r->live_delta = delta;
}

static int parse_live(struct results_reader *r, const char *line)
{
	uint64_t v[C_COUNT + 2];
	line += 2;
	for (size_t i = 0; i < C_COUNT + 2; i++)
		if (hist_parse_u64(&line, &v[i]) < 0)
			return -EBADMSG;
	if (*line)
		return -EBADMSG;
	r->live_elapsed_us = v[0];
	memcpy(r->live, v + 1, sizeof(r->live));
	r->live_errors = v[C_COUNT + 1];
	return 0;
}

/* The n-th line of the final section (after "F"), other than histograms. */
static int parse_final_field(struct results_reader *r, size_t n, const char *line)
{
	uint64_t idx, val;
	if (n < C_COUNT) {
		size_t nl = strlen(bot_counter_names[n]);
		if (strncmp(line, "c ", 2) != 0 ||
		    strncmp(line + 2, bot_counter_names[n], nl) != 0 || line[2 + nl] != ' ')
			return -EBADMSG;
		line += 3 + nl;
		if (hist_parse_u64(&line, &val) < 0 || *line)
			return -EBADMSG;
		r->fin->c[n] = val;
		return 0;
	}
	n -= C_COUNT;
	char tag;
	uint64_t *arr;
	if (n < BYE_REASONS) {
		tag = 'b';
		arr = r->fin->bye;
	} else if (n < 2 * BYE_REASONS) {
		tag = 'x';
		arr = r->fin->bye_early;
		n -= BYE_REASONS;
	} else {
		tag = 'e';
		arr = r->fin->err_code;
		n -= 2 * BYE_REASONS;
	}
	if (line[0] != tag || line[1] != ' ')
		return -EBADMSG;
	line += 2;
	if (hist_parse_u64(&line, &idx) < 0 || hist_parse_u64(&line, &val) < 0 || *line || idx != n)
		return -EBADMSG;
	arr[n] = val;
	return 0;
}

#define FINAL_FIELDS (C_COUNT + 2 * BYE_REASONS + ERROR_CODES)

static int reader_line(struct results_reader *r, const char *line)
{
	int k;
	switch (r->state) {
	case R_IDLE:
		if (strncmp(line, "L ", 2) == 0) {
			if (parse_live(r, line) < 0)
				return -EBADMSG;
			r->live_ready = false;
			r->cur = r->live_delta;
			r->state = R_LIVE_HIST_HEAD;
			return 0;
		}
		if (strcmp(line, "F") == 0) {
			run_stats_reset(r->fin);
			r->field = 0;
			r->state = R_FINAL;
			return 0;
		}
		return -EBADMSG;
	case R_LIVE_HIST_HEAD:
	case R_FINAL_HIST_HEAD:
		if (hist_parse_begin(&r->hp, r->cur, line) < 0)
			return -EBADMSG;
		r->state = r->state == R_LIVE_HIST_HEAD ? R_LIVE_HIST : R_FINAL_HIST;
		return 0;
	case R_LIVE_HIST:
	case R_FINAL_HIST:
		k = hist_parse_line(&r->hp, r->cur, line);
		if (k < 0)
			return -EBADMSG;
		if (k == 1 && r->state == R_LIVE_HIST) {
			r->live_ready = true;
			r->state = R_IDLE;
		} else if (k == 1) {
			r->state = R_FINAL;
		}
		return 0;
	case R_FINAL:
		if (r->field < FINAL_FIELDS) {
			if (parse_final_field(r, r->field, line) < 0)
				return -EBADMSG;
			r->field++;
			return 0;
		}
		if (r->field == FINAL_FIELDS + H_COUNT) {
			if (strcmp(line, "done") != 0)
				return -EBADMSG;
			r->have_final = true;
			r->state = R_DONE;
			return 0;
		}
		size_t h = r->field - FINAL_FIELDS;
		if (strncmp(line, "h ", 2) != 0 || strcmp(line + 2, bot_hist_names[h]) != 0)
			return -EBADMSG;
		r->cur = &r->fin->h[h];
		r->field++;
		r->state = R_FINAL_HIST_HEAD;
		return 0;
	}
	return -EBADMSG; /* R_DONE: nothing may follow; R_BROKEN: stays broken */
}

int results_reader_line(struct results_reader *r, const char *line)
{
	if (r->state == R_BROKEN)
		return -EBADMSG;
	int k = reader_line(r, line);
	if (k < 0)
		r->state = R_BROKEN;
	return k;
}
