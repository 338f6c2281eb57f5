/* decode.c: payload decoder, frame header peek and the incremental stream decoder.
 *
 * arena_decode_payload() walks a payload with a bounded reader that can never step past `len`:
 * every read first checks the bytes left and fails with ARENA_E_TRUNCATED. Fields are checked in
 * wire order and the first failure wins; for a string that means: length byte present, length
 * within the field's range (ARENA_E_RANGE), bytes present, then UTF-8 (ARENA_E_UTF8). Bytes left
 * over after the last field are ARENA_E_TRAILING. The message is built in a local and copied out
 * only on success, so *ret_msg is untouched on failure.
 *
 * The stream decoder keeps at most one frame in its own fixed buffer. It judges the header (size
 * against max_payload, type against the side) as soon as its 3 bytes are in, so an oversized or
 * unknown frame is refused before any payload is buffered. When a whole frame is already present
 * in the caller's data and nothing is pending, it decodes in place without copying.
 */
#include <string.h>

#include "arena_proto.h"
#include "wire.h"

struct reader {
	const uint8_t *p;
	size_t left;
};

static int rd_bytes(struct reader *r, size_t n, const uint8_t **ret_p)
{
	if (r->left < n)
		return -ARENA_E_TRUNCATED;
	*ret_p = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int rd_u8(struct reader *r, uint8_t *ret_v)
{
	const uint8_t *p;
	int e = rd_bytes(r, 1, &p);

	if (e < 0)
		return e;
	*ret_v = p[0];
	return 0;
}

static int rd_u16(struct reader *r, uint16_t *ret_v)
{
	const uint8_t *p;
	int e = rd_bytes(r, 2, &p);

	if (e < 0)
		return e;
	*ret_v = wire_get16(p);
	return 0;
}

static int rd_u32(struct reader *r, uint32_t *ret_v)
{
	const uint8_t *p;
	int e = rd_bytes(r, 4, &p);

	if (e < 0)
		return e;
	*ret_v = wire_get32(p);
	return 0;
}

static int rd_u64(struct reader *r, uint64_t *ret_v)
{
	const uint8_t *p;
	int e = rd_bytes(r, 8, &p);

	if (e < 0)
		return e;
	*ret_v = wire_get64(p);
	return 0;
}

/* str8 into dst (capacity max + 1), NUL-terminated; its length must be within [min, max]. */
static int rd_str(struct reader *r, size_t min, size_t max, char *dst, uint8_t *ret_len)
{
	const uint8_t *p;
	uint8_t n;
	int e = rd_u8(r, &n);

	if (e < 0)
		return e;
	if (n < min || n > max)
		return -ARENA_E_RANGE;
	e = rd_bytes(r, n, &p);
	if (e < 0)
		return e;
	if (!arena_utf8_valid(p, n))
		return -ARENA_E_UTF8;
	memcpy(dst, p, n);
	dst[n] = '\0';
	*ret_len = n;
	return 0;
}

#define RD(call)                                                                                   \
	do {                                                                                       \
		int rd_err_ = (call);                                                              \
		if (rd_err_ < 0)                                                                   \
			return rd_err_;                                                            \
	} while (0)

#define RD_STR(r, min, max, str) RD(rd_str((r), (min), (max), (str).s, &(str).len))

static int dec_hello(struct reader *r, struct arena_hello *m)
{
	const uint8_t *tok;

	RD(rd_u16(r, &m->version));
	RD_STR(r, 1, ARENA_NAME_MAX, m->name);
	RD(rd_bytes(r, ARENA_TOKEN_LEN, &tok));
	memcpy(m->token, tok, ARENA_TOKEN_LEN);
	return 0;
}

static int dec_welcome(struct reader *r, struct arena_welcome *m)
{
	const uint8_t *tok;

	RD(rd_u32(r, &m->player_id));
	RD(rd_bytes(r, ARENA_TOKEN_LEN, &tok));
	memcpy(m->token, tok, ARENA_TOKEN_LEN);
	RD(rd_u8(r, &m->resume));
	if (m->resume > ARENA_RESUME_EXPIRED)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->tick_rate));
	if (m->tick_rate == 0)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->max_payload));
	if (m->max_payload > ARENA_PAYLOAD_MAX)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->input_rate));
	RD(rd_u16(r, &m->chat_rate));
	RD(rd_u16(r, &m->idle_timeout));
	return 0;
}

static int dec_joined(struct reader *r, struct arena_joined *m)
{
	RD(rd_u16(r, &m->room_id));
	RD_STR(r, 1, ARENA_ROOM_MAX, m->room);
	RD(rd_u16(r, &m->width));
	if (m->width < 1 || m->width > WIRE_GRID_MAX)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->height));
	if (m->height < 1 || m->height > WIRE_GRID_MAX)
		return -ARENA_E_RANGE;
	RD(rd_u8(r, &m->capacity));
	if (m->capacity < 1 || m->capacity > ARENA_SNAP_PLAYERS_MAX)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->x));
	if (m->x >= m->width)
		return -ARENA_E_RANGE;
	RD(rd_u16(r, &m->y));
	if (m->y >= m->height)
		return -ARENA_E_RANGE;
	return 0;
}

static int dec_move(struct reader *r, struct arena_move *m)
{
	uint8_t dx, dy;

	RD(rd_u32(r, &m->seq));
	RD(rd_u8(r, &dx));
	m->dx = (int8_t)dx;
	if (m->dx < -1 || m->dx > 1)
		return -ARENA_E_RANGE;
	RD(rd_u8(r, &dy));
	m->dy = (int8_t)dy;
	if (m->dy < -1 || m->dy > 1)
		return -ARENA_E_RANGE;
	return 0;
}

static int dec_snapshot(struct reader *r, struct arena_snapshot *m)
{
	RD(rd_u32(r, &m->tick));
	RD(rd_u32(r, &m->ack_seq));
	RD(rd_u16(r, &m->room_id));
	RD(rd_u8(r, &m->nplayers));
	if (m->nplayers > ARENA_SNAP_PLAYERS_MAX)
		return -ARENA_E_RANGE;
	for (unsigned i = 0; i < m->nplayers; i++) {
		struct arena_snap_player *pl = &m->players[i];

		RD(rd_u32(r, &pl->id));
		RD(rd_u16(r, &pl->x));
		RD(rd_u16(r, &pl->y));
		RD(rd_u32(r, &pl->score));
	}
	RD(rd_u8(r, &m->ngems));
	if (m->ngems > ARENA_SNAP_GEMS_MAX)
		return -ARENA_E_RANGE;
	for (unsigned i = 0; i < m->ngems; i++) {
		RD(rd_u16(r, &m->gems[i].x));
		RD(rd_u16(r, &m->gems[i].y));
	}
	return 0;
}

static int dec_chat_msg(struct reader *r, struct arena_chat_msg *m)
{
	RD(rd_u32(r, &m->sender_id));
	RD_STR(r, 1, ARENA_NAME_MAX, m->sender);
	RD_STR(r, 1, ARENA_ROOM_MAX, m->room);
	RD_STR(r, 1, ARENA_CHAT_MAX, m->text);
	return 0;
}

static int dec_leaderboard(struct reader *r, struct arena_leaderboard *m)
{
	RD(rd_u8(r, &m->n));
	if (m->n > ARENA_LEADERBOARD_MAX)
		return -ARENA_E_RANGE;
	for (unsigned i = 0; i < m->n; i++) {
		RD_STR(r, 1, ARENA_NAME_MAX, m->entries[i].name);
		RD(rd_u32(r, &m->entries[i].score));
	}
	return 0;
}

static int dec_bye(struct reader *r, struct arena_bye *m)
{
	RD(rd_u8(r, &m->reason));
	if (m->reason < ARENA_BYE_SHUTDOWN || m->reason > ARENA_BYE_IP_LIMIT)
		return -ARENA_E_RANGE;
	RD_STR(r, 0, ARENA_TEXT_MAX, m->text);
	return 0;
}

/* Bytes of struct arena_msg that are meaningful for a type: the header plus its union member. */
static size_t msg_size(uint8_t type)
{
	const struct arena_msg *m = NULL;
	size_t base = offsetof(struct arena_msg, u);

	switch (type) {
	case ARENA_HELLO:
		return base + sizeof(m->u.hello);
	case ARENA_JOIN:
		return base + sizeof(m->u.join);
	case ARENA_MOVE:
		return base + sizeof(m->u.move);
	case ARENA_CHAT:
		return base + sizeof(m->u.chat);
	case ARENA_PING:
	case ARENA_PONG:
		return base + sizeof(m->u.ping);
	case ARENA_WELCOME:
		return base + sizeof(m->u.welcome);
	case ARENA_JOINED:
		return base + sizeof(m->u.joined);
	case ARENA_SNAPSHOT:
		return base + sizeof(m->u.snapshot);
	case ARENA_CHAT_MSG:
		return base + sizeof(m->u.chat_msg);
	case ARENA_LEADERBOARD:
		return base + sizeof(m->u.leaderboard);
	case ARENA_ERROR:
		return base + sizeof(m->u.error);
	case ARENA_BYE:
		return base + sizeof(m->u.bye);
	default: /* LEAVE, LEFT, LEADERBOARD_REQ */
		return sizeof(m->type);
	}
}

/* Decode the fields of `type` into m->u, which the caller has zeroed. */
static int dec_fields(uint8_t type, struct reader *r, struct arena_msg *m)
{
	switch (type) {
	case ARENA_HELLO:
		return dec_hello(r, &m->u.hello);
	case ARENA_JOIN:
		return rd_str(r, 0, ARENA_ROOM_MAX, m->u.join.room.s, &m->u.join.room.len);
	case ARENA_MOVE:
		return dec_move(r, &m->u.move);
	case ARENA_CHAT:
		return rd_str(r, 1, ARENA_CHAT_MAX, m->u.chat.text.s, &m->u.chat.text.len);
	case ARENA_PING:
	case ARENA_PONG:
		return rd_u64(r, &m->u.ping.stamp);
	case ARENA_LEAVE:
	case ARENA_LEADERBOARD_REQ:
	case ARENA_LEFT:
		return 0;
	case ARENA_WELCOME:
		return dec_welcome(r, &m->u.welcome);
	case ARENA_JOINED:
		return dec_joined(r, &m->u.joined);
	case ARENA_SNAPSHOT:
		return dec_snapshot(r, &m->u.snapshot);
	case ARENA_CHAT_MSG:
		return dec_chat_msg(r, &m->u.chat_msg);
	case ARENA_LEADERBOARD:
		return dec_leaderboard(r, &m->u.leaderboard);
	case ARENA_ERROR:
		RD(rd_u16(r, &m->u.error.code));
		return rd_str(r, 0, ARENA_TEXT_MAX, m->u.error.text.s, &m->u.error.text.len);
	case ARENA_BYE:
		return dec_bye(r, &m->u.bye);
	default:
		return -ARENA_E_UNKNOWN;
	}
}

/* Contract: see arena_proto.h. Reads exactly payload[0..len); payload may be NULL when len is 0.
 * Only the bytes of *ret_msg that belong to the decoded type are written (type, and the union
 * member for types that carry fields); that member is fully initialised, strings zero-padded. */
int arena_decode_payload(enum arena_side side, uint8_t type, const void *payload, size_t len,
                         struct arena_msg *ret_msg)
{
	struct arena_msg m;
	struct reader r = {.p = payload, .left = len};
	size_t size;
	int e;

	if (!wire_type_ok(side, type))
		return -ARENA_E_UNKNOWN;
	if (len > ARENA_PAYLOAD_MAX)
		return -ARENA_E_OVERSIZE;
	if (len > 0 && !payload)
		return -ARENA_E_TRUNCATED;
	size = msg_size(type);
	memset(&m, 0, size);
	m.type = type;
	e = dec_fields(type, &r, &m);
	if (e < 0)
		return e;
	if (r.left != 0)
		return -ARENA_E_TRAILING;
	memcpy(ret_msg, &m, size);
	return 0;
}

static size_t clamp_payload(size_t max_payload)
{
	return max_payload < ARENA_PAYLOAD_MAX ? max_payload : ARENA_PAYLOAD_MAX;
}

/* Contract: see arena_proto.h. max_payload above ARENA_PAYLOAD_MAX is treated as that bound. */
int arena_frame_peek(const void *buf, size_t len, size_t max_payload, size_t *ret_frame_len)
{
	const uint8_t *p = buf;
	size_t plen;

	if (len < ARENA_HEADER_SIZE || !buf)
		return -EAGAIN;
	plen = wire_get16(p);
	if (plen > clamp_payload(max_payload))
		return -ARENA_E_OVERSIZE;
	*ret_frame_len = ARENA_HEADER_SIZE + plen;
	return 0;
}

/* Contract: see arena_proto.h. max_payload is clamped to ARENA_PAYLOAD_MAX. */
void arena_decoder_init(struct arena_decoder *d, enum arena_side side, size_t max_payload)
{
	d->side = side;
	d->max_payload = (uint16_t)clamp_payload(max_payload);
	d->error = 0;
	d->have = 0;
}

/* Judge a complete 3-byte header: size first, then type. Returns the payload length or -err. */
static int check_header(const struct arena_decoder *d, const uint8_t *hdr)
{
	size_t plen = wire_get16(hdr);

	if (plen > d->max_payload)
		return -ARENA_E_OVERSIZE;
	if (!wire_type_ok(d->side, hdr[2]))
		return -ARENA_E_UNKNOWN;
	return (int)plen;
}

static int fail(struct arena_decoder *d, int err, size_t used, size_t *ret_used)
{
	d->error = err;
	d->have = 0;
	*ret_used = used;
	return err;
}

/* Contract: see arena_proto.h. *ret_used is always set, also on error: it is the number of bytes
 * of data taken into the decoder (for the failing call, the bytes of the bad frame that were
 * read; for a call on a failed decoder, 0). *ret_msg is written only when 1 is returned.
 * -EINVAL for data == NULL with len > 0. */
int arena_decoder_feed(struct arena_decoder *d, const void *data, size_t len, size_t *ret_used,
                       struct arena_msg *ret_msg)
{
	const uint8_t *in = data;
	size_t used = 0, frame, n;
	int plen, e;

	if (d->error) {
		*ret_used = 0;
		return d->error;
	}
	if (!data && len > 0) {
		*ret_used = 0;
		return -EINVAL; /* caller bug, not a protocol error: the decoder is not failed */
	}
	if (len == 0) {
		*ret_used = 0;
		return 0;
	}

	/* Fast path: nothing pending and the whole frame is in the caller's data. */
	if (d->have == 0 && len >= ARENA_HEADER_SIZE) {
		plen = check_header(d, in);
		if (plen < 0)
			return fail(d, plen, ARENA_HEADER_SIZE, ret_used);
		frame = ARENA_HEADER_SIZE + (size_t)plen;
		if (len >= frame) {
			e = arena_decode_payload(d->side, in[2], in + ARENA_HEADER_SIZE,
			                         (size_t)plen, ret_msg);
			if (e < 0)
				return fail(d, e, frame, ret_used);
			*ret_used = frame;
			return 1;
		}
	}

	if (d->have < ARENA_HEADER_SIZE) {
		n = ARENA_HEADER_SIZE - d->have;
		if (n > len)
			n = len;
		memcpy(d->buf + d->have, in, n);
		d->have += n;
		used += n;
		if (d->have < ARENA_HEADER_SIZE) {
			*ret_used = used;
			return 0;
		}
		plen = check_header(d, d->buf);
		if (plen < 0)
			return fail(d, plen, used, ret_used);
	}
	frame = ARENA_HEADER_SIZE + wire_get16(d->buf);
	n = frame - d->have;
	if (n > len - used)
		n = len - used;
	memcpy(d->buf + d->have, in + used, n);
	d->have += n;
	used += n;
	if (d->have < frame) {
		*ret_used = used;
		return 0;
	}
	d->have = 0;
	e = arena_decode_payload(d->side, d->buf[2], d->buf + ARENA_HEADER_SIZE,
	                         frame - ARENA_HEADER_SIZE, ret_msg);
	if (e < 0)
		return fail(d, e, used, ret_used);
	*ret_used = used;
	return 1;
}
