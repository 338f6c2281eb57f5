/* state-seal.h: sealing a state-file image by hand, for the state-file test and fuzzer.
 *
 * A bit-at-a-time CRC-32 (IEEE, reflected, as persist.c writes it) that shares no code with
 * persist.c's table-driven one, so a test that seals with it checks persist.c's CRC too.
 */
#ifndef ARENA_STATE_SEAL_H
#define ARENA_STATE_SEAL_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t crc_bitwise(const uint8_t *p, size_t len)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

/* Write the CRC of img[0..len-4) big-endian into its last four bytes. */
static inline void reseal(uint8_t *img, size_t len)
{
	uint32_t c = crc_bitwise(img, len - 4);

	img[len - 4] = (uint8_t)(c >> 24);
	img[len - 3] = (uint8_t)(c >> 16);
	img[len - 2] = (uint8_t)(c >> 8);
	img[len - 1] = (uint8_t)c;
}

#endif /* ARENA_STATE_SEAL_H */
