/* arenactl.c: the operator's command line for a running arenad, over its admin socket.
 *
 * It turns a command (status, players, rooms, kick, broadcast, reload, drain-worker,
 * shutdown) into the admin protocol's one TAB-separated request line (docs/ADMIN.md), checks
 * that the socket greets like arenad ("arenad-admin 1"), and prints the answer's body: on
 * "ok" to stdout, on "error" to stderr. The socket comes from -s, $ARENA_ADMIN_SOCKET, the
 * admin_socket of the arenad configuration given with -c (read with arenad's own config
 * library), or the built-in default. Every wait is bounded by --timeout. Exit codes (sysexits
 * where one fits): 0 done, 1 arenad refused the request, 64 usage, 69 arenad is not running,
 * 75 timed out, 76 the socket is not an arenad admin socket, 77 permission denied.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "arena-build.h"
#include "arena_config.h"

#define EXIT_REFUSED     1
#define EXIT_USAGE       64
#define EXIT_UNAVAILABLE 69
#define EXIT_TIMEOUT     75
#define EXIT_PROTOCOL    76
#define EXIT_NOPERM      77
#define BANNER           "arenad-admin 1\n"
#define LINE_MAX_BYTES   1024

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: arenactl [OPTION]... COMMAND [ARG]...\n"
	    "Inspect and steer a running arenad over its admin socket.\n"
	    "\n"
	    "Commands:\n"
	    "  status                    workers, players, rooms, uptime, configuration\n"
	    "  players [--room ROOM]     players (connected or resumable), optionally of one room\n"
	    "  rooms                     open rooms\n"
	    "  kick ID [REASON]          tell player ID BYE(kicked), on whichever worker\n"
	    "  broadcast [--room ROOM] TEXT\n"
	    "                            a server chat message to every room, or to ROOM\n"
	    "  reload                    re-read the configuration (as SIGHUP)\n"
	    "  drain-worker N            stop giving worker N connections, let its players\n"
	    "                            stay until they leave, start a replacement\n"
	    "  shutdown [--deadline S]   graceful shutdown, draining for at most S seconds\n"
	    "\n"
	    "Options:\n"
	    "  -s, --socket=PATH   the admin socket (default: $ARENA_ADMIN_SOCKET, else the\n"
	    "                      admin_socket of -c FILE, else %s/admin.sock)\n"
	    "  -c, --config=FILE   read admin_socket from this arenad configuration\n"
	    "  -j, --json          status, players and rooms as JSON\n"
	    "  -t, --timeout=S     give up after S seconds, 1..600 (default 10)\n"
	    "  -h, --help          print this help and exit\n"
	    "  -V, --version       print the version and exit\n"
	    "\n"
	    "Exit status: 0 done; 1 arenad refused the request (the reason is printed);\n"
	    "64 usage; 69 arenad is not running; 75 timed out; 76 not an arenad admin\n"
	    "socket; 77 permission denied. See arenactl(1) and docs/ADMIN.md.\n",
	    ARENA_RUNDIR);
}

static int fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("arenactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'arenactl --help'.\n", stderr);
	return EXIT_USAGE;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Append s to the request line, refusing TAB and newlines (the protocol's separators). */
static bool add_field(char *line, size_t cap, const char *s, bool first)
{
	size_t used = strlen(line), n = strlen(s);

	if (strpbrk(s, "\t\r\n"))
		return false;
	if (used + n + 2 > cap)
		return false;
	if (!first)
		line[used++] = '\t';
	memcpy(line + used, s, n + 1);
	return true;
}

/* Join argv[from..argc) with blanks into buf. */
static bool join(char *buf, size_t cap, int argc, char **argv, int from)
{
	buf[0] = '\0';
	for (int i = from; i < argc; i++) {
		size_t used = strlen(buf), n = strlen(argv[i]);

		if (used + n + 2 > cap)
			return false;
		if (i > from)
			buf[used++] = ' ';
		memcpy(buf + used, argv[i], n + 1);
	}
	return true;
}

/* Build the request line for the command in argv[0..argc). 0 or EXIT_USAGE (message printed). */
static int build(int argc, char **argv, bool json, char *line, size_t cap)
{
	const char *cmd = argv[0], *room = "", *deadline = "";
	char text[LINE_MAX_BYTES];
	int i = 1;

	line[0] = '\0';
	/* command options, after the command */
	while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--room") && i + 1 < argc &&
		    (!strcmp(cmd, "players") || !strcmp(cmd, "broadcast")))
			room = argv[++i];
		else if (!strcmp(argv[i], "--deadline") && i + 1 < argc && !strcmp(cmd, "shutdown"))
			deadline = argv[++i];
		else
			return fail_usage("unknown option '%s' for this command", argv[i]);
		i++;
	}
	int rest = argc - i;
	bool ok = true;

	if (!strcmp(cmd, "status") || !strcmp(cmd, "rooms")) {
		if (rest)
			return fail_usage("%s takes no arguments", cmd);
		ok = add_field(line, cap, cmd, true) && add_field(line, cap, json ? "json" : "", 0);
	} else if (!strcmp(cmd, "players")) {
		if (rest)
			return fail_usage("players takes no arguments but --room ROOM%s", "");
		ok = add_field(line, cap, cmd, true) &&
		     add_field(line, cap, json ? "json" : "", 0) &&
		     add_field(line, cap, room, false);
	} else if (!strcmp(cmd, "kick")) {
		if (rest < 1)
			return fail_usage("kick needs a player ID%s", "");
		ok = add_field(line, cap, cmd, true) && add_field(line, cap, argv[i], false) &&
		     join(text, sizeof(text), argc, argv, i + 1) &&
		     add_field(line, cap, text, false);
	} else if (!strcmp(cmd, "broadcast")) {
		if (rest < 1)
			return fail_usage("broadcast needs a TEXT%s", "");
		ok = join(text, sizeof(text), argc, argv, i) && add_field(line, cap, cmd, true) &&
		     add_field(line, cap, text, false) && add_field(line, cap, room, false);
	} else if (!strcmp(cmd, "reload")) {
		if (rest)
			return fail_usage("reload takes no arguments%s", "");
		ok = add_field(line, cap, cmd, true);
	} else if (!strcmp(cmd, "drain-worker")) {
		if (rest != 1)
			return fail_usage("drain-worker needs one worker number (see status)%s",
			                  "");
		ok = add_field(line, cap, cmd, true) && add_field(line, cap, argv[i], false);
	} else if (!strcmp(cmd, "shutdown")) {
		if (rest)
			return fail_usage("shutdown takes no arguments but --deadline S%s", "");
		ok = add_field(line, cap, cmd, true) && add_field(line, cap, deadline, false);
	} else {
		return fail_usage("unknown command '%s'", cmd);
	}
	if (!ok)
		return fail_usage("an argument is too long or holds a TAB or newline%s", "");
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "arenactl: socket path too long: %s\n", path);
		return -EXIT_USAGE;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		struct stat st;

		if (fd >= 0)
			close(fd);
		if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			fprintf(stderr,
			        "arenactl: %s is not an arenad admin socket (not a socket)\n",
			        path);
			return -EXIT_PROTOCOL;
		}
		if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr, "arenactl: arenad is not running (no one answers at %s)\n",
			        path);
		else
			fprintf(stderr, "arenactl: cannot connect to %s: %s\n", path, strerror(e));
		if (e == EACCES || e == EPERM)
			return -EXIT_NOPERM;
		if (e == ENOTSOCK || e == EPROTOTYPE)
			return -EXIT_PROTOCOL;
		return -EXIT_UNAVAILABLE;
	}
	return fd;
}

/* Read everything until EOF into a growing buffer (NUL-terminated). 0, or an exit code. */
static int read_all(int fd, uint64_t deadline, char **ret, size_t *ret_len)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	if (!buf)
		return EXIT_FAILURE;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0) {
			free(buf);
			fprintf(stderr, "arenactl: no answer in time\n");
			return EXIT_TIMEOUT;
		}
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb) {
				free(buf);
				return EXIT_FAILURE;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Read the greeting: 0 if it is arenad's, else EXIT_PROTOCOL (message printed). */
static int greeting(int fd, const char *path, uint64_t deadline)
{
	char got[sizeof(BANNER)];
	size_t len = 0, want = strlen(BANNER);

	while (len < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
			break;
		n = read(fd, got + len, want - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len == want && memcmp(got, BANNER, want) == 0)
		return 0;
	fprintf(stderr, "arenactl: %s is not an arenad admin socket (no arenad greeting)\n", path);
	return EXIT_PROTOCOL;
}

static int run(const char *path, const char *line, unsigned timeout_s)
{
	uint64_t start = now_ms(), deadline = start + (uint64_t)timeout_s * 1000u;
	char *ans = NULL;
	size_t len;
	int fd = connect_to(path), r;

	if (fd < 0)
		return -fd;
	r = greeting(fd, path, start + 2000 < deadline ? start + 2000 : deadline);
	if (r) {
		close(fd);
		return r;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		fprintf(stderr, "arenactl: cannot send the request: %s\n", strerror(errno));
		close(fd);
		return EXIT_UNAVAILABLE;
	}
	r = read_all(fd, deadline, &ans, &len);
	close(fd);
	if (r)
		return r;
	if (!strncmp(ans, "ok\n", 3)) {
		fputs(ans + 3, stdout);
		r = 0;
	} else if (!strncmp(ans, "error ", 6)) {
		fprintf(stderr, "arenactl: %s", ans + 6);
		r = EXIT_REFUSED;
	} else {
		fprintf(stderr, "arenactl: unexpected answer from %s\n", path);
		r = EXIT_PROTOCOL;
	}
	free(ans);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *conf = NULL;
	char path[ARENA_SOCKPATH_MAX], line[LINE_MAX_BYTES + 1];
	unsigned timeout_s = 10;
	bool json = false;
	int c;

	/* Options before the command only ('+'): the command's own start with "--" too. */
	while ((c = getopt_long(argc, argv, "+s:c:jt:hV", opts, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'c':
			conf = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			v = strtoul(optarg, &end, 10);
			if (*end || v < 1 || v > 600)
				return fail_usage("--timeout must be 1..600 seconds, not '%s'",
				                  optarg);
			timeout_s = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("arenactl %s\n", ARENA_VERSION);
			return 0;
		default:
			return fail_usage("%s", "bad option");
		}
	}
	if (optind >= argc)
		return fail_usage("no command given%s", "");
	if (!sock)
		sock = getenv("ARENA_ADMIN_SOCKET");
	if (!sock && conf) {
		struct arena_cli cli = {.workers = -1, .config_given = true};
		struct arena_config cfg;
		struct arena_config_error err;

		snprintf(cli.config_path, sizeof(cli.config_path), "%s", conf);
		if (arena_config_load(&cli, &cfg, &err) < 0) {
			fprintf(stderr, "arenactl: %s\n", err.text);
			return EXIT_USAGE;
		}
		if (!cfg.admin_socket[0]) {
			fprintf(stderr, "arenactl: %s sets no admin_socket\n", conf);
			return EXIT_UNAVAILABLE;
		}
		snprintf(path, sizeof(path), "%s", cfg.admin_socket);
		sock = path;
	}
	if (!sock)
		sock = ARENA_RUNDIR "/admin.sock";
	c = build(argc - optind, argv + optind, json, line, sizeof(line));
	if (c)
		return c;
	return run(sock, line, timeout_s);
}
