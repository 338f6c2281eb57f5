/* test-metrics.c: GET /metrics parses strictly and its counters follow a scripted session.
 *
 * arenad runs 2 workers with metrics_listen on a free loopback port. Every scrape must pass the
 * strict reader in prom.c (format 0.0.4, arena naming rules). Then, against a first scrape:
 * 6 players connect and join a room, 3 clients are kicked (PING before HELLO), one worker is
 * SIGKILLed and one SIGSTOPped, the configuration is reloaded once fine and once broken, and
 * the counters must have moved by exactly that much. Hostile HTTP clients (silent, garbage, an
 * oversized header) do not stop the endpoint or the game, and the silent one is cut.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "prom.h"

#define NPLAYERS 6
#define NKICKS   3

static uint16_t mport;

/* Scrape and parse; a failure to parse fails the test (the text's first bad line is shown). */
static bool scrape(struct prom_set *ret)
{
	char ctype[128], err[256];
	char *body = NULL;
	int status = 0;
	int r = prom_http(mport, "GET", "/metrics", 5000, &status, ctype, &body);

	if (!CHECK(r == 0 && status == 200, "GET /metrics answers 200 (r=%d, status %d)", r,
	           status)) {
		free(body);
		return false;
	}
	CHECK(strstr(ctype, "text/plain") && strstr(ctype, "version=0.0.4"),
	      "Content-Type is text format 0.0.4 (%s)", ctype);
	r = prom_parse(body, ret, err, sizeof(err));
	CHECK(r == 0, "the exposition parses strictly (%s)", r == 0 ? "ok" : err);
	free(body);
	return r == 0;
}

/* Scrape until name{match} == want or timeout; returns the last value seen. */
static double wait_value(const char *name, const char *match, double want, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	double v = -1;

	for (;;) {
		struct prom_set s;
		char ctype[128], err[256];
		char *body = NULL;
		int status;

		if (prom_http(mport, "GET", "/metrics", 2000, &status, ctype, &body) == 0 &&
		    prom_parse(body, &s, err, sizeof(err)) == 0) {
			v = match ? PROM_SUM(&s, name, match) : prom_sum(&s, name, NULL);
			prom_free(&s);
		}
		free(body);
		if (v == want || h_now_ms() >= deadline)
			return v;
		h_sleep_ms(50);
	}
}

static struct hc *player(struct hd *d, unsigned i)
{
	struct arena_msg m = {.type = ARENA_JOIN};
	char name[16];
	struct hc *c = hc_connect(d, NULL);

	snprintf(name, sizeof(name), "p%u", i);
	if (!c || hc_hello(c, name, 3000) < 0)
		return c;
	memcpy(m.u.join.room.s, "metrics", 7);
	m.u.join.room.len = 7;
	if (hc_send(c, &m) == 0)
		hc_recv_type(c, ARENA_JOINED, &m, 3000);
	return c;
}

/* Connect to the metrics port and send `what` (may be empty); the fd, or -1. */
static int raw_http(const char *what, size_t len)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(mport)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (len && send(fd, what, len, MSG_NOSIGNAL) != (ssize_t)len)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* True if the server closes fd within timeout_ms (reading and dropping what it sends). */
static bool closed_within(int fd, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	char buf[4096];

	while (h_now_ms() < deadline) {
		struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return true;
	}
	return false;
}

/* The reader must refuse what a strict scraper refuses, or its verdicts mean nothing. */
static void reader_refuses_bad_text(void)
{
	static const char *const bad[] = {
	    "arena_x_total 1\n",                                  /* no TYPE */
	    "# TYPE arena_x_total counter\narena_x_total 1",      /* no final newline */
	    "# TYPE arena_x counter\narena_x 1\n",                /* counter not _total */
	    "# TYPE arena_x_total counter\narena_x_total -1\n",   /* negative counter */
	    "# TYPE arena_g gauge\narena_g{a=\"1\",a=\"2\"} 1\n", /* label twice */
	    "# TYPE arena_g gauge\narena_g{a=\"1\"} 1\narena_g{a=\"1\"} 2\n", /* series twice */
	    "# TYPE arena_g gauge\narena_g one\n",                            /* not a number */
	    "# TYPE arena_g gauge\n# TYPE arena_g gauge\narena_g 1\n",        /* TYPE twice */
	    "# TYPE arena_g gauge\narena_g{a=\"\\q\"} 1\n",                   /* bad escape */
	    "# TYPE other_g gauge\nother_g 1\n",                              /* not arena_ */
	    "# TYPE arena_a gauge\narena_a 1\n# TYPE arena_b gauge\narena_b 1\narena_a 2\n",
	    "# TYPE arena_h histogram\narena_h_bucket{le=\"1\"} 2\narena_h_bucket{le=\"+Inf\"} 1\n"
	    "arena_h_sum 1\narena_h_count 1\n", /* buckets decrease */
	    "# TYPE arena_h histogram\narena_h_bucket{le=\"1\"} 1\narena_h_sum 1\narena_h_count "
	    "1\n",
	    "# TYPE arena_h histogram\narena_h_bucket{le=\"+Inf\"} 2\narena_h_sum 1\narena_h_count "
	    "1\n",
	};
	static const char good[] = "# HELP arena_h A histogram.\n# TYPE arena_h histogram\n"
	                           "arena_h_bucket{w=\"0\",le=\"0.5\"} 1\n"
	                           "arena_h_bucket{w=\"0\",le=\"+Inf\"} 3\n"
	                           "arena_h_sum{w=\"0\"} 2.5\narena_h_count{w=\"0\"} 3\n"
	                           "# TYPE arena_c_total counter\narena_c_total{x=\"a\\\"b\"} 7\n";
	struct prom_set s;
	char err[256];
	unsigned refused = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prom_parse(bad[i], &s, err, sizeof(err)) < 0)
			refused++;
		else {
			h_diag("accepted bad text #%zu", i);
			prom_free(&s);
		}
	}
	CHECK(refused == sizeof(bad) / sizeof(bad[0]), "the reader refuses %u of %zu bad texts",
	      refused, sizeof(bad) / sizeof(bad[0]));
	int r = prom_parse(good, &s, err, sizeof(err));
	CHECK(r == 0 && s.n == 5 && prom_sum(&s, "arena_c_total", NULL) == 7,
	      "the reader accepts a good text (%s)", r == 0 ? "ok" : err);
	if (r == 0)
		prom_free(&s);
}

/* Every arena_* name the Grafana dashboard queries must be a series arenad exposes. */
static void dashboard_names_exist(const struct prom_set *set)
{
	const char *path = getenv("ARENA_DASHBOARD");
	char *text = NULL, name[128];
	size_t len = 0;
	unsigned names = 0, missing = 0;
	FILE *f;

	if (!path || !(f = fopen(path, "re"))) {
		CHECK(false, "the dashboard (ARENA_DASHBOARD=%s) can be read", path ? path : "");
		return;
	}
	if (getdelim(&text, &len, '\0', f) < 0) {
		fclose(f);
		free(text);
		CHECK(false, "the dashboard can be read");
		return;
	}
	fclose(f);
	for (const char *p = text; (p = strstr(p, "arena_"));) {
		size_t n = 0;

		while (n + 1 < sizeof(name) && (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z')))
			n++;
		memcpy(name, p, n);
		name[n] = '\0';
		p += n;
		names++;
		if (prom_sum(set, name, NULL) < 0) {
			h_diag("the dashboard queries %s, which arenad does not expose", name);
			missing++;
		}
	}
	free(text);
	CHECK(names > 10 && missing == 0, "the dashboard's %u metric names all exist (%u missing)",
	      names, missing);
}

int main(void)
{
	struct hc *players[NPLAYERS], *probe;
	struct prom_set a, b;
	pid_t w[2], fresh;
	char kv[64];
	char *big;
	int r;

	h_init("metrics", "GET /metrics parses strictly; counters follow a scripted session");
	reader_refuses_bad_text();
	REQUIRE(h_free_port(&mport) == 0, "a free port for the metrics listener");
	snprintf(kv, sizeof(kv), "metrics_listen=127.0.0.1:%u", mport);
	struct hd *d = hd_start((const char *const[]){"workers=2", "heartbeat_timeout=1s",
	                                              "save_interval=1s", kv, NULL});
	REQUIRE(hd_workers(d, w, 2) == 2, "arenad runs 2 workers");
	REQUIRE(scrape(&a), "a first scrape");
	CHECK(a.families >= 30, "%u metric families exposed", a.families);
	CHECK(PROM_SUM(&a, "arena_worker_state", "state=\"ready\"") == 2,
	      "both workers are reported ready");

	/* The scripted session. */
	for (unsigned i = 0; i < NPLAYERS; i++)
		players[i] = player(d, i);
	for (unsigned i = 0; i < NKICKS; i++) {
		struct arena_msg ping = {.type = ARENA_PING};
		struct hc *c = hc_connect(d, NULL);

		if (c && hc_send(c, &ping) == 0)
			hc_wait_close(c, 3000);
		hc_close(c);
	}
	double in_rooms = wait_value("arena_players_in_rooms", NULL, NPLAYERS, 3000);
	CHECK(in_rooms == NPLAYERS, "arena_players_in_rooms is %d (%g)", NPLAYERS, in_rooms);
	h_sleep_ms(300); /* a few ticks (20 Hz) with players in the room */
	REQUIRE(scrape(&b), "a second scrape");

#define DELTA(name, ...) (PROM_SUM(&b, name, __VA_ARGS__) - PROM_SUM(&a, name, __VA_ARGS__))
	CHECK(prom_sum(&b, "arena_connections_accepted_total", NULL) -
	              prom_sum(&a, "arena_connections_accepted_total", NULL) ==
	          NPLAYERS + NKICKS,
	      "arena_connections_accepted_total grew by %d", NPLAYERS + NKICKS);
	CHECK(prom_sum(&b, "arena_fd_handoffs_received_total", NULL) -
	              prom_sum(&a, "arena_fd_handoffs_received_total", NULL) ==
	          NPLAYERS + NKICKS,
	      "the workers received %d fds", NPLAYERS + NKICKS);
	CHECK(prom_sum(&b, "arena_players_connected", NULL) == NPLAYERS,
	      "arena_players_connected is %d", NPLAYERS);
	CHECK(prom_sum(&b, "arena_rooms_open", NULL) >= 1, "arena_rooms_open counts the room");
	CHECK(DELTA("arena_frames_received_total", "type=\"HELLO\"") == NPLAYERS,
	      "HELLO frames received grew by %d", NPLAYERS);
	CHECK(DELTA("arena_frames_received_total", "type=\"JOIN\"") == NPLAYERS,
	      "JOIN frames received grew by %d", NPLAYERS);
	CHECK(DELTA("arena_frames_received_total", "type=\"PING\"") == NKICKS,
	      "PING frames received grew by %d", NKICKS);
	CHECK(DELTA("arena_frames_sent_total", "type=\"WELCOME\"") == NPLAYERS,
	      "WELCOME frames sent grew by %d", NPLAYERS);
	CHECK(DELTA("arena_frames_sent_total", "type=\"BYE\"") == NKICKS,
	      "BYE frames sent grew by %d", NKICKS);
	CHECK(DELTA("arena_kicks_total", "reason=\"protocol_error\"") == NKICKS,
	      "arena_kicks_total{reason=\"protocol_error\"} grew by %d", NKICKS);
	CHECK(DELTA("arena_errors_sent_total", "code=\"not_welcomed\"") == NKICKS,
	      "arena_errors_sent_total{code=\"not_welcomed\"} grew by %d", NKICKS);
	CHECK(DELTA("arena_bytes_received_total", "worker=") > 0 &&
	          DELTA("arena_bytes_sent_total", "worker=") > 0,
	      "bytes in and out grew");
	double nticks = prom_sum(&b, "arena_tick_duration_seconds_count", NULL);
	double nfan = prom_sum(&b, "arena_snapshot_fanout_seconds_count", NULL);
	CHECK(nticks > 0 && nfan == nticks,
	      "the tick and fan-out histograms have one observation per tick (%g, %g)", nticks,
	      nfan);
	CHECK(prom_sum(&b, "arena_state_saves_total", NULL) >= 0, "state saves are exposed");
	dashboard_names_exist(&b);
	prom_free(&a);
	prom_free(&b);

	/* Hostile HTTP clients: silent, garbage, a 20 KiB header. */
	int silent = raw_http("", 0);
	static const char junk[] = "\x16\x03\x01 not http at all\r\n\r\n";
	int garbage = raw_http(junk, sizeof(junk) - 1);
	big = malloc(20000);
	REQUIRE(big, "memory");
	memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
	memset(big + 26, 'a', 20000 - 26 - 4);
	memcpy(big + 20000 - 4, "\r\n\r\n", 4);
	int oversized = raw_http(big, 20000);
	free(big);
	CHECK(silent >= 0 && garbage >= 0 && oversized >= 0,
	      "three hostile HTTP clients connected");
	uint64_t t0 = h_now_ms();
	REQUIRE(scrape(&a), "a scrape while they hang on");
	h_diag("a scrape took %llu ms (a measurement, not a verdict)",
	       (unsigned long long)(h_now_ms() - t0));
	prom_free(&a);
	CHECK(hc_ping(players[0], 2000) >= 0, "the game still answers PING");
	CHECK(closed_within(garbage, 2000), "the garbage client was cut");
	CHECK(closed_within(oversized, 2000), "the oversized header was cut");
	CHECK(closed_within(silent, 8000), "the silent client was cut by the timeout");
	close(silent);
	close(garbage);
	close(oversized);
	char ctype[128], *body = NULL;
	int status = 0;
	r = prom_http(mport, "GET", "/other", 2000, &status, ctype, &body);
	CHECK(r == 0 && status == 404, "another path is a 404 (%d)", status);
	free(body);
	body = NULL;
	r = prom_http(mport, "POST", "/metrics", 2000, &status, ctype, &body);
	CHECK(r == 0 && status >= 400, "POST is refused (%d)", status);
	free(body);

	/* Restarts by cause. */
	REQUIRE(kill(w[0], SIGKILL) == 0, "SIGKILL worker %d", (int)w[0]);
	fresh = 0;
	for (uint64_t end = h_now_ms() + 5000; !fresh && h_now_ms() < end; h_sleep_ms(20))
		fresh = hd_replacement(d, w, 2, w[0]);
	CHECK(fresh, "the killed worker was replaced");
	CHECK(wait_value("arena_worker_restarts_total", "cause=\"crash\"", 1, 3000) == 1,
	      "arena_worker_restarts_total{cause=\"crash\"} is 1");
	REQUIRE(hd_workers(d, w, 2) == 2, "2 workers again");
	REQUIRE(kill(w[1], SIGSTOP) == 0, "SIGSTOP worker %d", (int)w[1]);
	CHECK(wait_value("arena_worker_restarts_total", "cause=\"wedged\"", 1, 6000) == 1,
	      "arena_worker_restarts_total{cause=\"wedged\"} is 1");
	CHECK(wait_value("arena_state_saves_total", "result=\"ok\"", 1, 3000) >= 1,
	      "periodic state saves are counted");
	CHECK(wait_value("arena_lock_repairs_total", NULL, 0, 0) >= 0, "lock repairs exposed");

	/* Reloads: one fine, one broken. */
	probe = hc_welcome_retry(d, NULL, "probe", 3000);
	CHECK(hd_reload(d, 5000) == 0, "a reload completes");
	CHECK(wait_value("arena_reloads_total", "result=\"ok\"", 1, 3000) == 1,
	      "arena_reloads_total{result=\"ok\"} is 1");
	REQUIRE(hd_write_config(d, NULL, "this is not a key\n") == 0, "break the config file");
	REQUIRE(hd_kill(d, SIGHUP) == 0, "SIGHUP");
	CHECK(wait_value("arena_reloads_total", "result=\"failed\"", 1, 3000) == 1,
	      "arena_reloads_total{result=\"failed\"} is 1");
	REQUIRE(hd_write_config(d, NULL, NULL) == 0, "mend the config file");

	hc_close(probe);
	hc_close_all(players, NPLAYERS);
	int st = hd_stop(d, 10000);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "arenad exits 0 after SIGTERM");
	hd_free(d);
	return h_done();
}
