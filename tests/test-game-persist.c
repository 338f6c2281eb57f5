/* test-game-persist.c: the leaderboard survives a restart; a corrupt state file is set aside.
 *
 * A player scores 3 points; the daemon is stopped with SIGTERM (which saves) and a second
 * daemon is started on the same state_dir: its leaderboard lists the player with 3. That
 * daemon is stopped too, one byte of the state file is flipped, and a third daemon is started:
 * it must come up, log that the file was corrupt, leave it renamed to scores.corrupt-<time>
 * with its bytes unchanged, and answer with an empty leaderboard.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "game-util.h"

#define WAIT_MS 3000

static const char *const base_kv[] = {
    "workers=4", "room_width=4", "room_height=4", "room_capacity=1", "gems_per_room=15", NULL,
};

/* Every cell but the player's holds a gem: each step inside the grid scores. */
static void score_three(struct hc *c)
{
	struct arena_snapshot s;
	uint32_t seq = 0;
	int dx = 1;

	for (int n = 0; n < 12; n++) {
		REQUIRE(gu_move(c, ++seq, dx, 0) == 0, "MOVE sent");
		REQUIRE(gu_wait_ack(c, seq, &s, WAIT_MS) == 0, "MOVE acknowledged");
		int i = gu_find(&s, c->welcome.player_id);
		if (i >= 0 && s.players[i].score >= 3)
			return;
		if (i >= 0 && (s.players[i].x == 0 || s.players[i].x == 3))
			dx = s.players[i].x == 0 ? 1 : -1;
	}
	h_bail("the player did not reach 3 points");
}

static struct hd *start_on(const char *state_dir)
{
	char kv_state[300];
	const char *kv[16];
	size_t n = 0;

	while (base_kv[n])
		kv[n] = base_kv[n], n++;
	snprintf(kv_state, sizeof(kv_state), "state_dir=%s", state_dir);
	kv[n++] = kv_state;
	kv[n] = NULL;
	return hd_start(kv);
}

static bool read_file(const char *path, unsigned char *buf, size_t cap, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");

	if (!f)
		return false;
	*ret_len = fread(buf, 1, cap, f);
	fclose(f);
	return true;
}

/* The name of the first scores.corrupt-* in dir, or false. */
static bool find_aside(const char *dir, char *ret, size_t cap)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (!dp)
		return false;
	while (!found && (e = readdir(dp)))
		if (strncmp(e->d_name, "scores.corrupt-", 15) == 0) {
			snprintf(ret, cap, "%s/%s", dir, e->d_name);
			found = true;
		}
	closedir(dp);
	return found;
}

int main(void)
{
	static unsigned char img[1 << 16], aside_img[1 << 16];
	char state[256], file[300], aside[600];
	struct arena_leaderboard lb;
	size_t len = 0, alen = 0;
	struct hd *d1, *d2, *d3;
	struct hc *c;

	h_init("game-persist", "the leaderboard survives a restart; a corrupt file is set aside");
	d1 = hd_start(base_kv);
	snprintf(state, sizeof(state), "%s/state", d1->dir);
	snprintf(file, sizeof(file), "%s/scores", state);

	c = hc_connect(d1, NULL);
	REQUIRE(c && hc_hello(c, "keeper", WAIT_MS) == 0, "a player is welcomed");
	REQUIRE(gu_join(c, "vault", NULL, WAIT_MS) == 0, "and joins a room");
	score_three(c);
	REQUIRE(gu_leaderboard(c, &lb, WAIT_MS) == 0, "LEADERBOARD answered");
	CHECK(lb.n == 1 && strcmp(lb.entries[0].name.s, "keeper") == 0 && lb.entries[0].score == 3,
	      "the leaderboard lists keeper with 3 points");
	hc_close(c);
	CHECK(hd_stop(d1, 10000) == 0, "SIGTERM: the daemon saves and exits cleanly");
	struct stat st;
	int sr = stat(file, &st);
	CHECK(sr == 0 && st.st_size > 20, "the state file exists (%lld bytes)",
	      sr == 0 ? (long long)st.st_size : -1LL);

	d2 = start_on(state);
	c = hc_connect(d2, NULL);
	REQUIRE(c && hc_hello(c, "reader", WAIT_MS) == 0, "a client of the restarted daemon");
	REQUIRE(gu_leaderboard(c, &lb, WAIT_MS) == 0, "LEADERBOARD answered");
	CHECK(lb.n == 1 && strcmp(lb.entries[0].name.s, "keeper") == 0 && lb.entries[0].score == 3,
	      "after the restart the leaderboard still lists keeper with 3 points (%u entries)",
	      lb.n);
	hc_close(c);
	CHECK(hd_stop(d2, 10000) == 0, "the second daemon exits cleanly");

	/* Flip one byte inside the entries: the CRC no longer matches. */
	REQUIRE(read_file(file, img, sizeof(img), &len) && len > 20, "the state file is read");
	img[len / 2] ^= 0x20;
	int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	REQUIRE(fd >= 0 && write(fd, img, len) == (ssize_t)len, "the state file is corrupted");
	close(fd);

	d3 = start_on(state);
	CHECK(hd_log_contains(d3, "corrupt"), "the daemon logged that the state file was corrupt");
	CHECK(find_aside(state, aside, sizeof(aside)), "the file was renamed aside (%s)", aside);
	CHECK(read_file(aside, aside_img, sizeof(aside_img), &alen) && alen == len &&
	          memcmp(aside_img, img, len) == 0,
	      "the set-aside file holds the corrupt bytes unchanged");
	c = hc_connect(d3, NULL);
	REQUIRE(c && hc_hello(c, "reader", WAIT_MS) == 0, "the daemon serves clients");
	REQUIRE(gu_leaderboard(c, &lb, WAIT_MS) == 0, "LEADERBOARD answered");
	CHECK(lb.n == 0, "the leaderboard starts empty (%u entries)", lb.n);
	hc_close(c);
	CHECK(hd_stop(d3, 10000) == 0, "the third daemon exits cleanly");
	CHECK(find_aside(state, aside, sizeof(aside)), "the set-aside file is still there");
	hd_free(d3);
	hd_free(d2);
	hd_free(d1);
	return h_done();
}
