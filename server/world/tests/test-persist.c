/* test-persist.c: unit tests of the scores state file: round trip, every corruption, set-aside.
 *
 * Corrupt images are built from a valid one and, where the point is a field check rather than
 * the CRC, re-sealed with a CRC computed here independently (bit by bit), which also pins the
 * checksum to standard CRC-32/IEEE. Every test works in its own mkdtemp directory and removes
 * it afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "persist.h"
#include "state-seal.h"

struct dir {
	char path[256];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	const char *tmp = getenv("TMPDIR");

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s/arena-persist-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static void remove_tree(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *e;
	char sub[512];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(sub);
		else
			unlink(sub);
	}
	closedir(dp);
	rmdir(path);
}

static int teardown(void **state)
{
	struct dir *d = *state;

	remove_tree(d->path);
	free(d);
	return 0;
}

static const struct world_score sample[] = {
    {"alice", 7},
    {"bob", 42},
    {"\xc3\xa9l\xc3\xa8ve", 3},                        /* UTF-8 name */
    {"thirty-two-bytes-long-name-xxxxx", 4294967295u}, /* longest name, largest score */
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static size_t image(uint8_t *buf, size_t cap)
{
	ssize_t n = persist_format(sample, NSAMPLE, buf, cap);

	assert_true(n > 0);
	return (size_t)n;
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static bool exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void roundtrip(void **state)
{
	struct dir *d = *state;
	struct world_score out[8];
	size_t n = 99;
	char sub[300];

	/* Missing directory, then missing file: both just empty. */
	snprintf(sub, sizeof(sub), "%s/state", d->path);
	assert_int_equal(persist_load(sub, out, 8, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(persist_save(sub, sample, NSAMPLE), 0);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	mode_t mask = umask(022);
	umask(mask);
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);
	assert_false(exists(sub, "scores.tmp"));
	assert_true(exists(sub, "scores"));

	assert_int_equal(persist_load(sub, out, 8, &n, NULL), 0);
	assert_int_equal(n, NSAMPLE);
	/* Written best first. */
	assert_string_equal(out[0].name, "thirty-two-bytes-long-name-xxxxx");
	assert_int_equal(out[0].score, 4294967295u);
	assert_string_equal(out[1].name, "bob");
	assert_string_equal(out[2].name, "alice");
	assert_string_equal(out[3].name, "\xc3\xa9l\xc3\xa8ve");
	assert_int_equal(out[3].score, 3);

	/* Fewer slots than entries: the best ones. */
	assert_int_equal(persist_load(sub, out, 2, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[1].name, "bob");

	/* Overwrite with an empty table. */
	assert_int_equal(persist_save(sub, NULL, 0), 0);
	assert_int_equal(persist_load(sub, out, 8, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_false(exists(sub, "scores.tmp"));

	/* A stale temp file from a crash is cleaned at load and never read. */
	write_file(sub, "scores.tmp", "junk", 4);
	assert_int_equal(persist_load(sub, out, 8, &n, NULL), 0);
	assert_false(exists(sub, "scores.tmp"));
}

static void format_checks(void **state)
{
	uint8_t buf[512];
	struct world_score bad = {"ok", 1};

	size_t len = image(buf, sizeof(buf));
	assert_int_equal(len, 20 + 37 * NSAMPLE);
	assert_memory_equal(buf, "ARENASCR", 8);
	uint32_t c = crc_bitwise(buf, len - 4);
	assert_int_equal(buf[len - 4], (uint8_t)(c >> 24));
	assert_int_equal(buf[len - 1], (uint8_t)c);
	assert_int_equal(persist_format(sample, NSAMPLE, buf, len - 1), -ENOBUFS);
	bad.name[0] = '\0';
	assert_int_equal(persist_format(&bad, 1, buf, sizeof(buf)), -EINVAL);
	snprintf(bad.name, sizeof(bad.name), "\xed\xa0\x80"); /* a surrogate */
	assert_int_equal(persist_format(&bad, 1, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(persist_image_size(0), 20);
}

/* Write img as the state file, load it: -EBADMSG, set aside under a fresh name with the same
 * bytes, and the state file gone. */
static void expect_corrupt(const char *dir, const uint8_t *img, size_t len)
{
	struct world_score out[8];
	char aside[ARENA_PATH_MAX] = "";
	char prefix[512];
	size_t n = 77;

	write_file(dir, "scores", img, len);
	assert_int_equal(persist_load(dir, out, 8, &n, aside), -EBADMSG);
	assert_int_equal(n, 77);
	assert_false(exists(dir, "scores"));
	snprintf(prefix, sizeof(prefix), "%s/scores.corrupt-", dir);
	assert_int_equal(strncmp(aside, prefix, strlen(prefix)), 0);
	FILE *f = fopen(aside, "rb");
	assert_non_null(f);
	uint8_t back[1024];
	size_t got = fread(back, 1, sizeof(back), f);
	fclose(f);
	assert_int_equal(got, len);
	if (len)
		assert_memory_equal(back, img, len);
	/* A clean start afterwards. */
	assert_int_equal(persist_load(dir, out, 8, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void corrupt_files_are_set_aside(void **state)
{
	struct dir *d = *state;
	uint8_t good[512], img[512];
	size_t len = image(good, sizeof(good));

	/* Truncated. */
	expect_corrupt(d->path, good, len - 5);
	expect_corrupt(d->path, good, 10);
	expect_corrupt(d->path, good, 0);
	/* One flipped byte: the CRC catches it. */
	memcpy(img, good, len);
	img[30] ^= 0x01;
	expect_corrupt(d->path, img, len);
	/* Bad magic. */
	memcpy(img, good, len);
	img[0] = 'X';
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Wrong version, sealed. */
	memcpy(img, good, len);
	img[11] = 2;
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Huge count, sealed. */
	memcpy(img, good, len);
	memset(img + 12, 0xff, 4);
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Count one short of the length (trailing bytes), sealed. */
	memcpy(img, good, len);
	img[15] -= 1;
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Invalid UTF-8 in a name, sealed. */
	memcpy(img, good, len);
	img[16 + 1] = 0xff;
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* A name length of zero, and one above 32, sealed. */
	memcpy(img, good, len);
	img[16] = 0;
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	memcpy(img, good, len);
	img[16] = 33;
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Garbage in a name's padding, sealed. */
	memcpy(img, good, len);
	img[16 + 1 + 31] = 'z';
	reseal(img, len);
	expect_corrupt(d->path, img, len);
	/* Trailing bytes after a valid image. */
	memcpy(img, good, len);
	img[len] = 0;
	expect_corrupt(d->path, img, len + 1);
}

static void set_aside_never_overwrites(void **state)
{
	struct dir *d = *state;
	struct world_score out[4];
	char a1[ARENA_PATH_MAX], a2[ARENA_PATH_MAX];
	size_t n;

	write_file(d->path, "scores", "first", 5);
	assert_int_equal(persist_load(d->path, out, 4, &n, a1), -EBADMSG);
	write_file(d->path, "scores", "second", 6);
	assert_int_equal(persist_load(d->path, out, 4, &n, a2), -EBADMSG);
	assert_string_not_equal(a1, a2);
	struct stat s1, s2;
	assert_int_equal(stat(a1, &s1), 0);
	assert_int_equal(stat(a2, &s2), 0);
	assert_int_equal(s1.st_size, 5);
	assert_int_equal(s2.st_size, 6);
}

static void save_errors(void **state)
{
	struct dir *d = *state;
	char file[300];

	snprintf(file, sizeof(file), "%s/plainfile", d->path);
	write_file(d->path, "plainfile", "x", 1);
	assert_true(persist_save(file, sample, NSAMPLE) < 0);
	struct world_score bad = {"", 3};
	assert_int_equal(persist_save(d->path, &bad, 1), -EINVAL);
	assert_false(exists(d->path, "scores"));
	assert_false(exists(d->path, "scores.tmp"));
	assert_int_equal(persist_save(NULL, sample, 1), -EINVAL);
}

/* A state_dir whose parents do not exist yet is made whole (mkdir -p), as on a fresh machine
 * where /var/local/lib does not exist; a path through a plain file is refused. */
static void save_makes_parents(void **state)
{
	struct dir *d = *state;
	char nested[400], through[400];
	struct world_score out[8];
	struct stat st;
	size_t n = 0;

	snprintf(nested, sizeof(nested), "%s/a/b/c", d->path);
	assert_int_equal(persist_save(nested, sample, NSAMPLE), 0);
	assert_int_equal(stat(nested, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(persist_load(nested, out, 8, &n, NULL), 0);
	assert_int_equal(n, NSAMPLE);
	assert_int_equal(persist_mkdir(nested), 0); /* exists: fine */

	write_file(d->path, "plain", "x", 1);
	snprintf(through, sizeof(through), "%s/plain/sub", d->path);
	assert_int_equal(persist_mkdir(through), -ENOTDIR);
	snprintf(through, sizeof(through), "%s/plain", d->path);
	assert_int_equal(persist_mkdir(through), -ENOTDIR);
}

static void parse_edge_cases(void **state)
{
	uint8_t buf[512];
	struct world_score out[8];
	size_t n = 5;

	size_t len = image(buf, sizeof(buf));
	assert_int_equal(persist_parse(buf, len, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(persist_parse(buf, len, out, 8, &n), 0);
	assert_int_equal(n, NSAMPLE);
	/* The whole image is validated even when fewer entries are wanted. */
	buf[len - 10] ^= 0x40;
	n = 5;
	assert_int_equal(persist_parse(buf, len, out, 1, &n), -EBADMSG);
	assert_int_equal(n, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(roundtrip, setup, teardown),
	    cmocka_unit_test(format_checks),
	    cmocka_unit_test_setup_teardown(corrupt_files_are_set_aside, setup, teardown),
	    cmocka_unit_test_setup_teardown(set_aside_never_overwrites, setup, teardown),
	    cmocka_unit_test_setup_teardown(save_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(save_makes_parents, setup, teardown),
	    cmocka_unit_test(parse_edge_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
