/* test-upgrade.c: a live binary upgrade (SIGUSR2) under 500 players refuses no connection.
 *
 * 1. A refused upgrade changes nothing: the config asks for another world geometry
 *    (max_players), so the new binary cannot adopt the world: "Upgrade failed" is logged, the
 *    master keeps its pid and its workers, and it still welcomes players.
 * 2. With the config restored, 500 players (welcomed, in rooms) are connected when SIGUSR2
 *    arrives, and a client keeps connecting (HELLO, WELCOME, close) through the whole swap.
 *    Checks: not one of those connects is refused, reset or left unanswered; systemd is told
 *    MAINPID=<new master>, then READY=1; the old master exits by itself (status 0) within the
 *    drain deadline; the 500 players are told goodbye (BYE shutdown) and every one of them
 *    resumes with its token on the new master: resume = 1, same id, back in the same room; the
 *    new master runs the configured number of workers, none of them an old one, answers on the
 *    admin socket (arenactl status names it), and a second upgrade from the new master works
 *    too (its workers take the slots the first one freed).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "game-util.h"

#define NPLAYERS 500

/* arenactl --json status over the daemon's admin socket names master pid (the socket was
 * rebound by the new master). Skipped (true) without $ARENACTL. */
static bool admin_names(struct hd *d, pid_t pid)
{
	const char *ctl = getenv("ARENACTL");
	char cmd[768], out[8192], key[48];
	size_t n;
	FILE *p;

	if (!ctl)
		return true;
	snprintf(cmd, sizeof(cmd), "'%s' -t 5 -s '%s/admin.sock' --json status 2>/dev/null", ctl,
	         d->dir);
	p = popen(cmd, "r");
	if (!p)
		return false;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	if (pclose(p) != 0)
		return false;
	snprintf(key, sizeof(key), "\"pid\": %d,", (int)pid);
	return strstr(out, key) != NULL;
}
#define WORKERS 2

/* Connect, HELLO, WELCOME, close: true if welcomed. */
static bool handshake(struct hd *d, unsigned i)
{
	char name[32];
	struct hc *c = hc_connect(d, NULL);
	bool ok;

	if (!c) {
		h_diag("probe %u: connect failed: %s", i, strerror(errno));
		return false;
	}
	snprintf(name, sizeof(name), "probe%u", i);
	int r = hc_hello(c, name, 3000);

	ok = r == 0;
	if (!ok)
		h_diag("probe %u: no WELCOME (%d%s%s)", i, r, c->got_bye ? ", BYE " : "",
		       c->got_bye ? arena_bye_name(c->bye_reason) : "");
	hc_close(c);
	return ok;
}

/* SIGUSR2, then handshakes until the old master has exited and 300 ms more. Returns the new
 * master's pid (0 if none was announced); counts handshakes in *ok and *failed. */
static pid_t upgrade_under_load(struct hd *d, unsigned *ok, unsigned *failed)
{
	uint64_t deadline = h_now_ms() + 20000, exited_at = 0;
	unsigned since = d->notify_seq;
	char value[32] = "";
	pid_t old = d->pid;

	REQUIRE(hd_kill(d, SIGUSR2) == 0, "SIGUSR2 to the master (pid %d)", (int)old);
	while (h_now_ms() < deadline && (!exited_at || h_now_ms() < exited_at + 300)) {
		if (handshake(d, *ok + *failed))
			(*ok)++;
		else
			(*failed)++;
		if (!exited_at && hd_wait_exit(d, 0) == 0)
			exited_at = h_now_ms();
	}
	CHECK(exited_at != 0, "the old master (pid %d) exited by itself", (int)old);
	CHECK(exited_at && WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	      "... with status 0 (wait status 0x%x)", (unsigned)d->status);
	int seq = hd_notify_value(d, "MAINPID=", since, value, sizeof(value), 1000);
	CHECK(seq > 0, "systemd was told MAINPID=%s", value);
	CHECK(seq > 0 && hd_notify_wait(d, "READY=1", (unsigned)seq, 2000) > 0,
	      "... then READY=1 from the new master");
	return seq > 0 ? (pid_t)atoi(value) : 0;
}

int main(void)
{
	static struct hc *players[NPLAYERS];
	static struct arena_joined joined[NPLAYERS];
	static uint8_t tokens[NPLAYERS][ARENA_TOKEN_LEN];
	static uint32_t ids[NPLAYERS];
	pid_t before[WORKERS], after[WORKERS], again[WORKERS];
	unsigned ok = 0, failed = 0;

	h_init("upgrade", "SIGUSR2: the new binary takes over; 0 connects refused, players resume");
	struct hd *d = hd_start(
	    (const char *const[]){"workers=2", "max_players=10000", "drain_timeout=3s",
	                          "limits.max_rooms_per_ip=1000", "game.resume_grace=30s", NULL});
	REQUIRE(hd_wait_workers(d, WORKERS, before, WORKERS, 5000) == WORKERS, "2 workers");

	/* 1. A world the new binary cannot adopt: refused, nothing changes. */
	pid_t first = d->pid;

	REQUIRE(hd_write_config(d, (const char *const[]){"max_players=777", NULL}, NULL) == 0,
	        "config with another max_players");
	REQUIRE(hd_kill(d, SIGUSR2) == 0, "SIGUSR2");
	uint64_t until = h_now_ms() + 10000;

	while (!hd_log_contains(d, "Upgrade failed") && h_now_ms() < until)
		h_sleep_ms(20);
	CHECK(hd_log_contains(d, "Upgrade failed"), "the failed upgrade is logged");
	CHECK(hd_log_contains(d, "max_players"), "... naming the setting that differs");
	CHECK(d->pid == first && hproc_alive(first), "the master keeps running (pid %d)",
	      (int)first);
	CHECK(hd_workers_unchanged(d, before, WORKERS), "... with the same workers");
	CHECK(handshake(d, 9999), "... and still welcomes players");
	REQUIRE(hd_write_config(d, (const char *const[]){"max_players=10000", NULL}, NULL) == 0,
	        "config restored");

	/* 2. 500 players in rooms. */
	size_t n = hc_connect_many(d, NULL, NPLAYERS, 0, 10000, players);
	REQUIRE(n == NPLAYERS, "%zu of %u players connected", n, NPLAYERS);
	n = hc_hello_many(players, NPLAYERS, "p", 10000);
	REQUIRE(n == NPLAYERS, "%zu of %u players welcomed", n, NPLAYERS);
	size_t in_rooms = 0;

	for (unsigned i = 0; i < NPLAYERS; i++) {
		ids[i] = players[i]->welcome.player_id;
		memcpy(tokens[i], players[i]->welcome.token, ARENA_TOKEN_LEN);
		in_rooms += gu_join(players[i], "", &joined[i], 5000) == 0;
	}
	REQUIRE(in_rooms == NPLAYERS, "%zu of %u players in rooms", in_rooms, NPLAYERS);

	pid_t newpid = upgrade_under_load(d, &ok, &failed);
	h_diag("%u handshakes during the swap, %u failed", ok, failed);
	CHECK(failed == 0, "no connect refused, reset or unanswered during the swap (%u of %u)",
	      failed, ok + failed);
	CHECK(ok >= 50, "the swap was crossed by real traffic (%u handshakes)", ok);
	REQUIRE(newpid > 0 && newpid != first && hproc_alive(newpid),
	        "the new master runs (pid %d)", (int)newpid);
	hd_follow_master(d, newpid);

	size_t closed = hc_wait_close_many(players, NPLAYERS, 5000);
	size_t byes = 0;

	for (unsigned i = 0; i < NPLAYERS; i++)
		byes += players[i]->got_bye && players[i]->bye_reason == ARENA_BYE_SHUTDOWN;
	CHECK(closed == NPLAYERS && byes == NPLAYERS,
	      "the old workers told every player goodbye (%zu closed, %zu BYE shutdown)", closed,
	      byes);
	hc_close_all(players, NPLAYERS);

	size_t resumed = 0, same_room = 0;

	for (unsigned i = 0; i < NPLAYERS; i++) {
		char name[16];
		struct arena_joined j;

		snprintf(name, sizeof(name), "p%u", i);
		players[i] = hc_connect(d, NULL);
		if (!players[i] || gu_hello_token(players[i], name, tokens[i], 5000) < 0)
			continue;
		if (players[i]->welcome.resume != ARENA_RESUME_OK ||
		    players[i]->welcome.player_id != ids[i])
			continue;
		resumed++;
		if (gu_join_reply(players[i], &j, 5000) == 0 && j.room_id == joined[i].room_id &&
		    j.room.len == joined[i].room.len &&
		    memcmp(j.room.s, joined[i].room.s, j.room.len) == 0)
			same_room++;
	}
	CHECK(resumed == NPLAYERS, "every player resumed on the new master (%zu of %u)", resumed,
	      NPLAYERS);
	CHECK(same_room == NPLAYERS, "... back in its room (%zu of %u)", same_room, NPLAYERS);

	CHECK(hd_wait_workers(d, WORKERS, after, WORKERS, 5000) == WORKERS,
	      "the new master runs %u workers", WORKERS);
	CHECK(!h_pid_in(after[0], before, WORKERS) && !h_pid_in(after[1], before, WORKERS),
	      "... none of them an old one");
	CHECK(admin_names(d, newpid), "arenactl status reaches the new master (pid %d)",
	      (int)newpid);

	/* A second upgrade, from the upgraded master. */
	ok = failed = 0;
	newpid = upgrade_under_load(d, &ok, &failed);
	CHECK(failed == 0, "a second upgrade refuses nothing either (%u of %u)", failed,
	      ok + failed);
	REQUIRE(newpid > 0 && hproc_alive(newpid), "the third master runs (pid %d)", (int)newpid);
	hd_follow_master(d, newpid);
	CHECK(hd_wait_workers(d, WORKERS, again, WORKERS, 5000) == WORKERS, "... with %u workers",
	      WORKERS);
	CHECK(handshake(d, 10000), "... and welcomes players");
	hc_close_all(players, NPLAYERS);

	CHECK(hd_stop(d, 10000) == 0, "the last master stops cleanly");
	hd_free(d);
	return h_done();
}
