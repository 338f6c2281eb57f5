/* harness-watch.c: watching a running daemon from outside: its processes, fds, memory and log.
 *
 * What the black-box tests assert about the daemon's health, read from /proc and from the log
 * file: the live workers of the master (its non-zombie children), every process of the daemon
 * (its process group plus the master's children), zombies, fd counts with a stable baseline to
 * return to, total RSS, and the log's contents, including the reports sanitizers print. Every
 * reader tolerates processes that exit between two reads; every wait is bounded.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness-private.h"

#define LOG_READ_MAX (64u << 20)

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int hd_workers(struct hd *d, pid_t *ret_pids, size_t max)
{
	pid_t kids[1024];
	int n, k = 0;

	if (d->status != -1)
		return 0;
	n = hproc_children(d->pid, kids, sizeof(kids) / sizeof(kids[0]));
	if (n < 0)
		return n;
	if (n > (int)(sizeof(kids) / sizeof(kids[0])))
		n = sizeof(kids) / sizeof(kids[0]);
	for (int i = 0; i < n; i++)
		if (hproc_alive(kids[i]))
			kids[k++] = kids[i];
	qsort(kids, (size_t)k, sizeof(kids[0]), cmp_pid);
	for (int i = 0; i < k && (size_t)i < max; i++)
		ret_pids[i] = kids[i];
	return k;
}

int hd_wait_workers(struct hd *d, unsigned n, pid_t *ret_pids, size_t max, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;

	for (;;) {
		int k = hd_workers(d, ret_pids, max);

		if (k == (int)n)
			return k;
		if (h_now_ms() >= deadline)
			return -ETIMEDOUT;
		h_sleep_ms(10);
	}
}

bool hd_workers_unchanged(struct hd *d, const pid_t *before, size_t n)
{
	pid_t now[HD_WORKERS_MAX];

	return n <= HD_WORKERS_MAX && hd_workers(d, now, HD_WORKERS_MAX) == (int)n &&
	       memcmp(now, before, n * sizeof(*now)) == 0;
}

pid_t hd_replacement(struct hd *d, const pid_t *before, size_t n, pid_t gone)
{
	pid_t now[HD_WORKERS_MAX];

	if (n > HD_WORKERS_MAX || hd_workers(d, now, HD_WORKERS_MAX) != (int)n ||
	    h_pid_in(gone, now, n))
		return 0;
	for (size_t k = 0; k < n; k++)
		if (!h_pid_in(now[k], before, n))
			return now[k];
	return 0;
}

static bool is_daemon_process(pid_t pid, void *arg)
{
	const struct hd *d = arg;

	if (!hproc_alive(pid))
		return false;
	return hproc_pgid(pid) == d->pgid || pid == d->pid ||
	       (d->status == -1 && hproc_ppid(pid) == d->pid);
}

int hd_processes(struct hd *d, pid_t *ret_pids, size_t max)
{
	return hproc_scan(is_daemon_process, d, ret_pids, max);
}

int hd_zombies(struct hd *d)
{
	pid_t kids[1024];
	int n, z = 0;

	if (d->status != -1)
		return 0;
	n = hproc_children(d->pid, kids, sizeof(kids) / sizeof(kids[0]));
	for (int i = 0; i < n && i < (int)(sizeof(kids) / sizeof(kids[0])); i++)
		z += hproc_state(kids[i]) == 'Z';
	return n < 0 ? n : z;
}

long hd_fd_total(struct hd *d, long *ret_counts, size_t max)
{
	pid_t w[HD_WORKERS_MAX];
	long total;
	int n, c;

	if (d->status != -1)
		return -ESRCH;
	c = hproc_fd_count(d->pid);
	if (c < 0)
		return c;
	total = c;
	if (max > 0)
		ret_counts[0] = c;
	n = hd_workers(d, w, HD_WORKERS_MAX);
	for (int i = 0; i < n && i < HD_WORKERS_MAX; i++) {
		c = hproc_fd_count(w[i]);
		if (c < 0)
			continue; /* exited in between */
		total += c;
		if ((size_t)i + 1 < max)
			ret_counts[i + 1] = c;
	}
	return total;
}

long hd_fd_baseline(struct hd *d, long *ret_counts, size_t max)
{
	long prev[HD_WORKERS_MAX + 1] = {0}, cur[HD_WORKERS_MAX + 1] = {0};
	long ptotal = hd_fd_total(d, prev, HD_WORKERS_MAX + 1), total = ptotal;
	size_t n = max < HD_WORKERS_MAX + 1 ? max : HD_WORKERS_MAX + 1;

	for (int i = 0; i < 15; i++) {
		h_sleep_ms(200);
		memset(cur, 0, sizeof(cur));
		total = hd_fd_total(d, cur, HD_WORKERS_MAX + 1);
		if (total == ptotal && memcmp(cur, prev, sizeof(cur[0]) * (d->workers + 1)) == 0)
			break;
		memcpy(prev, cur, sizeof(cur));
		ptotal = total;
	}
	memcpy(ret_counts, cur, n * sizeof(cur[0]));
	return total;
}

int hd_wait_fd_baseline(struct hd *d, const long *base, size_t n, unsigned timeout_ms)
{
	uint64_t deadline = h_now_ms() + timeout_ms;
	long cur[HD_WORKERS_MAX + 1];

	if (n > HD_WORKERS_MAX + 1)
		n = HD_WORKERS_MAX + 1;
	for (;;) {
		memset(cur, 0, sizeof(cur));
		hd_fd_total(d, cur, n);
		if (memcmp(cur, base, n * sizeof(cur[0])) == 0)
			return 0;
		if (h_now_ms() >= deadline)
			break;
		h_sleep_ms(50);
	}
	for (size_t i = 0; i < n; i++)
		if (cur[i] != base[i])
			h_diag("%s %zu: %ld fds open, baseline %ld", i ? "worker" : "master", i,
			       cur[i], base[i]);
	return -ETIMEDOUT;
}

long hd_rss_kb(struct hd *d)
{
	pid_t w[HD_WORKERS_MAX];
	long total, r;
	int n;

	if (d->status != -1)
		return -ESRCH;
	total = hproc_rss_kb(d->pid);
	if (total < 0)
		return total;
	n = hd_workers(d, w, HD_WORKERS_MAX);
	for (int i = 0; i < n && i < HD_WORKERS_MAX; i++)
		if ((r = hproc_rss_kb(w[i])) > 0)
			total += r;
	return total;
}

/* Read the whole log (bounded) into a NUL-terminated malloc'd buffer, or NULL. */
static char *log_read(struct hd *d, size_t *ret_len)
{
	FILE *f = fopen(d->log, "re");
	char *buf;
	size_t len;

	if (!f)
		return NULL;
	buf = malloc(LOG_READ_MAX + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	len = fread(buf, 1, LOG_READ_MAX, f);
	fclose(f);
	buf[len] = 0;
	*ret_len = len;
	return buf;
}

bool hd_log_contains(struct hd *d, const char *needle)
{
	size_t len;
	char *buf = log_read(d, &len);
	bool found;

	if (!buf)
		return false;
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

void hd_log_tail(struct hd *d, unsigned lines)
{
	size_t len;
	char *buf = log_read(d, &len);
	char *p;
	unsigned n = 0;

	if (!buf)
		return;
	p = buf + len;
	while (p > buf && n <= lines) {
		p--;
		if (*p == '\n' && p + 1 < buf + len)
			n++;
	}
	if (n > lines)
		p++;
	h_diag("---- last lines of %s ----", d->log);
	for (char *line = p; *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = 0;
		h_diag("| %s", line);
		if (!nl)
			break;
		line = nl + 1;
	}
	free(buf);
}

bool hd_log_clean(struct hd *d)
{
	static const char *const reports[] = {
	    "ERROR: AddressSanitizer",  "ERROR: LeakSanitizer",   "runtime error:",
	    "WARNING: ThreadSanitizer", "ERROR: MemorySanitizer",
	};

	for (size_t i = 0; i < sizeof(reports) / sizeof(reports[0]); i++)
		if (hd_log_contains(d, reports[i]))
			return CHECK(false,
			             "the daemon's log holds no sanitizer report ('%s' found)",
			             reports[i]);
	return true;
}
