/* fuzz-state.c: libFuzzer target for persist_parse(), the state-file validator.
 *
 * Beyond "no crash, no sanitizer report", it checks two properties on every accepted input:
 * each returned name is 1..32 bytes of valid UTF-8, and the format is canonical, so when all
 * entries fit, persist_format() of what was parsed reproduces the input byte for byte (and a
 * re-parse returns the same entries). A random mutation almost never keeps the CRC right, so
 * every input is also tried a second time with its trailer re-sealed (CRC computed here, bit
 * by bit), which lets the fuzzer reach the per-entry checks. Seed corpus: server/corpus/state/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"
#include "state-seal.h"

#define MAX_ENTRIES 64
#define MAX_INPUT   (20 + 37 * 2 * MAX_ENTRIES)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size)
{
	static struct world_score out[MAX_ENTRIES], again[MAX_ENTRIES];
	static uint8_t buf[20 + 37 * MAX_ENTRIES];
	size_t n, n2;

	if (persist_parse(data, size, out, MAX_ENTRIES, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(out[i].name, sizeof(out[i].name));
		if (len < 1 || len > ARENA_NAME_MAX || !arena_utf8_valid(out[i].name, len))
			abort();
	}
	ssize_t len = persist_format(out, n, buf, sizeof(buf));
	if (len < 0)
		abort();
	/* When every entry fitted, the format is canonical: the image is exactly the input. */
	if ((n < MAX_ENTRIES || size == (size_t)len) &&
	    (size != (size_t)len || memcmp(buf, data, size) != 0))
		abort();
	if (persist_parse(buf, (size_t)len, again, MAX_ENTRIES, &n2) < 0 || n2 != n ||
	    memcmp(out, again, n * sizeof(out[0])) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sealed[MAX_INPUT];

	check(data, size);
	if (size >= 20 && size <= MAX_INPUT) {
		memcpy(sealed, data, size);
		reseal(sealed, size);
		check(sealed, size);
	}
	return 0;
}
