/* log.c: the daemon's logger; see log.h for the line format and the journal detection.
 *
 * State is three process-wide variables (level, role, pid) written at start-up and after fork;
 * the daemon is single-threaded per process, so no locking. A line is formatted into a fixed
 * buffer (over-long messages are truncated with "...") and written with one write(2), retried
 * on EINTR and short writes, so concurrent processes sharing stderr never split each other's
 * lines.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static enum arena_log_level log_level = ARENA_LOG_INFO;
static bool log_journal;
static char log_role[32] = "arenad";
static pid_t log_pid;

void log_init(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	log_pid = getpid();
	log_journal = false;
	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	log_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum arena_log_level level)
{
	log_level = level;
}

void log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	log_pid = getpid();
}

int log_enabled(enum arena_log_level level)
{
	return level <= log_level;
}

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		buf += n;
		len -= (size_t)n;
	}
}

void log_msg(enum arena_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	int saved = errno;
	size_t len;
	va_list ap;
	int n;

	if (level > log_level)
		return;

	if (log_journal) {
		n = snprintf(line, sizeof(line), "<%d>%s[%d]: ", (int)level, log_role,
		             (int)log_pid);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line),
		             "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ arenad[%d] %s: ",
		             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		             tm.tm_sec, ts.tv_nsec / 1000000L, (int)log_pid, log_role);
	}
	if (n < 0)
		n = 0;
	len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;

	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - len) {
		/* Truncated: mark it and make room for the newline. */
		len = sizeof(line) - 5;
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
	write_all(line, len);
	errno = saved;
}
