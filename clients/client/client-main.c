/* client-main.c: arena-client's command line, and the choice of front end.
 *
 * main() parses and checks the options (names and rooms the protocol would refuse are refused
 * here, with the reason), picks the front end (batch when --batch is given or stdin or stdout
 * is not a terminal, full-screen otherwise) and hands over to client_run() in client.c.
 */
#include "client.h"

#include "arena-build.h"

#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: arena-client [OPTIONS] HOST:PORT\n"
    "\n"
    "Connect to an arena server, say HELLO, show WELCOME, and join ROOM if given.\n"
    "With a terminal on stdin and stdout the client is full-screen and interactive;\n"
    "with --batch, or when stdin is not a terminal, it reads commands from stdin and\n"
    "prints every message it receives as one line on stdout (see arena-client(1)).\n"
    "\n"
    "HOST is an IPv4 address, an IPv6 address in brackets ([::1]:7777) or a host name.\n"
    "\n"
    "Options:\n"
    "  -n, --name=NAME         player name, 1..32 bytes of UTF-8 (default: $USER or player)\n"
    "  -r, --room=ROOM         join ROOM after WELCOME (default: stay in the lobby)\n"
    "  -b, --batch             batch mode even on a terminal\n"
    "      --resume=TOKEN      resume the player of TOKEN (32 hex digits from WELCOME)\n"
    "      --snapshots=WHICH   batch: changed (default), all or none SNAPSHOT lines\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Batch commands (one per line): move DX DY, chat TEXT, join [ROOM], leave,\n"
    "leaderboard, ping, wait MS, quit.\n"
    "\n"
    "Interactive keys: arrows, wasd or HJKL move; Enter or t chat; j join; l leave;\n"
    "b leaderboard; p ping; q quit.\n"
    "\n"
    "Exit status:\n"
    "  0  quit, end of input, a signal, or BYE(shutdown) from the server\n"
    "  1  the server could not be resolved or connected to\n"
    "  2  bad command line\n"
    "  3  the server ended the session (any other BYE, or it closed the connection)\n"
    "  4  the server broke the protocol (a frame the codec rejects)\n"
    "  5  local failure (memory, terminal, event loop)\n";

/* ---- options ---- */

static int parse_args(struct client *c, int argc, char **argv)
{
	enum { OPT_RESUME = 256, OPT_SNAPSHOTS };
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"room", required_argument, NULL, 'r'},
	    {"batch", no_argument, NULL, 'b'},
	    {"resume", required_argument, NULL, OPT_RESUME},
	    {"snapshots", required_argument, NULL, OPT_SNAPSHOTS},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "n:r:bhV", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			c->name = optarg;
			break;
		case 'r':
			c->room = optarg;
			break;
		case 'b':
			c->batch = true;
			break;
		case OPT_RESUME:
			if (text_parse_token(optarg, c->resume) < 0) {
				fprintf(stderr, "arena-client: --resume wants 32 hex digits\n");
				return -1;
			}
			c->have_resume = true;
			break;
		case OPT_SNAPSHOTS:
			if (strcmp(optarg, "changed") == 0)
				c->snaps = SNAP_CHANGED;
			else if (strcmp(optarg, "all") == 0)
				c->snaps = SNAP_ALL;
			else if (strcmp(optarg, "none") == 0)
				c->snaps = SNAP_NONE;
			else {
				fprintf(stderr,
				        "arena-client: --snapshots is changed, all or none\n");
				return -1;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(CLIENT_EXIT_OK);
		case 'V':
			printf("arena-client %s (protocol %d)\n", ARENA_VERSION,
			       ARENA_PROTO_VERSION);
			exit(CLIENT_EXIT_OK);
		default:
			fprintf(stderr, "Try 'arena-client --help'.\n");
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "arena-client: %s\nTry 'arena-client --help'.\n",
		        optind >= argc ? "missing HOST:PORT" : "too many arguments");
		return -1;
	}
	c->target = argv[optind];
	if (!c->name) {
		const char *u = getenv("USER");
		c->name = u && *u && strlen(u) <= ARENA_NAME_MAX && arena_utf8_valid(u, strlen(u))
		              ? u
		              : "player";
	}
	size_t n = strlen(c->name);
	if (n == 0 || n > ARENA_NAME_MAX || !arena_utf8_valid(c->name, n)) {
		fprintf(stderr,
		        "arena-client: --name must be 1..%d bytes of UTF-8 without control "
		        "characters\n",
		        ARENA_NAME_MAX);
		return -1;
	}
	if (c->room) {
		n = strlen(c->room);
		if (n > ARENA_ROOM_MAX || !arena_utf8_valid(c->room, n)) {
			fprintf(stderr,
			        "arena-client: --room must be 0..%d bytes of UTF-8 without "
			        "control characters\n",
			        ARENA_ROOM_MAX);
			return -1;
		}
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		c->batch = true;
	return 0;
}

int main(int argc, char **argv)
{
	static struct client c; /* large (snapshot, chat lines): not on the stack */
	setlocale(LC_CTYPE, "");
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(&c, argc, argv) < 0)
		return CLIENT_EXIT_USAGE;
	if (c.batch)
		setvbuf(stdout, NULL, _IOLBF, 0);
	c.drv = c.batch ? &client_batch_driver : &client_term_driver;
	return client_run(&c);
}
