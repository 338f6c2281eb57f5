/* test-log-stall.c: a stderr nobody reads costs the daemon log lines, never its players.
 *
 * arenad runs with log_level=debug (every connection logs) and its stderr on a pipe that this
 * test does not read, like `arenad | less` paused or a wedged journal. Once the daemon is up,
 * the test fills the pipe to the brim through a private non-blocking file description of its
 * own (so the daemon's file description stays blocking, as a shell would leave it). Then 50
 * clients in turn must each get WELCOME and PONG within 2 s, the daemon must stay up with the
 * same workers (heartbeat_timeout=1s: a worker stuck in a log write would be killed as wedged
 * within about 1.25 s, and the test waits 1.5 s more), and once the test drains the pipe the
 * daemon's next lines must include "N log lines dropped (stderr not writable)", with no line
 * cut or merged with another. What was read is appended to the harness log file, so the usual
 * end-of-test checks (no sanitizer report) still apply. The scenario runs three times: with a
 * pipe (written with pwritev2(RWF_NOWAIT) on Linux 6.4 and later), a named FIFO (which refuses
 * RWF_NOWAIT, so the logger's fallback runs), and a stream socket like the journal's, which the
 * test fills with send(MSG_DONTWAIT).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NCLIENTS    50
#define NWORKERS    2
#define DEADLINE_MS 2000
#define DRAIN_MAX   (8u << 20) /* bytes of log read back at most */
#define DROPPED     " log lines dropped (stderr not writable)"

static char *drained;
static size_t drained_len;

/* Read what the pipe holds now (rfd is non-blocking). Returns 1 at EOF, else 0. */
static int drain(int rfd)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (n == 0)
			return 1;
		if (n < 0)
			return 0; /* EAGAIN: empty for now (EINTR: try again next round) */
		if (drained_len + (size_t)n > DRAIN_MAX)
			h_bail("the daemon wrote more than %u bytes of log", DRAIN_MAX);
		memcpy(drained + drained_len, buf, (size_t)n);
		drained_len += (size_t)n;
	}
}

/* Fill the daemon's stderr with whole filler lines until not even 8 more bytes fit, without
 * changing the flags of the file description the daemon shares: a pipe is written through a
 * second, non-blocking open file description of its write end, a socket with MSG_DONTWAIT.
 * Returns the bytes written. */
static size_t fill(int wfd_shared, bool sock)
{
	static const size_t sizes[] = {4096, 512, 64, 8};
	char path[64], chunk[4096];
	size_t total = 0;
	int wfd = wfd_shared;

	if (!sock) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd_shared);
		wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (wfd < 0)
			h_bail("reopening the pipe's write end: %s", strerror(errno));
	}
	for (size_t i = 0; i < sizeof(chunk); i += 8)
		memcpy(chunk + i, "filler!\n", 8);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (unsigned k = 0; k < 100000; k++) {
			ssize_t n = sock ? send(wfd, chunk, sizes[s], MSG_DONTWAIT | MSG_NOSIGNAL)
			                 : write(wfd, chunk, sizes[s]);

			if (n < 0)
				break;
			total += (size_t)n;
		}
	}
	if (!sock)
		close(wfd);
	return total;
}

/* True if every line is filler or a whole log line of the daemon's plain format
 * ("2026-11-25T13:00:00.123Z arenad[1234] worker.2: ..."), and the text ends with a newline. */
static bool lines_whole(const char *text, size_t len, unsigned *ret_lines)
{
	unsigned lines = 0;
	size_t off = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l;

		if (!nl)
			return false;
		l = (size_t)(nl - (text + off));
		if (!(l == 7 && memcmp(text + off, "filler!", 7) == 0)) {
			if (l < 40 || text[off + 4] != '-' || text[off + 10] != 'T' ||
			    text[off + 23] != 'Z' || memcmp(text + off + 24, " arenad[", 8) != 0)
				return false;
			/* A second line glued on would bring a second timestamp and tag. */
			if (memmem(text + off + 32, l - 32, " arenad[", 8))
				return false;
			lines++;
		}
		off += l + 1;
	}
	*ret_lines = lines;
	return true;
}

/* Connect, HELLO and PING one client; bounded by DEADLINE_MS for each answer. */
static bool serve_one(struct hd *d, unsigned i, struct hc **ret, uint64_t *ret_worst)
{
	char name[16];
	uint64_t t0;
	struct hc *c;

	snprintf(name, sizeof(name), "stall%u", i);
	c = hc_connect(d, NULL);
	if (!c)
		return false;
	*ret = c;
	t0 = h_now_ms();
	if (hc_hello(c, name, DEADLINE_MS) != 0)
		return false;
	if (h_now_ms() - t0 > *ret_worst)
		*ret_worst = h_now_ms() - t0;
	t0 = h_now_ms();
	if (hc_ping(c, DEADLINE_MS) < 0)
		return false;
	if (h_now_ms() - t0 > *ret_worst)
		*ret_worst = h_now_ms() - t0;
	return true;
}

enum kind { PIPE, FIFO, SOCKET };

/* The two ends of a stderr of that kind: p[0] for the test to read, p[1] for the daemon. */
static void open_stderr(enum kind kind, int p[2])
{
	char path[64];
	int r;

	switch (kind) {
	case PIPE:
		r = pipe2(p, O_CLOEXEC);
		break;
	case SOCKET:
		r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
		if (r == 0)
			shutdown(p[0], SHUT_WR); /* one way, like the journal's stream */
		break;
	default:
		snprintf(path, sizeof(path), "/tmp/arena-log-stall-%d", (int)getpid());
		unlink(path);
		r = mkfifo(path, 0600);
		if (r == 0 && (p[0] = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
			r = -1;
		if (r == 0 && (p[1] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			r = -1;
		unlink(path);
		break;
	}
	if (r < 0)
		h_bail("creating the daemon's stderr: %s", strerror(errno));
}

/* The whole scenario with stderr of the given kind. */
static void scenario(enum kind kind)
{
	bool sock = kind == SOCKET;
	static struct hc *cs[NCLIENTS];
	const char *what = kind == PIPE ? "pipe" : kind == FIFO ? "fifo" : "socket";
	struct hd_opts o = {0};
	pid_t before[NWORKERS];
	unsigned served = 0, ponged = 0, lines = 0;
	uint64_t worst = 0, deadline;
	size_t filled;
	bool eof = false, whole, exited;
	int p[2];
	struct hd *d;
	FILE *f;

	drained_len = 0;
	open_stderr(kind, p);
	o.kv = (const char *const[]){"workers=2", "log_level=debug", "heartbeat_timeout=1s", NULL};
	o.stderr_fd = p[1];
	d = hd_start_opts(&o);
	/* The daemon holds its own copies of the write end; ours must go, or no EOF at the end. */
	filled = fill(p[1], sock);
	close(p[1]);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		h_bail("fcntl: %s", strerror(errno));
	h_diag("%s: filled the daemon's stderr with %zu bytes", what, filled);
	REQUIRE(hd_workers(d, before, NWORKERS) == NWORKERS, "%s: arenad runs %u workers", what,
	        NWORKERS);

	for (unsigned i = 0; i < NCLIENTS; i++) {
		if (!serve_one(d, i, &cs[i], &worst)) {
			h_diag("client %u was not served within %u ms", i, DEADLINE_MS);
			break;
		}
		served++;
	}
	CHECK(served == NCLIENTS,
	      "%s: %u clients each got WELCOME and PONG within %u ms while stderr is full (%u, "
	      "worst %llu ms)",
	      what, NCLIENTS, DEADLINE_MS, served, (unsigned long long)worst);

	/* Longer than heartbeat_timeout plus the master's check period: a worker stuck in a log
	 * write would be replaced by now. */
	h_sleep_ms(1500);
	CHECK(hproc_alive(d->pid), "%s: the master is still running", what);
	CHECK(hd_workers_unchanged(d, before, NWORKERS),
	      "%s: no worker was replaced (none was killed as wedged)", what);
	for (unsigned i = 0; i < served; i++)
		ponged += hc_ping(cs[i], DEADLINE_MS) >= 0;
	CHECK(served > 0 && ponged == served, "%s: every client still gets PONG (%u of %u)", what,
	      ponged, served);
	hc_close_all(cs, NCLIENTS);
	memset(cs, 0, sizeof(cs));

	/* Drain, then give the daemon lines to log until it reports what it dropped. */
	deadline = h_now_ms() + 5000;
	for (unsigned i = 0; h_now_ms() < deadline; i++) {
		struct hc *c;

		drain(p[0]);
		if (memmem(drained, drained_len, DROPPED, strlen(DROPPED)))
			break;
		c = hc_connect(d, NULL);
		if (c) {
			char name[16];

			snprintf(name, sizeof(name), "late%u", i);
			hc_hello(c, name, DEADLINE_MS);
			hc_close(c);
		}
		h_sleep_ms(20);
	}
	CHECK(memmem(drained, drained_len, DROPPED, strlen(DROPPED)) != NULL,
	      "%s: once stderr drains the log says how many lines were dropped", what);

	/* Stop the daemon and read its last lines until every writer is gone. */
	hd_kill(d, SIGTERM);
	deadline = h_now_ms() + 10000;
	while (!eof && h_now_ms() < deadline) {
		eof = drain(p[0]);
		if (!eof)
			h_sleep_ms(10);
	}
	CHECK(eof, "%s: the daemon's stderr reached EOF after SIGTERM", what);
	exited = hd_wait_exit(d, 5000) == 0;
	CHECK(exited && WIFEXITED(d->status) && WEXITSTATUS(d->status) == 0,
	      "%s: arenad exits with status 0 on SIGTERM (wait status 0x%x)", what, d->status);
	close(p[0]);
	whole = lines_whole(drained, drained_len, &lines);
	CHECK(whole && lines > 0, "%s: every line read back is whole (%u daemon lines, %zu bytes)",
	      what, lines, drained_len);
	{
		/* Show the report line, and keep everything for the harness's checks. */
		char *s = memmem(drained, drained_len, DROPPED, strlen(DROPPED));

		if (s) {
			char *start = s,
			     *end = memchr(s, '\n', drained_len - (size_t)(s - drained));

			while (start > drained && start[-1] != '\n')
				start--;
			h_diag("%.*s", (int)((end ? end : drained + drained_len) - start), start);
		}
	}
	f = fopen(d->log, "ae");
	if (f) {
		fwrite(drained, 1, drained_len, f);
		fclose(f);
	}
	hd_free(d);
}

int main(void)
{
	h_init("log-stall", "an unread stderr drops log lines but never stalls the daemon");
	drained = malloc(DRAIN_MAX);
	if (!drained)
		h_bail("out of memory");
	scenario(PIPE);
	scenario(FIFO);
	scenario(SOCKET);
	free(drained);
	return h_done();
}
