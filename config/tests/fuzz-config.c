/* fuzz-config.c: libFuzzer target for the configuration loader (arena_config_load_string).
 *
 * The input is used as INI text (up to its first NUL, as a C string would be). Besides the
 * sanitizers' checks, every accepted input must satisfy the loader's contract: the dump of the
 * result loads back to an equal configuration, and a rejected input leaves the output untouched
 * with a one-line message that names the input. A violation aborts, which libFuzzer records.
 *
 * Run on a scratch copy of the seeds: fuzz-config -dict=config/tests/fuzz-config.dict
 * COPY_OF_CORPUS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena_config.h"
#include "config-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena_config cfg, back, before;
	struct arena_config_error err;
	char *text, *dump = NULL;
	size_t dump_len = 0;
	FILE *f;

	if (size > CFG_FILE_MAX + 16)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&cfg, 0xA5, sizeof(cfg));
	before = cfg;
	if (arena_config_load_string(text, "fuzz.conf", &cfg, &err) != 0) {
		if (memcmp(&cfg, &before, sizeof(cfg)) != 0 || strchr(err.text, '\n') ||
		    strncmp(err.text, "fuzz.conf", 9) != 0)
			abort();
		free(text);
		return 0;
	}
	free(text);

	f = open_memstream(&dump, &dump_len);
	if (!f)
		return 0;
	arena_config_dump(&cfg, f);
	if (fclose(f) != 0) {
		free(dump);
		return 0;
	}
	if (arena_config_load_string(dump, "dump", &back, &err) != 0 || !cfg_equal(&cfg, &back)) {
		fprintf(stderr, "round trip failed: %s\n%s", err.text, dump);
		abort();
	}
	free(dump);
	return 0;
}
