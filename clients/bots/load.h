/* load.h: the inside of one arena-bots load process, shared by load.c (the loop) and bot.c.
 *
 * load.c owns the bots and calls bot.c's functions below; bot.c never calls into load.c (a
 * finished bot is reported through loadproc.bot_done).
 *
 * A load process owns a libevent base, an array of bots, and one set of results. Inputs are
 * driven by a timer wheel: every bot has a fixed slot (its random phase) in the input period,
 * and one precise timer walks the slots, so a slot's intended time is exact and a late timer
 * shows up as send lag instead of silently shifting the schedule. Per-bot memory is kept small
 * (no per-bot frame decoder: complete frames are decoded in place, only a frame split across
 * reads is carried in a buffer allocated for that moment) so 100,000 bots fit comfortably.
 */
#ifndef ARENA_LOAD_H
#define ARENA_LOAD_H

#include <event2/event.h>

#include "bots.h"

#define WHEEL_END   UINT32_MAX
#define READ_BUF    65536
#define OUT_CAP     65536 /* pending output per bot before we call the server stuck */
#define BACKOFF_MIN 100   /* ms */
#define BACKOFF_MAX 5000  /* ms */

enum bot_state {
	B_IDLE = 0,   /* not started yet */
	B_CONNECTING, /* connect() in progress */
	B_HELLO,      /* HELLO sent, waiting for WELCOME */
	B_RESUMING,   /* resumed (WELCOME.resume = 1), waiting briefly for JOINED */
	B_JOINING,    /* JOIN sent, waiting for JOINED */
	B_LOBBY,      /* welcomed, not in a room (JOIN refused), keeps the connection */
	B_PLAYING,    /* in a room sending inputs (ping mode: pinging) */
	B_CHURN_WAIT, /* stopped sending, waiting for outstanding acks before a churn event */
	B_LEAVING,    /* LEAVE sent, waiting for LEFT */
	B_BACKOFF,    /* waiting to reconnect */
	B_DONE,       /* finished for good */
};

/* One outstanding input: when it was due and when it went out. The seq is implied by the
 * position in the ring (seqs are consecutive on a connection). */
struct pend {
	uint64_t intended;
	uint64_t actual;
};

struct loadproc;

struct bot {
	struct loadproc *lp;
	int fd;
	uint8_t state;
	uint8_t churn_kind; /* 0 leave+join, 1 disconnect+resume */
	bool welcomed;      /* on this connection */
	bool want_resume;   /* offer the token at the next HELLO */
	bool have_token;
	bool ever_welcomed;
	bool ever_snapshot;
	bool write_armed;     /* the io event includes EV_WRITE */
	bool churn_reconnect; /* B_BACKOFF is a churn pause, not a failure */
	uint32_t idx;         /* within this process */
	uint32_t wheel_next;  /* next bot in the same wheel slot */
	uint32_t conn_gen;    /* bumped on every new connection */
	uint32_t seq_sent;    /* last input seq sent on this connection */
	uint32_t seq_done;    /* last input seq acked or timed out */
	uint32_t ring_mask;
	uint32_t backoff_ms;
	uint32_t chats;
	uint16_t carry_len;
	struct event *io;
	struct event *timer;
	struct pend *ring;
	uint8_t *carry; /* partial frame, ARENA_FRAME_MAX bytes while in use */
	uint8_t *out;   /* pending output, OUT_CAP bytes while in use */
	uint32_t out_len;
	uint8_t token[ARENA_TOKEN_LEN];
	uint64_t connect_start;
	uint64_t last_send;
	uint64_t last_snap;
	uint64_t playing_since;
};

struct loadproc {
	const struct bots_opts *o;
	unsigned proc;
	unsigned first, count;
	uint64_t t0;
	uint64_t t_end; /* stop sending inputs */
	uint64_t win_start, win_end;
	bool win_set;
	bool stopping; /* past t_end: no new inputs, churn or reconnects */
	bool finished;
	unsigned started;     /* bots whose first connect has begun */
	unsigned house_round; /* which tenth of the bots the next housekeeping visits */
	unsigned active;      /* bots not in B_DONE */
	uint64_t ramp_start;
	double ramp_per_us; /* this process's share of --connect-rate; 0 = all at once */

	struct event_base *base;
	struct event *ramp_ev, *wheel_ev, *house_ev, *live_ev, *end_ev, *sig_term, *sig_int;
	struct bot *bots;

	/* timer wheel */
	uint32_t *slot_head;
	unsigned nslots;
	uint64_t period_us, slot_us;
	uint64_t wheel_cycle;
	unsigned wheel_slot;
	uint32_t ring_size;

	/* tick schedule estimate (snapshot tick numbers vs arrival) */
	uint64_t tick_period_us;
	bool have_tick_off;
	int64_t min_tick_off;
	uint64_t first_snap;

	/* Set by load.c, called by bot.c: a bot reached B_DONE (no reconnect), so the run may end
	 * early when none are left. The loop owns the bots; they report back only through this. */
	void (*bot_done)(struct loadproc *lp);

	struct run_stats *st;
	struct hist *live_delta;
	uint64_t rng;
	FILE *out;
	struct arena_decoder dec;
	struct arena_msg msg; /* last decoded */
	struct arena_msg tx;  /* being encoded */
	uint8_t rbuf[READ_BUF];
};

/* ---- bot.c ---- */
int bot_init(struct loadproc *lp, struct bot *b, uint32_t idx);
void bot_free(struct bot *b);
/* Begin the first connection. */
void bot_start(struct bot *b, uint64_t now);
/* The wheel reached this bot's slot: send one input due at `intended` if it is playing. */
void bot_input(struct bot *b, uint64_t intended, uint64_t now);
/* Once a second: keepalive, chat, churn, timeouts. */
void bot_housekeeping(struct bot *b, uint64_t now);
/* Inputs still waiting for an ack (0 when none or not connected). */
uint32_t bot_pending(const struct bot *b);
/* End of the run: account outstanding inputs, close, release. */
void bot_finish(struct bot *b, uint64_t now);

/* ---- the process's random numbers and measuring window (used by load.c and bot.c) ---- */

static inline uint64_t lp_rand(struct loadproc *lp)
{
	/* xorshift64* */
	uint64_t x = lp->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	lp->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline double lp_rand01(struct loadproc *lp)
{
	return (double)(lp_rand(lp) >> 11) / 9007199254740992.0; /* [0, 1) */
}

static inline bool lp_in_window(const struct loadproc *lp, uint64_t t)
{
	return lp->win_set && t >= lp->win_start && t < lp->win_end;
}

#endif /* ARENA_LOAD_H */
