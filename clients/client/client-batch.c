/* client-batch.c: arena-client's batch mode: commands from stdin, one line per message out.
 *
 * Commands run one at a time, in order, from the moment WELCOME arrives. `wait MS` pauses the
 * runner on a timer while messages keep being printed; a `move` that would exceed the server's
 * input_rate is held back until it is allowed (never dropped: a script asked for it). A bad
 * line is reported on stderr with its number and skipped. At end of input the runner waits
 * until every request has been answered (JOIN, LEAVE, LEADERBOARD_REQ and PING replies, MOVEs
 * acknowledged in a SNAPSHOT, own CHATs echoed), at most DRAIN_MS, then closes.
 *
 * stdin may be anything: a pipe or terminal is watched with a libevent read event; a regular
 * file or /dev/null (which epoll refuses) is read directly, which never blocks for long.
 * Output lines are `TYPE key=value ...`; strings are escaped by text_escape() so no byte from
 * the network reaches stdout unescaped, and a line is always exactly one message.
 *
 * client.c drives this file through client_batch_driver, at the end.
 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DRAIN_MS  2000
#define LINE_MAX_ 4096
#define WAIT_MAX  600000 /* ms: the longest `wait` */

struct batch {
	struct event *rd;    /* stdin readable (pollable stdin only) */
	struct event *timer; /* wait, move pacing, end-of-input drain */
	bool pollable, eof, waiting, skipping;
	uint64_t eof_at;
	unsigned lineno;
	size_t len;
	size_t raw; /* bytes of the current line, newline included */
	char buf[LINE_MAX_];
	bool have_last;
	struct arena_snapshot last; /* last SNAPSHOT printed, for --snapshots=changed */
};

static void batch_progress(struct client *c);

static void arm(struct batch *b, uint64_t us)
{
	struct timeval tv = {.tv_sec = (time_t)(us / 1000000u),
	                     .tv_usec = (suseconds_t)(us % 1000000u)};
	event_add(b->timer, &tv);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	c->bt->waiting = false;
	batch_progress(c);
}

/* Read what stdin has (once). Sets eof at end of input or on a read error. */
static void read_some(struct client *c)
{
	struct batch *b = c->bt;
	if (b->len == sizeof(b->buf) && memchr(b->buf, '\n', b->len)) {
		if (b->rd) /* full of lines not run yet: read again once they have run */
			event_del(b->rd);
		return;
	}
	if (b->len == sizeof(b->buf)) { /* a line longer than the buffer: drop it */
		fprintf(stderr, "arena-client: line %u: longer than %d bytes, ignored\n",
		        b->lineno + 1, LINE_MAX_);
		b->len = 0;
		b->skipping = true;
	}
	ssize_t n = read(STDIN_FILENO, b->buf + b->len, sizeof(b->buf) - b->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n < 0)
			fprintf(stderr, "arena-client: reading stdin: %s\n", strerror(errno));
		b->eof = true;
		if (b->rd)
			event_del(b->rd);
		return;
	}
	b->len += (size_t)n;
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	read_some(c);
	batch_progress(c);
}

static void consume_line(struct batch *b)
{
	memmove(b->buf, b->buf + b->raw, b->len - b->raw);
	b->len -= b->raw;
	b->raw = 0;
	b->lineno++;
}

/* The next complete line (not NUL-terminated, without its newline or a '\r' before it) or NULL;
 * the caller consumes it with consume_line(). A last line without a newline counts at end of
 * input. */
static char *peek_line(struct batch *b, size_t *ret_len)
{
	for (;;) {
		char *nl = memchr(b->buf, '\n', b->len);
		if (!nl && b->eof && b->len > 0 && b->len < sizeof(b->buf))
			nl = b->buf + b->len;
		if (!nl)
			return NULL;
		size_t len = (size_t)(nl - b->buf);
		b->raw = len + 1 > b->len ? b->len : len + 1;
		if (!b->skipping) {
			if (len > 0 && b->buf[len - 1] == '\r')
				len--;
			*ret_len = len;
			return b->buf;
		}
		b->skipping = false;
		consume_line(b);
	}
}

static bool parse_int(const char *s, long lo, long hi, long *ret)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

static void complain(struct client *c, const char *what, int err)
{
	fprintf(stderr, "arena-client: line %u: %s%s%s\n", c->bt->lineno + 1, what, err ? ": " : "",
	        err ? strerror(-err) : "");
}

/* Run one command line, line[0..len). Returns false if it must wait: the line is
 * then left in place and runs again when the timer fires. */
static bool run_line(struct client *c, const char *line, size_t len)
{
	char cmd[LINE_MAX_];
	memcpy(cmd, line, len);
	cmd[len] = '\0';
	char *p = cmd;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return true;
	char *arg = p + strcspn(p, " \t");
	if (*arg)
		*arg++ = '\0';
	int r = 0;
	long x, y;
	if (strcmp(p, "move") == 0) {
		char *save = NULL, *a = strtok_r(arg, " \t", &save);
		char *b2 = a ? strtok_r(NULL, " \t", &save) : NULL;
		if (!a || !b2 || strtok_r(NULL, " \t", &save) || !parse_int(a, -1, 1, &x) ||
		    !parse_int(b2, -1, 1, &y)) {
			complain(c, "usage: move DX DY (each -1, 0 or 1)", 0);
			return true;
		}
		uint64_t w = client_move_wait_us(c);
		if (w > 0) {
			c->bt->waiting = true;
			arm(c->bt, w);
			return false;
		}
		r = client_send_move(c, (int)x, (int)y);
	} else if (strcmp(p, "chat") == 0) {
		const char *text = line + (arg - cmd);
		r = client_send_chat(c, text, len - (size_t)(arg - cmd));
		if (r == -EINVAL) {
			complain(
			    c, "chat text must be 1..200 bytes of UTF-8 without control characters",
			    0);
			return true;
		}
	} else if (strcmp(p, "join") == 0) {
		r = client_send_join(c, arg, strlen(arg));
		if (r == -EINVAL) {
			complain(
			    c, "room name must be 0..32 bytes of UTF-8 without control characters",
			    0);
			return true;
		}
	} else if (strcmp(p, "leave") == 0 && !*arg) {
		r = client_send_leave(c);
	} else if (strcmp(p, "leaderboard") == 0 && !*arg) {
		r = client_send_leaderboard(c);
	} else if (strcmp(p, "ping") == 0 && !*arg) {
		r = client_send_ping(c, false);
	} else if (strcmp(p, "wait") == 0) {
		if (!parse_int(arg, 0, WAIT_MAX, &x)) {
			complain(c, "usage: wait MS (0..600000)", 0);
			return true;
		}
		c->bt->waiting = true;
		arm(c->bt, (uint64_t)x * 1000u);
	} else if (strcmp(p, "quit") == 0 && !*arg) {
		client_finish(c, CLIENT_EXIT_OK);
	} else {
		complain(c,
		         "unknown command or bad arguments (move, chat, join, leave, leaderboard, "
		         "ping, wait, quit)",
		         0);
		return true;
	}
	if (r < 0)
		complain(c, "cannot send", r);
	return true;
}

static bool all_answered(const struct client *c)
{
	if (c->pending > 0 || c->chats_pending > 0)
		return false;
	if (c->in_room && c->seq != 0 && (!c->have_snap || (int32_t)(c->seq - c->snap.ack_seq) > 0))
		return false;
	return true;
}

static void batch_progress(struct client *c)
{
	struct batch *b = c->bt;
	while (b && !c->closing && !b->waiting) {
		size_t len;
		char *line = peek_line(b, &len);
		if (line) {
			if (!run_line(c, line, len))
				return;
			if (!c->closing)
				consume_line(b);
			continue;
		}
		if (!b->eof) {
			if (b->rd) {
				if (!event_pending(b->rd, EV_READ, NULL))
					event_add(b->rd, NULL);
				return;
			}
			read_some(c);
			continue;
		}
		uint64_t now = client_now_us();
		if (b->eof_at == 0)
			b->eof_at = now;
		if (all_answered(c)) {
			client_finish(c, CLIENT_EXIT_OK);
		} else if (now - b->eof_at >= DRAIN_MS * 1000u) {
			fprintf(stderr,
			        "arena-client: end of input; closing with replies pending\n");
			client_finish(c, CLIENT_EXIT_OK);
		} else {
			b->waiting = true;
			arm(b, DRAIN_MS * 1000u - (now - b->eof_at));
		}
		return;
	}
}

static int batch_start(struct client *c)
{
	struct stat st;
	struct batch *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	c->bt = b;
	b->timer = evtimer_new(c->base, timer_cb, c);
	if (!b->timer)
		return -ENOMEM;
	if (fstat(STDIN_FILENO, &st) < 0)
		return -errno;
	b->pollable = !S_ISREG(st.st_mode) && !(S_ISCHR(st.st_mode) && !isatty(STDIN_FILENO));
	if (b->pollable) {
		b->rd = event_new(c->base, STDIN_FILENO, EV_READ | EV_PERSIST, stdin_cb, c);
		if (!b->rd)
			return -ENOMEM;
		if (event_add(b->rd, NULL) < 0) { /* not pollable after all: read directly */
			event_free(b->rd);
			b->rd = NULL;
		}
	}
	batch_progress(c);
	return 0;
}

static void batch_free(struct client *c)
{
	struct batch *b = c->bt;
	if (!b)
		return;
	if (b->rd)
		event_free(b->rd);
	if (b->timer)
		event_free(b->timer);
	free(b);
	c->bt = NULL;
}

/* ---- output ---- */

static void put_str(const char *key, const char *s, size_t len, enum text_mode mode)
{
	char out[4 * ARENA_CHAT_MAX + 1];
	text_escape(s, len, mode, out, sizeof(out));
	printf(" %s=%s", key, out);
}

static bool snap_same(const struct arena_snapshot *a, const struct arena_snapshot *b)
{
	return a->ack_seq == b->ack_seq && a->room_id == b->room_id && a->nplayers == b->nplayers &&
	       a->ngems == b->ngems &&
	       memcmp(a->players, b->players, a->nplayers * sizeof(a->players[0])) == 0 &&
	       memcmp(a->gems, b->gems, a->ngems * sizeof(a->gems[0])) == 0;
}

static void print_snapshot(struct client *c, const struct arena_snapshot *s)
{
	struct batch *b = c->bt;
	if (c->snaps == SNAP_NONE)
		return;
	if (c->snaps == SNAP_CHANGED && b && b->have_last && snap_same(&b->last, s))
		return;
	if (b) {
		b->last = *s;
		b->have_last = true;
	}
	printf("SNAPSHOT tick=%u ack=%u room=%u players=", s->tick, s->ack_seq, s->room_id);
	for (unsigned i = 0; i < s->nplayers; i++)
		printf("%s%u:%u,%u,%u", i ? ";" : "", s->players[i].id, s->players[i].x,
		       s->players[i].y, s->players[i].score);
	printf(" gems=");
	for (unsigned i = 0; i < s->ngems; i++)
		printf("%s%u,%u", i ? ";" : "", s->gems[i].x, s->gems[i].y);
	putchar('\n');
}

static void batch_on_msg(struct client *c, const struct arena_msg *m, uint64_t rtt_us,
                         bool keepalive)
{
	char tok[2 * ARENA_TOKEN_LEN + 1];
	switch (m->type) {
	case ARENA_WELCOME: {
		const struct arena_welcome *w = &m->u.welcome;
		text_format_token(w->token, tok);
		printf("WELCOME id=%u token=%s resume=%u tick_rate=%u max_payload=%u input_rate=%u "
		       "chat_rate=%u idle_timeout=%u\n",
		       w->player_id, tok, w->resume, w->tick_rate, w->max_payload, w->input_rate,
		       w->chat_rate, w->idle_timeout);
		return;
	}
	case ARENA_JOINED: {
		const struct arena_joined *j = &m->u.joined;
		printf("JOINED room=%u", j->room_id);
		put_str("name", j->room.s, j->room.len, TEXT_FIELD);
		printf(" width=%u height=%u capacity=%u x=%u y=%u\n", j->width, j->height,
		       j->capacity, j->x, j->y);
		if (c->bt)
			c->bt->have_last = false;
		return;
	}
	case ARENA_LEFT:
		puts("LEFT");
		return;
	case ARENA_SNAPSHOT:
		print_snapshot(c, &m->u.snapshot);
		return;
	case ARENA_CHAT_MSG: {
		const struct arena_chat_msg *cm = &m->u.chat_msg;
		printf("CHAT_MSG from=%u", cm->sender_id);
		put_str("name", cm->sender.s, cm->sender.len, TEXT_FIELD);
		put_str("room", cm->room.s, cm->room.len, TEXT_FIELD);
		put_str("text", cm->text.s, cm->text.len, TEXT_LAST);
		putchar('\n');
		return;
	}
	case ARENA_PONG:
		printf("PONG rtt_ms=%llu%s\n", (unsigned long long)(rtt_us / 1000u),
		       keepalive ? " keepalive=1" : "");
		return;
	case ARENA_LEADERBOARD: {
		const struct arena_leaderboard *lb = &m->u.leaderboard;
		printf("LEADERBOARD n=%u entries=", lb->n);
		for (unsigned i = 0; i < lb->n; i++) {
			char out[4 * ARENA_NAME_MAX + 1];
			text_escape(lb->entries[i].name.s, lb->entries[i].name.len, TEXT_FIELD, out,
			            sizeof(out));
			printf("%s%s:%u", i ? ";" : "", out, lb->entries[i].score);
		}
		putchar('\n');
		return;
	}
	case ARENA_ERROR:
		printf("ERROR code=%u error=%s", m->u.error.code,
		       arena_error_name(m->u.error.code));
		put_str("text", m->u.error.text.s, m->u.error.text.len, TEXT_LAST);
		putchar('\n');
		return;
	case ARENA_BYE:
		printf("BYE reason=%s code=%u", arena_bye_name(m->u.bye.reason), m->u.bye.reason);
		put_str("text", m->u.bye.text.s, m->u.bye.text.len, TEXT_LAST);
		putchar('\n');
		return;
	default:
		printf("UNKNOWN type=%u\n", m->type);
		return;
	}
}

static int batch_welcomed(struct client *c)
{
	int r = batch_start(c);
	if (r < 0)
		client_note(c, "cannot read stdin: %s", strerror(-r));
	return r;
}

const struct client_driver client_batch_driver = {
    .welcomed = batch_welcomed,
    .on_msg = batch_on_msg,
    .progress = batch_progress,
    .stop = batch_free,
};
