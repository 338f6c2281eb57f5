/* client-term.c: arena-client's interactive mode: raw terminal, keys, and screen updates.
 *
 * The terminal is put in raw mode with termios (no echo, no line editing, no output
 * processing; ISIG stays on so Ctrl-C and Ctrl-Z still raise signals) and switched to the
 * alternate screen. It is restored on every way out: the normal path (term_free), atexit, the
 * fatal signals (a handler that only calls async-signal-safe functions, then re-raises), and
 * SIGINT/SIGTERM/SIGHUP, which client.c turns into a clean exit through libevent. SIGTSTP
 * restores the terminal, stops, and re-enters raw mode on SIGCONT; SIGWINCH re-reads the size.
 *
 * Keys move the player (MOVE at most input_rate per second: a key repeat faster than that is
 * dropped here rather than by the server), or open a one-line prompt (chat, join) edited in
 * place. Received messages update the client state and set a notice; the screen is redrawn
 * from that state by client-view.c, coalesced to one redraw per REDRAW_MS.
 *
 * client.c drives this file through client_term_driver, at the end.
 */
#include "client.h"

#include <event2/buffer.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define REDRAW_MS 15

static const char enter_seq[] = "\033[?1049h\033[?25l\033[H\033[2J";
static const char leave_seq[] = "\033[0m\033[?25h\033[?1049l";

enum prompt { PROMPT_NONE, PROMPT_CHAT, PROMPT_JOIN };

struct term {
	struct event *in, *winch, *tstp, *redraw;
	int rows, cols;
	bool utf8;
	enum prompt prompt;
	size_t llen;
	char line[ARENA_CHAT_MAX + 1];
	struct evbuffer *out;
	char token[2 * ARENA_TOKEN_LEN + 1];
};

/* What the signal handlers need: kept apart from struct term, written before raw mode. */
static struct termios saved_tio;
static volatile sig_atomic_t term_raw;

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Async-signal-safe: write(2) and tcsetattr(3) only. */
static void term_restore(void)
{
	if (!term_raw)
		return;
	term_raw = 0;
	write_all(STDOUT_FILENO, leave_seq, sizeof(leave_seq) - 1);
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

static void fatal_handler(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int term_enter(void)
{
	struct termios raw = saved_tio;
	raw.c_iflag &=
	    ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	raw.c_oflag &= ~(tcflag_t)OPOST;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return -errno;
	term_raw = 1;
	write_all(STDOUT_FILENO, enter_seq, sizeof(enter_seq) - 1);
	return 0;
}

static void read_size(struct term *t)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
		t->rows = ws.ws_row;
		t->cols = ws.ws_col;
	} else {
		t->rows = 24;
		t->cols = 80;
	}
}

static void redraw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	struct term *t = c->tm;
	static const char *const labels[] = {NULL, "chat> ", "join room (empty: matchmaking)> "};
	if (!t || !term_raw)
		return;
	evbuffer_drain(t->out, evbuffer_get_length(t->out));
	t->line[t->llen] = '\0';
	if (view_render(c, t->rows, t->cols, labels[t->prompt],
	                t->prompt != PROMPT_NONE ? t->line : NULL, t->out) < 0)
		return;
	while (evbuffer_get_length(t->out) > 0) {
		int n = evbuffer_write(t->out, STDOUT_FILENO);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
}

static void term_dirty(struct client *c)
{
	struct term *t = c->tm;
	if (!t || evtimer_pending(t->redraw, NULL))
		return;
	struct timeval tv = {.tv_usec = REDRAW_MS * 1000};
	evtimer_add(t->redraw, &tv);
}

static void notice(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(struct client *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	term_dirty(c);
}

/* A network string made safe for the terminal (and for a notice). */
static const char *safe(const struct client *c, const char *s, size_t len, char *buf, size_t cap)
{
	text_term(s, len, c->tm && c->tm->utf8, 64, buf, cap);
	return buf;
}

/* ---- keys ---- */

static void try_move(struct client *c, int dx, int dy)
{
	if (!c->in_room) {
		notice(c, "You are in the lobby: press j to join a room.");
		return;
	}
	if (client_move_wait_us(c) > 0)
		return; /* faster than input_rate (a key repeat): dropped here */
	if (client_send_move(c, dx, dy) < 0)
		notice(c, "Cannot send the move.");
}

static void submit(struct client *c)
{
	struct term *t = c->tm;
	enum prompt p = t->prompt;
	int r = 0;
	t->prompt = PROMPT_NONE;
	if (p == PROMPT_CHAT) {
		if (t->llen == 0)
			return;
		r = client_send_chat(c, t->line, t->llen);
		if (r == -EINVAL)
			notice(c, "Chat text must be 1..%d bytes of valid UTF-8.", ARENA_CHAT_MAX);
	} else {
		r = client_send_join(c, t->line, t->llen);
		if (r == -EINVAL)
			notice(c, "A room name is 0..%d bytes of valid UTF-8.", ARENA_ROOM_MAX);
		else if (r == 0)
			notice(c, "Joining...");
	}
	if (r < 0 && r != -EINVAL)
		notice(c, "Cannot send: %s", strerror(-r));
	t->llen = 0;
}

static void open_prompt(struct client *c, enum prompt p)
{
	c->tm->prompt = p;
	c->tm->llen = 0;
	c->show_lb = false;
	term_dirty(c);
}

/* One byte typed into the prompt. */
static void prompt_key(struct client *c, unsigned char ch)
{
	struct term *t = c->tm;
	size_t max = t->prompt == PROMPT_CHAT ? ARENA_CHAT_MAX : ARENA_ROOM_MAX;
	if (ch == '\r' || ch == '\n') {
		submit(c);
	} else if (ch == 0x7f || ch == 0x08) {
		while (t->llen > 0 && ((unsigned char)t->line[t->llen - 1] & 0xc0) == 0x80)
			t->llen--; /* continuation bytes of the last character */
		if (t->llen > 0)
			t->llen--;
	} else if (ch == 0x15) { /* Ctrl-U */
		t->llen = 0;
	} else if (ch >= 0x20 && t->llen < max) {
		t->line[t->llen++] = (char)ch;
	}
	term_dirty(c);
}

static void normal_key(struct client *c, unsigned char ch)
{
	switch (ch) {
	case 'w':
	case 'W':
	case 'K':
		try_move(c, 0, -1);
		break;
	case 's':
	case 'S':
	case 'J':
		try_move(c, 0, 1);
		break;
	case 'a':
	case 'A':
	case 'H':
		try_move(c, -1, 0);
		break;
	case 'd':
	case 'D':
	case 'L':
		try_move(c, 1, 0);
		break;
	case '\r':
	case '\n':
	case 't':
		open_prompt(c, PROMPT_CHAT);
		break;
	case 'j':
		open_prompt(c, PROMPT_JOIN);
		break;
	case 'l':
		if (client_send_leave(c) < 0)
			notice(c, "Cannot send LEAVE.");
		break;
	case 'b':
		if (c->show_lb)
			c->show_lb = false;
		else if (client_send_leaderboard(c) < 0)
			notice(c, "Cannot ask for the leaderboard.");
		term_dirty(c);
		break;
	case 'p':
		if (client_send_ping(c, false) < 0)
			notice(c, "Cannot send PING.");
		break;
	case 'q':
		client_finish(c, CLIENT_EXIT_OK);
		break;
	case 0x0c: /* Ctrl-L */
		write_all(STDOUT_FILENO, "\033[2J", 4);
		term_dirty(c);
		break;
	default:
		break;
	}
}

/* An escape sequence at buf[0..n) (buf[0] == ESC). Returns the bytes it spans. */
static size_t escape_key(struct client *c, const unsigned char *buf, size_t n)
{
	if (n == 1) { /* a lone ESC: cancels a prompt */
		if (c->tm->prompt != PROMPT_NONE) {
			c->tm->prompt = PROMPT_NONE;
			term_dirty(c);
		}
		return 1;
	}
	if (buf[1] != '[' && buf[1] != 'O')
		return 1; /* Alt+key: ignore the ESC, the key follows */
	size_t i = 2;
	while (i < n && (buf[i] < 0x40 || buf[i] > 0x7e))
		i++; /* parameters */
	if (i == n)
		return n;
	if (c->tm->prompt == PROMPT_NONE) {
		switch (buf[i]) {
		case 'A':
			try_move(c, 0, -1);
			break;
		case 'B':
			try_move(c, 0, 1);
			break;
		case 'C':
			try_move(c, 1, 0);
			break;
		case 'D':
			try_move(c, -1, 0);
			break;
		default:
			break;
		}
	}
	return i + 1;
}

static void stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	unsigned char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_finish(c, CLIENT_EXIT_OK); /* the terminal went away */
		return;
	}
	for (size_t i = 0; i < (size_t)n && !c->closing;) {
		if (buf[i] == 0x1b) {
			i += escape_key(c, buf + i, (size_t)n - i);
		} else if (c->tm->prompt != PROMPT_NONE) {
			prompt_key(c, buf[i++]);
		} else {
			normal_key(c, buf[i++]);
		}
	}
}

static void winch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	read_size(c->tm);
	write_all(STDOUT_FILENO, "\033[2J", 4);
	term_dirty(c);
}

static void tstp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	term_restore();
	kill(getpid(), SIGSTOP);
	/* continued */
	if (term_enter() < 0) {
		client_note(c, "cannot set up the terminal again");
		client_finish(c, CLIENT_EXIT_LOCAL);
		return;
	}
	read_size(c->tm);
	term_dirty(c);
}

/* ---- received messages ---- */

static void term_on_msg(struct client *c, const struct arena_msg *m, uint64_t rtt_us,
                        bool keepalive)
{
	char a[4 * ARENA_CHAT_MAX + 1], b[4 * ARENA_CHAT_MAX + 1];
	switch (m->type) {
	case ARENA_WELCOME:
		text_format_token(m->u.welcome.token, c->tm->token);
		notice(c, "Welcome, player %u. Resume token: %s", m->u.welcome.player_id,
		       c->tm->token);
		break;
	case ARENA_JOINED:
		notice(c, "Joined room %s (%ux%u, %u seats).",
		       safe(c, m->u.joined.room.s, m->u.joined.room.len, a, sizeof(a)),
		       m->u.joined.width, m->u.joined.height, m->u.joined.capacity);
		break;
	case ARENA_LEFT:
		notice(c, "Back in the lobby: press j to join a room.");
		break;
	case ARENA_CHAT_MSG: {
		struct client_chat_line *l = &c->chat[c->nchat++ % CLIENT_CHAT_LINES];
		l->sender_id = m->u.chat_msg.sender_id;
		memcpy(l->sender, m->u.chat_msg.sender.s, m->u.chat_msg.sender.len + 1u);
		memcpy(l->text, m->u.chat_msg.text.s, m->u.chat_msg.text.len + 1u);
		break;
	}
	case ARENA_PONG:
		if (!keepalive)
			notice(c, "Pong: %llu ms.", (unsigned long long)(rtt_us / 1000u));
		break;
	case ARENA_LEADERBOARD:
		c->lb = m->u.leaderboard;
		c->show_lb = true;
		break;
	case ARENA_ERROR:
		notice(c, "Error %s: %s", arena_error_name(m->u.error.code),
		       safe(c, m->u.error.text.s, m->u.error.text.len, a, sizeof(a)));
		break;
	case ARENA_BYE:
		safe(c, m->u.bye.text.s, m->u.bye.text.len, b, sizeof(b));
		client_note(c, "the server said goodbye: %s%s%s", arena_bye_name(m->u.bye.reason),
		            b[0] ? ": " : "", b);
		break;
	default:
		break;
	}
	term_dirty(c);
}

/* ---- set-up and tear-down ---- */

static void restore_atexit(void)
{
	term_restore();
}

static int term_start(struct client *c)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
	struct term *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	c->tm = t;
	const char *cs = nl_langinfo(CODESET);
	t->utf8 = cs && strcmp(cs, "UTF-8") == 0;
	c->utf8 = t->utf8;
	read_size(t);
	t->out = evbuffer_new();
	t->in = event_new(c->base, STDIN_FILENO, EV_READ | EV_PERSIST, stdin_cb, c);
	t->winch = evsignal_new(c->base, SIGWINCH, winch_cb, c);
	t->tstp = evsignal_new(c->base, SIGTSTP, tstp_cb, c);
	t->redraw = evtimer_new(c->base, redraw_cb, c);
	if (!t->out || !t->in || !t->winch || !t->tstp || !t->redraw)
		return -ENOMEM;
	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	atexit(restore_atexit);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction sa = {.sa_handler = fatal_handler, .sa_flags = SA_RESETHAND};
		sigemptyset(&sa.sa_mask);
		sigaction(fatal[i], &sa, NULL);
	}
	int r = term_enter();
	if (r < 0)
		return r;
	if (event_add(t->in, NULL) < 0 || event_add(t->winch, NULL) < 0 ||
	    event_add(t->tstp, NULL) < 0)
		return -ENOMEM;
	snprintf(c->msg, sizeof(c->msg), "Connected to %s; saying hello...", c->target);
	term_dirty(c);
	return 0;
}

static void term_free(struct client *c)
{
	struct term *t = c->tm;
	term_restore();
	if (!t)
		return;
	if (t->token[0])
		fprintf(stderr,
		        "arena-client: to resume this player: arena-client --name '%s' "
		        "--resume %s %s\n",
		        c->name, t->token, c->target);
	if (t->in)
		event_free(t->in);
	if (t->winch)
		event_free(t->winch);
	if (t->tstp)
		event_free(t->tstp);
	if (t->redraw)
		event_free(t->redraw);
	if (t->out)
		evbuffer_free(t->out);
	free(t);
	c->tm = NULL;
}

static int term_begin(struct client *c)
{
	int r = term_start(c);
	if (r < 0)
		fprintf(stderr, "arena-client: cannot set up the terminal: %s\n", strerror(-r));
	return r;
}

const struct client_driver client_term_driver = {
    .start = term_begin,
    .on_msg = term_on_msg,
    .stop = term_free,
};
