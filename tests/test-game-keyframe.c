/* test-game-keyframe.c: [game] keyframe_interval and keyframe_max: quiet rooms are quiet,
 * keyframes still come, and back off while nothing changes.
 *
 * One room, two players (A watches, B moves), no gems (gems_per_room = 0: nothing in the room
 * changes by itself), 20 ticks a second. Arrival times of A's SNAPSHOTs are recorded:
 * 1. keyframe_interval = keyframe_max = 1500ms: once the snapshots that follow the JOINs
 *    settle, every gap over ~5 s is >= 1.2 s (nothing is sent while nothing changes) and
 *    <= 1.8 s (the keyframe still comes), with at least 2 keyframes seen;
 * 2. right after one of A's keyframes B moves: A sees the move within 2 ticks (tick numbers,
 *    as game-play checks them) and within 2 ticks + 300 ms of wall time: a change is never
 *    held back until the next keyframe;
 * 3. SIGHUP with keyframe_interval = keyframe_max = 300ms: over ~2 s every gap is <= 500 ms,
 *    and the room is still not sent every tick;
 * 4. SIGHUP with keyframe_interval = 300ms, keyframe_max = 1200ms, then B moves: A's
 *    keyframes after the move come 300, 600, 1200 and 1200 ms apart (the backoff);
 * 5. keyframe_interval = 50ms refuses to start: exit status 78 and a message naming the key and
 *    its range; so does keyframe_max shorter than keyframe_interval.
 * A server that sent snapshots every tick fails 1 (they never pause), one that never sent
 * keyframes fails 1 (no snapshot for seconds), one that held changes back fails 2, one that
 * ignored the reload fails 3 and one without the backoff, or not restarting it on a change,
 * fails 4. Wall-clock slack is multiplied by ARENA_TEST_TIMEOUT_SCALE like
 * the harness's own deadlines (valgrind runs); step 1's lower bound stays at least half the
 * interval whatever the scale. The refused start runs behind ARENA_TEST_WRAPPER too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <unistd.h>

#include "game-util.h"

#define TICK_MS       50
#define SLOW_MS       1500 /* the first interval */
#define FAST_MS       300  /* after the reload */
#define SLOW_SLACK    300
#define FAST_SLACK    200
#define MOVE_SLACK    300
#define RECORD_MAX    256
#define WRAP_ARGS_MAX 32

static unsigned scale = 1;

/* ARENA_TEST_TIMEOUT_SCALE as the harness reads it: 1..100, default 1. */
static unsigned read_scale(void)
{
	const char *s = getenv("ARENA_TEST_TIMEOUT_SCALE");
	long v = s ? strtol(s, NULL, 10) : 1;

	return v >= 1 && v <= 100 ? (unsigned)v : 1;
}

/* Read c's messages for window_ms, storing the arrival time and tick of each SNAPSHOT (up to
 * max; *last_s gets the last one). Returns how many arrived; the connection must stay open. */
static size_t record(struct hc *c, unsigned window_ms, uint64_t *ret_t, uint32_t *ret_tick,
                     size_t max, struct arena_snapshot *last_s)
{
	uint64_t end = h_now_ms() + window_ms;
	struct arena_snapshot s;
	size_t n = 0;

	for (;;) {
		int r = gu_snapshot(c, &s, (unsigned)h_remaining(end));

		if (r == -ETIMEDOUT)
			break;
		MUST(r == 0, "reading snapshots: %s", strerror(-r));
		if (n < max) {
			ret_t[n] = h_now_ms();
			ret_tick[n] = s.tick;
		}
		n++;
		if (last_s)
			*last_s = s;
	}
	return n < max ? n : max;
}

/* Read until c has had no SNAPSHOT for quiet_ms (bounded by limit_ms): the arrival time of the
 * last one seen (0 if none). Fails the test if the snapshots never pause. */
static uint64_t settle(struct hc *c, unsigned quiet_ms, unsigned limit_ms)
{
	uint64_t end = h_now_ms() + limit_ms, last = 0;
	struct arena_snapshot s;

	for (;;) {
		unsigned wait = (unsigned)h_remaining(end);
		int r = gu_snapshot(c, &s, wait < quiet_ms ? wait : quiet_ms);

		if (r == -ETIMEDOUT) {
			REQUIRE(h_now_ms() < end,
			        "snapshots pause for %u ms once the JOINs were sent (%u ms bound)",
			        quiet_ms, limit_ms);
			return last;
		}
		MUST(r == 0, "reading snapshots: %s", strerror(-r));
		last = h_now_ms();
	}
}

/* Check the gaps between prev (0: none), the arrivals t[0..n) and the window's end: each at
 * least lo and at most hi ms; the time from the last arrival to the end at most hi too. */
static void check_gaps(const char *what, uint64_t prev, const uint64_t *t, const uint32_t *tick,
                       size_t n, uint64_t end, unsigned lo, unsigned hi)
{
	uint64_t min = UINT64_MAX, max = 0;
	size_t short_gaps = 0, long_gaps = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t from = i ? t[i - 1] : prev;

		if (!from)
			continue;
		uint64_t gap = t[i] - from;
		min = gap < min ? gap : min;
		max = gap > max ? gap : max;
		short_gaps += gap < lo;
		long_gaps += gap > hi;
		if (gap < lo || gap > hi)
			h_diag("%s: a gap of %llu ms before the snapshot of tick %u", what,
			       (unsigned long long)gap, tick[i]);
	}
	uint64_t tail = n ? end - t[n - 1] : (prev ? end - prev : UINT64_MAX);
	h_diag("%s: %zu snapshots, gaps %llu..%llu ms, %llu ms since the last", what, n,
	       (unsigned long long)(min == UINT64_MAX ? 0 : min), (unsigned long long)max,
	       (unsigned long long)tail);
	if (lo)
		CHECK(short_gaps == 0, "%s: no two snapshots closer than %u ms (%zu were)", what,
		      lo, short_gaps);
	CHECK(long_gaps == 0 && tail <= hi,
	      "%s: no gap longer than %u ms (%zu were; %llu ms at the end)", what, hi, long_gaps,
	      (unsigned long long)tail);
}

/* 2: B steps right after a keyframe at A; A must see it at once, not at the next keyframe. */
static uint64_t move_is_sent_at_once(struct hc *a, struct hc *b, uint32_t seq, unsigned hi)
{
	uint32_t bid = b->welcome.player_id, aid = a->welcome.player_id;
	struct arena_snapshot s, ack;
	int r = gu_snapshot(a, &s, hi + 1000 * scale);

	REQUIRE(r == 0, "A gets a keyframe to start the move from (%d)", r);
	int ib = gu_find(&s, bid), ia = gu_find(&s, aid);
	REQUIRE(ib >= 0 && ia >= 0, "both players are in A's keyframe");
	int dx = s.players[ib].x == 0 ? 1 : -1, dy = 0;
	if (s.players[ia].x == s.players[ib].x + dx && s.players[ia].y == s.players[ib].y) {
		dx = 0; /* A is there: go vertically instead */
		dy = s.players[ib].y == 0 ? 1 : -1;
	}
	unsigned nx = (unsigned)(s.players[ib].x + dx), ny = (unsigned)(s.players[ib].y + dy);
	uint64_t t0 = h_now_ms(), seen = 0, deadline = t0 + 5000 * scale;
	uint32_t seen_tick = 0;

	REQUIRE(gu_move(b, seq, dx, dy) == 0, "B sends MOVE(%u, %d, %d)", seq, dx, dy);
	while (!seen && gu_snapshot(a, &s, (unsigned)h_remaining(deadline)) == 0) {
		int i = gu_find(&s, bid);
		if (i >= 0 && s.players[i].x == nx && s.players[i].y == ny) {
			seen = h_now_ms();
			seen_tick = s.tick;
		}
	}
	REQUIRE(seen, "A sees B's move to (%u,%u)", nx, ny);
	r = gu_wait_ack(b, seq, &ack, 5000 * scale);
	REQUIRE(r == 0, "B's MOVE is acknowledged (%d)", r);
	CHECK(seen_tick <= ack.tick + 2,
	      "A sees the move within 2 ticks of B's acknowledgement (tick %u, ack at tick %u)",
	      seen_tick, ack.tick);
	CHECK(seen - t0 <= 2 * TICK_MS + MOVE_SLACK * scale,
	      "A sees the move %llu ms after it was sent (at most %u): not held back until the "
	      "next keyframe",
	      (unsigned long long)(seen - t0), 2 * TICK_MS + MOVE_SLACK * scale);
	return seen;
}

static pid_t refused_pid;

static void refused_cleanup(void *arg)
{
	(void)arg;
	if (refused_pid > 0) {
		kill(-refused_pid, SIGKILL);
		waitpid(refused_pid, NULL, 0);
		refused_pid = 0;
	}
}

/* Run arenad -c conf (behind ARENA_TEST_WRAPPER if set) with its output in log: its wait status,
 * or -1 if it did not exit within timeout_ms (it is killed then). No NOTIFY_SOCKET or LISTEN_*
 * of ours reaches it. */
static int run_refused(const char *conf, const char *log, unsigned timeout_ms)
{
	extern char **environ;
	static char words[1024];
	const char *w = getenv("ARENA_TEST_WRAPPER");
	char *argv[WRAP_ARGS_MAX + 4], *save = NULL;
	size_t n = 0, k = 0, nargs = 0;

	/* ARENA_TEST_WRAPPER (valgrind...) goes before arenad's command line, as in the harness. */
	if (w && strlen(w) < sizeof(words)) {
		memcpy(words, w, strlen(w) + 1);
		for (char *t = strtok_r(words, " \t", &save); t && nargs < WRAP_ARGS_MAX;
		     t = strtok_r(NULL, " \t", &save))
			argv[nargs++] = t;
	}
	argv[nargs++] = getenv("ARENAD");
	argv[nargs++] = (char *)"-c";
	argv[nargs++] = (char *)conf;
	argv[nargs] = NULL;

	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof(*env));
	MUST(env, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) && strncmp(environ[i], "LISTEN_", 7))
			env[k++] = environ[i];
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	MUST(fd >= 0, "open %s: %s", log, strerror(errno));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		environ =
		    env; /* this process has one thread: execvp looks the wrapper up in PATH */
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd);
	free(env);
	MUST(pid > 0, "fork: %s", strerror(errno));
	setpgid(pid, pid);
	refused_pid = pid;
	h_on_exit(refused_cleanup, NULL);

	int st = -1;
	for (uint64_t end = h_now_ms() + timeout_ms;; h_sleep_ms(10)) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (h_now_ms() >= end) {
			h_diag(
			    "arenad with keyframe_interval = 50ms still runs after %u ms: killed",
			    timeout_ms);
			refused_cleanup(NULL);
			st = -1;
			break;
		}
	}
	kill(-pid, SIGKILL); /* anything it may have forked */
	refused_pid = 0;
	h_on_exit_cancel(refused_cleanup, NULL);
	return st;
}

static bool file_contains(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	return strstr(buf, needle) != NULL;
}

int main(void)
{
	static uint64_t t[RECORD_MAX];
	static uint32_t tick[RECORD_MAX];
	struct hc *p[2];
	struct hd *d;
	char name[8];
	uint64_t prev, end;
	size_t n;

	h_init("game-keyframe",
	       "keyframe_interval: quiet rooms get one SNAPSHOT per interval, changes go at once");
	scale = read_scale();
	d = hd_start((const char *const[]){
	    "workers=2", "room_width=16", "room_height=16", "gems_per_room=0", "tick_rate=20",
	    "idle_timeout=10m", "game.keyframe_interval=1500ms", "game.keyframe_max=1500ms", NULL});
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "kf%d", i);
		p[i] = hc_connect(d, NULL);
		REQUIRE(p[i] && hc_hello(p[i], name, 5000 * scale) == 0, "player %d welcomed", i);
		REQUIRE(gu_join(p[i], "quiet", NULL, 5000 * scale) == 0, "player %d joined", i);
	}

	/* 1. Quiet room, 1500 ms interval. */
	unsigned slack = SLOW_SLACK * scale,
	         lo = SLOW_MS - (slack < SLOW_MS / 2 ? slack : SLOW_MS / 2);
	prev = settle(p[0], 500, 5000 * scale);
	n = record(p[0], 5000, t, tick, RECORD_MAX, NULL);
	end = h_now_ms();
	CHECK(n >= 2, "at least 2 keyframes in 5 s of a quiet room (%zu)", n);
	check_gaps("1500ms", prev, t, tick, n, end, lo, SLOW_MS + slack);

	/* 2. A change is sent the next tick. */
	move_is_sent_at_once(p[0], p[1], 1, SLOW_MS + slack);

	/* 3. Reload to 300 ms. */
	int r = hd_write_config(
	    d,
	    (const char *const[]){"game.keyframe_interval=300ms", "game.keyframe_max=300ms", NULL},
	    NULL);
	REQUIRE(r == 0, "config rewritten with keyframe_interval = 300ms");
	CHECK(hd_reload(d, 5000 * scale) == 0,
	      "SIGHUP: RELOADING=1 then READY=1 on the notify socket");
	/* READY=1 follows the master's sending the configuration; the workers read it from
	 * their channel a moment later: let a second pass before measuring. */
	n = record(p[0], 1000 * scale, t, tick, RECORD_MAX, NULL);
	prev = n ? t[n - 1] : 0;
	n = record(p[0], 2000, t, tick, RECORD_MAX, NULL);
	end = h_now_ms();
	CHECK(n >= 3, "at least 3 keyframes in 2 s after the reload (%zu)", n);
	CHECK(n <= 2000 / (FAST_MS - 100),
	      "still not a snapshot every tick: %zu in 2 s (at most %d; every tick is %d)", n,
	      2000 / (FAST_MS - 100), 2000 / TICK_MS);
	check_gaps("300ms", prev, t, tick, n, end, 0, FAST_MS + FAST_SLACK * scale);

	/* 4. Reload with keyframe_max = 1200ms; after B's move the keyframes back off. */
	r = hd_write_config(d, (const char *const[]){"game.keyframe_max=1200ms", NULL}, NULL);
	REQUIRE(r == 0, "config rewritten with keyframe_max = 1200ms");
	CHECK(hd_reload(d, 5000 * scale) == 0, "SIGHUP with keyframe_max = 1200ms");
	(void)record(p[0], 1000 * scale, t, tick, RECORD_MAX, NULL);
	prev = move_is_sent_at_once(p[0], p[1], 2, 2 * FAST_MS + FAST_SLACK * scale);
	n = record(p[0], 3300 + 2 * FAST_SLACK * scale, t, tick, RECORD_MAX, NULL);
	static const unsigned backoff[] = {FAST_MS, 2 * FAST_MS, 4 * FAST_MS, 4 * FAST_MS};
	CHECK(n >= 4, "at least 4 keyframes in the 3.3 s after the move (%zu)", n);
	for (size_t i = 0; i < 4 && i < n; i++) {
		uint64_t gap = t[i] - (i ? t[i - 1] : prev);
		unsigned want = backoff[i], hi = want + FAST_SLACK * scale;
		CHECK(gap + 100 >= want && gap <= hi,
		      "backoff: keyframe %zu after the move came %llu ms after the one before "
		      "(%u..%u)",
		      i + 1, (unsigned long long)gap, want - 100, hi);
	}
	hc_close(p[0]);
	hc_close(p[1]);

	/* 5. Below the range, or keyframe_max below keyframe_interval: refused at start. */
	int st = hd_stop(d, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "arenad exits with status 0 on SIGTERM (0x%x)",
	      st);
	r = hd_write_config(d, (const char *const[]){"game.keyframe_interval=50ms", NULL}, NULL);
	REQUIRE(r == 0, "config rewritten with keyframe_interval = 50ms");
	char log[sizeof(d->dir) + 16];
	snprintf(log, sizeof(log), "%s/refused.log", d->dir);
	st = run_refused(d->conf, log, 5000 * scale);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG,
	      "keyframe_interval = 50ms: arenad exits with status 78 at start (wait status 0x%x)",
	      st);
	CHECK(file_contains(log, "keyframe_interval") && file_contains(log, "100ms..1m"),
	      "the error names keyframe_interval and its range 100ms..1m");
	CHECK(!file_contains(log, "Sanitizer"), "no sanitizer report on the refused start");
	r = hd_write_config(
	    d, (const char *const[]){"game.keyframe_interval=1s", "game.keyframe_max=500ms", NULL},
	    NULL);
	REQUIRE(r == 0, "config rewritten with keyframe_max = 500ms, keyframe_interval = 1s");
	st = run_refused(d->conf, log, 5000 * scale);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == EX_CONFIG,
	      "keyframe_max < keyframe_interval: arenad exits with status 78 (wait status 0x%x)",
	      st);
	CHECK(file_contains(log, "keyframe_max") &&
	          file_contains(log, "at least keyframe_interval"),
	      "the error names keyframe_max and says it must be at least keyframe_interval");
	hd_free(d);
	return h_done();
}
