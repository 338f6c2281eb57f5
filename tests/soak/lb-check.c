/* lb-check.c: asks a running arenad for its leaderboard and checks that the answer is consistent.
 *
 * The soak test (soak.sh) runs this between its chaos events and at the end. Each query is a
 * fresh connection (so successive queries usually land on different workers, since the master
 * hands each new connection to the least loaded one): HELLO, LEADERBOARD_REQ, then read until
 * the LEADERBOARD reply (skipping anything else), close. Every frame goes through the protocol
 * library (arena_encode, struct arena_decoder); the decoder already vouches for each field's
 * range and UTF-8. What is checked on top, for every reply:
 *
 *   - at most --max-entries entries (the configured leaderboard_size);
 *   - sorted best score first (non-increasing);
 *   - no name twice (a name's best score is one entry);
 *   - every score <= --max-score (what the soak's bots could at most have collected);
 *   - every name starts with one of the --prefix values (the only players in the soak), or
 *     is this checker's own name with score 0;
 * and across replies:
 *   - with --same, every query returns exactly the same leaderboard (use when nothing plays);
 *   - with --previous FILE (an earlier --out), no score went down: a name listed before and
 *     now has a score >= its earlier one, a full board's last score did not drop, and a board
 *     never shrinks (best scores are kept, never forgotten while the daemon runs).
 * --out FILE writes the first reply as "score<TAB>name" lines, best first.
 *
 * Exit status: 0 consistent, 1 inconsistent (each problem printed on stderr), 2 usage error or
 * the daemon could not be asked (connect, HELLO or the reply failed within --timeout-ms).
 * Loopback only in practice, but the address is not restricted. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena_proto.h"

#define CHECKER_NAME "lb-check"
#define QUERIES_MAX  64
#define PREFIX_MAX   8

struct board {
	unsigned n;
	struct arena_lb_entry e[ARENA_LEADERBOARD_MAX];
};

struct options {
	struct sockaddr_in target;
	unsigned queries;
	unsigned max_entries;
	unsigned long max_score;
	const char *prefix[PREFIX_MAX];
	unsigned nprefix;
	const char *previous;
	const char *out;
	bool same;
	unsigned timeout_ms;
};

static unsigned problems;

__attribute__((format(printf, 1, 2))) static void problem(const char *fmt, ...)
{
	va_list ap;

	problems++;
	fputs("lb-check: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int remaining(uint64_t deadline)
{
	uint64_t now = now_ms();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* One connection to the daemon: its socket, decoder and unread input. */
struct conn {
	int fd;
	size_t off, len; /* unread bytes in buf[off..len) */
	uint8_t buf[4096];
	struct arena_decoder dec;
};

/* Send the whole frame of m before the deadline. Returns 0 or -errno. */
static int send_msg(int fd, const struct arena_msg *m, uint64_t deadline)
{
	uint8_t buf[ARENA_FRAME_MAX];
	ssize_t len = arena_encode(m, buf, sizeof(buf));
	size_t off = 0;

	if (len < 0)
		return (int)len;
	while (off < (size_t)len) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&pfd, 1, remaining(deadline)) <= 0)
			return -ETIMEDOUT;
		n = send(fd, buf + off, (size_t)len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

/* Read until a message of `type` arrives (others are skipped). A BYE or ERROR while waiting is
 * a failure. Returns 0 with *ret filled, or -errno / a negative decoder error. */
static int recv_type(struct conn *c, uint8_t type, struct arena_msg *ret, uint64_t deadline)
{
	for (;;) {
		while (c->off < c->len) {
			size_t used;
			int r = arena_decoder_feed(&c->dec, c->buf + c->off, c->len - c->off, &used,
			                           ret);

			c->off += used;
			if (r < 0)
				return r;
			if (r == 0)
				break;
			if (ret->type == type)
				return 0;
			if (ret->type == ARENA_BYE) {
				fprintf(stderr, "lb-check: BYE %s: %s\n",
				        arena_bye_name(ret->u.bye.reason), ret->u.bye.text.s);
				return -ECONNABORTED;
			}
			if (ret->type == ARENA_ERROR) {
				fprintf(stderr, "lb-check: ERROR %s: %s\n",
				        arena_error_name(ret->u.error.code), ret->u.error.text.s);
				return -EPROTO;
			}
		}
		c->off = c->len = 0;

		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int p = poll(&pfd, 1, remaining(deadline));

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return -ETIMEDOUT;
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		c->len = (size_t)n;
	}
}

/* One query on a fresh connection. Returns 0 with *ret filled, or -errno. */
static int query(const struct options *o, struct board *ret)
{
	uint64_t deadline = now_ms() + o->timeout_ms;
	static struct conn c;
	struct arena_msg m;
	int fd, r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&o->target, sizeof(o->target)) < 0 &&
	    errno != EINPROGRESS) {
		r = -errno;
		goto out;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t elen = sizeof(err);
	if (poll(&pfd, 1, remaining(deadline)) <= 0) {
		r = -ETIMEDOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		r = err ? -err : -errno;
		goto out;
	}

	c.fd = fd;
	c.off = c.len = 0;
	arena_decoder_init(&c.dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	memset(&m, 0, sizeof(m));
	m.type = ARENA_HELLO;
	m.u.hello.version = ARENA_PROTO_VERSION;
	m.u.hello.name.len = (uint8_t)strlen(CHECKER_NAME);
	memcpy(m.u.hello.name.s, CHECKER_NAME, sizeof(CHECKER_NAME));
	if ((r = send_msg(fd, &m, deadline)) < 0 ||
	    (r = recv_type(&c, ARENA_WELCOME, &m, deadline)) < 0)
		goto out;
	memset(&m, 0, sizeof(m));
	m.type = ARENA_LEADERBOARD_REQ;
	if ((r = send_msg(fd, &m, deadline)) < 0 ||
	    (r = recv_type(&c, ARENA_LEADERBOARD, &m, deadline)) < 0)
		goto out;
	ret->n = m.u.leaderboard.n;
	memcpy(ret->e, m.u.leaderboard.entries, sizeof(ret->e[0]) * ret->n);
	r = 0;
out:
	close(fd);
	return r;
}

static bool has_prefix(const struct options *o, const char *name)
{
	if (o->nprefix == 0)
		return true;
	for (unsigned i = 0; i < o->nprefix; i++)
		if (strncmp(name, o->prefix[i], strlen(o->prefix[i])) == 0)
			return true;
	return false;
}

/* The checks on one reply; each violation is reported. */
static void check_board(const struct options *o, unsigned q, const struct board *b)
{
	if (b->n > o->max_entries)
		problem("query %u: %u entries, leaderboard_size is %u", q, b->n, o->max_entries);
	for (unsigned i = 0; i < b->n; i++) {
		const struct arena_lb_entry *e = &b->e[i];

		if (i > 0 && e->score > b->e[i - 1].score)
			problem("query %u: not sorted: entry %u (%s, %u) above entry %u (%s, %u)",
			        q, i, e->name.s, e->score, i - 1, b->e[i - 1].name.s,
			        b->e[i - 1].score);
		if (e->score > o->max_score)
			problem("query %u: %s has %u points, more than the %lu possible", q,
			        e->name.s, e->score, o->max_score);
		bool own = strcmp(e->name.s, CHECKER_NAME) == 0;
		if (own ? e->score != 0 : !has_prefix(o, e->name.s))
			problem("query %u: unexpected player %s (%u points)", q, e->name.s,
			        e->score);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(b->e[j].name.s, e->name.s) == 0)
				problem("query %u: %s listed twice (entries %u and %u)", q,
				        e->name.s, j, i);
	}
}

static bool same_board(const struct board *a, const struct board *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (a->e[i].score != b->e[i].score || strcmp(a->e[i].name.s, b->e[i].name.s) != 0)
			return false;
	return true;
}

/* Read an earlier --out file. Returns 0, or -errno / -EBADMSG. */
static int read_board(const char *path, struct board *ret)
{
	FILE *f = fopen(path, "re");
	char line[128];
	struct board b = {0};

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *tab = strchr(line, '\t'), *end;
		unsigned long score;
		size_t len;

		if (!tab || b.n == ARENA_LEADERBOARD_MAX)
			goto bad;
		*tab = 0;
		errno = 0;
		score = strtoul(line, &end, 10);
		if (errno || *end || end == line || score > UINT32_MAX)
			goto bad;
		len = strcspn(tab + 1, "\n");
		if (len == 0 || len > ARENA_NAME_MAX)
			goto bad;
		b.e[b.n].score = (uint32_t)score;
		b.e[b.n].name.len = (uint8_t)len;
		memcpy(b.e[b.n].name.s, tab + 1, len);
		b.e[b.n].name.s[len] = 0;
		b.n++;
	}
	fclose(f);
	*ret = b;
	return 0;
bad:
	fclose(f);
	return -EBADMSG;
}

static int write_board(const char *path, const struct board *b)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	for (unsigned i = 0; i < b->n; i++)
		fprintf(f, "%u\t%s\n", b->e[i].score, b->e[i].name.s);
	if (fclose(f) == EOF)
		return -errno;
	return 0;
}

/* Best scores never go down while the daemon runs (and across a restart with its state). */
static void check_monotonic(const struct board *prev, const struct board *cur, unsigned max_entries)
{
	if (cur->n < prev->n)
		problem("the leaderboard shrank from %u to %u entries", prev->n, cur->n);
	for (unsigned i = 0; i < prev->n; i++)
		for (unsigned j = 0; j < cur->n; j++)
			if (strcmp(prev->e[i].name.s, cur->e[j].name.s) == 0 &&
			    cur->e[j].score < prev->e[i].score)
				problem("%s went down from %u to %u points", cur->e[j].name.s,
				        prev->e[i].score, cur->e[j].score);
	if (prev->n == max_entries && cur->n == max_entries && prev->n > 0 &&
	    cur->e[cur->n - 1].score < prev->e[prev->n - 1].score)
		problem("the last place of the full board dropped from %u to %u points",
		        prev->e[prev->n - 1].score, cur->e[cur->n - 1].score);
}

static void usage(FILE *out)
{
	fputs("Usage: lb-check [OPTIONS]\n"
	      "Ask arenad for its leaderboard (LEADERBOARD_REQ) and check it is consistent.\n"
	      "  -t, --target ADDR:PORT   IPv4 address of the daemon (default 127.0.0.1:7777)\n"
	      "  -q, --queries N          queries, each on a new connection (default 4, max 64)\n"
	      "  -n, --max-entries N      configured leaderboard_size (default 10)\n"
	      "  -m, --max-score S        highest plausible score (default: no bound)\n"
	      "  -p, --prefix P           names must start with P (repeatable; default: any)\n"
	      "  -s, --same               every query must return the same board\n"
	      "  -P, --previous FILE      an earlier --out: no score may have gone down\n"
	      "  -o, --out FILE           write the board as \"score<TAB>name\" lines\n"
	      "  -T, --timeout-ms MS      bound of each query (default 5000)\n"
	      "Exit status: 0 consistent, 1 inconsistent, 2 usage error or no answer.\n",
	      out);
}

static int parse_target(const char *text, struct sockaddr_in *ret)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - text) >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->sin_family = AF_INET;
	ret->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &ret->sin_addr) == 1 ? 0 : -EINVAL;
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"queries", required_argument, NULL, 'q'},
	    {"max-entries", required_argument, NULL, 'n'},
	    {"max-score", required_argument, NULL, 'm'},
	    {"prefix", required_argument, NULL, 'p'},
	    {"same", no_argument, NULL, 's'},
	    {"previous", required_argument, NULL, 'P'},
	    {"out", required_argument, NULL, 'o'},
	    {"timeout-ms", required_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c;

	parse_target("127.0.0.1:7777", &o->target);
	o->queries = 4;
	o->max_entries = 10;
	o->max_score = UINT32_MAX;
	o->timeout_ms = 5000;
	while ((c = getopt_long(argc, argv, "t:q:n:m:p:sP:o:T:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_target(optarg, &o->target) < 0)
				goto bad;
			break;
		case 'q':
			if (parse_ulong(optarg, 1, QUERIES_MAX, &v) < 0)
				goto bad;
			o->queries = (unsigned)v;
			break;
		case 'n':
			if (parse_ulong(optarg, 1, ARENA_LEADERBOARD_MAX, &v) < 0)
				goto bad;
			o->max_entries = (unsigned)v;
			break;
		case 'm':
			if (parse_ulong(optarg, 0, UINT32_MAX, &o->max_score) < 0)
				goto bad;
			break;
		case 'p':
			if (o->nprefix == PREFIX_MAX || !*optarg)
				goto bad;
			o->prefix[o->nprefix++] = optarg;
			break;
		case 's':
			o->same = true;
			break;
		case 'P':
			o->previous = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'T':
			if (parse_ulong(optarg, 1, 600000, &v) < 0)
				goto bad;
			o->timeout_ms = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "lb-check: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "lb-check: invalid value '%s' for -%c (see --help)\n", optarg, c);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static struct board boards[QUERIES_MAX];
	struct options o = {0};
	int r;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	for (unsigned q = 0; q < o.queries; q++) {
		r = query(&o, &boards[q]);
		if (r < 0) {
			fprintf(stderr, "lb-check: query %u failed: %s\n", q,
			        r == -ETIMEDOUT ? "timed out" : strerror(-r));
			return 2;
		}
		check_board(&o, q, &boards[q]);
		if (o.same && q > 0 && !same_board(&boards[0], &boards[q]))
			problem("query %u returned another board than query 0 (%u vs %u entries)",
			        q, boards[q].n, boards[0].n);
	}
	if (o.previous) {
		struct board prev;

		r = read_board(o.previous, &prev);
		if (r < 0) {
			fprintf(stderr, "lb-check: cannot read %s: %s\n", o.previous, strerror(-r));
			return 2;
		}
		for (unsigned q = 0; q < o.queries; q++)
			check_monotonic(&prev, &boards[q], o.max_entries);
	}
	if (o.out && (r = write_board(o.out, &boards[0])) < 0) {
		fprintf(stderr, "lb-check: cannot write %s: %s\n", o.out, strerror(-r));
		return 2;
	}
	printf("lb-check: %u queries, %u entries", o.queries, boards[0].n);
	if (boards[0].n > 0)
		printf(", best %s %u, last %u", boards[0].e[0].name.s, boards[0].e[0].score,
		       boards[0].e[boards[0].n - 1].score);
	printf(": %s (%u problems)\n", problems ? "INCONSISTENT" : "consistent", problems);
	return problems ? 1 : 0;
}
