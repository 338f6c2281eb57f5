/* wire.h: private byte-order helpers and per-field limits shared by the encoder and the decoder.
 *
 * Everything here is static inline and works on plain byte arrays, so encode.c and decode.c agree
 * on the wire layout by construction: both read the field limits below and the same big-endian
 * accessors. Not installed, not part of the public API.
 */
#ifndef ARENA_WIRE_H
#define ARENA_WIRE_H

#include <stdint.h>

#include "arena_proto.h"

/* Fixed sizes of the repeated records inside SNAPSHOT. */
#define WIRE_SNAP_PLAYER_SIZE 12 /* u32 id, u16 x, u16 y, u32 score */
#define WIRE_GEM_SIZE         4  /* u16 x, u16 y */
#define WIRE_SNAP_HEAD_SIZE   8  /* u32 tick, u32 ack_seq, before the room part */

/* JOINED grid limits (the decoder also requires x < width and y < height). */
#define WIRE_GRID_MAX 4096

static inline uint16_t wire_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}

static inline void wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

/* True if `type` is a message the given side may receive. */
static inline bool wire_type_ok(enum arena_side side, unsigned type)
{
	if (side == ARENA_SIDE_SERVER)
		return type >= ARENA_HELLO && type <= ARENA_LEADERBOARD_REQ;
	return type >= ARENA_WELCOME && type <= ARENA_BYE;
}

#endif /* ARENA_WIRE_H */
