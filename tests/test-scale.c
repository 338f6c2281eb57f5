/* test-scale.c: two arenad nodes sharing one game through a real redis-server, behind a real
 * haproxy (send-proxy-v2), all on loopback.
 *
 *   chat         players of room "hall" on both nodes each send lines, interleaved: every
 *                player sees every line exactly once, all in the same order, each sender's in
 *                the order sent;
 *   presence     Redis (read with redis-cli) says which node holds "hall" with how many
 *                players, which node each player is on, how many players a node has;
 *   leaderboard  a player scores on each node: both nodes' LEADERBOARD lists both;
 *   node death   the node holding some players through haproxy is killed with SIGKILL (master
 *                and workers): those players reconnect through haproxy with their tokens, land
 *                on the survivor, get WELCOME resume = 1 and their score back; the survivor's
 *                own players keep their connections and scores;
 *   Redis stop   redis-server is SIGSTOPped for 10 s while pingers load the survivor: no PING
 *                waits long (no stall), chat still reaches the room, a new player is welcomed,
 *                LEADERBOARD answers; after SIGCONT the node logs that Redis is back and a
 *                score made during the outage reaches the global leaderboard (re-synced).
 * The tick duration p99 before and during the outage is printed (a measurement, not a check).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "game-util.h"
#include "prom.h"

#define WAIT_MS 3000
#define LINES   8 /* per sender */
#define NKILLED 4 /* players connected through haproxy, some on each node */
#define PINGERS 60

static uint16_t redis_port;
static char redis_kv[64], metrics_kv[2][64];

static struct hd *node(int i)
{
	struct hd_opts o = {
	    .kv =
	        (const char *const[]){"workers=2", redis_kv, metrics_kv[i], "proxy_protocol=off v2",
	                              "proxy_trusted=127.0.0.1", "room_width=4", "room_height=4",
	                              "room_capacity=4", "gems_per_room=12", "chat_rate=50",
	                              "chat_burst=20", "resume_grace=60s", NULL},
	    .second_listener = true,
	};

	return hd_start_opts(&o);
}

/* One redis-cli command's first line of output (--raw) into out; false if it could not run. */
static bool redis_get(char *out, size_t cap, const char *fmt, ...) H_PRINTF(3, 4);
static bool redis_get(char *out, size_t cap, const char *fmt, ...)
{
	char args[512], cmd[700];
	va_list ap;
	FILE *f;
	bool ok;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "timeout 5 redis-cli -h 127.0.0.1 -p %u --raw %s 2>/dev/null",
	         redis_port, args);
	f = popen(cmd, "r");
	if (!f)
		return false;
	out[0] = '\0';
	ok = fgets(out, (int)cap, f) != NULL;
	pclose(f);
	out[strcspn(out, "\n")] = '\0';
	return ok;
}

/* Poll until the command prints want (7 s: presence is refreshed every 1 to 5 s). */
static bool redis_wait(const char *want, const char *args)
{
	uint64_t deadline = h_now_ms() + 7000;
	char got[256] = "";

	do {
		if (redis_get(got, sizeof(got), "%s", args) && strcmp(got, want) == 0)
			return true;
		h_sleep_ms(200);
	} while (h_now_ms() < deadline);
	h_diag("redis-cli %s: '%s', wanted '%s'", args, got, want);
	return false;
}

static bool wait_log(struct hd *d, const char *needle, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	while (!hd_log_contains(d, needle)) {
		if (h_now_ms() >= deadline)
			return false;
		h_sleep_ms(20);
	}
	return true;
}

static int send_chat(struct hc *c, const char *text)
{
	struct arena_msg m;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_CHAT;
	m.u.chat.text.len = (uint16_t)strlen(text);
	memcpy(m.u.chat.text.s, text, m.u.chat.text.len);
	return hc_send(c, &m);
}

/* Read CHAT_MSG lines until want of them came (or the time is up) into out[]. */
static size_t read_chat(struct hc *c, char out[][16], size_t want, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	struct arena_msg m;
	size_t n = 0;

	while (n < want &&
	       hc_recv_type(c, ARENA_CHAT_MSG, &m, (unsigned)h_remaining(deadline)) == 0)
		snprintf(out[n++], 16, "%.*s", (int)m.u.chat_msg.text.len, m.u.chat_msg.text.s);
	return n;
}

/* Score at least `points`: every free cell holds a gem at first, so most steps score. */
static unsigned score_points(struct hc *c, uint32_t *seq, unsigned points)
{
	static const int dirs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
	struct arena_snapshot s;
	unsigned got = 0;

	for (int k = 0; k < 40 && got < points; k++) {
		REQUIRE(gu_move(c, ++*seq, dirs[(k / 3) % 4][0], dirs[(k / 3) % 4][1]) == 0,
		        "MOVE sent");
		REQUIRE(gu_wait_ack(c, *seq, &s, WAIT_MS) == 0, "MOVE acknowledged");
		int i = gu_find(&s, c->welcome.player_id);
		if (i >= 0)
			got = s.players[i].score;
	}
	return got;
}

static unsigned score_now(struct hc *c, uint32_t *seq)
{
	struct arena_snapshot s;

	if (gu_move(c, ++*seq, 0, 0) < 0 || gu_wait_ack(c, *seq, &s, WAIT_MS) < 0)
		return ~0u;
	int i = gu_find(&s, c->welcome.player_id);
	return i >= 0 ? s.players[i].score : ~0u;
}

static long board_score(const struct arena_leaderboard *b, const char *name)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->entries[i].name.len == strlen(name) &&
		    memcmp(b->entries[i].name.s, name, b->entries[i].name.len) == 0)
			return b->entries[i].score;
	return -1;
}

/* Poll c's LEADERBOARD (up to timeout_ms) until name has at least score. */
static bool board_has(struct hc *c, const char *name, unsigned score, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	struct arena_leaderboard b;

	do {
		if (gu_leaderboard(c, &b, WAIT_MS) == 0 && board_score(&b, name) >= (long)score)
			return true;
		h_sleep_ms(100);
	} while (h_now_ms() < deadline);
	return false;
}

static int scrape(uint16_t port, struct prom_set *ret)
{
	char ctype[128], err[128];
	char *body = NULL;
	int status, r = prom_http(port, "GET", "/metrics", 3000, &status, ctype, &body);

	if (r == 0)
		r = prom_parse(body, ret, err, sizeof(err));
	free(body);
	return r;
}

/* The p99 of arena_tick_duration_seconds between two scrapes (a bucket's bound, in ms; 1e9 for
 * +Inf, -1 without ticks). */
static double tick_p99_ms(const struct prom_set *a, const struct prom_set *b)
{
	const char *name = "arena_tick_duration_seconds_bucket";
	const char *inf[] = {"le=\"+Inf\"", NULL};
	double total = prom_sum(b, name, inf) - prom_sum(a, name, inf), best = 1e9;

	if (total <= 0)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		const char *le = strstr(b->s[i].labels, "le=\"");
		char match[48];

		if (strcmp(b->s[i].name, name) != 0 || !le || strstr(le, "+Inf"))
			continue;
		snprintf(match, sizeof(match), "%.*s", (int)strcspn(le + 4, "\"") + 5, le);
		const char *m[] = {match, NULL};
		double bound = atof(le + 4) * 1000.0;
		if (bound < best && prom_sum(b, name, m) - prom_sum(a, name, m) >= 0.99 * total)
			best = bound;
	}
	return best;
}

static double metric(uint16_t port, const char *name)
{
	struct prom_set set = {0};
	double v = -1;

	if (scrape(port, &set) == 0)
		v = prom_sum(&set, name, (const char *const[]){NULL});
	prom_free(&set);
	return v;
}

static double accepted(uint16_t port)
{
	return metric(port, "arena_connections_accepted_total");
}

static bool wait_metric(uint16_t port, const char *name, double want, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	while (metric(port, name) != want) {
		if (h_now_ms() >= deadline)
			return false;
		h_sleep_ms(100);
	}
	return true;
}

/* Connect through haproxy and HELLO(name, token), retrying while haproxy still sends some
 * attempts to a dead node. */
static struct hc *resume_via(uint16_t port, const char *name, const uint8_t *token,
                             unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	while (h_now_ms() < deadline) {
		struct hc *c = hc_connect_port(port, "127.0.0.2");

		if (c && gu_hello_token(c, name, token, WAIT_MS) == 0)
			return c;
		hc_close(c);
		h_sleep_ms(100);
	}
	return NULL;
}

int main(void)
{
	struct hc *ha[2], *hb, *killed[NKILLED], *kept[NKILLED];
	char seen[3][2 * LINES][16], name[32], names[NKILLED][32], line[16], cfg[2048], path[256];
	char port_s[8];
	uint8_t tokens[NKILLED][ARENA_TOKEN_LEN];
	unsigned scores[NKILLED], nkilled = 0, nkept = 0, kept_score[NKILLED];
	uint32_t seq[NKILLED] = {0}, kseq[NKILLED] = {0}, sseq = 0;
	uint16_t hport, mport[2];
	FILE *f;

	h_init("scale", "two nodes behind haproxy share chat, leaderboard and resumes via Redis");
	hx_require("haproxy", "haproxy");
	hx_require("redis-server", "redis-server");
	hx_require("redis-cli", "redis-tools");
	REQUIRE(h_free_port(&redis_port) == 0 && h_free_port(&hport) == 0 &&
	            h_free_port(&mport[0]) == 0 && h_free_port(&mport[1]) == 0,
	        "free ports");
	snprintf(redis_kv, sizeof(redis_kv), "redis=127.0.0.1:%u", redis_port);
	for (int i = 0; i < 2; i++)
		snprintf(metrics_kv[i], sizeof(metrics_kv[i]), "metrics_listen=127.0.0.1:%u",
		         mport[i]);
	snprintf(port_s, sizeof(port_s), "%u", redis_port);
	struct hx *rx = hx_new("redis");
	hx_run(rx, redis_port,
	       (const char *const[]){"redis-server", "--port", port_s, "--bind", "127.0.0.1",
	                             "--save", "", "--appendonly", "no", NULL});

	struct hd *a = node(0), *b = node(1);
	CHECK(wait_log(a, "Connected to Redis", 5000) && wait_log(b, "Connected to Redis", 5000),
	      "both nodes connected to Redis");

	struct hx *px = hx_new("haproxy");
	snprintf(cfg, sizeof(cfg),
	         "global\n  maxconn 4000\n"
	         "defaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n"
	         "  timeout server 60s\n  retries 3\n  option redispatch\n"
	         "frontend game\n  bind 127.0.0.1:%u\n  default_backend nodes\n"
	         "backend nodes\n  balance roundrobin\n"
	         "  server a 127.0.0.1:%u send-proxy-v2 check inter 200ms fall 2 rise 2\n"
	         "  server b 127.0.0.1:%u send-proxy-v2 check inter 200ms fall 2 rise 2\n",
	         hport, a->port2, b->port2);
	snprintf(path, sizeof(path), "%s/haproxy.cfg", hx_dir(px));
	f = fopen(path, "we");
	REQUIRE(f && fputs(cfg, f) >= 0 && fclose(f) == 0, "haproxy.cfg written");
	hx_run(px, hport, (const char *const[]){"haproxy", "-db", "-f", path, NULL});
	h_sleep_ms(600); /* both servers checked up */

	/* ---- Chat across nodes: once each, one order --------------------------------------- */
	ha[0] = hc_connect(a, NULL);
	ha[1] = hc_connect(a, NULL);
	hb = hc_connect(b, NULL);
	REQUIRE(ha[0] && ha[1] && hb && hc_hello(ha[0], "ann", WAIT_MS) == 0 &&
	            hc_hello(ha[1], "amy", WAIT_MS) == 0 && hc_hello(hb, "bob", WAIT_MS) == 0,
	        "two players on node a, one on node b");
	REQUIRE(gu_join(ha[0], "hall", NULL, WAIT_MS) == 0 &&
	            gu_join(ha[1], "hall", NULL, WAIT_MS) == 0 &&
	            gu_join(hb, "hall", NULL, WAIT_MS) == 0,
	        "all three in a room called 'hall' (one on each node)");
	for (int i = 0; i < LINES; i++) {
		snprintf(line, sizeof(line), "a%d", i);
		REQUIRE(send_chat(ha[0], line) == 0, "chat sent");
		snprintf(line, sizeof(line), "b%d", i);
		REQUIRE(send_chat(hb, line) == 0, "chat sent");
	}
	struct hc *readers[3] = {ha[0], ha[1], hb};
	bool same = true, once = true, ordered = true;
	size_t got[3];
	for (int r = 0; r < 3; r++) {
		got[r] = read_chat(readers[r], seen[r], 2 * LINES, 5000);
		int next_a = 0, next_b = 0;
		for (size_t i = 0; i < got[r]; i++) {
			int k = atoi(seen[r][i] + 1);
			int *next = seen[r][i][0] == 'a' ? &next_a : &next_b;
			if (k != *next)
				ordered = false;
			*next = k + 1;
			for (size_t j = 0; j < i; j++)
				if (strcmp(seen[r][i], seen[r][j]) == 0)
					once = false;
			if (r > 0 && i < got[0] && strcmp(seen[r][i], seen[0][i]) != 0)
				same = false;
		}
	}
	CHECK(got[0] == 2 * LINES && got[1] == 2 * LINES && got[2] == 2 * LINES,
	      "every player got all %d lines (%zu, %zu, %zu)", 2 * LINES, got[0], got[1], got[2]);
	CHECK(once, "no line arrived twice");
	CHECK(ordered, "each sender's lines arrived in the order sent");
	CHECK(same, "all players, on both nodes, saw the same order");
	struct arena_msg extra;
	CHECK(hc_recv_type(hb, ARENA_CHAT_MSG, &extra, 500) == -ETIMEDOUT, "and nothing more came");

	/* ---- Presence: which node holds which room and player ------------------------------- */
	char host[64] = "", id_a[128], id_b[128], args[300];
	gethostname(host, sizeof(host) - 1);
	snprintf(id_a, sizeof(id_a), "%s/127.0.0.1:%u", host, a->port);
	snprintf(id_b, sizeof(id_b), "%s/127.0.0.1:%u", host, b->port);
	snprintf(args, sizeof(args), "HGET 'arena:rooms:%s' hall", id_a);
	CHECK(redis_wait("2", args), "presence: node a holds room 'hall' with 2 players");
	snprintf(args, sizeof(args), "HGET 'arena:rooms:%s' hall", id_b);
	CHECK(redis_wait("1", args), "presence: node b holds room 'hall' with 1 player");
	CHECK(redis_wait(id_a, "GET arena:player:ann") && redis_wait(id_b, "GET arena:player:bob"),
	      "presence: ann is on node a, bob on node b");
	snprintf(args, sizeof(args), "HGET 'arena:node:%s' players", id_b);
	CHECK(redis_wait("1", args), "presence: node b has 1 player");

	/* ---- Leaderboard: scores from both nodes ------------------------------------------- */
	struct hc *sa = hc_connect(a, NULL), *sb = hc_connect(b, NULL);
	uint32_t qa = 0, qb = 0;
	REQUIRE(sa && sb && hc_hello(sa, "scorer-a", WAIT_MS) == 0 &&
	            hc_hello(sb, "scorer-b", WAIT_MS) == 0 &&
	            gu_join(sa, "pit-a", NULL, WAIT_MS) == 0 &&
	            gu_join(sb, "pit-b", NULL, WAIT_MS) == 0,
	        "a scorer on each node, in rooms of their own");
	unsigned pa = score_points(sa, &qa, 3), pb = score_points(sb, &qb, 4);
	REQUIRE(pa >= 3 && pb >= 4, "they scored (%u, %u)", pa, pb);
	CHECK(board_has(hb, "scorer-a", pa, 5000) && board_has(hb, "scorer-b", pb, 5000),
	      "node b's leaderboard lists both scorers (%u, %u)", pa, pb);
	CHECK(board_has(ha[0], "scorer-a", pa, 5000) && board_has(ha[0], "scorer-b", pb, 5000),
	      "and so does node a's");

	/* ---- kill -9 a node: its players resume their score on the other -------------------- */
	pid_t a_pids[16];
	int na = hd_processes(a, a_pids, 16);
	REQUIRE(na >= 3, "node a's processes (%d)", na);
	for (int i = 0; nkilled < NKILLED / 2 || nkept < NKILLED / 2; i++) {
		REQUIRE(i < 8 * NKILLED, "players on both nodes through haproxy");
		double before = accepted(mport[0]);
		struct hc *c = hc_connect_port(hport, "127.0.0.2");
		snprintf(name, sizeof(name), "hop%d", i);
		REQUIRE(c && hc_hello(c, name, WAIT_MS) == 0, "%s welcomed through haproxy", name);
		bool on_a = accepted(mport[0]) > before; /* node a counted the handoff */
		if (on_a && nkilled < NKILLED / 2) {
			snprintf(names[nkilled], sizeof(names[0]), "%s", name);
			killed[nkilled++] = c;
		} else if (!on_a && nkept < NKILLED / 2) {
			kept[nkept++] = c;
		} else {
			hc_close(c);
		}
	}
	for (unsigned i = 0; i < nkilled; i++) {
		snprintf(name, sizeof(name), "den-k%u", i);
		REQUIRE(gu_join(killed[i], name, NULL, WAIT_MS) == 0, "joined");
		scores[i] = score_points(killed[i], &seq[i], 2 + i);
		REQUIRE(scores[i] >= 2 + i, "a player on node a scored %u", scores[i]);
		memcpy(tokens[i], killed[i]->welcome.token, ARENA_TOKEN_LEN);
	}
	for (unsigned i = 0; i < nkept; i++) {
		snprintf(name, sizeof(name), "den-s%u", i);
		REQUIRE(gu_join(kept[i], name, NULL, WAIT_MS) == 0, "joined");
		kept_score[i] = score_points(kept[i], &kseq[i], 2);
	}
	h_sleep_ms(2500); /* a changed score is published within 2 s */
	for (int i = 0; i < na; i++)
		kill(a_pids[i], SIGKILL);
	hd_wait_exit(a, 5000);
	uint64_t t_kill = h_now_ms();
	unsigned resumed = 0, restored = 0;
	for (unsigned i = 0; i < nkilled; i++) {
		hc_close(killed[i]);
		killed[i] = resume_via(hport, names[i], tokens[i], 10000);
		if (!killed[i] || killed[i]->welcome.resume != ARENA_RESUME_OK)
			continue;
		resumed++;
		uint32_t q = 0;
		snprintf(name, sizeof(name), "den-r%u", i);
		if (gu_join(killed[i], name, NULL, WAIT_MS) == 0 &&
		    score_now(killed[i], &q) == scores[i])
			restored++;
	}
	CHECK(resumed == nkilled,
	      "%u of %u players of the dead node resumed on the survivor (WELCOME resume = 1), "
	      "%llu ms after the kill",
	      resumed, nkilled, (unsigned long long)(h_now_ms() - t_kill));
	CHECK(restored == nkilled, "%u of %u got their score back", restored, nkilled);
	bool intact = true;
	for (unsigned i = 0; i < nkept; i++)
		intact &=
		    score_now(kept[i], &kseq[i]) == kept_score[i] && hc_ping(kept[i], WAIT_MS) >= 0;
	CHECK(intact, "the survivor's own players kept their connections and scores");
	CHECK(board_has(hb, "scorer-b", pb, 1000) && board_has(hb, "scorer-a", pa, 1000),
	      "the global leaderboard still holds both scorers");

	/* ---- Redis stopped for 10 s under load: nothing stalls, state converges ----------------
	 */
	struct prom_set mpre = {0}, m0 = {0}, m1 = {0};
	struct hp *p = hp_start(b, PINGERS, 50, "127.0.0.4", "pinger");
	REQUIRE(scrape(mport[1], &mpre) == 0, "metrics scraped");
	h_sleep_ms(3000);
	REQUIRE(scrape(mport[1], &m0) == 0, "metrics scraped");
	hp_reset_latency(p);
	REQUIRE(kill(hx_pid(rx), SIGSTOP) == 0, "redis-server stopped");
	uint64_t t_stop = h_now_ms();
	REQUIRE(send_chat(hb, "during") == 0, "chat sent while Redis is stopped");
	char during[1][16];
	CHECK(read_chat(hb, during, 1, 5000) == 1 && strcmp(during[0], "during") == 0,
	      "chat still reaches the room on its own node");
	struct hc *fresh = hc_connect(b, NULL);
	CHECK(fresh && hc_hello(fresh, "newcomer", WAIT_MS) == 0, "a new player is welcomed");
	struct arena_leaderboard lb;
	CHECK(gu_leaderboard(hb, &lb, WAIT_MS) == 0, "LEADERBOARD answers");
	REQUIRE(gu_join(fresh, "pit-c", NULL, WAIT_MS) == 0, "the newcomer joined a room");
	unsigned pc = score_points(fresh, &sseq, 3);
	CHECK(pc >= 3, "and scored %u while Redis was stopped", pc);
	while (h_now_ms() < t_stop + 10000)
		h_sleep_ms(100);
	REQUIRE(scrape(mport[1], &m1) == 0, "metrics scraped");
	hp_stop(p);
	CHECK(hp_check(p, 1000, "while Redis was stopped"),
	      "every pinger was answered all along, none waited a second");
	REQUIRE(kill(hx_pid(rx), SIGCONT) == 0, "redis-server continued");
	CHECK(wait_log(b, "is back after", 10000), "the node logged that Redis is back");
	CHECK(board_has(kept[0], "newcomer", pc, 5000),
	      "the score made during the outage reached the global leaderboard");
	CHECK(wait_metric(mport[1], "arena_redis_up", 1, 5000), "arena_redis_up is 1 again");
	REQUIRE(send_chat(hb, "after") == 0, "chat sent after Redis came back");
	CHECK(read_chat(hb, during, 1, 5000) == 1 && strcmp(during[0], "after") == 0 &&
	          read_chat(hb, during, 1, 500) == 0,
	      "it comes back through the stream, once");
	h_diag(
	    "tick duration p99 before: %.2f ms; while Redis was stopped: %.2f ms (a measurement)",
	    tick_p99_ms(&mpre, &m0), tick_p99_ms(&m0, &m1));
	prom_free(&mpre);
	prom_free(&m0);
	prom_free(&m1);

	hp_free(p);
	hc_close(fresh);
	hc_close(sa);
	hc_close(sb);
	hc_close_all(ha, 2);
	hc_close(hb);
	hc_close_all(killed, nkilled);
	hc_close_all(kept, nkept);
	hx_free(px);
	hd_stop(b, 10000);
	hd_log_clean(b);
	hd_free(a);
	hd_free(b);
	hx_free(rx);
	return h_done();
}
