/* client.h: arena-client, the terminal client: the state shared by its parts.
 *
 * One process, one connection, one libevent loop. client-main.c owns the command line and
 * picks the front end; client.c owns the connection and the protocol (every frame goes through
 * the one codec, arena_proto.h) and hands each decoded server message to the active front end
 * through struct client_driver: client-batch.c (one line per message on stdout, commands from
 * stdin) or client-term.c + client-view.c (full-screen terminal UI). client-net.c connects;
 * client-text.c makes network strings safe to print. Dependencies point one way: client-main.c
 * -> front ends -> client.c -> client-net.c, client-text.c; client.c never names a front end.
 * Everything is single-threaded; the session state is the one struct client, in main() (the
 * terminal code keeps the saved termios apart, for its signal handlers).
 */
#ifndef ARENA_CLIENT_H
#define ARENA_CLIENT_H

#include "protocol/arena_proto.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses (documented in --help, arena-client(1) and docs/CLIENT.md). */
enum client_exit {
	CLIENT_EXIT_OK = 0,       /* quit, end of input, or BYE(shutdown) */
	CLIENT_EXIT_CONNECT = 1,  /* could not resolve or connect to the server */
	CLIENT_EXIT_USAGE = 2,    /* bad command line */
	CLIENT_EXIT_ENDED = 3,    /* BYE with any other reason, or the server closed/reset */
	CLIENT_EXIT_PROTOCOL = 4, /* the server sent a frame the codec rejects */
	CLIENT_EXIT_LOCAL = 5,    /* local failure: out of memory, terminal, event loop */
};

enum snap_mode {
	SNAP_CHANGED = 0, /* print a SNAPSHOT when anything but its tick changed */
	SNAP_ALL = 1,
	SNAP_NONE = 2,
};

#define CLIENT_CHAT_LINES 64 /* chat lines the terminal view keeps */
#define CLIENT_MSG_MAX    256

struct client_chat_line {
	uint32_t sender_id;
	char sender[ARENA_NAME_MAX + 1];
	char text[ARENA_CHAT_MAX + 1];
};

struct client;

/* A front end: what client.c calls, never naming one. Hooks marked optional may be NULL.
 * A hook that fails has already told the user why (stderr, or client_note()). */
struct client_driver {
	/* optional: before HELLO is sent. 0 or -errno (the session does not start). */
	int (*start)(struct client *c);
	/* optional: after WELCOME. 0 or -errno (the session ends with CLIENT_EXIT_LOCAL). */
	int (*welcomed)(struct client *c);
	/* every decoded server message, after the session state was updated */
	void (*on_msg)(struct client *c, const struct arena_msg *m, uint64_t rtt_us,
	               bool keepalive);
	/* optional: after each message while the session is open */
	void (*progress)(struct client *c);
	/* when the loop is over: restore what start changed, free the front end's state */
	void (*stop)(struct client *c);
};

extern const struct client_driver client_batch_driver; /* client-batch.c */
extern const struct client_driver client_term_driver;  /* client-term.c */

struct client {
	/* options */
	const char *name;
	const char *room; /* NULL: stay in the lobby */
	const char *target;
	bool batch;
	bool have_resume;
	uint8_t resume[ARENA_TOKEN_LEN];
	enum snap_mode snaps;

	struct event_base *base;
	struct bufferevent *bev;
	struct arena_decoder dec;
	int exit_code;
	bool closing;

	/* session state, as the server reported it */
	bool welcomed;
	struct arena_welcome welcome;
	bool in_room;
	struct arena_joined joined;
	bool have_snap;
	struct arena_snapshot snap;
	uint32_t seq;          /* last MOVE seq sent */
	uint64_t last_move_us; /* monotonic time of the last MOVE sent */
	uint64_t last_send_us;
	int rtt_ms;       /* last ping round trip, -1 before any */
	unsigned pending; /* requests (JOIN, LEAVE, LEADERBOARD_REQ, PING) not yet answered */
	unsigned chats_pending;

	/* terminal view state (interactive mode only) */
	struct client_chat_line chat[CLIENT_CHAT_LINES];
	unsigned nchat;           /* lines ever received; chat[i % CLIENT_CHAT_LINES] */
	char msg[CLIENT_MSG_MAX]; /* one-line notice (errors, LEFT, ...) */
	bool utf8;                /* the terminal's locale is UTF-8 */
	bool show_lb;             /* the leaderboard replaces the chat lines */
	struct arena_leaderboard lb;
	struct event *keepalive;
	char note[CLIENT_MSG_MAX]; /* terminal mode: printed on stderr after the restore */

	const struct client_driver *drv; /* the front end, chosen by client-main.c */
	struct batch *bt;
	struct term *tm;
};

/* ---- client.c: connection and protocol ---- */

/* Connect to c->target, say HELLO and run the session with the front end c->drv until it
 * ends. Returns the exit status (enum client_exit). */
int client_run(struct client *c);

/* Monotonic clock in microseconds. */
uint64_t client_now_us(void);

/* Encode msg with the codec and queue it on the connection. Returns 0, -EINVAL if the codec
 * refuses the message (nothing sent), -ENOTCONN before the connection is up or after it closed,
 * or -ENOBUFS if the server stopped reading. */
int client_send(struct client *c, const struct arena_msg *msg);

/* Helpers building one message each and sending it with client_send(); they keep the request
 * bookkeeping (pending replies, MOVE seq, ping stamps). Same returns as client_send(); the
 * string ones also -EINVAL for a string the protocol does not allow. */
int client_send_move(struct client *c, int dx, int dy);
int client_send_chat(struct client *c, const char *text, size_t len);
int client_send_join(struct client *c, const char *room, size_t len);
int client_send_leave(struct client *c);
int client_send_leaderboard(struct client *c);
int client_send_ping(struct client *c, bool keepalive);

/* Report a problem to the user: on stderr at once in batch mode; in terminal mode kept and
 * printed on stderr once the terminal is restored (the first note wins). */
void client_note(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Microseconds until the next MOVE is allowed by the server's input_rate (0: now). */
uint64_t client_move_wait_us(const struct client *c);

/* End the session: close the connection and leave the event loop with exit status `code`
 * (the first status given wins). */
void client_finish(struct client *c, int code);

/* ---- client-net.c: connecting ---- */

/* Resolve target ("HOST:PORT", "[IPV6]:PORT") and connect to the first address that answers.
 * Returns a connected, non-blocking, close-on-exec socket, or minus an exit status
 * (-CLIENT_EXIT_USAGE for a malformed target, -CLIENT_EXIT_CONNECT otherwise) after saying
 * why on stderr. */
int client_connect(const char *target);

/* ---- client-view.c: drawing the screen ---- */

/* Append the whole screen for a rows x cols terminal to buf (ANSI escapes); prompt is the
 * line being edited (NULL when none) with its label. Returns 0 or -ENOMEM. */
struct evbuffer;
int view_render(const struct client *c, int rows, int cols, const char *prompt_label,
                const char *prompt, struct evbuffer *out);

/* ---- client-text.c: making network strings safe to print ---- */

enum text_mode {
	TEXT_LAST = 0,  /* last field of a line: escape '\\', controls, C1 and invalid bytes */
	TEXT_FIELD = 1, /* a field among others: also escape ' ', ',', ':', ';', '=' */
};

/* Escape s[0..len) for a batch output line into out[0..cap) (NUL-terminated, truncated to
 * fit). Every byte that is not printable ASCII or part of a printable UTF-8 character (C0,
 * DEL, C1 controls, invalid UTF-8), and the characters mode names, becomes \xNN per byte; a
 * backslash becomes \\. Returns the length written. */
size_t text_escape(const char *s, size_t len, enum text_mode mode, char *out, size_t cap);

/* Copy s[0..len) for the terminal into out[0..cap) (NUL-terminated), using at most max_cols
 * columns: control characters (C0, DEL, C1), bidirectional overrides, invalid UTF-8 and,
 * unless utf8 is true, every non-ASCII character become '?'. Returns the columns used. */
size_t text_term(const char *s, size_t len, bool utf8, size_t max_cols, char *out, size_t cap);

/* Parse 32 hex digits into a token. Returns 0 or -EINVAL (ret untouched). */
int text_parse_token(const char *s, uint8_t ret_token[ARENA_TOKEN_LEN]);
/* Format a token as 32 lowercase hex digits plus NUL. */
void text_format_token(const uint8_t token[ARENA_TOKEN_LEN], char out[2 * ARENA_TOKEN_LEN + 1]);

#endif /* ARENA_CLIENT_H */
