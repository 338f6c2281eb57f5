/* opts.c: arena-bots' command line: getopt_long parsing, validation and the --help text.
 *
 * Every value is checked here, before anything is forked, so a load process can trust its
 * options. Numbers are strict (no trailing junk, ranges enforced); durations take "ms", "s" or
 * "m" suffixes (a bare number is seconds); the target and sources are numeric or resolvable
 * addresses. Nothing here restricts targets to loopback, although that is what the tool is
 * for.
 */
#include "bots.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena-build.h"

void bots_usage(FILE *out)
{
	fputs("Usage: arena-bots [OPTIONS]\n"
	      "Load-test an arena server with a swarm of bots that play like clients, and\n"
	      "measure honest (open-loop) latency: inputs leave on a fixed schedule, and each\n"
	      "one is timed from when it was due, not from when it happened to be sent.\n"
	      "\n"
	      "Target and scale:\n"
	      "  -t, --target HOST:PORT\n"
	      "                        server (default 127.0.0.1:7777; [::1]:7777 for IPv6)\n"
	      "  -n, --bots N          number of bots (default 100)\n"
	      "  -r, --connect-rate R  new connections per second, all processes together\n"
	      "                        (default 1000; 0 = all at once)\n"
	      "  -d, --duration DUR    how long the bots send, counted from the start, ramp\n"
	      "                        included (default 10s); then at most --timeout more for\n"
	      "                        the acks still outstanding\n"
	      "  -p, --procs P         load processes, each running N/P bots (default 1)\n"
	      "  -s, --source LIST     source addresses used round-robin, e.g.\n"
	      "                        127.0.0.2-127.0.0.9 or 127.0.0.2,127.0.0.3; bound with\n"
	      "                        IP_BIND_ADDRESS_NO_PORT, so each address adds a full\n"
	      "                        range of ephemeral ports\n"
	      "\n"
	      "What each bot does (default: play):\n"
	      "      --room NAME       JOIN this room (default: matchmaking)\n"
	      "      --input-hz F      MOVEs per second per bot, each bot at a random phase\n"
	      "                        (default 10; 0 = idle players)\n"
	      "      --chat-rate F     CHATs per minute per bot (default 0)\n"
	      "      --churn-rate F    per bot and minute, the probability of a churn event:\n"
	      "                        half are LEAVE + JOIN, half disconnect + resume with\n"
	      "                        the token\n"
	      "      --keepalive DUR   PING after this long without sending anything (default\n"
	      "                        20s; 0 = off)\n"
	      "      --reconnect       reconnect after a failure, with exponential backoff\n"
	      "      --ping            ping mode: no JOIN, PING/PONG round trips, closed loop\n"
	      "                        (one PING in flight per connection)\n"
	      "      --ping-hz F       ping mode, open loop: F PINGs per second per connection\n"
	      "      --handshake       handshake mode: connect, HELLO, WELCOME, close, again\n"
	      "\n"
	      "Measurement:\n"
	      "      --timeout DUR     an input not acknowledged within this is a timeout,\n"
	      "                        recorded at this value (default 2s)\n"
	      "      --connect-timeout DUR\n"
	      "                        deadline of connect -> WELCOME and JOIN -> JOINED\n"
	      "                        (default 10s)\n"
	      "      --max-p99-ms X    exit 2 if the p99 response time is above X ms\n"
	      "                        (handshake mode: the p99 of connect -> WELCOME)\n"
	      "      --max-errors N    exit 2 if more than N errors happened\n"
	      "      --json FILE       write the configuration and every result as JSON\n"
	      "      --hist-out PREFIX\n"
	      "                        write the raw histograms to PREFIX<name>.hist\n"
	      "      --seed N          random seed for phases, moves and churn (default: the\n"
	      "                        clock)\n"
	      "  -q, --quiet           no live line on stderr\n"
	      "  -h, --help            this text\n"
	      "  -V, --version         print the version\n"
	      "\n"
	      "Durations take a unit: 500ms, 2s, 5m, 1h (a bare number is seconds).\n"
	      "\n"
	      "What is measured (milliseconds in the table, microseconds in the JSON):\n"
	      "  response     ack time - intended send time of an input: what a player feels,\n"
	      "               the bots' own delays included. A MOVE is acked by the first\n"
	      "               SNAPSHOT whose ack_seq reaches its seq; a PING (ping mode) by\n"
	      "               its PONG.\n"
	      "  service      ack time - actual send time\n"
	      "  send_lag     actual - intended send time: the bots' own lateness\n"
	      "  snap_gap     time between two consecutive snapshots of one bot\n"
	      "  tick_delay   snapshot arrival - the scheduled time of its tick (estimated\n"
	      "               from the earliest arrival seen; assumes one server: behind a\n"
	      "               balancer, nodes tick on their own clocks, so read snap_gap)\n"
	      "  connect      connect() -> WELCOME\n"
	      "Errors: failed or timed-out connects, every BYE and ERROR received, inputs not\n"
	      "acked within --timeout (or lost with their connection), undecodable frames,\n"
	      "connections closed without a BYE, and servers that stop reading.\n"
	      "Output: a live line every second on stderr, the final table on stdout.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  the run completed and no threshold was exceeded\n"
	      "  1  usage or setup error (bad option, too few file descriptors, a load process\n"
	      "     died)\n"
	      "  2  a threshold (--max-p99-ms, --max-errors) was exceeded\n"
	      "  3  the bots were the bottleneck: they sent under 95% of the inputs due in the\n"
	      "     steady state, so the latencies describe the bots, not the server\n"
	      "  4  no bot could connect at all (no WELCOME)\n"
	      "When several apply, the first in the order 4, 3, 2 wins.\n"
	      "\n"
	      "See docs/BOTS.md for recipes: smoke test, soak, 100k idle players, capacity\n"
	      "search.\n",
	      out);
}

static int bad(const char *opt, const char *val, const char *what)
{
	fprintf(stderr, "arena-bots: invalid value '%s' for %s: %s (see --help)\n", val, opt, what);
	return -EINVAL;
}

static int parse_double(const char *s, double lo, double hi, double *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi || *s == ' ')
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_ull(const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *ret)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "1.5", "1.5s", "250ms", "2m" -> microseconds, at most one hour... or a day for --duration. */
static int parse_duration(const char *s, double max_s, uint64_t *ret_us)
{
	char num[64];
	size_t n = strspn(s, "0123456789.");
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	double v, mult;
	if (parse_double(num, 0, 1e12, &v) < 0)
		return -EINVAL;
	const char *unit = s + n;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1.0;
	else if (strcmp(unit, "ms") == 0)
		mult = 1e-3;
	else if (strcmp(unit, "m") == 0)
		mult = 60.0;
	else if (strcmp(unit, "h") == 0)
		mult = 3600.0;
	else
		return -EINVAL;
	v *= mult;
	if (v > max_s)
		return -EINVAL;
	*ret_us = (uint64_t)llround(v * 1e6);
	return 0;
}

/* HOST:PORT, [V6]:PORT. Resolves names with getaddrinfo (first TCP result). */
static int parse_hostport(const char *text, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	char host[128];
	const char *port;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host) || strchr(text, ':') != colon)
			return -EINVAL;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		port = colon + 1;
	}
	unsigned long long p;
	if (host[0] == '\0' || parse_ull(port, 1, 65535, &p) < 0)
		return -EINVAL;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return -EINVAL;
	memcpy(ret, res->ai_addr, res->ai_addrlen);
	*ret_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int add_source(struct bots_opts *o, int family, const void *addr)
{
	if (o->nsource >= BOTS_SOURCES_MAX)
		return -E2BIG;
	struct sockaddr_storage *ss = &o->source[o->nsource++];
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, 16);
	}
	return 0;
}

/* "A", "A-B" (IPv4 only), comma separated. */
static int parse_sources(const char *text, struct bots_opts *o)
{
	char buf[256];
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	o->nsource = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		struct in_addr a, b;
		struct in6_addr a6;
		if (dash) {
			*dash = '\0';
			if (inet_pton(AF_INET, tok, &a) != 1 ||
			    inet_pton(AF_INET, dash + 1, &b) != 1)
				return -EINVAL;
			uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
			if (lo > hi || hi - lo >= BOTS_SOURCES_MAX)
				return -EINVAL;
			for (uint32_t x = lo;; x++) {
				struct in_addr cur = {.s_addr = htonl(x)};
				if (add_source(o, AF_INET, &cur) < 0)
					return -EINVAL;
				if (x == hi)
					break;
			}
		} else if (inet_pton(AF_INET, tok, &a) == 1) {
			if (add_source(o, AF_INET, &a) < 0)
				return -EINVAL;
		} else if (inet_pton(AF_INET6, tok, &a6) == 1) {
			if (add_source(o, AF_INET6, &a6) < 0)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	return o->nsource > 0 ? 0 : -EINVAL;
}

enum {
	OPT_ROOM = 256,
	OPT_INPUT_HZ,
	OPT_CHAT_RATE,
	OPT_CHURN_RATE,
	OPT_KEEPALIVE,
	OPT_RECONNECT,
	OPT_PING,
	OPT_PING_HZ,
	OPT_HANDSHAKE,
	OPT_TIMEOUT,
	OPT_CONNECT_TIMEOUT,
	OPT_MAX_P99,
	OPT_MAX_ERRORS,
	OPT_JSON,
	OPT_HIST_OUT,
	OPT_SEED,
};

static const struct option long_options[] = {
    {"target", required_argument, NULL, 't'},
    {"bots", required_argument, NULL, 'n'},
    {"connect-rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"procs", required_argument, NULL, 'p'},
    {"source", required_argument, NULL, 's'},
    {"room", required_argument, NULL, OPT_ROOM},
    {"input-hz", required_argument, NULL, OPT_INPUT_HZ},
    {"chat-rate", required_argument, NULL, OPT_CHAT_RATE},
    {"churn-rate", required_argument, NULL, OPT_CHURN_RATE},
    {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
    {"reconnect", no_argument, NULL, OPT_RECONNECT},
    {"ping", no_argument, NULL, OPT_PING},
    {"ping-hz", required_argument, NULL, OPT_PING_HZ},
    {"handshake", no_argument, NULL, OPT_HANDSHAKE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"max-p99-ms", required_argument, NULL, OPT_MAX_P99},
    {"max-errors", required_argument, NULL, OPT_MAX_ERRORS},
    {"json", required_argument, NULL, OPT_JSON},
    {"hist-out", required_argument, NULL, OPT_HIST_OUT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* "--bots" for 'n': the long name of an option, for messages. */
static const char *opt_name(int c)
{
	static char buf[40];
	for (const struct option *lo = long_options; lo->name; lo++) {
		if (lo->val == c) {
			snprintf(buf, sizeof(buf), "--%s", lo->name);
			return buf;
		}
	}
	return "option";
}

static void defaults(struct bots_opts *o)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->target_text, "127.0.0.1:7777");
	o->bots = 100;
	o->procs = 1;
	o->connect_rate = 1000;
	o->duration_s = 10;
	o->mode = MODE_PLAY;
	o->input_hz = 10;
	o->timeout_us = 2000000;
	o->connect_timeout_us = 10000000;
	o->keepalive_us = 20000000;
	o->max_p99_ms = -1;
	o->max_errors = -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	o->seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

static int parse_one(struct bots_opts *o, int c, const char *arg, const char *name)
{
	unsigned long long u;
	uint64_t us;
	double d;
	switch (c) {
	case 't':
		if (strlen(arg) >= sizeof(o->target_text) ||
		    parse_hostport(arg, &o->target, &o->target_len) < 0)
			return bad(name, arg,
			           "expected HOST:PORT, e.g. 127.0.0.1:7777 or [::1]:7777");
		strcpy(o->target_text, arg);
		return 0;
	case 'n':
		if (parse_ull(arg, 1, BOTS_MAX, &u) < 0)
			return bad(name, arg, "expected 1..1000000");
		o->bots = (unsigned)u;
		return 0;
	case 'r':
		if (parse_double(arg, 0, 1e7, &o->connect_rate) < 0)
			return bad(name, arg, "expected a rate per second >= 0 (0 = all at once)");
		return 0;
	case 'd':
		if (parse_duration(arg, 7 * 86400.0, &us) < 0 || us < 100000)
			return bad(name, arg,
			           "expected a duration of at least 100ms (e.g. 30s, 5m)");
		o->duration_s = (double)us / 1e6;
		return 0;
	case 'p':
		if (parse_ull(arg, 1, BOTS_PROCS_MAX, &u) < 0)
			return bad(name, arg, "expected 1..256");
		o->procs = (unsigned)u;
		return 0;
	case 's':
		if (strlen(arg) >= sizeof(o->source_text) || parse_sources(arg, o) < 0)
			return bad(
			    name, arg,
			    "expected addresses or IPv4 ranges, comma separated, at most 256 "
			    "(e.g. 127.0.0.2-127.0.0.9)");
		strcpy(o->source_text, arg);
		return 0;
	case OPT_ROOM:
		if (strlen(arg) > ARENA_ROOM_MAX || !arena_utf8_valid(arg, strlen(arg)))
			return bad(name, arg, "expected a room name of at most 32 bytes of UTF-8");
		strcpy(o->room, arg);
		return 0;
	case OPT_INPUT_HZ:
		if (parse_double(arg, 0, 1000, &o->input_hz) < 0)
			return bad(name, arg, "expected 0..1000 per second");
		return 0;
	case OPT_CHAT_RATE:
		if (parse_double(arg, 0, 6000, &o->chat_rate) < 0)
			return bad(name, arg, "expected 0..6000 per minute");
		return 0;
	case OPT_CHURN_RATE:
		if (parse_double(arg, 0, 60, &o->churn_rate) < 0)
			return bad(name, arg, "expected 0..60 per minute");
		return 0;
	case OPT_KEEPALIVE:
		if (parse_duration(arg, 3600, &us) < 0 || (us > 0 && us < 100000))
			return bad(name, arg, "expected 0 (off) or 100ms..1h");
		o->keepalive_us = (uint32_t)us;
		return 0;
	case OPT_RECONNECT:
		o->reconnect = true;
		return 0;
	case OPT_PING:
		o->mode = MODE_PING;
		return 0;
	case OPT_PING_HZ:
		if (parse_double(arg, 0.01, 1000, &o->ping_hz) < 0)
			return bad(name, arg, "expected 0.01..1000 per second");
		o->mode = MODE_PING;
		return 0;
	case OPT_HANDSHAKE:
		o->mode = MODE_HANDSHAKE;
		return 0;
	case OPT_TIMEOUT:
		if (parse_duration(arg, 600, &us) < 0 || us < 1000)
			return bad(name, arg, "expected 1ms..10m");
		o->timeout_us = (uint32_t)us;
		return 0;
	case OPT_CONNECT_TIMEOUT:
		if (parse_duration(arg, 600, &us) < 0 || us < 1000)
			return bad(name, arg, "expected 1ms..10m");
		o->connect_timeout_us = (uint32_t)us;
		return 0;
	case OPT_MAX_P99:
		if (parse_double(arg, 0, 3.6e6, &d) < 0)
			return bad(name, arg, "expected milliseconds >= 0");
		o->max_p99_ms = d;
		return 0;
	case OPT_MAX_ERRORS:
		if (parse_ull(arg, 0, 1000000000000ULL, &u) < 0)
			return bad(name, arg, "expected a count >= 0");
		o->max_errors = (long long)u;
		return 0;
	case OPT_JSON:
		if (strlen(arg) >= sizeof(o->json_path) || !*arg)
			return bad(name, arg, "expected a file name");
		strcpy(o->json_path, arg);
		return 0;
	case OPT_HIST_OUT:
		if (strlen(arg) + 32 >= sizeof(o->hist_prefix) || !*arg)
			return bad(name, arg, "expected a file name prefix");
		strcpy(o->hist_prefix, arg);
		return 0;
	case OPT_SEED:
		if (parse_ull(arg, 0, UINT64_MAX, &u) < 0)
			return bad(name, arg, "expected a non-negative integer");
		o->seed = u;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	}
	return -EINVAL;
}

int bots_opts_parse(int argc, char **argv, struct bots_opts *ret)
{
	struct bots_opts *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	defaults(o);
	int r = parse_hostport(o->target_text, &o->target, &o->target_len);
	optind = 1;
	opterr = 0;
	for (int c; r == 0 &&
	            (c = getopt_long(argc, argv, ":t:n:r:d:p:s:qhV", long_options, NULL)) != -1;) {
		const char *name = opt_name(c);
		switch (c) {
		case 'h':
			bots_usage(stdout);
			free(o);
			return 1;
		case 'V':
			printf("arena-bots %s\n", ARENA_VERSION);
			free(o);
			return 1;
		case '?':
			if (optopt)
				fprintf(stderr, "arena-bots: unknown option '-%c' (see --help)\n",
				        optopt);
			else
				fprintf(stderr, "arena-bots: unknown option '%s' (see --help)\n",
				        argv[optind - 1]);
			r = -EINVAL;
			break;
		case ':':
			fprintf(stderr, "arena-bots: option '%s' needs a value (see --help)\n",
			        argv[optind - 1]);
			r = -EINVAL;
			break;
		default:
			r = parse_one(o, c, optarg, name);
		}
	}
	if (r == 0 && optind < argc) {
		fprintf(stderr, "arena-bots: unexpected argument '%s' (see --help)\n",
		        argv[optind]);
		r = -EINVAL;
	}
	if (r == 0 && o->nsource > 0) {
		for (unsigned i = 0; i < o->nsource; i++) {
			if (o->source[i].ss_family != o->target.ss_family) {
				fprintf(stderr,
				        "arena-bots: --source addresses must be of the same "
				        "address family as --target (see --help)\n");
				r = -EINVAL;
				break;
			}
		}
	}
	if (r == 0 && o->procs > o->bots) {
		fprintf(stderr, "arena-bots: --procs %u is more than --bots %u (see --help)\n",
		        o->procs, o->bots);
		r = -EINVAL;
	}
	if (r == 0)
		memcpy(ret, o, sizeof(*o));
	free(o);
	return r;
}
