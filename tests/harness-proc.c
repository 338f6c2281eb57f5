/* harness-proc.c: what /proc says about the daemon's processes and about its sockets.
 *
 * Small readers for /proc/<pid>/{stat,status,fd,task/<tid>/children} used to assert process
 * health from outside: fd counts (leaks), RSS (memory bounds), CPU time (no busy loops), state
 * (zombies) and parentage (workers of a master). hproc_map_clients answers "which worker serves
 * this client": the server side of a connection to 127.0.0.1:port from the client's address and
 * port is found in /proc/net/tcp, which gives its socket inode; the worker whose fd table holds
 * "socket:[inode]" is the one serving it. Everything is bounded and tolerates processes that
 * vanish between two reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

#include "harness-private.h"

/* Read a small /proc file into buf (NUL-terminated). Returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (ssize_t)len;
}

/* The fields of /proc/pid/stat after "(comm)". */
struct stat_fields {
	char state;
	int ppid, pgid;
	unsigned long utime, stime;
};

static int read_stat(pid_t pid, struct stat_fields *ret)
{
	char path[64], buf[1024];
	struct stat_fields f;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	if (sscanf(p + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &f.state, &f.ppid,
	           &f.pgid, &f.utime, &f.stime) != 5)
		return -EIO;
	*ret = f;
	return 0;
}

static long status_kb(pid_t pid, const char *field)
{
	char path[64], buf[4096];
	const char *p;
	size_t flen = strlen(field);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, field, flen) == 0 && p[flen] == ':')
			return strtol(p + flen + 1, NULL, 10);
	return -ENOENT;
}

int hproc_fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int hproc_lowest_free_fd(pid_t pid)
{
	char path[64];
	bool used[4096] = {false};
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		long fd = strtol(de->d_name, NULL, 10);

		if (de->d_name[0] != '.' && fd >= 0 && fd < (long)(sizeof(used) / sizeof(used[0])))
			used[fd] = true;
	}
	closedir(d);
	while (n < (int)(sizeof(used) / sizeof(used[0])) && used[n])
		n++;
	return n;
}

long hproc_rss_kb(pid_t pid)
{
	return status_kb(pid, "VmRSS");
}

long hproc_rss_anon_kb(pid_t pid)
{
	return status_kb(pid, "RssAnon");
}

long hproc_cpu_ms(pid_t pid)
{
	struct stat_fields f;
	long hz = sysconf(_SC_CLK_TCK);
	int r = read_stat(pid, &f);

	if (r < 0)
		return r;
	return (long)((f.utime + f.stime) * 1000 / (unsigned long)(hz > 0 ? hz : 100));
}

char hproc_state(pid_t pid)
{
	struct stat_fields f;

	return read_stat(pid, &f) < 0 ? 0 : f.state;
}

bool hproc_alive(pid_t pid)
{
	char s = hproc_state(pid);

	return s != 0 && s != 'Z' && s != 'X';
}

pid_t hproc_ppid(pid_t pid)
{
	struct stat_fields f;
	int r = read_stat(pid, &f);

	return r < 0 ? r : f.ppid;
}

pid_t hproc_pgid(pid_t pid)
{
	struct stat_fields f;
	int r = read_stat(pid, &f);

	return r < 0 ? r : f.pgid;
}

int hproc_scan(bool (*match)(pid_t pid, void *arg), void *arg, pid_t *ret_pids, size_t max)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char *end;
		long p = strtol(de->d_name, &end, 10);

		if (*end || p <= 0 || !match((pid_t)p, arg))
			continue;
		if ((size_t)n < max)
			ret_pids[n] = (pid_t)p;
		n++;
	}
	closedir(dir);
	return n;
}

static bool is_child_of(pid_t p, void *arg)
{
	return hproc_ppid(p) == *(pid_t *)arg;
}

int hproc_children(pid_t pid, pid_t *ret_pids, size_t max)
{
	char path[320];
	DIR *tasks;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	if (!tasks)
		return -errno;
	while ((de = readdir(tasks))) {
		char buf[8192];
		const char *p;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, de->d_name);
		ssize_t r = read_small(path, buf, sizeof(buf));
		if (r < 0) {
			if (r == -ENOENT) { /* kernel without CONFIG_PROC_CHILDREN */
				closedir(tasks);
				return hproc_scan(is_child_of, &pid, ret_pids, max);
			}
			continue;
		}
		for (p = buf; *p;) {
			char *end;
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if ((size_t)n < max)
				ret_pids[n] = (pid_t)c;
			n++;
			p = end;
		}
	}
	closedir(tasks);
	return n;
}

struct sock_ent {
	uint32_t rem_addr; /* as printed: the address's in-memory (network order) value */
	uint16_t rem_port;
	unsigned long inode;
};

struct fd_ent {
	unsigned long inode;
	pid_t pid;
};

static int cmp_fd_ent(const void *a, const void *b)
{
	const struct fd_ent *x = a, *y = b;

	return (x->inode > y->inode) - (x->inode < y->inode);
}

static uint32_t htonl_loopback(void)
{
	return htonl(INADDR_LOOPBACK);
}

/* Make room for element n of the array *v of *cap elements of `size` bytes (doubling, from
 * 1024). On failure the array is freed and -ENOMEM returned. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 1024;
	void *nv = realloc(*v, ncap * size);
	if (!nv) {
		free(*v);
		*v = NULL;
		return -ENOMEM;
	}
	*v = nv;
	*cap = ncap;
	return 0;
}

/* Server-side sockets of connections to 127.0.0.1:port from /proc/net/tcp. */
static int read_server_socks(uint16_t port, struct sock_ent **ret, size_t *ret_n)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	struct sock_ent *v = NULL;
	size_t n = 0, cap = 0;
	char line[512];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned laddr, lport, raddr, rport, st;
		unsigned long inode;

		if (sscanf(line, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &laddr,
		           &lport, &raddr, &rport, &st, &inode) != 6)
			continue;
		if (laddr != htonl_loopback() || lport != port || inode == 0)
			continue;
		if (grow((void **)&v, &cap, n, sizeof(*v)) < 0) {
			fclose(f);
			return -ENOMEM;
		}
		v[n].rem_addr = raddr;
		v[n].rem_port = (uint16_t)rport;
		v[n].inode = inode;
		n++;
	}
	fclose(f);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* Socket inodes held by each of pids, sorted by inode. */
static int read_fd_inodes(const pid_t *pids, size_t npids, struct fd_ent **ret, size_t *ret_n)
{
	struct fd_ent *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < npids; i++) {
		char path[64];
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pids[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char link[64];
			ssize_t len;
			unsigned long inode;

			if (de->d_name[0] == '.')
				continue;
			len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = 0;
			if (sscanf(link, "socket:[%lu]", &inode) != 1)
				continue;
			if (grow((void **)&v, &cap, n, sizeof(*v)) < 0) {
				closedir(d);
				return -ENOMEM;
			}
			v[n].inode = inode;
			v[n].pid = pids[i];
			n++;
		}
		closedir(d);
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_fd_ent);
	*ret = v;
	*ret_n = n;
	return 0;
}

int hproc_map_clients(uint16_t server_port, struct hc *const *clients, size_t n, const pid_t *pids,
                      size_t npids, pid_t *ret_owner)
{
	struct sock_ent *socks = NULL;
	struct fd_ent *fds = NULL;
	size_t nsocks = 0, nfds = 0;
	int r, found = 0;

	r = read_server_socks(server_port, &socks, &nsocks);
	if (r < 0)
		return r;
	r = read_fd_inodes(pids, npids, &fds, &nfds);
	if (r < 0) {
		free(socks);
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		ret_owner[i] = 0;
		if (!clients[i])
			continue;
		for (size_t s = 0; s < nsocks; s++) {
			if (socks[s].rem_addr != clients[i]->src ||
			    socks[s].rem_port != clients[i]->lport)
				continue;
			struct fd_ent key = {.inode = socks[s].inode};
			struct fd_ent *e =
			    nfds ? bsearch(&key, fds, nfds, sizeof(*fds), cmp_fd_ent) : NULL;
			if (e) {
				ret_owner[i] = e->pid;
				found++;
			}
			break;
		}
	}
	free(socks);
	free(fds);
	return found;
}
