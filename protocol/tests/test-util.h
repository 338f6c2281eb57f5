/* test-util.h: helpers shared by the codec unit tests (test-proto.c, test-proto-bad.c). */
#ifndef ARENA_TEST_UTIL_H
#define ARENA_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena_proto.h"

/* Every client-to-server and every server-to-client type. */
extern const uint8_t client_types[7];
extern const uint8_t server_types[9];

/* Set a string field from a C string (asserts it fits); the rest of the array is zeroed. */
void set_str32(struct arena_str32 *dst, const char *s);
void set_text(struct arena_text *dst, const char *s);
/* Fill buf with `len` bytes of repetitions of `unit` (len a multiple of strlen(unit)), NUL-end. */
const char *repeat(char *buf, const char *unit, size_t len);
/* A zeroed heap message of the given type (free() it). */
struct arena_msg *new_msg(uint8_t type);
/* A valid message of `type`; variant v picks sizes: v % 4 == 3 gives the maximal counts. */
void fill_sample(struct arena_msg *m, uint8_t type, unsigned v);
/* Field-by-field equality, including the NUL after every string. */
void assert_msg_eq(const struct arena_msg *a, const struct arena_msg *b);
/* The decoder side that accepts `type`. */
enum arena_side side_for(uint8_t type);
/* arena_encode() that must succeed; checks the header and returns the frame length. */
size_t encode_ok(const struct arena_msg *m, uint8_t *buf, size_t cap);
/* encode -> peek -> decode_payload and -> stream decoder, both must equal *m. */
void roundtrip(const struct arena_msg *m);

/* Test groups of test-proto-bad.c, run by test-proto.c's main(). */
void test_bad_truncated(void **state);
void test_bad_oversize(void **state);
void test_bad_unknown_type(void **state);
void test_bad_utf8(void **state);
void test_bad_range(void **state);
void test_bad_trailing(void **state);
void test_peek(void **state);
void test_utf8_table(void **state);

#endif /* ARENA_TEST_UTIL_H */
