/* base.h: the shared skeleton of the benchmark baselines: threads, epoll, framing, output.
 *
 * A baseline is the least a server must do to be driven by arena-bots unchanged, so that the
 * benchmarks can say how much of arenad's cost is the daemon and how much is the work itself.
 * Each baseline is N threads (--threads, default 1), each with its own SO_REUSEPORT listener
 * and epoll loop, no locks and no shared state; frames are split with arena_frame_peek() and
 * decoded and encoded with the protocol library, exactly like arenad. An application (echo,
 * greet, broadcast) supplies a message handler and, optionally, a tick. SIGTERM or SIGINT stops
 * every thread and the process exits 0.
 */
#ifndef ARENA_BENCH_BASE_H
#define ARENA_BENCH_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_proto.h"

#define BASE_OUT_CAP (1u << 20) /* pending output per connection before it is cut */

struct bthread;

struct bconn {
	int fd;
	bool closed;
	bool welcomed;
	uint32_t id;
	uint16_t carry_len;
	uint8_t *carry;
	uint8_t *out;
	size_t out_len;
	struct bconn *next_closed;
	/* application fields (broadcast) */
	int32_t room;
	uint16_t x, y;
	uint32_t ack_seq;
	uint32_t score;
	unsigned member;
};

struct bapp {
	const char *name;
	unsigned tick_hz; /* 0: no tick */
	int (*thread_init)(struct bthread *t);
	void (*thread_fini)(struct bthread *t);
	void (*on_msg)(struct bthread *t, struct bconn *c, const struct arena_msg *m);
	void (*on_close)(struct bthread *t, struct bconn *c);
	void (*on_tick)(struct bthread *t, uint32_t tick);
	/* Optional options of the application's own, each "--NAME VALUE": option() returns 0
	 * when it took the pair, -1 when the name is not its or the value is out of range. */
	const char *options_help;
	int (*option)(const char *name, const char *value);
};

struct bthread {
	const struct bapp *app;
	unsigned idx;
	int epfd, lfd, stopfd, tickfd;
	uint64_t start_ms; /* shared tick clock origin */
	uint32_t next_id;
	struct bconn *closed;
	void *state; /* the application's */
	struct arena_decoder dec;
	struct arena_msg msg; /* last decoded */
	struct arena_msg tx;  /* being encoded: not zeroed, set every field of its type */
	uint8_t rbuf[65536];
};

/* Run the baseline: parse --listen ADDR:PORT (default 127.0.0.1:7777) and --threads N, start
 * the threads, wait for SIGTERM/SIGINT. Returns the process exit status. */
int base_main(int argc, char **argv, const struct bapp *app);

/* Queue or write one frame. Returns 0, or -1 when the connection is (now) closed. */
int base_send(struct bthread *t, struct bconn *c, const void *frame, size_t len);
int base_send_msg(struct bthread *t, struct bconn *c, const struct arena_msg *m);

/* Close after the current batch of events (the struct stays valid until then). */
void base_close(struct bthread *t, struct bconn *c);

/* A WELCOME with the given tick rate, for the applications. */
int base_welcome(struct bthread *t, struct bconn *c, uint16_t tick_rate);

#endif /* ARENA_BENCH_BASE_H */
