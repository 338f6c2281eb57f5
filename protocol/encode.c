/* encode.c: message encoder and the two-part SNAPSHOT encoder.
 *
 * Each message is written by one function that both validates and emits, through a writer that
 * either only counts bytes (out == NULL) or stores them. arena_encode() runs it twice: a dry run
 * that validates every field against the same limits the decoder enforces (-EINVAL) and sizes the
 * frame, then, if the frame fits (-ENOBUFS otherwise), the real write. So the caller's buffer is
 * untouched on any failure and the encoder can never emit a frame the decoder would refuse.
 *
 * The SNAPSHOT room part (room id, players, gems) has its own entry point so a server encodes a
 * room once per tick; arena_encode_snapshot_frame() then prefixes a recipient's tick and ack_seq.
 * Both paths share enc_room(), so the result is byte-identical to arena_encode() of a SNAPSHOT.
 */
#include <string.h>

#include "arena_proto.h"
#include "wire.h"

/* The largest payloads must fit in ARENA_PAYLOAD_MAX (and so in the u16 length field). */
#define LEADERBOARD_PAYLOAD_MAX (1 + ARENA_LEADERBOARD_MAX * (1 + ARENA_NAME_MAX + 4))
#define SNAPSHOT_PAYLOAD_MAX    (WIRE_SNAP_HEAD_SIZE + ARENA_SNAP_ROOM_MAX)
#define CHAT_MSG_PAYLOAD_MAX    (4 + 1 + ARENA_NAME_MAX + 1 + ARENA_ROOM_MAX + 1 + ARENA_CHAT_MAX)
_Static_assert(LEADERBOARD_PAYLOAD_MAX <= ARENA_PAYLOAD_MAX, "LEADERBOARD must fit a frame");
_Static_assert(SNAPSHOT_PAYLOAD_MAX <= ARENA_PAYLOAD_MAX, "SNAPSHOT must fit a frame");
_Static_assert(CHAT_MSG_PAYLOAD_MAX <= ARENA_PAYLOAD_MAX, "CHAT_MSG must fit a frame");
_Static_assert(ARENA_SNAP_ROOM_MAX == 2 + 1 + ARENA_SNAP_PLAYERS_MAX * WIRE_SNAP_PLAYER_SIZE + 1 +
                                          ARENA_SNAP_GEMS_MAX * WIRE_GEM_SIZE,
               "ARENA_SNAP_ROOM_MAX matches the room part layout");
_Static_assert(ARENA_PAYLOAD_MAX <= UINT16_MAX, "payload length is a u16");

struct writer {
	uint8_t *out; /* NULL: count only */
	size_t len;
};

static void put_bytes(struct writer *w, const void *p, size_t n)
{
	if (w->out && n > 0)
		memcpy(w->out + w->len, p, n);
	w->len += n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	if (w->out)
		w->out[w->len] = v;
	w->len += 1;
}

static void put_u16(struct writer *w, uint16_t v)
{
	if (w->out)
		wire_put16(w->out + w->len, v);
	w->len += 2;
}

static void put_u32(struct writer *w, uint32_t v)
{
	if (w->out)
		wire_put32(w->out + w->len, v);
	w->len += 4;
}

static void put_u64(struct writer *w, uint64_t v)
{
	if (w->out)
		wire_put64(w->out + w->len, v);
	w->len += 8;
}

/* str8 from s[0..len); len must be within [min, max] and the bytes valid protocol UTF-8. */
static int put_str(struct writer *w, const char *s, uint8_t len, size_t min, size_t max)
{
	if (len < min || len > max || !arena_utf8_valid(s, len))
		return -EINVAL;
	put_u8(w, len);
	put_bytes(w, s, len);
	return 0;
}

#define WR(call)                                                                                   \
	do {                                                                                       \
		int wr_err_ = (call);                                                              \
		if (wr_err_ < 0)                                                                   \
			return wr_err_;                                                            \
	} while (0)

#define PUT_STR(w, str, min, max) WR(put_str((w), (str).s, (str).len, (min), (max)))

static int enc_room(struct writer *w, uint16_t room_id, const struct arena_snap_player *players,
                    size_t nplayers, const struct arena_gem *gems, size_t ngems)
{
	if (nplayers > ARENA_SNAP_PLAYERS_MAX || ngems > ARENA_SNAP_GEMS_MAX)
		return -EINVAL;
	if ((nplayers > 0 && !players) || (ngems > 0 && !gems))
		return -EINVAL;
	put_u16(w, room_id);
	put_u8(w, (uint8_t)nplayers);
	for (size_t i = 0; i < nplayers; i++) {
		put_u32(w, players[i].id);
		put_u16(w, players[i].x);
		put_u16(w, players[i].y);
		put_u32(w, players[i].score);
	}
	put_u8(w, (uint8_t)ngems);
	for (size_t i = 0; i < ngems; i++) {
		put_u16(w, gems[i].x);
		put_u16(w, gems[i].y);
	}
	return 0;
}

static int enc_welcome(struct writer *w, const struct arena_welcome *m)
{
	if (m->resume > ARENA_RESUME_EXPIRED || m->tick_rate == 0 ||
	    m->max_payload > ARENA_PAYLOAD_MAX)
		return -EINVAL;
	put_u32(w, m->player_id);
	put_bytes(w, m->token, ARENA_TOKEN_LEN);
	put_u8(w, m->resume);
	put_u16(w, m->tick_rate);
	put_u16(w, m->max_payload);
	put_u16(w, m->input_rate);
	put_u16(w, m->chat_rate);
	put_u16(w, m->idle_timeout);
	return 0;
}

static int enc_joined(struct writer *w, const struct arena_joined *m)
{
	if (m->width < 1 || m->width > WIRE_GRID_MAX || m->height < 1 ||
	    m->height > WIRE_GRID_MAX || m->capacity < 1 || m->capacity > ARENA_SNAP_PLAYERS_MAX ||
	    m->x >= m->width || m->y >= m->height)
		return -EINVAL;
	put_u16(w, m->room_id);
	PUT_STR(w, m->room, 1, ARENA_ROOM_MAX);
	put_u16(w, m->width);
	put_u16(w, m->height);
	put_u8(w, m->capacity);
	put_u16(w, m->x);
	put_u16(w, m->y);
	return 0;
}

static int enc_leaderboard(struct writer *w, const struct arena_leaderboard *m)
{
	if (m->n > ARENA_LEADERBOARD_MAX)
		return -EINVAL;
	put_u8(w, m->n);
	for (unsigned i = 0; i < m->n; i++) {
		PUT_STR(w, m->entries[i].name, 1, ARENA_NAME_MAX);
		put_u32(w, m->entries[i].score);
	}
	return 0;
}

/* Validate and write the payload of *msg. */
static int enc_payload(struct writer *w, const struct arena_msg *msg)
{
	const struct arena_snapshot *snap;

	switch (msg->type) {
	case ARENA_HELLO:
		put_u16(w, msg->u.hello.version);
		PUT_STR(w, msg->u.hello.name, 1, ARENA_NAME_MAX);
		put_bytes(w, msg->u.hello.token, ARENA_TOKEN_LEN);
		return 0;
	case ARENA_JOIN:
		return put_str(w, msg->u.join.room.s, msg->u.join.room.len, 0, ARENA_ROOM_MAX);
	case ARENA_MOVE:
		if (msg->u.move.dx < -1 || msg->u.move.dx > 1 || msg->u.move.dy < -1 ||
		    msg->u.move.dy > 1)
			return -EINVAL;
		put_u32(w, msg->u.move.seq);
		put_u8(w, (uint8_t)msg->u.move.dx);
		put_u8(w, (uint8_t)msg->u.move.dy);
		return 0;
	case ARENA_CHAT:
		return put_str(w, msg->u.chat.text.s, msg->u.chat.text.len, 1, ARENA_CHAT_MAX);
	case ARENA_PING:
	case ARENA_PONG:
		put_u64(w, msg->u.ping.stamp);
		return 0;
	case ARENA_LEAVE:
	case ARENA_LEADERBOARD_REQ:
	case ARENA_LEFT:
		return 0;
	case ARENA_WELCOME:
		return enc_welcome(w, &msg->u.welcome);
	case ARENA_JOINED:
		return enc_joined(w, &msg->u.joined);
	case ARENA_SNAPSHOT:
		snap = &msg->u.snapshot;
		put_u32(w, snap->tick);
		put_u32(w, snap->ack_seq);
		return enc_room(w, snap->room_id, snap->players, snap->nplayers, snap->gems,
		                snap->ngems);
	case ARENA_CHAT_MSG:
		put_u32(w, msg->u.chat_msg.sender_id);
		PUT_STR(w, msg->u.chat_msg.sender, 1, ARENA_NAME_MAX);
		PUT_STR(w, msg->u.chat_msg.room, 1, ARENA_ROOM_MAX);
		PUT_STR(w, msg->u.chat_msg.text, 1, ARENA_CHAT_MAX);
		return 0;
	case ARENA_LEADERBOARD:
		return enc_leaderboard(w, &msg->u.leaderboard);
	case ARENA_ERROR:
		put_u16(w, msg->u.error.code);
		return put_str(w, msg->u.error.text.s, msg->u.error.text.len, 0, ARENA_TEXT_MAX);
	case ARENA_BYE:
		if (msg->u.bye.reason < ARENA_BYE_SHUTDOWN ||
		    msg->u.bye.reason > ARENA_BYE_IP_LIMIT)
			return -EINVAL;
		put_u8(w, msg->u.bye.reason);
		return put_str(w, msg->u.bye.text.s, msg->u.bye.text.len, 0, ARENA_TEXT_MAX);
	default:
		return -EINVAL;
	}
}

static void put_header(uint8_t *p, size_t payload_len, uint8_t type)
{
	wire_put16(p, (uint16_t)payload_len);
	p[2] = type;
}

/* Contract: see arena_proto.h. */
ssize_t arena_encode(const struct arena_msg *msg, void *buf, size_t cap)
{
	struct writer w = {.out = NULL, .len = 0};
	size_t total;
	int e;

	if (!msg)
		return -EINVAL;
	e = enc_payload(&w, msg);
	if (e < 0)
		return e;
	if (w.len > ARENA_PAYLOAD_MAX)
		return -EINVAL;
	total = ARENA_HEADER_SIZE + w.len;
	if (!buf || cap < total)
		return -ENOBUFS;
	put_header(buf, w.len, msg->type);
	w.out = (uint8_t *)buf + ARENA_HEADER_SIZE;
	w.len = 0;
	(void)enc_payload(&w, msg); /* validated by the dry run above */
	return (ssize_t)total;
}

/* Contract: see arena_proto.h. At most ARENA_SNAP_ROOM_MAX bytes are written. */
ssize_t arena_encode_snapshot_room(uint16_t room_id, const struct arena_snap_player *players,
                                   size_t nplayers, const struct arena_gem *gems, size_t ngems,
                                   void *buf, size_t cap)
{
	struct writer w = {.out = NULL, .len = 0};
	int e = enc_room(&w, room_id, players, nplayers, gems, ngems);

	if (e < 0)
		return e;
	if (!buf || cap < w.len)
		return -ENOBUFS;
	w.out = buf;
	w.len = 0;
	(void)enc_room(&w, room_id, players, nplayers, gems, ngems);
	return (ssize_t)w.len;
}

/* True if room[0..len) is exactly one well-formed room part (counts in range, no extra bytes). */
static bool room_part_ok(const uint8_t *room, size_t len)
{
	size_t np, ng, off;

	if (!room || len < 4)
		return false;
	np = room[2];
	if (np > ARENA_SNAP_PLAYERS_MAX)
		return false;
	off = 3 + np * WIRE_SNAP_PLAYER_SIZE;
	if (len < off + 1)
		return false;
	ng = room[off];
	return ng <= ARENA_SNAP_GEMS_MAX && len == off + 1 + ng * WIRE_GEM_SIZE;
}

/* Contract: see arena_proto.h. The room part is checked structurally (-EINVAL if it is not one
 * whole part as written by arena_encode_snapshot_room()). */
ssize_t arena_encode_snapshot_frame(uint32_t tick, uint32_t ack_seq, const void *room_part,
                                    size_t room_len, void *buf, size_t cap)
{
	size_t plen = WIRE_SNAP_HEAD_SIZE + room_len;
	uint8_t *p = buf;

	if (!room_part_ok(room_part, room_len))
		return -EINVAL;
	if (!buf || cap < ARENA_HEADER_SIZE + plen)
		return -ENOBUFS;
	put_header(p, plen, ARENA_SNAPSHOT);
	wire_put32(p + ARENA_HEADER_SIZE, tick);
	wire_put32(p + ARENA_HEADER_SIZE + 4, ack_seq);
	memcpy(p + ARENA_HEADER_SIZE + WIRE_SNAP_HEAD_SIZE, room_part, room_len);
	return (ssize_t)(ARENA_HEADER_SIZE + plen);
}
