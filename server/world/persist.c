/* persist.c: the scores state file: format, validation, atomic save, load with set-aside.
 *
 * Image (all integers big endian):
 *     "ARENASCR" | u32 version (1) | u32 count | count x { u8 name_len, name[32] zero padded,
 *     u32 score } | u32 CRC-32 (IEEE) of every byte before it
 * so its length is exactly 20 + 37 * count. Parsing trusts nothing: the count must match the
 * length, the CRC must match, each name is 1..32 bytes of valid UTF-8 with zero padding.
 * Saving writes scores.tmp, fsyncs it, renames it over scores and fsyncs the directory; a
 * corrupt file found at load is renamed to scores.corrupt-<unix time> (never over an existing
 * file) so an operator can look at it, and the daemon starts with an empty table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist.h"

#define MAGIC        "ARENASCR"
#define MAGIC_LEN    8
#define FILE_VERSION 1
#define HEADER_LEN   16
#define ENTRY_LEN    37
#define TRAILER_LEN  4
#define FILE_MAX     (64u << 20) /* a bigger file is not ours */
#define STATE_NAME   "scores"
#define TEMP_NAME    "scores.tmp"

static uint32_t crc32_ieee(const uint8_t *p, size_t len)
{
	static const uint32_t nibble[16] = {
	    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	    0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		c = (c >> 4) ^ nibble[c & 15];
		c = (c >> 4) ^ nibble[c & 15];
	}
	return c ^ 0xffffffffu;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t persist_image_size(size_t n)
{
	return HEADER_LEN + n * ENTRY_LEN + TRAILER_LEN;
}

int persist_parse(const void *buf, size_t len, struct world_score *out, size_t max, size_t *ret_n)
{
	const uint8_t *p = buf;

	if (!p || (!out && max) || !ret_n)
		return -EINVAL;
	if (len < HEADER_LEN + TRAILER_LEN || memcmp(p, MAGIC, MAGIC_LEN) != 0 ||
	    get32(p + 8) != FILE_VERSION)
		return -EBADMSG;
	uint32_t count = get32(p + 12);
	if (count > (len - HEADER_LEN - TRAILER_LEN) / ENTRY_LEN ||
	    len != persist_image_size(count))
		return -EBADMSG;
	if (crc32_ieee(p, len - TRAILER_LEN) != get32(p + len - TRAILER_LEN))
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = p + HEADER_LEN + (size_t)i * ENTRY_LEN;
		uint8_t nlen = e[0];

		if (nlen < 1 || nlen > ARENA_NAME_MAX || !arena_utf8_valid(e + 1, nlen))
			return -EBADMSG;
		for (size_t k = 1u + nlen; k < 1u + ARENA_NAME_MAX; k++)
			if (e[k] != 0)
				return -EBADMSG;
	}
	size_t n = count < max ? count : max;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = p + HEADER_LEN + i * ENTRY_LEN;

		memset(out[i].name, 0, sizeof(out[i].name));
		memcpy(out[i].name, e + 1, e[0]);
		out[i].score = get32(e + 1 + ARENA_NAME_MAX);
	}
	*ret_n = n;
	return 0;
}

ssize_t persist_format(const struct world_score *in, size_t n, void *buf, size_t cap)
{
	uint8_t *p = buf;

	if ((!in && n) || !p || n > UINT32_MAX)
		return -EINVAL;
	size_t total = persist_image_size(n);
	if (cap < total)
		return -ENOBUFS;
	for (size_t i = 0; i < n; i++) {
		size_t nlen = strnlen(in[i].name, ARENA_NAME_MAX + 1);
		if (nlen < 1 || nlen > ARENA_NAME_MAX || !arena_utf8_valid(in[i].name, nlen))
			return -EINVAL;
	}
	memcpy(p, MAGIC, MAGIC_LEN);
	put32(p + 8, FILE_VERSION);
	put32(p + 12, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = p + HEADER_LEN + i * ENTRY_LEN;
		size_t nlen = strlen(in[i].name);

		memset(e, 0, ENTRY_LEN);
		e[0] = (uint8_t)nlen;
		memcpy(e + 1, in[i].name, nlen);
		put32(e + 1 + ARENA_NAME_MAX, in[i].score);
	}
	put32(p + total - TRAILER_LEN, crc32_ieee(p, total - TRAILER_LEN));
	return (ssize_t)total;
}

static int cmp_best_first(const void *a, const void *b)
{
	const struct world_score *x = *(const struct world_score *const *)a;
	const struct world_score *y = *(const struct world_score *const *)b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The image of in[] sorted best first, in *ret_buf (malloc'd) of *ret_len bytes. */
static int build_image(const struct world_score *in, size_t n, uint8_t **ret_buf, size_t *ret_len)
{
	struct world_score *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
	const struct world_score **order = n ? malloc(n * sizeof(*order)) : NULL;
	size_t len = persist_image_size(n);
	uint8_t *buf = malloc(len);
	int r = -ENOMEM;

	if (!buf || (n && (!sorted || !order)))
		goto out;
	for (size_t i = 0; i < n; i++)
		order[i] = &in[i];
	if (n)
		qsort(order, n, sizeof(*order), cmp_best_first);
	for (size_t i = 0; i < n; i++)
		sorted[i] = *order[i];
	ssize_t l = persist_format(sorted, n, buf, len);
	if (l < 0) {
		r = (int)l;
		goto out;
	}
	*ret_buf = buf;
	*ret_len = (size_t)l;
	buf = NULL;
	r = 0;
out:
	free(buf);
	free(sorted);
	free(order);
	return r;
}

int persist_mkdir(const char *dir)
{
	char path[ARENA_PATH_MAX];
	size_t len;
	struct stat st;

	if (!dir || !*dir)
		return -EINVAL;
	len = strlen(dir);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	/* Parents first: each missing component of the path, then the directory itself. */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int persist_save(const char *dir, const struct world_score *in, size_t n)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int dfd = -1, fd = -1, r;

	if (!dir || !*dir || (!in && n))
		return -EINVAL;
	r = build_image(in, n, &img, &len);
	if (r < 0)
		return r;
	r = persist_mkdir(dir);
	if (r < 0)
		goto out;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		goto out;
	}
	fd = openat(dfd, TEMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = write_all(fd, img, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	fd = -1;
	if (r == 0 && renameat(dfd, TEMP_NAME, dfd, STATE_NAME) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, TEMP_NAME, 0);
		goto out;
	}
	if (fsync(dfd) < 0)
		r = -errno;
out:
	if (dfd >= 0)
		close(dfd);
	free(img);
	return r;
}

/* Rename the state file aside without ever replacing an existing file. */
static int set_aside(int dfd, const char *dir, char *ret_path)
{
	char name[64];
	long long t = (long long)time(NULL);

	for (int k = 0; k < 100; k++) {
		if (k == 0)
			snprintf(name, sizeof(name), "scores.corrupt-%lld", t);
		else
			snprintf(name, sizeof(name), "scores.corrupt-%lld-%d", t, k);
		int r = renameat2(dfd, STATE_NAME, dfd, name, RENAME_NOREPLACE);
		if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* No RENAME_NOREPLACE here: link() refuses to replace as well. */
			r = linkat(dfd, STATE_NAME, dfd, name, 0);
			if (r == 0)
				r = unlinkat(dfd, STATE_NAME, 0);
		}
		if (r == 0) {
			fsync(dfd);
			if (ret_path)
				snprintf(ret_path, ARENA_PATH_MAX, "%s/%s", dir, name);
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO; /* shrank under us */
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int persist_load(const char *dir, struct world_score *out, size_t max, size_t *ret_n,
                 char *ret_aside)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	int dfd, fd = -1, r = 0;
	bool corrupt = false;

	if (!dir || !*dir || (!out && max) || !ret_n)
		return -EINVAL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT)
			return -errno;
		*ret_n = 0;
		return 0;
	}
	unlinkat(dfd, TEMP_NAME, 0); /* a save interrupted by a crash */
	fd = openat(dfd, STATE_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		r = errno == ENOENT ? 0 : -errno;
		corrupt = errno == ELOOP;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		corrupt = true;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = read_all(fd, buf, (size_t)st.st_size);
	if (r < 0)
		goto out;
	if (persist_parse(buf, (size_t)st.st_size, out, max, &n) < 0)
		corrupt = true;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	if (corrupt) {
		r = set_aside(dfd, dir, ret_aside);
		if (r == 0)
			r = -EBADMSG;
	}
	close(dfd);
	if (r == 0)
		*ret_n = n;
	return r;
}
