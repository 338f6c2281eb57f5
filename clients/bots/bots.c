/* bots.c: arena-bots' main: options, resource checks, the load processes, merging, verdict.
 *
 * The parent does no load itself. It checks that the run can work at all (file descriptors per
 * process, ephemeral ports per source address), takes the shared epoch t0, forks --procs load
 * processes, each with a pipe back, and then runs a small libevent loop: it reads the children's
 * reports line by line (results.c), prints the merged live line every second, forwards
 * SIGINT/SIGTERM (the children then end the run early and still report), and when every pipe
 * is closed it reaps the children, merges their final results and decides the exit status.
 * A child that dies without a complete final report makes the run a setup failure (exit 1):
 * partial numbers are never passed off as a result.
 */
#include "bots.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

struct parent;

struct child {
	struct parent *pa;
	pid_t pid;
	int fd;
	unsigned first, count;
	struct event *ev;
	struct results_reader rd;
	struct run_stats *fin;
	struct hist *delta;
	char buf[LINE_MAX_LEN];
	size_t len;
	bool eof, broken, merged;
	int status;
	unsigned live_seq; /* live updates received */
};

struct parent {
	const struct bots_opts *o;
	struct event_base *base;
	struct child *kids;
	unsigned nkids, open;
	uint64_t t0;
	struct run_stats *total;
	struct hist *live_resp; /* response times so far, from the live deltas */
	uint64_t prev_inputs, prev_snaps, prev_us;
	unsigned printed; /* live lines printed */
	unsigned signals;
	bool failed;
};

/* ---- resource checks ---- */

static int check_fds(const struct bots_opts *o)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "arena-bots: getrlimit(RLIMIT_NOFILE): %s\n", strerror(errno));
		return -errno;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl); /* raising to the hard limit is always allowed */
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	unsigned per = (o->bots + o->procs - 1) / o->procs;
	rlim_t need = (rlim_t)per + 32; /* the bots, plus stdio, the pipe, epoll, timerfd, ... */
	if (need > rl.rlim_cur) {
		unsigned long long room =
		    rl.rlim_cur > 64 ? (unsigned long long)rl.rlim_cur - 32 : 1;
		unsigned long long procs = (o->bots + room - 1) / room;
		fprintf(
		    stderr,
		    "arena-bots: %u bots in %u process(es) need about %llu file descriptors per "
		    "process, but the limit (RLIMIT_NOFILE, hard) is %llu.\n"
		    "arena-bots: use --procs %llu or more, or raise the hard limit (ulimit -Hn).\n",
		    o->bots, o->procs, (unsigned long long)need, (unsigned long long)rl.rlim_cur,
		    procs > BOTS_PROCS_MAX ? BOTS_PROCS_MAX : procs);
		return -EMFILE;
	}
	return 0;
}

/* Each (source address, target) pair has one ephemeral port range worth of connections. */
static void check_ports(const struct bots_opts *o)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	unsigned lo = 0, hi = 0;
	if (!f)
		return;
	if (fscanf(f, "%u %u", &lo, &hi) != 2 || hi < lo)
		lo = hi = 0;
	fclose(f);
	unsigned range = hi - lo + 1;
	unsigned nsrc = o->nsource ? o->nsource : 1;
	unsigned per_src = (o->bots + nsrc - 1) / nsrc;
	if (hi && per_src > range)
		fprintf(
		    stderr,
		    "arena-bots: warning: %u connections per source address exceed the %u "
		    "ephemeral ports (%u-%u); connects will fail with EADDRNOTAVAIL. Add source "
		    "addresses with --source (e.g. 127.0.0.2-127.0.0.9).\n",
		    per_src, range, lo, hi);
}

/* ---- the parent's loop ---- */

/* Print the merged live line once every running child has sent its update for the next second
 * (children report on their own one-second timers, so this keeps the sums consistent). */
static void maybe_print_live(struct parent *pa)
{
	unsigned low = UINT32_MAX;
	uint64_t elapsed = 0;
	for (unsigned i = 0; i < pa->nkids; i++) {
		const struct child *k = &pa->kids[i];
		if (k->eof || k->broken || k->rd.have_final)
			continue;
		if (k->live_seq < low)
			low = k->live_seq;
		if (k->rd.live_elapsed_us > elapsed)
			elapsed = k->rd.live_elapsed_us;
	}
	if (low == UINT32_MAX || low <= pa->printed)
		return;
	pa->printed = low;
	if (pa->o->quiet)
		return;
	uint64_t c[C_COUNT] = {0}, errors = 0;
	for (unsigned i = 0; i < pa->nkids; i++) {
		for (size_t j = 0; j < C_COUNT; j++)
			c[j] += pa->kids[i].rd.live[j];
		errors += pa->kids[i].rd.live_errors;
	}
	double dt = (double)(elapsed - pa->prev_us) / 1e6;
	uint64_t inputs = c[C_inputs_sent], snaps = c[C_snapshots];
	if (pa->o->mode == MODE_HANDSHAKE)
		inputs = c[C_handshakes];
	double ips = dt > 0 ? (double)(inputs - pa->prev_inputs) / dt : 0;
	double sps = dt > 0 ? (double)(snaps - pa->prev_snaps) / dt : 0;
	pa->prev_inputs = inputs;
	pa->prev_snaps = snaps;
	pa->prev_us = elapsed;
	report_live(stderr, (double)elapsed / 1e6, c, errors, ips, sps, pa->live_resp);
}

static void child_line(struct parent *pa, struct child *k, const char *line)
{
	if (k->broken)
		return;
	if (strcmp(line, "F") == 0 && !k->fin) {
		k->fin = malloc(sizeof(*k->fin));
		if (!k->fin) {
			k->broken = true;
			return;
		}
		k->rd.fin = k->fin;
	}
	if (results_reader_line(&k->rd, line) < 0) {
		fprintf(stderr, "arena-bots: load process %d sent a malformed report\n",
		        (int)k->pid);
		k->broken = true;
		return;
	}
	if (k->rd.live_ready) {
		hist_merge(pa->live_resp, k->delta);
		k->rd.live_ready = false;
		k->live_seq++;
		maybe_print_live(pa);
	}
	if (k->rd.have_final && !k->merged) {
		run_stats_merge(pa->total, k->fin);
		k->merged = true;
		free(k->fin);
		k->fin = NULL;
		k->rd.fin = NULL;
	}
}

static void pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct child *k = arg;
	struct parent *pa = k->pa;
	(void)what;
	ssize_t n = read(fd, k->buf + k->len, sizeof(k->buf) - k->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		k->eof = true;
		event_del(k->ev);
		if (--pa->open == 0)
			event_base_loopbreak(pa->base);
		return;
	}
	k->len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; i < k->len; i++) {
		if (k->buf[i] != '\n')
			continue;
		k->buf[i] = '\0';
		child_line(pa, k, k->buf + start);
		start = i + 1;
	}
	if (start == 0 && k->len == sizeof(k->buf)) {
		fprintf(stderr, "arena-bots: load process %d sent an over-long line\n",
		        (int)k->pid);
		k->broken = true;
		k->len = 0;
		return;
	}
	memmove(k->buf, k->buf + start, k->len - start);
	k->len -= start;
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct parent *pa = arg;
	(void)what;
	(void)sig;
	/* first signal: the children end the run and report; second: kill them */
	pa->signals++;
	for (unsigned i = 0; i < pa->nkids; i++)
		if (pa->kids[i].pid > 0)
			kill(pa->kids[i].pid, pa->signals == 1 ? SIGTERM : SIGKILL);
}

/* The load processes stop by themselves at --duration (+ at most --timeout); one that is still
 * running long after that is stuck: kill them all rather than hang. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct parent *pa = arg;
	(void)fd;
	(void)what;
	fprintf(stderr, "arena-bots: the load processes did not finish in time; killing them\n");
	pa->failed = true;
	for (unsigned i = 0; i < pa->nkids; i++)
		if (pa->kids[i].pid > 0 && !pa->kids[i].eof)
			kill(pa->kids[i].pid, SIGKILL);
}

static void reap(struct parent *pa)
{
	for (unsigned i = 0; i < pa->nkids; i++) {
		struct child *k = &pa->kids[i];
		if (k->pid <= 0)
			continue;
		while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
			;
		bool ok = WIFEXITED(k->status) && WEXITSTATUS(k->status) == 0;
		if (!ok || k->broken || !k->merged) {
			pa->failed = true;
			if (WIFSIGNALED(k->status))
				fprintf(stderr,
				        "arena-bots: load process %d (bots %u..%u) was killed "
				        "by signal %d\n",
				        (int)k->pid, k->first, k->first + k->count - 1,
				        WTERMSIG(k->status));
			else
				fprintf(stderr,
				        "arena-bots: load process %d (bots %u..%u) failed "
				        "(exit status %d%s)\n",
				        (int)k->pid, k->first, k->first + k->count - 1,
				        WIFEXITED(k->status) ? WEXITSTATUS(k->status) : -1,
				        k->merged ? "" : ", no final report");
		}
		k->pid = 0;
	}
}

/* ---- verdict ---- */

static int verdict(const struct bots_opts *o, const struct run_stats *s, struct report_info *ri)
{
	double hz = o->mode == MODE_PLAY ? o->input_hz : o->mode == MODE_PING ? o->ping_hz : 0;
	double steady = (double)s->c[C_window_us] / o->procs / 1e6;
	double due = (double)s->c[C_window_bot_us] / 1e6 * hz;
	ri->steady_s = steady;
	ri->target_rate = steady > 0 ? due / steady : 0;
	ri->achieved_rate = steady > 0 ? (double)s->c[C_inputs_in_window] / steady : 0;
	/* judged only with enough inputs due to mean something */
	ri->bottleneck = hz > 0 && due >= 20 && (double)s->c[C_inputs_in_window] < 0.95 * due;

	const struct hist *lat = o->mode == MODE_HANDSHAKE ? &s->h[H_connect] : &s->h[H_response];
	double p99_ms = (double)hist_percentile(lat, 99) / 1000.0;
	uint64_t errors = run_stats_errors(s);
	ri->thresholds_failed = (o->max_p99_ms >= 0 && p99_ms > o->max_p99_ms) ||
	                        (o->max_errors >= 0 && errors > (uint64_t)o->max_errors);
	if (s->c[C_welcomed] == 0) {
		ri->exit_reason = "no bot could connect (no WELCOME at all)";
		return 4;
	}
	if (ri->bottleneck) {
		ri->exit_reason = "the bots were the bottleneck (under 95% of the inputs due were "
		                  "sent in the steady state): the latencies describe the bots";
		return 3;
	}
	if (ri->thresholds_failed) {
		ri->exit_reason = "threshold exceeded";
		return 2;
	}
	ri->exit_reason = "ok";
	return 0;
}

/* ---- main ---- */

static void free_parent(struct parent *pa)
{
	for (unsigned i = 0; pa->kids && i < pa->nkids; i++) {
		struct child *k = &pa->kids[i];
		if (k->ev)
			event_free(k->ev);
		if (k->fd >= 0)
			close(k->fd);
		free(k->fin);
		free(k->delta);
	}
	free(pa->kids);
	free(pa->total);
	free(pa->live_resp);
	if (pa->base)
		event_base_free(pa->base);
}

/* Fork the load processes. In a child this never returns. */
static int spawn(struct parent *pa, struct bots_opts *o)
{
	unsigned per = o->bots / o->procs, extra = o->bots % o->procs, first = 0;
	pid_t me = getpid();
	for (unsigned i = 0; i < o->procs; i++) {
		struct child *k = &pa->kids[i];
		k->first = first;
		k->count = per + (i < extra);
		first += k->count;
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			fprintf(stderr, "arena-bots: pipe: %s\n", strerror(errno));
			return -errno;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "arena-bots: fork: %s\n", strerror(errno));
			close(p[0]);
			close(p[1]);
			return -errno;
		}
		if (pid == 0) {
			close(p[0]);
			for (unsigned j = 0; j < i; j++)
				close(pa->kids[j].fd);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != me)
				_exit(1); /* the parent died before prctl */
			unsigned first_bot = k->first, count = k->count;
			free_parent(pa);
			int r = load_main(o, i, first_bot, count, p[1], pa->t0);
			libevent_global_shutdown();
			free(o);
			exit(r < 0 ? 1 : 0);
		}
		close(p[1]);
		k->pid = pid;
		k->fd = p[0];
		fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bots_opts *o = calloc(1, sizeof(*o));
	struct parent pa = {0};
	int code = 1;
	if (!o)
		return 1;
	int r = bots_opts_parse(argc, argv, o);
	if (r != 0) {
		free(o);
		return r > 0 ? 0 : 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (check_fds(o) < 0) {
		free(o);
		return 1;
	}
	check_ports(o);

	pa.o = o;
	pa.nkids = o->procs;
	pa.kids = calloc(o->procs, sizeof(*pa.kids));
	pa.total = malloc(sizeof(*pa.total));
	pa.live_resp = malloc(sizeof(*pa.live_resp));
	if (!pa.kids || !pa.total || !pa.live_resp)
		goto out;
	for (unsigned i = 0; i < o->procs; i++) {
		pa.kids[i].fd = -1;
		pa.kids[i].pa = &pa;
		pa.kids[i].delta = malloc(sizeof(struct hist));
		if (!pa.kids[i].delta)
			goto out;
	}
	run_stats_reset(pa.total);
	hist_reset(pa.live_resp);
	pa.t0 = bots_now_us();
	if (spawn(&pa, o) < 0) {
		pa.failed = true;
		goto reap;
	}

	pa.base = event_base_new();
	if (!pa.base)
		goto reap;
	pa.open = o->procs;
	for (unsigned i = 0; i < o->procs; i++) {
		struct child *k = &pa.kids[i];
		results_reader_init(&k->rd, NULL, k->delta);
		k->ev = event_new(pa.base, k->fd, EV_READ | EV_PERSIST, pipe_cb, k);
		if (!k->ev)
			goto reap;
		event_add(k->ev, NULL);
	}
	struct event *sterm = evsignal_new(pa.base, SIGTERM, signal_cb, &pa);
	struct event *guard = evtimer_new(pa.base, watchdog_cb, &pa);
	double guard_s = o->duration_s + o->timeout_us / 1e6 + 60;
	struct timeval guard_tv = {.tv_sec = (time_t)guard_s};
	if (guard)
		evtimer_add(guard, &guard_tv);
	struct event *sint = evsignal_new(pa.base, SIGINT, signal_cb, &pa);
	if (sterm)
		event_add(sterm, NULL);
	if (sint)
		event_add(sint, NULL);
	event_base_dispatch(pa.base);
	if (sterm)
		event_free(sterm);
	if (guard)
		event_free(guard);
	if (sint)
		event_free(sint);

reap:
	reap(&pa);
	if (pa.failed) {
		fprintf(stderr, "arena-bots: the run failed; no results are reported\n");
		code = 1;
		goto out;
	}
	{
		struct report_info ri = {.o = o};
		ri.elapsed_s = (double)(bots_now_us() - pa.t0) / 1e6;
		code = verdict(o, pa.total, &ri);
		ri.exit_code = code;
		report_table(stdout, pa.total, &ri);
		fflush(stdout);
		if (o->json_path[0] && report_json(o->json_path, pa.total, &ri) < 0) {
			fprintf(stderr, "arena-bots: cannot write %s: %s\n", o->json_path,
			        strerror(errno));
			code = 1;
		}
		if (o->hist_prefix[0] && report_hists(o->hist_prefix, pa.total) < 0) {
			fprintf(stderr, "arena-bots: cannot write histograms to %s*: %s\n",
			        o->hist_prefix, strerror(errno));
			code = 1;
		}
		if (ri.bottleneck)
			fprintf(
			    stderr,
			    "\narena-bots: WARNING: THE BOTS WERE THE BOTTLENECK: they sent %.1f "
			    "inputs/s of the %.1f/s due (%.1f%%).\n"
			    "arena-bots: WARNING: the latencies above describe the load generator, "
			    "not the server. Use more --procs, fewer bots, or a lower "
			    "--input-hz.\n",
			    ri.achieved_rate, ri.target_rate,
			    ri.target_rate > 0 ? 100.0 * ri.achieved_rate / ri.target_rate : 0.0);
	}
out:
	free_parent(&pa);
	libevent_global_shutdown();
	free(o);
	return code;
}
