/* log.c: the daemon's logger; see log.h for the line format and the journal detection.
 *
 * State is a few process-wide variables (level, role, pid, where stderr goes, lines dropped)
 * written at start-up and after fork; the daemon is single-threaded per process, so no locking.
 * A line is formatted into a fixed buffer (over-long messages are truncated with "...") and
 * written with one system call, so processes sharing stderr never split each other's lines.
 *
 * A write never waits for a reader. log_init() looks at what stderr is, once:
 *   - a socket (the journal's stream socket): send() with MSG_DONTWAIT | MSG_NOSIGNAL;
 *   - a pipe or FIFO (`arenad | less`): pwritev2(RWF_NOWAIT), which pipes made by pipe(2)
 *     honour since Linux 6.4 (earlier kernels, and named FIFOs even on 6.18, answer
 *     EOPNOTSUPP). Then a private non-blocking file description of the same pipe, opened
 *     through /proc/self/fd/2 by the process that needs it; and without /proc, poll(POLLOUT)
 *     with no wait before a plain write (a writer of another process can take the space in
 *     between, so only this last resort can still block). O_NONBLOCK is never set on fd 2: its
 *     file description is shared with the shell or service manager that started us;
 *   - anything else (a regular file, a tty, /dev/null): a plain write. A file's write waits
 *     for the disk at worst, never for a reader; a tty is an operator watching the daemon in
 *     the foreground, who drains it at terminal speed unless they stop it on purpose.
 * A line that cannot be written now is dropped and counted; the next line that gets out is
 * preceded, in the same system call, by "N log lines dropped (stderr not writable)".
 * Pipe writes of up to PIPE_BUF (4096) bytes are all or nothing, and both lines together stay
 * below that, so on a pipe a line is never cut. A stream socket may take part of a buffer:
 * the rest is then pushed with poll(POLLOUT) for at most LOG_FINISH_MS, and if it still does
 * not fit it is kept and written before anything else at the next log call (lines logged
 * meanwhile are dropped and counted), so this process never leaves half a line behind.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX  1024
#define LOG_NOTE_MAX  160 /* the "lines dropped" line, prefix included */
#define LOG_FINISH_MS 20  /* effort spent on the rest of a partly written line */

/* Both lines leave in one write, which a pipe takes whole or not at all up to PIPE_BUF. */
_Static_assert(LOG_NOTE_MAX + LOG_LINE_MAX <= PIPE_BUF, "a log write must fit in PIPE_BUF");

/* What stderr is, decided once by log_init() and inherited across fork. */
enum log_sink {
	LOG_SINK_PLAIN,  /* regular file, tty, character device, or not known: write(2) */
	LOG_SINK_SOCKET, /* send(MSG_DONTWAIT) */
	LOG_SINK_PIPE,   /* see pipe_write() */
};

/* How a pipe is written without blocking: the second when the kernel refuses the first. */
enum log_pipe_mode {
	LOG_PIPE_NOWAIT,  /* pwritev2(RWF_NOWAIT) on fd 2 */
	LOG_PIPE_PRIVATE, /* write(2) on our own O_NONBLOCK description of the pipe, or, where that
	                   * cannot be opened, poll(POLLOUT, 0) and then write(2) on fd 2 */
};

static enum arena_log_level log_level = ARENA_LOG_INFO;
static bool log_journal;
static char log_role[32] = "arenad";
static pid_t log_pid;
static enum log_sink log_sink = LOG_SINK_PLAIN;
static enum log_pipe_mode log_pipe_mode = LOG_PIPE_NOWAIT;
static int log_private_fd = -1;        /* valid in log_private_pid only (workers close fds) */
static pid_t log_private_pid;          /* the process that tried to open log_private_fd */
static unsigned long long log_dropped; /* lines dropped since the last one written */
static char log_tail[LOG_NOTE_MAX + LOG_LINE_MAX]; /* unwritten rest of a partly written line */
static size_t log_tail_len;

void log_init(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_pid = getpid();
	log_journal = false;
	log_sink = LOG_SINK_PLAIN;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	if (S_ISSOCK(st.st_mode))
		log_sink = LOG_SINK_SOCKET;
	else if (S_ISFIFO(st.st_mode))
		log_sink = LOG_SINK_PIPE;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return;
	log_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum arena_log_level level)
{
	log_level = level;
}

void log_set_role(const char *role)
{
	pid_t pid = getpid();

	snprintf(log_role, sizeof(log_role), "%s", role);
	if (pid != log_pid) {
		/* A new process: what the parent dropped or left half-written is its own affair. */
		log_dropped = 0;
		log_tail_len = 0;
	}
	log_pid = pid;
}

int log_enabled(enum arena_log_level level)
{
	return level <= log_level;
}

/* One non-blocking write attempt to a pipe (see the top of the file). */
static ssize_t pipe_write(const char *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};
	ssize_t n;

	if (log_pipe_mode == LOG_PIPE_NOWAIT) {
		n = pwritev2(STDERR_FILENO, &iov, 1, -1, RWF_NOWAIT);
		if (n >= 0 || (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL))
			return n;
		log_pipe_mode = LOG_PIPE_PRIVATE;
	}
	if (log_pipe_mode == LOG_PIPE_PRIVATE) {
		if (log_private_pid != getpid()) {
			/* Once per process: a parent's fd is not ours to use or close. */
			log_private_pid = getpid();
			log_private_fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		}
		if (log_private_fd >= 0)
			return write(log_private_fd, buf, len);
	}
	if (poll(&pfd, 1, 0) < 0)
		return -1;
	if (!(pfd.revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL))) {
		errno = EAGAIN;
		return -1;
	}
	return write(STDERR_FILENO, buf, len);
}

/* One attempt to write buf to stderr: bytes written, or -1 with errno (EAGAIN: not now). */
static ssize_t try_write(const char *buf, size_t len)
{
	ssize_t n;

	do {
		switch (log_sink) {
		case LOG_SINK_SOCKET:
			n = send(STDERR_FILENO, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case LOG_SINK_PIPE:
			n = pipe_write(buf, len);
			break;
		default:
			n = write(STDERR_FILENO, buf, len);
			break;
		}
	} while (n < 0 && errno == EINTR);
	return n;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Push the rest of a partly written buffer for at most LOG_FINISH_MS. Returns how many bytes
 * are still unwritten; 0 also when stderr is broken (nothing more will get out anyway). */
static size_t finish(const char *buf, size_t len)
{
	long long deadline = now_ms() + LOG_FINISH_MS;

	while (len > 0) {
		struct pollfd pfd = {.fd = STDERR_FILENO, .events = POLLOUT};
		ssize_t n = try_write(buf, len);
		long long left;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return 0;
		left = deadline - now_ms();
		if (left <= 0)
			break;
		poll(&pfd, 1, (int)left);
	}
	return len;
}

/* Write what is left of an earlier line first. True once nothing is left. */
static bool flush_tail(void)
{
	ssize_t n = try_write(log_tail, log_tail_len);

	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_tail_len = 0; /* stderr is broken: the rest can never be written */
	else if (n > 0) {
		log_tail_len -= (size_t)n;
		memmove(log_tail, log_tail + n, log_tail_len);
	}
	return log_tail_len == 0;
}

/* The line prefix for `level`: the journal's "<4>worker.2[1234]: " or a timestamp, pid and
 * role. Returns its length (< size). */
static size_t format_prefix(char *buf, size_t size, enum arena_log_level level)
{
	int n;

	if (log_journal) {
		n = snprintf(buf, size, "<%d>%s[%d]: ", (int)level, log_role, (int)log_pid);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ arenad[%d] %s: ",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		             tm.tm_sec, ts.tv_nsec / 1000000L, (int)log_pid, log_role);
	}
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* Write one finished line (newline included) that sits at line[0..len), with LOG_NOTE_MAX
 * bytes of room before it for the "lines dropped" report. */
static void emit(char *line, size_t len)
{
	char *buf = line;
	size_t total = len, rest;
	ssize_t n;

	if (log_tail_len > 0 && !flush_tail()) {
		log_dropped++;
		return;
	}
	if (log_dropped > 0) {
		/* Reported at warning level whatever log_level is: the lines it accounts for had
		 * passed the level filter. */
		char note[LOG_NOTE_MAX];
		size_t k = format_prefix(note, sizeof(note), ARENA_LOG_WARNING);
		int m = snprintf(note + k, sizeof(note) - k,
		                 "%llu log lines dropped (stderr not writable)\n", log_dropped);

		if (m > 0 && (size_t)m < sizeof(note) - k) {
			k += (size_t)m;
			buf = line - k;
			memcpy(buf, note, k);
			total += k;
		}
	}
	n = try_write(buf, total);
	if (n < 0) {
		log_dropped++; /* the report, if any, is still owed */
		return;
	}
	log_dropped = 0;
	if ((size_t)n == total)
		return;
	rest = finish(buf + n, total - (size_t)n);
	if (rest > 0) {
		memcpy(log_tail, buf + total - rest, rest);
		log_tail_len = rest;
	}
}

void log_msg(enum arena_log_level level, const char *fmt, ...)
{
	char out[LOG_NOTE_MAX + LOG_LINE_MAX];
	char *line = out + LOG_NOTE_MAX;
	int saved = errno;
	size_t len;
	va_list ap;
	int n;

	if (level > log_level)
		return;

	len = format_prefix(line, LOG_LINE_MAX, level);
	va_start(ap, fmt);
	n = vsnprintf(line + len, LOG_LINE_MAX - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= LOG_LINE_MAX - len) {
		/* Truncated: mark it and make room for the newline. */
		len = LOG_LINE_MAX - 5;
		memcpy(line + len, "...", 3);
		len += 3;
	} else {
		len += (size_t)n;
	}
	/* One event, one line: flatten embedded newlines from client-controlled text. */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	emit(line, len);
	errno = saved;
}
