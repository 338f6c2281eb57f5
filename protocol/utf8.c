/* utf8.c: the strict UTF-8 check every protocol string goes through.
 *
 * A single forward pass decodes each sequence by its lead byte and rejects anything that is not
 * the shortest encoding of a Unicode scalar value: stray continuation bytes, the overlong lead
 * bytes C0/C1 and F5..FF, truncated sequences, overlong 3- and 4-byte forms, UTF-16 surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF. On top of plain UTF-8 it refuses the C0
 * control characters (U+0000..U+001F, so also NUL, TAB and newlines) and DEL (U+007F), because
 * protocol strings are names and single-line text that end up in logs and terminals.
 */
#include "arena_proto.h"

/* Contract: see arena_proto.h. Reads exactly buf[0..len); buf may be NULL when len is 0. */
bool arena_utf8_valid(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		uint32_t cp, min;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1fu;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0fu;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07u;
			min = 0x10000;
		} else {
			return false; /* continuation byte, C0/C1 overlong lead, or F5..FF */
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
