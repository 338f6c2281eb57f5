/* bots.h: arena-bots' shared types: options, counters and results, and the module interfaces.
 *
 * arena-bots is one parent process and P load processes. The parent parses the options
 * (opts.c), forks the load processes (bots.c), and merges what they report over a pipe
 * (results.c) into one set of counters and histograms that report.c prints as a live line, a
 * final table and JSON. Each load process (load.c) runs a libevent loop driving its share of
 * the bots (bot.c: one connection's state machine each).
 *
 * Counters are declared once in the BOT_COUNTERS X-macro so that the pipe format, the merge and
 * the JSON all follow from the same list. Every duration is microseconds on CLOCK_MONOTONIC,
 * counted from the run epoch t0 that the parent takes before forking (the clock is system-wide,
 * so all processes share it).
 */
#ifndef ARENA_BOTS_H
#define ARENA_BOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "arena_proto.h"
#include "hist.h"

#define BOTS_SOURCES_MAX 256
#define BOTS_MAX         1000000
#define BOTS_PROCS_MAX   256

enum bots_mode {
	MODE_PLAY = 0,  /* HELLO, JOIN, MOVE at --input-hz, optional chat and churn */
	MODE_PING,      /* HELLO, then PING: closed loop, or open loop at --ping-hz */
	MODE_HANDSHAKE, /* connect, HELLO, WELCOME, close, again: handshakes per second */
};

struct bots_opts {
	char target_text[128];
	struct sockaddr_storage target;
	socklen_t target_len;
	struct sockaddr_storage source[BOTS_SOURCES_MAX]; /* port 0 */
	unsigned nsource;
	char source_text[256];

	unsigned bots;
	unsigned procs;
	double connect_rate; /* per second, all processes together; 0 = no ramp */
	double duration_s;
	enum bots_mode mode;
	char room[ARENA_ROOM_MAX + 1]; /* empty = matchmaking */
	double input_hz;               /* MOVEs per second per bot; 0 = idle */
	double ping_hz;                /* ping mode: 0 = closed loop */
	double chat_rate;              /* CHAT per minute per bot */
	double churn_rate;             /* churn events per minute per bot (probability) */
	uint32_t timeout_us;           /* an input not acked by then is a timeout */
	uint32_t connect_timeout_us;   /* connect -> WELCOME */
	uint32_t keepalive_us;         /* PING when nothing was sent for this long; 0 = off */
	bool reconnect;
	double max_p99_ms; /* < 0: no threshold */
	long long max_errors;
	char json_path[512];
	char hist_prefix[512];
	bool quiet;
	uint64_t seed;
};

/* Counters a load process keeps and the parent adds up. `connected` is a gauge (summed). */
#define BOT_COUNTERS(X)                                                                            \
	X(connects_started)    /* connect() attempts */                                            \
	X(connects_ok)         /* TCP connections established */                                   \
	X(welcomed)            /* WELCOME received */                                              \
	X(joined)              /* JOINED received */                                               \
	X(reconnects)          /* reconnect attempts after a failure (--reconnect) */              \
	X(resumes_ok)          /* WELCOME.resume = 1 after a churn reconnect */                    \
	X(resumes_expired)     /* WELCOME.resume != 1 although a token was offered */              \
	X(churn_leaves)        /* LEAVE + JOIN churn events */                                     \
	X(churn_resumes)       /* disconnect + resume churn events */                              \
	X(handshakes)          /* handshake mode: WELCOMEs completed */                            \
	X(inputs_sent)         /* MOVE (or PING in ping mode) frames sent */                       \
	X(inputs_acked)        /* ... acknowledged in time */                                      \
	X(inputs_timed_out)    /* ... not acknowledged within --timeout (or lost with the link) */ \
	X(inputs_pending_end)  /* ... still waiting at the end, not yet past --timeout */          \
	X(inputs_in_window)    /* sent inside the steady-state window */                           \
	X(window_bot_us)       /* bot-microseconds spent playing inside the window */              \
	X(window_us)           /* length of this process's steady-state window */                  \
	X(send_us)             /* length of this process's sending period (start to stop) */       \
	X(snapshots)           /* SNAPSHOT frames received */                                      \
	X(snapshots_on_time)   /* ... within one tick period of their tick's schedule */           \
	X(snapshots_timed)     /* ... for which that was measured (after warm-up) */               \
	X(bots_with_snapshot)  /* bots that received at least one SNAPSHOT */                      \
	X(bots_welcomed)       /* bots that were welcomed at least once */                         \
	X(chat_sent)           /* CHAT frames sent */                                              \
	X(chat_received)       /* CHAT_MSG frames received */                                      \
	X(pings_sent)          /* keepalive PINGs (play mode) */                                   \
	X(pongs)               /* PONG frames received */                                          \
	X(bytes_out)           /* bytes written to sockets */                                      \
	X(bytes_in)            /* bytes read from sockets */                                       \
	X(err_connect)         /* connect() failed (refused, unreachable, no free port, ...) */    \
	X(err_connect_timeout) /* no WELCOME within --connect-timeout */                           \
	X(err_decode)          /* a frame from the server failed to decode */                      \
	X(err_disconnect)      /* the server closed or reset the connection without BYE */         \
	X(err_overflow)        /* the server stopped reading: our pending output overflowed */     \
	X(join_refused) /* JOIN refused (ERROR room full / too many rooms; counted there) */       \
	X(connected)    /* gauge: connections open right now */                                    \
	X(cpu_us)       /* CPU time (user+system) of the load processes */

enum bot_counter {
#define BOT_COUNTER_ENUM(name) C_##name,
	BOT_COUNTERS(BOT_COUNTER_ENUM)
#undef BOT_COUNTER_ENUM
	    C_COUNT
};

/* Histograms (microseconds). */
#define BOT_HISTS(X)                                                                               \
	X(response)   /* ack time - intended send time (timeouts recorded at --timeout) */         \
	X(service)    /* ack time - actual send time */                                            \
	X(send_lag)   /* actual send time - intended send time */                                  \
	X(snap_gap)   /* time between consecutive snapshots of one bot in one room */              \
	X(tick_delay) /* snapshot arrival - its tick's schedule, relative to the earliest seen */  \
	X(connect)    /* connect() start -> WELCOME */

enum bot_hist {
#define BOT_HIST_ENUM(name) H_##name,
	BOT_HISTS(BOT_HIST_ENUM)
#undef BOT_HIST_ENUM
	    H_COUNT
};

#define BYE_REASONS 9  /* index 1..8 = enum arena_bye_reason, 0 = unknown */
#define ERROR_CODES 16 /* index 1..15 = enum arena_error_code, 0 = unknown */

struct run_stats {
	uint64_t c[C_COUNT];
	uint64_t bye[BYE_REASONS];       /* BYE frames received, by reason */
	uint64_t bye_early[BYE_REASONS]; /* ... of those, before WELCOME (refusals) */
	uint64_t err_code[ERROR_CODES];  /* ERROR frames received, by code */
	struct hist h[H_COUNT];
};

extern const char *const bot_counter_names[C_COUNT];
extern const char *const bot_hist_names[H_COUNT];

/* ---- opts.c ---- */

/* Parse argv into *ret. Returns 0 to run, 1 when --help/--version was printed (exit 0), or
 * -EINVAL after printing what was wrong to stderr. */
int bots_opts_parse(int argc, char **argv, struct bots_opts *ret);
void bots_usage(FILE *out);

/* ---- results.c: stats arithmetic and the pipe between load processes and the parent ---- */

void run_stats_reset(struct run_stats *s);
void run_stats_merge(struct run_stats *dst, const struct run_stats *src);
/* Errors of every kind added up (the "errors" the thresholds and the live line use). */
uint64_t run_stats_errors(const struct run_stats *s);

/* Load process -> parent: a live update (a few counters and the response histogram recorded
 * since the previous update), and the final results. Both return 0 or -EIO. */
int results_write_live(FILE *out, uint64_t elapsed_us, const struct run_stats *s,
                       const struct hist *response_delta);
int results_write_final(FILE *out, const struct run_stats *s);

/* The parent's reader: feed it one line at a time (NUL-terminated, '\n' stripped). */
struct results_reader {
	int state;
	struct hist_parser hp;
	struct hist *cur;      /* histogram being parsed */
	size_t field;          /* lines of the final section read so far */
	struct run_stats *fin; /* final results being parsed (owned by the caller) */
	struct hist *live_delta;
	bool have_final;
	/* latest live values */
	uint64_t live_elapsed_us;
	uint64_t live[C_COUNT];
	uint64_t live_errors;
	bool live_ready; /* a complete live update (with its histogram) arrived */
};
void results_reader_init(struct results_reader *r, struct run_stats *fin, struct hist *delta);
/* Returns 0, or -EBADMSG for anything malformed (the child is then considered broken). */
int results_reader_line(struct results_reader *r, const char *line);

/* ---- load.c: one load process ---- */

/* Run bots [first, first + count) as load process `proc`, writing results to out_fd. t0_us is
 * the shared epoch. Returns 0, or a negative errno for a setup failure. */
int load_main(const struct bots_opts *o, unsigned proc, unsigned first, unsigned count, int out_fd,
              uint64_t t0_us);

/* ---- report.c ---- */

struct report_info {
	const struct bots_opts *o;
	double elapsed_s;     /* whole run */
	double steady_s;      /* nominal steady-state window */
	double target_rate;   /* inputs/s the bots should have sent in the window */
	double achieved_rate; /* inputs/s they did send */
	bool bottleneck;      /* achieved < 95% of target */
	bool thresholds_failed;
	int exit_code;
	const char *exit_reason;
};

void report_live(FILE *out, double elapsed_s, const uint64_t *c, uint64_t errors,
                 double inputs_per_s, double snaps_per_s, const struct hist *response);
void report_table(FILE *out, const struct run_stats *s, const struct report_info *ri);
int report_json(const char *path, const struct run_stats *s, const struct report_info *ri);
int report_hists(const char *prefix, const struct run_stats *s);

/* ---- time ---- */

/* Monotonic clock in microseconds. */
static inline uint64_t bots_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif /* ARENA_BOTS_H */
