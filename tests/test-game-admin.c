/* test-game-admin.c: arenactl against a real arenad: status, kick, broadcast, drain-worker,
 * shutdown, its exit codes, and hostile admin clients.
 *
 * 2 workers. status --json must name the master and both workers by pid and count the players
 * the test connected. kick removes exactly that player (BYE(kicked)) from the snapshots of the
 * others in its room, whichever worker serves them. broadcast reaches each of two rooms, with
 * players on both workers, exactly once per player (and --room only that room). drain-worker
 * keeps serving the drained worker's players, sends new ones elsewhere, and each of its players
 * that reconnects with its token resumes (same id, same room) on another worker; the drained
 * worker then exits. Silent, oversized and garbage admin clients are answered with an error
 * and cut while the game and the socket keep serving. shutdown --deadline ends arenad with 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "game-util.h"

static char sock[256];

/* Run arenactl with args (a shell word list); its stdout in out. Its exit status, or -1. */
static int ctl(char *out, size_t cap, const char *args)
{
	char cmd[1024];
	FILE *p;
	size_t n = 0;
	int st;

	const char *scale = getenv("ARENA_TEST_TIMEOUT_SCALE"); /* valgrind.sh: a slow daemon */
	int t = 5 * (scale && atoi(scale) > 0 ? atoi(scale) : 1);

	snprintf(cmd, sizeof(cmd), "'%s' -t %d -s '%s' %s 2>/dev/null", getenv("ARENACTL"),
	         t > 600 ? 600 : t, sock, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (out && n + 1 < cap) {
		size_t k = fread(out + n, 1, cap - n - 1, p);
		if (k == 0)
			break;
		n += k;
	}
	if (out) {
		while (n > 0 && out[n - 1] == '\n')
			n--;
		out[n] = '\0';
	} else
		while (fgetc(p) != EOF)
			;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Count CHAT_MSG from the server (sender id 0) with text `text` that c receives within ms. */
static unsigned notices(struct hc *c, const char *text, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	struct arena_msg m;
	unsigned n = 0;

	while (hc_recv(c, &m, (unsigned)h_remaining(deadline)) == 0)
		if (m.type == ARENA_CHAT_MSG && m.u.chat_msg.sender_id == 0 &&
		    !strcmp(m.u.chat_msg.sender.s, "server") && !strcmp(m.u.chat_msg.text.s, text))
			n++;
	return n;
}

/* Read c's snapshots until one without player `gone` that has every id in want[0..n). */
static bool snapshot_without(struct hc *c, uint32_t gone, const uint32_t *want, size_t n)
{
	uint64_t deadline = h_now_ms() + 3000;
	struct arena_snapshot s;

	while (gu_snapshot(c, &s, (unsigned)h_remaining(deadline)) == 0) {
		bool ok = gu_find(&s, gone) < 0;

		for (size_t i = 0; i < n; i++)
			ok = ok && gu_find(&s, want[i]) >= 0;
		if (ok)
			return true;
	}
	return false;
}

static struct hc *player(struct hd *d, const char *name, const char *room)
{
	struct hc *c = hc_connect(d, NULL);

	MUST(c && hc_hello(c, name, 3000) == 0, "%s is welcomed", name);
	MUST(gu_join(c, room, NULL, 3000) == 0, "%s joins %s", name, room);
	return c;
}

static int raw_admin(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(sock) >= sizeof(a.sun_path)) {
		close(fd);
		return -1;
	}
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read from fd until EOF (true) or timeout (false); the text read in out. */
static bool read_to_eof(int fd, char *out, size_t cap, unsigned ms)
{
	uint64_t deadline = h_now_ms() + ms;
	size_t n = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (poll(&p, 1, h_remaining(deadline)) <= 0)
			return false;
		k = read(fd, out + n, cap - n - 1);
		if (k <= 0) {
			out[n] = '\0';
			return true;
		}
		n += (size_t)k;
		if (n + 1 >= cap)
			n = 0; /* keep reading; only the tail matters */
	}
}

/* The slot of worker pid in status --json, or -1. */
static int slot_of(const char *json, pid_t pid)
{
	char key[48];
	const char *p;
	int slot;

	snprintf(key, sizeof(key), "\"pid\": %d,", (int)pid);
	p = strstr(json, key);
	if (!p)
		return -1;
	while (p > json && strncmp(p, "{\"slot\": ", 9) != 0)
		p--;
	return sscanf(p, "{\"slot\": %d", &slot) == 1 ? slot : -1;
}

int main(void)
{
	static char out[65536];
	struct hc *two[2], *a, *b, *c, *dd, *e;
	pid_t owner2[2], w[2];
	char args[256], key[64];
	int r;

	h_init("game-admin",
	       "arenactl: status, kick, broadcast, drain-worker, shutdown, hostility");
	if (!getenv("ARENACTL"))
		h_skip("ARENACTL is not set");
	struct hd *d = hd_start((const char *const[]){"workers=2", "resume_grace=20s", NULL});
	snprintf(sock, sizeof(sock), "%s/admin.sock", d->dir);
	REQUIRE(hd_workers(d, w, 2) == 2, "arenad runs 2 workers");

	/* status */
	r = ctl(out, sizeof(out), "--json status");
	snprintf(key, sizeof(key), "\"pid\": %d,", (int)d->pid);
	CHECK(r == 0 && strstr(out, key), "status --json names the master (pid %d)", (int)d->pid);
	CHECK(slot_of(out, w[0]) >= 0 && slot_of(out, w[1]) >= 0,
	      "status --json lists both workers by pid");
	r = ctl(out, sizeof(out), "status");
	CHECK(r == 0 && strstr(out, "WORKER") && strstr(out, "running"),
	      "status prints a worker table");

	/* kick: A and B on different workers, C anywhere, all in room k */
	gu_distinct_workers(d, 2, "w", two, owner2);
	a = two[0];
	b = two[1];
	MUST(gu_join(a, "k", NULL, 3000) == 0 && gu_join(b, "k", NULL, 3000) == 0, "A, B join k");
	c = player(d, "c", "k");
	uint32_t ida = a->welcome.player_id, idb = b->welcome.player_id, idc = c->welcome.player_id;
	h_sleep_ms(200);
	r = ctl(out, sizeof(out), "--json status");
	CHECK(r == 0 && strstr(out, "\"players\": 3,"), "status --json counts 3 players");
	r = ctl(out, sizeof(out), "--json players --room k");
	snprintf(key, sizeof(key), "\"id\": %u,", idb);
	CHECK(r == 0 && strstr(out, key) && strstr(out, "\"room\": \"k\""),
	      "players --room k lists B in k");
	snprintf(args, sizeof(args), "kick %u 'too rude'", idb);
	r = ctl(out, sizeof(out), args);
	CHECK(r == 0 && strstr(out, "kicked 1"), "kick %u answers 'kicked 1' (%d: %s)", idb, r,
	      out);
	CHECK(hc_wait_close(b, 3000) == 0 && b->got_bye && b->bye_reason == ARENA_BYE_KICKED,
	      "B was told BYE(kicked) and closed");
	CHECK(snapshot_without(a, idb, (uint32_t[]){ida, idc}, 2),
	      "A's snapshots show A and C, not B");
	CHECK(snapshot_without(c, idb, (uint32_t[]){ida, idc}, 2),
	      "C's snapshots show A and C, not B");
	r = ctl(NULL, 0, args);
	CHECK(r == 1, "kicking B again fails with exit 1 (%d)", r);

	/* broadcast: rooms k (A, C) and r2 (D, E), players on both workers */
	dd = player(d, "d", "r2");
	e = player(d, "e", "r2");
	r = ctl(out, sizeof(out), "broadcast hello every room");
	CHECK(r == 0 && strstr(out, "sent to 2 rooms"), "broadcast reached 2 rooms (%s)", out);
	struct hc *all[4] = {a, c, dd, e};
	for (int i = 0; i < 4; i++)
		CHECK(notices(all[i], "hello every room", 1200) == 1,
		      "player %d got the notice exactly once", i);
	r = ctl(out, sizeof(out), "broadcast --room r2 only r2");
	CHECK(r == 0 && strstr(out, "sent to 1 rooms"), "broadcast --room r2 reached 1 room");
	CHECK(notices(dd, "only r2", 1000) == 1 && notices(e, "only r2", 200) == 1,
	      "both players of r2 got it once");
	CHECK(notices(a, "only r2", 200) == 0 && notices(c, "only r2", 200) == 0,
	      "the players of k did not");
	r = ctl(NULL, 0, "broadcast --room nowhere hi");
	CHECK(r == 1, "broadcast to a room that is not open fails (%d)", r);

	/* drain-worker: the worker serving A */
	pid_t drained = gu_owner(d, a);
	r = ctl(out, sizeof(out), "--json status");
	int slot = slot_of(out, drained);
	REQUIRE(slot >= 0, "A's worker %d is in status", (int)drained);
	snprintf(args, sizeof(args), "drain-worker %d", slot);
	r = ctl(out, sizeof(out), args);
	CHECK(r == 0 && strstr(out, "draining"), "drain-worker %d accepted", slot);
	CHECK(hc_ping(a, 2000) >= 0, "A is still served by the draining worker");
	pid_t now[3];
	CHECK(hd_wait_workers(d, 3, now, 3, 5000) == 3, "a replacement worker started");
	struct hc *f = hc_connect(d, NULL);
	CHECK(f && hc_hello(f, "f", 3000) == 0 && gu_owner(d, f) != drained,
	      "a new player goes to another worker");
	hc_close(f);
	/* every player of the drained worker leaves and comes back with its token */
	struct hc *mine[4] = {a, c, dd, e};
	const char *names[4] = {"w0", "c", "d", "e"};
	const char *rooms[4] = {"k", "k", "r2", "r2"};
	unsigned resumed = 0, moved = 0;
	for (int i = 0; i < 4; i++) {
		if (gu_owner(d, mine[i]) != drained)
			continue;
		uint8_t token[ARENA_TOKEN_LEN];
		uint32_t id = mine[i]->welcome.player_id;
		struct arena_msg m;

		moved++;
		memcpy(token, mine[i]->welcome.token, sizeof(token));
		hc_close(mine[i]);
		h_sleep_ms(100);
		mine[i] = hc_connect(d, NULL);
		if (mine[i] && gu_hello_token(mine[i], names[i], token, 3000) == 0 &&
		    mine[i]->welcome.resume == ARENA_RESUME_OK &&
		    mine[i]->welcome.player_id == id &&
		    hc_recv_type(mine[i], ARENA_JOINED, &m, 3000) == 0 &&
		    !strcmp(m.u.joined.room.s, rooms[i]) && gu_owner(d, mine[i]) != drained)
			resumed++;
	}
	CHECK(moved > 0 && resumed == moved,
	      "all %u players of the drained worker resumed on another worker (%u)", moved,
	      resumed);
	bool gone = false;
	for (uint64_t end = h_now_ms() + 5000; !gone && h_now_ms() < end; h_sleep_ms(50))
		gone = !hproc_alive(drained);
	CHECK(gone, "the drained worker exited once its players left");
	r = ctl(out, sizeof(out), "--json status");
	CHECK(r == 0 && slot_of(out, drained) < 0, "status no longer lists it");

	/* hostile admin clients */
	int silent = raw_admin();
	int big = raw_admin();
	int junk = raw_admin();
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	CHECK(silent >= 0 && big >= 0 && junk >= 0, "three raw admin connections");
	CHECK(write(big, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "4 KiB without a newline");
	CHECK(write(junk, "\x01\x02\xff\n", 4) == 4, "a garbage line");
	CHECK(read_to_eof(big, out, sizeof(out), 2000) && strstr(out, "error request longer"),
	      "the oversized request is refused and cut");
	CHECK(read_to_eof(junk, out, sizeof(out), 2000) && strstr(out, "error malformed"),
	      "the garbage request is refused and cut");
	int hold[20], busy = 0;
	for (int i = 0; i < 20; i++)
		hold[i] = raw_admin();
	for (int i = 0; i < 20; i++)
		if (hold[i] >= 0 && read_to_eof(hold[i], out, sizeof(out), 300) &&
		    strstr(out, "error busy"))
			busy++;
	CHECK(busy > 0, "connections beyond the limit are told busy (%d)", busy);
	CHECK(hc_ping(mine[0] ? mine[0] : dd, 2000) >= 0, "the game keeps serving meanwhile");
	for (int i = 0; i < 20; i++)
		if (hold[i] >= 0)
			close(hold[i]);
	CHECK(read_to_eof(silent, out, sizeof(out), 8000) && strstr(out, "error no request"),
	      "the silent client is told so and cut");
	close(silent);
	close(big);
	close(junk);
	r = ctl(NULL, 0, "status");
	CHECK(r == 0, "status works after the hostile clients");

	/* exit codes */
	char saved[256];
	memcpy(saved, sock, sizeof(saved));
	snprintf(sock, sizeof(sock), "%s/none.sock", d->dir);
	CHECK(ctl(NULL, 0, "status") == 69, "no daemon: exit 69");
	snprintf(sock, sizeof(sock), "%s", d->conf);
	CHECK(ctl(NULL, 0, "status") == 76, "not a socket: exit 76");
	memcpy(sock, saved, sizeof(sock));
	CHECK(ctl(NULL, 0, "frobnicate") == 64, "unknown command: exit 64");

	/* shutdown */
	r = ctl(out, sizeof(out), "shutdown --deadline 3");
	CHECK(r == 0 && strstr(out, "shutting down"), "shutdown --deadline 3 accepted");
	CHECK(hd_wait_exit(d, 8000) == 0 && WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	      "arenad exited with status 0");
	for (int i = 0; i < 4; i++)
		hc_close(mine[i]);
	hc_close(b);
	hd_free(d);
	return h_done();
}
