/* report.c: arena-bots' output: the live line, the final table, the JSON file, raw histograms.
 *
 * Every number printed comes from the merged counters and histograms; percentiles are always
 * read from a merged histogram, never averaged. The JSON is written by hand (no library), with
 * strings escaped, so it is valid for any option value; its "inputs" object carries the
 * identity sent == acked + timed_out + pending_at_end and its "errors" object breaks the total
 * down so that the parts add up to it.
 */
#include "bots.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char *mode_name(enum bots_mode m)
{
	switch (m) {
	case MODE_PING:
		return "ping";
	case MODE_HANDSHAKE:
		return "handshake";
	default:
		return "play";
	}
}

static double ms(uint64_t us)
{
	return (double)us / 1000.0;
}

void report_live(FILE *out, double elapsed_s, const uint64_t *c, uint64_t errors,
                 double inputs_per_s, double snaps_per_s, const struct hist *response)
{
	fprintf(out,
	        "[%7.1fs] connected %" PRIu64 "  inputs/s %.0f  snapshots/s %.0f  p99 %.2f ms  "
	        "errors %" PRIu64 "\n",
	        elapsed_s, c[C_connected], inputs_per_s, snaps_per_s,
	        ms(hist_percentile(response, 99)), errors);
	fflush(out);
}

static void table_row(FILE *out, const char *name, const struct hist *h)
{
	if (h->total == 0) {
		fprintf(out, "  %-13s %10s\n", name, "-");
		return;
	}
	fprintf(out, "  %-13s %10" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, h->total,
	        ms(hist_percentile(h, 50)), ms(hist_percentile(h, 90)), ms(hist_percentile(h, 99)),
	        ms(hist_percentile(h, 99.9)), ms(hist_max(h)), hist_mean(h) / 1000.0);
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0.0;
}

/* Seconds the load processes were sending, averaged over processes. */
static double send_s(const struct run_stats *s, const struct bots_opts *o)
{
	return (double)s->c[C_send_us] / o->procs / 1e6;
}

static uint64_t bye_refused(const struct run_stats *s)
{
	return s->bye[ARENA_BYE_SERVER_FULL] + s->bye[ARENA_BYE_IP_LIMIT];
}

static uint64_t sum(const uint64_t *a, size_t n)
{
	uint64_t t = 0;
	for (size_t i = 0; i < n; i++)
		t += a[i];
	return t;
}

void report_table(FILE *out, const struct run_stats *s, const struct report_info *ri)
{
	const struct bots_opts *o = ri->o;
	const uint64_t *c = s->c;
	double run = send_s(s, o);
	fprintf(out, "arena-bots: %u bots in %u process(es) against %s, %s mode", o->bots, o->procs,
	        o->target_text, mode_name(o->mode));
	if (o->mode == MODE_PLAY)
		fprintf(out, ", %.4g inputs/s per bot", o->input_hz);
	if (o->mode == MODE_PING)
		fprintf(out, o->ping_hz > 0 ? ", %.4g pings/s per connection" : ", closed loop",
		        o->ping_hz);
	fprintf(out, ", %.1f s sending, %.1f s in all\n\n", run, ri->elapsed_s);

	fprintf(out, "  %-13s %10s %9s %9s %9s %9s %9s %9s\n", "latency (ms)", "count", "p50",
	        "p90", "p99", "p99.9", "max", "mean");
	for (size_t i = 0; i < H_COUNT; i++)
		table_row(out, bot_hist_names[i], &s->h[i]);

	fprintf(out,
	        "\n  rates over %.1f s: inputs sent %.1f/s, acked %.1f/s; snapshots %.1f/s; "
	        "pongs %.1f/s; handshakes %.1f/s; chat sent %.1f/s, received %.1f/s\n",
	        run, per_s(c[C_inputs_sent], run), per_s(c[C_inputs_acked], run),
	        per_s(c[C_snapshots], run), per_s(c[C_pongs], run), per_s(c[C_handshakes], run),
	        per_s(c[C_chat_sent], run), per_s(c[C_chat_received], run));
	if (ri->steady_s > 0 && ri->target_rate > 0)
		fprintf(out, "  steady state (%.1f s): inputs sent %.1f/s of %.1f/s due (%.1f%%)\n",
		        ri->steady_s, ri->achieved_rate, ri->target_rate,
		        100.0 * ri->achieved_rate / ri->target_rate);
	else if (ri->steady_s > 0)
		fprintf(out,
		        "  steady state (%.1f s): inputs sent %.1f/s (no schedule to compare)\n",
		        ri->steady_s, ri->achieved_rate);
	else
		fprintf(out, "  steady state: none (the connect ramp took the whole run)\n");
	if (c[C_snapshots_timed])
		fprintf(out,
		        "  snapshots within one tick of their tick's schedule: %.2f%% of %" PRIu64
		        "\n",
		        100.0 * (double)c[C_snapshots_on_time] / (double)c[C_snapshots_timed],
		        c[C_snapshots_timed]);
	fprintf(out,
	        "  bots: %u, welcomed %" PRIu64 ", with >= 1 snapshot %" PRIu64
	        "; connects %" PRIu64 " (ok %" PRIu64 "), joins %" PRIu64 ", reconnects %" PRIu64
	        "\n",
	        o->bots, c[C_bots_welcomed], c[C_bots_with_snapshot], c[C_connects_started],
	        c[C_connects_ok], c[C_joined], c[C_reconnects]);
	if (c[C_churn_leaves] || c[C_churn_resumes] || c[C_resumes_ok] || c[C_resumes_expired])
		fprintf(out,
		        "  churn: %" PRIu64 " leave+join, %" PRIu64
		        " disconnect+resume (resumed %" PRIu64 ", expired %" PRIu64 ")\n",
		        c[C_churn_leaves], c[C_churn_resumes], c[C_resumes_ok],
		        c[C_resumes_expired]);
	fprintf(out,
	        "  inputs: sent %" PRIu64 " = acked %" PRIu64 " + timed out %" PRIu64
	        " + pending at end %" PRIu64 "\n",
	        c[C_inputs_sent], c[C_inputs_acked], c[C_inputs_timed_out],
	        c[C_inputs_pending_end]);

	uint64_t errors = run_stats_errors(s);
	fprintf(out, "  errors: %" PRIu64 "\n", errors);
	if (errors) {
		fprintf(out,
		        "    connect failed %" PRIu64 ", connect timeout %" PRIu64
		        ", refused (server full %" PRIu64 ", ip limit %" PRIu64
		        "), input timeouts %" PRIu64 ", decode errors %" PRIu64
		        ", unexpected disconnects %" PRIu64 ", output overflow %" PRIu64 "\n",
		        c[C_err_connect], c[C_err_connect_timeout], s->bye[ARENA_BYE_SERVER_FULL],
		        s->bye[ARENA_BYE_IP_LIMIT], c[C_inputs_timed_out], c[C_err_decode],
		        c[C_err_disconnect], c[C_err_overflow]);
		for (unsigned r = 0; r < BYE_REASONS; r++)
			if (s->bye[r] && r != ARENA_BYE_SERVER_FULL && r != ARENA_BYE_IP_LIMIT)
				fprintf(out, "    BYE %s: %" PRIu64 "\n", arena_bye_name((int)r),
				        s->bye[r]);
		for (unsigned e = 0; e < ERROR_CODES; e++)
			if (s->err_code[e])
				fprintf(out, "    ERROR %s: %" PRIu64 "\n",
				        arena_error_name((int)e), s->err_code[e]);
	}
	double cpu = (double)c[C_cpu_us] / 1e6;
	fprintf(out, "  bots' CPU time: %.2f s (%.0f%% of one core over the run)\n", cpu,
	        ri->elapsed_s > 0 ? 100.0 * cpu / ri->elapsed_s : 0.0);
	fprintf(out, "\nresult: %s (exit %d)\n", ri->exit_reason, ri->exit_code);
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	/* JSON has no NaN or infinity */
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", f);
	else
		fprintf(f, "%.6g", v);
}

static void json_hist(FILE *f, const struct hist *h)
{
	fprintf(f,
	        "{\"count\": %" PRIu64 ", \"min\": %" PRIu64 ", \"p50\": %" PRIu64
	        ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p99_9\": %" PRIu64
	        ", \"max\": %" PRIu64 ", \"mean\": ",
	        h->total, hist_min(h), hist_percentile(h, 50), hist_percentile(h, 90),
	        hist_percentile(h, 99), hist_percentile(h, 99.9), hist_max(h));
	json_num(f, hist_mean(h));
	fputc('}', f);
}

static void json_config(FILE *f, const struct bots_opts *o)
{
	fputs("  \"config\": {\"target\": ", f);
	json_str(f, o->target_text);
	fprintf(f, ", \"bots\": %u, \"procs\": %u, \"connect_rate\": ", o->bots, o->procs);
	json_num(f, o->connect_rate);
	fputs(", \"duration_s\": ", f);
	json_num(f, o->duration_s);
	fprintf(f, ", \"mode\": \"%s\", \"room\": ", mode_name(o->mode));
	json_str(f, o->room);
	fputs(", \"input_hz\": ", f);
	json_num(f, o->input_hz);
	fputs(", \"ping_hz\": ", f);
	json_num(f, o->ping_hz);
	fputs(", \"chat_rate_per_min\": ", f);
	json_num(f, o->chat_rate);
	fputs(", \"churn_rate_per_min\": ", f);
	json_num(f, o->churn_rate);
	fprintf(f,
	        ", \"timeout_ms\": %.3f, \"connect_timeout_ms\": %.3f, \"keepalive_ms\": %.3f, "
	        "\"reconnect\": %s, \"source\": ",
	        o->timeout_us / 1e3, o->connect_timeout_us / 1e3, o->keepalive_us / 1e3,
	        o->reconnect ? "true" : "false");
	json_str(f, o->source_text);
	fputs(", \"max_p99_ms\": ", f);
	if (o->max_p99_ms >= 0)
		json_num(f, o->max_p99_ms);
	else
		fputs("null", f);
	fputs(", \"max_errors\": ", f);
	if (o->max_errors >= 0)
		fprintf(f, "%lld", o->max_errors);
	else
		fputs("null", f);
	fprintf(f, ", \"seed\": %" PRIu64 "},\n", o->seed);
}

static void json_errors(FILE *f, const struct run_stats *s)
{
	const uint64_t *c = s->c;
	uint64_t bye_other = sum(s->bye, BYE_REASONS) - bye_refused(s);
	fprintf(f,
	        "  \"errors\": {\"total\": %" PRIu64 ", \"connect_failed\": %" PRIu64
	        ", \"connect_timeout\": %" PRIu64 ", \"refused\": {\"total\": %" PRIu64
	        ", \"server_full\": %" PRIu64 ", \"ip_limit\": %" PRIu64
	        "}, \"bye\": {\"total\": %" PRIu64,
	        run_stats_errors(s), c[C_err_connect], c[C_err_connect_timeout], bye_refused(s),
	        s->bye[ARENA_BYE_SERVER_FULL], s->bye[ARENA_BYE_IP_LIMIT], bye_other);
	for (unsigned r = 0; r < BYE_REASONS; r++)
		if (r != ARENA_BYE_SERVER_FULL && r != ARENA_BYE_IP_LIMIT)
			fprintf(f, ", \"%s\": %" PRIu64, arena_bye_name((int)r), s->bye[r]);
	fprintf(f, "}, \"bye_before_welcome\": {\"total\": %" PRIu64,
	        sum(s->bye_early, BYE_REASONS));
	for (unsigned r = 0; r < BYE_REASONS; r++)
		fprintf(f, ", \"%s\": %" PRIu64, arena_bye_name((int)r), s->bye_early[r]);
	fprintf(f,
	        "}, \"timeout\": %" PRIu64 ", \"protocol\": {\"total\": %" PRIu64
	        ", \"decode\": %" PRIu64 ", \"error_frames\": {\"total\": %" PRIu64,
	        c[C_inputs_timed_out], c[C_err_decode] + sum(s->err_code, ERROR_CODES),
	        c[C_err_decode], sum(s->err_code, ERROR_CODES));
	for (unsigned e = 0; e < ERROR_CODES; e++)
		fprintf(f, ", \"%s\": %" PRIu64, arena_error_name((int)e), s->err_code[e]);
	fprintf(f,
	        "}}, \"unexpected_disconnect\": %" PRIu64 ", \"output_overflow\": %" PRIu64 "},\n",
	        c[C_err_disconnect], c[C_err_overflow]);
}

int report_json(const char *path, const struct run_stats *s, const struct report_info *ri)
{
	const struct bots_opts *o = ri->o;
	const uint64_t *c = s->c;
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	double run = send_s(s, o);
	fprintf(f, "{\n  \"tool\": \"arena-bots\",\n");
	json_config(f, o);
	fputs("  \"elapsed_s\": ", f);
	json_num(f, ri->elapsed_s);
	fputs(",\n  \"sending_s\": ", f);
	json_num(f, run);
	fputs(",\n  \"steady_state_s\": ", f);
	json_num(f, ri->steady_s);
	fputs(",\n  \"counters\": {", f);
	for (size_t i = 0; i < C_COUNT; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", bot_counter_names[i], c[i]);
	fputs("},\n", f);
	fprintf(f,
	        "  \"bots\": {\"total\": %u, \"welcomed\": %" PRIu64 ", \"with_snapshot\": %" PRIu64
	        "},\n",
	        o->bots, c[C_bots_welcomed], c[C_bots_with_snapshot]);
	fprintf(f,
	        "  \"inputs\": {\"sent\": %" PRIu64 ", \"acked\": %" PRIu64
	        ", \"timed_out\": %" PRIu64 ", \"pending_at_end\": %" PRIu64
	        ", \"sent_in_window\": %" PRIu64 ", \"target_rate\": ",
	        c[C_inputs_sent], c[C_inputs_acked], c[C_inputs_timed_out], c[C_inputs_pending_end],
	        c[C_inputs_in_window]);
	json_num(f, ri->target_rate);
	fputs(", \"achieved_rate\": ", f);
	json_num(f, ri->achieved_rate);
	fputs(", \"achieved_ratio\": ", f);
	if (ri->target_rate > 0)
		json_num(f, ri->achieved_rate / ri->target_rate);
	else
		fputs("null", f);
	fputs("},\n  \"rates_per_s\": {", f);
	const enum bot_counter rated[] = {C_inputs_sent, C_inputs_acked, C_snapshots,    C_pongs,
	                                  C_handshakes,  C_chat_sent,    C_chat_received};
	for (size_t i = 0; i < sizeof(rated) / sizeof(rated[0]); i++) {
		fprintf(f, "%s\"%s\": ", i ? ", " : "", bot_counter_names[rated[i]]);
		json_num(f, per_s(c[rated[i]], run));
	}
	fputs("},\n  \"snapshots_on_time_ratio\": ", f);
	if (c[C_snapshots_timed])
		json_num(f, (double)c[C_snapshots_on_time] / (double)c[C_snapshots_timed]);
	else
		fputs("null", f);
	fputs(",\n  \"latency_us\": {", f);
	for (size_t i = 0; i < H_COUNT; i++) {
		fprintf(f, "%s\n    \"%s\": ", i ? "," : "", bot_hist_names[i]);
		json_hist(f, &s->h[i]);
	}
	fputs("\n  },\n", f);
	json_errors(f, s);
	fprintf(f, "  \"bottleneck\": %s,\n  \"thresholds_failed\": %s,\n  \"exit_code\": %d,\n",
	        ri->bottleneck ? "true" : "false", ri->thresholds_failed ? "true" : "false",
	        ri->exit_code);
	fputs("  \"result\": ", f);
	json_str(f, ri->exit_reason);
	fputs("\n}\n", f);
	if (ferror(f)) {
		fclose(f);
		return -EIO;
	}
	return fclose(f) == 0 ? 0 : -errno;
}

int report_hists(const char *prefix, const struct run_stats *s)
{
	for (size_t i = 0; i < H_COUNT; i++) {
		char path[600];
		snprintf(path, sizeof(path), "%s%s.hist", prefix, bot_hist_names[i]);
		FILE *f = fopen(path, "we");
		if (!f)
			return -errno;
		int r = hist_write(&s->h[i], f);
		if (fclose(f) != 0 && r == 0)
			r = -errno;
		if (r < 0)
			return r;
	}
	return 0;
}
