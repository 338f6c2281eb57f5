/* persist.h: the state file: player scores by name (and so the leaderboard) across restarts.
 *
 * Format (docs/GAME.md): a magic + version header, a count, fixed entries, and a CRC32 trailer.
 * Saving writes "<dir>/scores.tmp", fsyncs it, renames it over "<dir>/scores", and fsyncs the
 * directory, so a crash at any point leaves either the old or the new file. Loading validates
 * everything; a corrupt or truncated file is renamed aside to "scores.corrupt-<unix time>" and
 * reported, never silently overwritten. Library code: no logging.
 */
#ifndef ARENA_PERSIST_H
#define ARENA_PERSIST_H

#include <stddef.h>
#include <sys/types.h>

#include "world.h"

/* Parse a state file image. Returns 0 and *ret_n entries in out[0..max), or -EBADMSG
 * (corrupt, truncated, bad magic/version/CRC, invalid names). The whole image is validated
 * even when it holds more than max entries; then its first max are returned (persist_save
 * writes best first). Pure: for the fuzzer too. */
int persist_parse(const void *buf, size_t len, struct world_score *out, size_t max, size_t *ret_n);

/* Size in bytes of a state file image holding n entries. */
size_t persist_image_size(size_t n);

/* Encode n entries, in the given order, as a state file image into buf[0..cap). Returns the
 * length, -ENOBUFS if cap is too small, or -EINVAL for an entry persist_parse would reject
 * (name not 1..ARENA_NAME_MAX bytes of valid UTF-8). Pure. */
ssize_t persist_format(const struct world_score *in, size_t n, void *buf, size_t cap);

/* Save n entries atomically into dir (created if missing, mode 0750). 0 or -errno. */
int persist_save(const char *dir, const struct world_score *in, size_t n);

/* Create dir with mode 0750, and any missing parent with mode 0755 (like mkdir -p). 0 if it
 * exists or was made, or -errno (-ENOTDIR if a component is not a directory). */
int persist_mkdir(const char *dir);

/* Load from dir. Returns 0 (an absent file is 0 with *ret_n = 0), -EBADMSG if the file was
 * corrupt (it has then been renamed aside; its new path is in ret_aside, if non-NULL, of size
 * ARENA_PATH_MAX), or another -errno for I/O errors. */
int persist_load(const char *dir, struct world_score *out, size_t max, size_t *ret_n,
                 char *ret_aside);

#endif /* ARENA_PERSIST_H */
