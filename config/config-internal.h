/* config-internal.h: the key table, value parsers and helpers shared by the config library.
 *
 * Not installed and not part of the arena_config.h contract: the loader (config.c), the key
 * table and dump (keys.c), the command line parser (cli.c), the unit test and the fuzzer use
 * these. Every parser takes the whole
 * value text (already stripped of surrounding blanks by libinih), accepts it only if all of it
 * is well formed, and leaves its output untouched on failure: -EINVAL for malformed text,
 * -ERANGE for a number too large to represent.
 */
#ifndef ARENA_CONFIG_INTERNAL_H
#define ARENA_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_config.h"

/* Largest configuration file or string accepted, in bytes. */
#define CFG_FILE_MAX (1024 * 1024)

/* Longest accepted "ADDR:PORT" text (the struct arena_cli listen slots hold 64 bytes). */
#define CFG_LISTEN_TEXT_MAX 63

/* ---- The key table (keys.c) ------------------------------------------------------------ */

#define CFG_WORKERS_MAX 256
#define CFG_NSECTIONS   4  /* server, limits, game, testing */
#define CFG_NKEYS       42 /* entries of cfg_keys[] */

enum cfg_key_type {
	KT_UINT,      /* unsigned */
	KT_DURATION,  /* uint32_t milliseconds */
	KT_SIZE,      /* size_t bytes */
	KT_BOOL,      /* bool */
	KT_LOG_LEVEL, /* enum arena_log_level */
	KT_PATH,      /* char[ARENA_PATH_MAX], absolute */
	KT_LISTEN,    /* listen[] + nlisten */
	KT_ADDR,      /* one struct arena_listen; empty = off */
	KT_SOCKPATH,  /* char[ARENA_SOCKPATH_MAX], absolute; empty = off */
	KT_PROXY,     /* proxy_protocol[] + nproxy_protocol */
	KT_CIDRS,     /* proxy_trusted[] + nproxy_trusted */
};

/* One configuration key: where it lives, how it is stored, what values are allowed. */
struct key_def {
	const char *section;
	const char *name;
	enum cfg_key_type type;
	size_t offset;     /* of its field in struct arena_config */
	uint64_t min, max; /* numbers as is, durations in ms, sizes in bytes */
};

/* Section names in file order. */
extern const char *const cfg_sections[CFG_NSECTIONS];

/* Every key, grouped by section in cfg_sections[] order (the order of the dump). */
extern const struct key_def cfg_keys[CFG_NKEYS];

/* The field of cfg that key k is stored in. */
static inline void *cfg_key_field(struct arena_config *cfg, const struct key_def *k)
{
	return (char *)cfg + k->offset;
}

/* Number of online CPUs, clamped to 1..CFG_WORKERS_MAX: what "workers = 0" means. */
unsigned cfg_online_cpus(void);

/* ---- Value parsers (values.c) ---------------------------------------------------------- */

/* Unsigned decimal integer: digits only (no sign, no base prefix, no blanks, no junk).
 * -EINVAL if malformed, -ERANGE if above UINT64_MAX. */
int cfg_parse_uint(const char *text, uint64_t *ret);

/* Duration: an unsigned decimal integer followed by "ms", "s", "m" or "h"; no unit means
 * seconds. *ret_ms is in milliseconds. -EINVAL if malformed, -ERANGE on overflow. */
int cfg_parse_duration(const char *text, uint64_t *ret_ms);

/* Size: an unsigned decimal integer optionally followed by "k" or "m" (times 1024 and
 * 1024 * 1024). *ret is in bytes. -EINVAL if malformed, -ERANGE on overflow. */
int cfg_parse_size(const char *text, uint64_t *ret);

/* Boolean: true/false, yes/no, on/off, 1/0 (letters in any case). -EINVAL otherwise. */
int cfg_parse_bool(const char *text, bool *ret);

/* Log level by name: err, warning, notice, info, debug. -EINVAL otherwise. */
int cfg_parse_log_level(const char *text, enum arena_log_level *ret);

/* PROXY mode by name: off, v1, v2, optional. -EINVAL otherwise. */
int cfg_parse_proxy_mode(const char *text, enum arena_proxy_mode *ret);

/* Network "ADDR/BITS" or a single "ADDR" (all bits), IPv4 or IPv6, numeric; host bits must be
 * zero. -EINVAL if malformed, -ERANGE for a prefix too long for the family. */
int cfg_parse_cidr(const char *text, struct arena_cidr *ret);

/* Write a duration in the largest unit that represents it exactly ("5s", "250ms", "2m"), in a
 * form cfg_parse_duration() reads back to the same value. buf must hold at least 24 bytes. */
void cfg_format_duration(uint64_t ms, char *buf, size_t size);

/* Write a size as "256k", "64m" or a plain byte count, readable by cfg_parse_size(). buf must
 * hold at least 24 bytes. */
void cfg_format_size(uint64_t bytes, char *buf, size_t size);

/* True if two listen entries denote the same socket address (family, address, port). */
bool cfg_listen_same(const struct arena_listen *a, const struct arena_listen *b);

/* True if every field of two configurations is equal (listen entries compared by address and
 * normalised text). For tests and the fuzzer's round-trip oracle. */
bool cfg_equal(const struct arena_config *a, const struct arena_config *b);

/* Edit distance (insertions, deletions, substitutions and adjacent transpositions) between two
 * strings, or a value above limit if it exceeds limit or either string is longer than 64
 * bytes. */
unsigned cfg_edit_distance(const char *a, const char *b, unsigned limit);

/* Copy text into buf for quoting in an error message: control and non-ASCII bytes become '?',
 * and text longer than the buffer is cut with "...". Always NUL-terminates (size >= 4). */
void cfg_quote(const char *text, char *buf, size_t size);

#endif /* ARENA_CONFIG_INTERNAL_H */
