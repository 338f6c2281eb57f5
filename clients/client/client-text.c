/* client-text.c: arena-client's defence against hostile strings: escaping for batch output,
 * sanitising for the terminal, and resume tokens as hex.
 *
 * The codec already refuses C0 controls, DEL and invalid UTF-8 in every string, but this file
 * does not rely on it: it walks the bytes itself and treats anything it cannot vouch for as
 * unsafe. Beyond C0 and DEL, the C1 controls (U+0080..U+009F; U+009B is an 8-bit CSI on some
 * terminals) and the bidirectional overrides (which reorder what the user sees) are valid on
 * the wire and are neutralised here. Batch output escapes per byte (\xNN) so a script can
 * recover the exact bytes; the terminal gets '?' and a column budget.
 */
#include "client.h"

#include <string.h>
#include <wchar.h>

/* Decode one UTF-8 character at s[0..len). Returns its length (1..4) with *cp set, or 0 if
 * the bytes there are not a well-formed character. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char b = s[0];
	size_t n;
	uint32_t v, min;
	if (b < 0x80) {
		*cp = b;
		return 1;
	} else if (b >= 0xc2 && b <= 0xdf) {
		n = 2, v = b & 0x1f, min = 0x80;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3, v = b & 0x0f, min = 0x800;
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4, v = b & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Code points never to be shown as themselves: controls and bidirectional formatting. */
static bool cp_unsafe(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return true;
	if (cp == 0x061c || cp == 0x200e || cp == 0x200f)
		return true;
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return true;
	return false;
}

static bool field_special(uint32_t cp)
{
	return cp == ' ' || cp == ',' || cp == ':' || cp == ';' || cp == '=';
}

size_t text_escape(const char *str, size_t len, enum text_mode mode, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t n = utf8_next(s + i, len - i, &cp);
		bool esc = n == 0 || cp_unsafe(cp) || (mode == TEXT_FIELD && field_special(cp));
		if (n == 0)
			n = 1; /* escape the one bad byte, resynchronise on the next */
		if (!esc && cp == '\\') {
			if (o + 2 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (!esc) {
			if (o + n >= cap)
				break;
			memcpy(out + o, s + i, n);
			o += n;
		} else {
			if (o + 4 * n >= cap)
				break;
			for (size_t k = 0; k < n; k++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[s[i + k] >> 4];
				out[o++] = hex[s[i + k] & 15];
			}
		}
		i += n;
	}
	out[o] = '\0';
	return o;
}

size_t text_term(const char *str, size_t len, bool utf8, size_t max_cols, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0, cols = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len && cols < max_cols;) {
		uint32_t cp = 0;
		size_t n = utf8_next(s + i, len - i, &cp);
		int w = 1;
		bool bad = n == 0 || cp_unsafe(cp) || (!utf8 && cp >= 0x80);
		if (n == 0)
			n = 1;
		if (!bad && cp >= 0x80) {
			w = wcwidth((wchar_t)cp);
			bad = w < 0;
			if (bad)
				w = 1;
		}
		if (cols + (size_t)w > max_cols)
			break;
		if (bad) {
			if (o + 1 >= cap)
				break;
			out[o++] = '?';
		} else {
			if (o + n >= cap)
				break;
			memcpy(out + o, s + i, n);
			o += n;
		}
		cols += (size_t)w;
		i += n;
	}
	out[o] = '\0';
	return cols;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int text_parse_token(const char *s, uint8_t ret_token[ARENA_TOKEN_LEN])
{
	uint8_t t[ARENA_TOKEN_LEN];
	if (strlen(s) != 2 * ARENA_TOKEN_LEN)
		return -EINVAL;
	for (size_t i = 0; i < ARENA_TOKEN_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		t[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(ret_token, t, sizeof(t));
	return 0;
}

void text_format_token(const uint8_t token[ARENA_TOKEN_LEN], char out[2 * ARENA_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < ARENA_TOKEN_LEN; i++) {
		out[2 * i] = hex[token[i] >> 4];
		out[2 * i + 1] = hex[token[i] & 15];
	}
	out[2 * ARENA_TOKEN_LEN] = '\0';
}
