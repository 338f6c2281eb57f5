/* arena_proto.h: the arena wire protocol, the one codec used by server, bots, client and fuzzers.
 *
 * Frames are length-prefixed and binary, all integers in network byte order:
 *
 *     +----------------+--------+---------------------------+
 *     | u16 length     | u8 type| payload (length bytes)    |
 *     +----------------+--------+---------------------------+
 *
 * `length` counts the payload only (not the 3-byte header). A receiver enforces its own maximum
 * payload size (`max_payload`, at most ARENA_PAYLOAD_MAX) and rejects a larger length as soon as
 * the header is seen, before buffering any payload. protocol/PROTOCOL.md is the normative spec;
 * this header is its C form.
 *
 * Contract of the whole library: functions return 0 (or a length) on success and a negative
 * errno on failure; output parameters come last and are untouched on failure; nothing here
 * allocates, logs, or keeps global state. The decoder validates every field (lengths, ranges,
 * UTF-8) before it hands a message over, so a decoded struct arena_msg can be trusted as is.
 */
#ifndef ARENA_PROTO_H
#define ARENA_PROTO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARENA_PROTO_VERSION 1

#define ARENA_HEADER_SIZE            3    /* u16 length + u8 type */
#define ARENA_PAYLOAD_MAX            8192 /* hard upper bound of any payload, either direction */
#define ARENA_FRAME_MAX              (ARENA_HEADER_SIZE + ARENA_PAYLOAD_MAX)
#define ARENA_CLIENT_PAYLOAD_DEFAULT 512 /* default max payload a server accepts from a client */

#define ARENA_NAME_MAX         32  /* player name: 1..32 bytes of UTF-8 */
#define ARENA_ROOM_MAX         32  /* room name: 0..32 bytes (0 = matchmaking in JOIN) */
#define ARENA_CHAT_MAX         200 /* chat text: 1..200 bytes */
#define ARENA_TEXT_MAX         200 /* ERROR / BYE human-readable text: 0..200 bytes */
#define ARENA_TOKEN_LEN        16  /* resume token, opaque bytes; all zero = none */
#define ARENA_SNAP_PLAYERS_MAX 64  /* players in one SNAPSHOT */
#define ARENA_SNAP_GEMS_MAX    32  /* gems in one SNAPSHOT */
#define ARENA_LEADERBOARD_MAX  100 /* entries in one LEADERBOARD reply */
/* Largest SNAPSHOT room part (u16 room_id, u8 n, 64 x 12-byte players, u8 n, 32 x 4-byte gems)
 * and largest whole SNAPSHOT frame (header, u32 tick, u32 ack_seq, room part). */
#define ARENA_SNAP_ROOM_MAX  (2 + 1 + ARENA_SNAP_PLAYERS_MAX * 12 + 1 + ARENA_SNAP_GEMS_MAX * 4)
#define ARENA_SNAP_FRAME_MAX (ARENA_HEADER_SIZE + 8 + ARENA_SNAP_ROOM_MAX)

/* Message types. Client-to-server types are 0x01..0x7f, server-to-client 0x81..0xff. */
enum arena_msg_type {
	ARENA_HELLO = 0x01,
	ARENA_JOIN = 0x02,
	ARENA_LEAVE = 0x03,
	ARENA_MOVE = 0x04,
	ARENA_CHAT = 0x05,
	ARENA_PING = 0x06,
	ARENA_LEADERBOARD_REQ = 0x07,

	ARENA_WELCOME = 0x81,
	ARENA_JOINED = 0x82,
	ARENA_LEFT = 0x83,
	ARENA_SNAPSHOT = 0x84,
	ARENA_CHAT_MSG = 0x85,
	ARENA_PONG = 0x86,
	ARENA_LEADERBOARD = 0x87,
	ARENA_ERROR = 0x88,
	ARENA_BYE = 0x89,
};

/* ERROR codes (u16 on the wire). Codes marked fatal are followed by BYE and a close. */
enum arena_error_code {
	ARENA_ERR_MALFORMED = 1,        /* fatal: truncated field, bad length, trailing bytes */
	ARENA_ERR_FRAME_TOO_BIG = 2,    /* fatal: length above the receiver's max payload */
	ARENA_ERR_UNKNOWN_TYPE = 3,     /* fatal: unknown or wrong-direction message type */
	ARENA_ERR_BAD_UTF8 = 4,         /* fatal: a string is not valid UTF-8 / has control chars */
	ARENA_ERR_OUT_OF_RANGE = 5,     /* fatal: a field outside its allowed range */
	ARENA_ERR_VERSION = 6,          /* fatal: HELLO with an unsupported protocol version */
	ARENA_ERR_NOT_WELCOMED = 7,     /* fatal: any message before HELLO */
	ARENA_ERR_ALREADY_WELCOMED = 8, /* fatal: a second HELLO */
	ARENA_ERR_NOT_IN_ROOM = 9,      /* MOVE, CHAT or LEAVE while in the lobby */
	ARENA_ERR_ROOM_FULL = 10,       /* JOIN of a room at capacity */
	ARENA_ERR_TOO_MANY_ROOMS = 11,  /* JOIN would create a room beyond max_rooms */
	ARENA_ERR_RATE_LIMITED = 12,    /* input or chat above the allowed rate; message dropped */
	ARENA_ERR_BAD_NAME = 13,        /* name empty or otherwise unacceptable */
	ARENA_ERR_SERVER_FULL = 14,     /* no free player slot */
	ARENA_ERR_INTERNAL = 15,        /* server-side failure; the client may retry */
};

/* BYE reasons (u8 on the wire). */
enum arena_bye_reason {
	ARENA_BYE_SHUTDOWN = 1,
	ARENA_BYE_KICKED = 2,
	ARENA_BYE_SERVER_FULL = 3,
	ARENA_BYE_IDLE = 4, /* idle timeout or handshake timeout */
	ARENA_BYE_PROTOCOL_ERROR = 5,
	ARENA_BYE_TOO_SLOW = 6, /* the client did not read; output buffer cap reached */
	ARENA_BYE_FLOOD = 7,    /* persistent input flooding after throttling */
	ARENA_BYE_IP_LIMIT = 8, /* too many connections from this address */
};

/* WELCOME.resume values. */
enum arena_resume_status {
	ARENA_RESUME_NONE = 0,    /* no token offered: fresh player */
	ARENA_RESUME_OK = 1,      /* token accepted: id, score and room restored */
	ARENA_RESUME_EXPIRED = 2, /* token unknown or past resume_grace: fresh player */
};

/* Decoder error classes: each malformed class has its own negative errno. */
#define ARENA_E_TRUNCATED EBADMSG   /* payload shorter than its fields need */
#define ARENA_E_OVERSIZE  EMSGSIZE  /* length above max_payload */
#define ARENA_E_UNKNOWN   ENOMSG    /* unknown type, or a type of the other direction */
#define ARENA_E_UTF8      EILSEQ    /* invalid UTF-8 or a control character in a string */
#define ARENA_E_RANGE     ERANGE    /* a field outside its range (dx=2, empty name, n > max) */
#define ARENA_E_TRAILING  ENOTEMPTY /* bytes left inside the frame after the last field */

/* A string as carried in a decoded message: NUL-terminated copy, len excludes the NUL. */
struct arena_str32 {
	uint8_t len;
	char s[ARENA_NAME_MAX + 1];
};
struct arena_text {
	uint8_t len;
	char s[ARENA_CHAT_MAX + 1];
};

struct arena_hello {
	uint16_t version;
	struct arena_str32 name;        /* 1..ARENA_NAME_MAX */
	uint8_t token[ARENA_TOKEN_LEN]; /* all zero = no resume requested */
};

struct arena_welcome {
	uint32_t player_id;
	uint8_t token[ARENA_TOKEN_LEN];
	uint8_t resume;        /* enum arena_resume_status, 0..2 */
	uint16_t tick_rate;    /* Hz, >= 1 */
	uint16_t max_payload;  /* largest client payload the server accepts, <= 8192 */
	uint16_t input_rate;   /* MOVE per second allowed */
	uint16_t chat_rate;    /* CHAT per 10 s allowed */
	uint16_t idle_timeout; /* seconds without any client frame before BYE(idle) */
};

struct arena_join {
	struct arena_str32 room; /* 0..ARENA_ROOM_MAX, empty = matchmaking */
};

struct arena_joined {
	uint16_t room_id;
	struct arena_str32 room; /* 1..ARENA_ROOM_MAX */
	uint16_t width, height;  /* grid size, 1..4096 */
	uint8_t capacity;        /* 1..ARENA_SNAP_PLAYERS_MAX */
	uint16_t x, y;           /* the player's spawn cell: x < width, y < height */
};

struct arena_move {
	uint32_t seq;
	int8_t dx, dy; /* each in {-1, 0, 1} */
};

struct arena_chat {
	struct arena_text text; /* 1..ARENA_CHAT_MAX */
};

struct arena_ping {
	uint64_t stamp; /* opaque to the server, echoed in PONG */
};

struct arena_snap_player {
	uint32_t id;
	uint16_t x, y;
	uint32_t score;
};

struct arena_gem {
	uint16_t x, y;
};

struct arena_snapshot {
	uint32_t tick;
	uint32_t ack_seq; /* last MOVE seq applied for the recipient */
	uint16_t room_id;
	uint8_t nplayers; /* 0..ARENA_SNAP_PLAYERS_MAX */
	struct arena_snap_player players[ARENA_SNAP_PLAYERS_MAX];
	uint8_t ngems; /* 0..ARENA_SNAP_GEMS_MAX */
	struct arena_gem gems[ARENA_SNAP_GEMS_MAX];
};

struct arena_chat_msg {
	uint32_t sender_id;
	struct arena_str32 sender; /* 1..ARENA_NAME_MAX */
	struct arena_str32 room;   /* 1..ARENA_ROOM_MAX */
	struct arena_text text;    /* 1..ARENA_CHAT_MAX */
};

struct arena_lb_entry {
	struct arena_str32 name;
	uint32_t score;
};

struct arena_leaderboard {
	uint8_t n; /* 0..ARENA_LEADERBOARD_MAX */
	struct arena_lb_entry entries[ARENA_LEADERBOARD_MAX];
};

struct arena_error {
	uint16_t code;          /* enum arena_error_code, 1..15 (unknown codes are kept) */
	struct arena_text text; /* 0..ARENA_TEXT_MAX */
};

struct arena_bye {
	uint8_t reason;         /* enum arena_bye_reason, 1..8 */
	struct arena_text text; /* 0..ARENA_TEXT_MAX */
};

/* One decoded message. Only the member named by `type` is meaningful. */
struct arena_msg {
	uint8_t type; /* enum arena_msg_type */
	union {
		struct arena_hello hello;
		struct arena_welcome welcome;
		struct arena_join join;
		struct arena_joined joined;
		struct arena_move move;
		struct arena_chat chat;
		struct arena_ping ping; /* also PONG */
		struct arena_snapshot snapshot;
		struct arena_chat_msg chat_msg;
		struct arena_leaderboard leaderboard;
		struct arena_error error;
		struct arena_bye bye;
	} u; /* LEAVE, LEADERBOARD_REQ carry nothing */
};

/* Which side a decoder sits on: a server accepts only client types, a client only server types. */
enum arena_side {
	ARENA_SIDE_SERVER = 0,
	ARENA_SIDE_CLIENT = 1,
};

/* ---- Validation helpers ---------------------------------------------------------------- */

/* True if buf[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points above
 * U+10FFFF) with no C0 control character and no DEL. */
bool arena_utf8_valid(const void *buf, size_t len);

/* Short stable names, for logs and tools; "unknown" for anything else. Never NULL. */
const char *arena_msg_type_name(int type);
const char *arena_error_name(int code);
const char *arena_bye_name(int reason);
/* Text for a negative decoder error (ARENA_E_*), e.g. "truncated frame". Never NULL. */
const char *arena_decode_strerror(int err);
/* The ERROR code a server sends for a negative decoder error (ARENA_E_*). */
enum arena_error_code arena_error_for_decode(int err);

/* ---- Encoding ---------------------------------------------------------------------------- */

/* Encode one message as a whole frame into buf[0..cap). Strings longer than their limit or not
 * valid UTF-8, and fields out of range, are refused with -EINVAL (the encoder never produces
 * what the decoder would reject); -ENOBUFS if cap is too small. Returns the frame length. */
ssize_t arena_encode(const struct arena_msg *msg, void *buf, size_t cap);

/* SNAPSHOT in two parts so a server encodes a room once per tick and reuses the bytes for every
 * recipient. The room part is: u16 room_id, u8 nplayers, players, u8 ngems, gems.
 * arena_encode_snapshot_room() writes that part; arena_encode_snapshot_frame() writes the frame
 * header, tick and ack_seq, then copies the room part. Both return a length or -errno. */
ssize_t arena_encode_snapshot_room(uint16_t room_id, const struct arena_snap_player *players,
                                   size_t nplayers, const struct arena_gem *gems, size_t ngems,
                                   void *buf, size_t cap);
ssize_t arena_encode_snapshot_frame(uint32_t tick, uint32_t ack_seq, const void *room_part,
                                    size_t room_len, void *buf, size_t cap);

/* ---- Decoding ---------------------------------------------------------------------------- */

/* Decode one complete payload of the given type (no header). `side` says which types are
 * acceptable. Returns 0 and fills *ret_msg, or a negative ARENA_E_* error. */
int arena_decode_payload(enum arena_side side, uint8_t type, const void *payload, size_t len,
                         struct arena_msg *ret_msg);

/* Inspect a frame header at buf[0..len). Returns 0 with the whole frame size (header + payload)
 * in *ret_frame_len once at least the header is present; -EAGAIN if fewer than 3 bytes;
 * -ARENA_E_OVERSIZE if the length exceeds max_payload. Lets a caller check a frame in a
 * libevent evbuffer before pulling it up. */
int arena_frame_peek(const void *buf, size_t len, size_t max_payload, size_t *ret_frame_len);

/* Incremental decoder: accepts any fragmentation (one byte at a time) and many frames per feed.
 * It owns a fixed buffer of one frame; nothing is allocated. Usage:
 *
 *     struct arena_decoder d;
 *     arena_decoder_init(&d, ARENA_SIDE_SERVER, max_payload);
 *     while (len > 0) {
 *             size_t used;
 *             int r = arena_decoder_feed(&d, data, len, &used, &msg);
 *             data += used; len -= used;
 *             if (r < 0) -> protocol error, stop (the decoder stays failed)
 *             if (r == 1) -> handle msg
 *             if (r == 0) -> all of data consumed, need more
 *     }
 *
 * arena_decoder_feed consumes at most one frame's bytes per call. Returns 1 with *ret_msg set
 * when a frame completed, 0 when it needs more input (everything consumed), or a negative
 * ARENA_E_* error. An oversized length or a type not acceptable to `side` is rejected as soon as
 * the 3-byte header is complete. *ret_used is set on every return, errors included (0 once the
 * decoder has failed). max_payload is clamped to ARENA_PAYLOAD_MAX. data == NULL with len > 0
 * is a caller bug: -EINVAL, and the decoder is not marked failed. */
struct arena_decoder {
	enum arena_side side;
	uint16_t max_payload;
	int error;   /* sticky: first error, 0 if none */
	size_t have; /* bytes of the current frame buffered */
	uint8_t buf[ARENA_FRAME_MAX];
};

void arena_decoder_init(struct arena_decoder *d, enum arena_side side, size_t max_payload);
int arena_decoder_feed(struct arena_decoder *d, const void *data, size_t len, size_t *ret_used,
                       struct arena_msg *ret_msg);

#endif /* ARENA_PROTO_H */
