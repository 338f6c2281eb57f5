/* cli.c: arenad's command line: option parsing into struct arena_cli, and the --help text.
 *
 * Parsing uses getopt_long in POSIX order ("+": the first non-option stops it, so a stray
 * argument is reported rather than silently moved) with getopt's own messages switched off; every
 * problem comes back as -EINVAL with one line in err->text ending in "see --help", and nothing is
 * printed. Values are checked here as far as they can be without the file (listen syntax, worker
 * count), so a typo on the command line is reported before any file is read. The result is
 * written only on success. --help text is the reference the man page is written from: keep both
 * in step.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "arena-build.h"
#include "arena_config.h"
#include "config-internal.h"

enum {
	OPT_CHECK_CONFIG = 0x100,
};

__attribute__((format(printf, 2, 3))) static int cli_fail(struct arena_config_error *err,
                                                          const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->text, sizeof(err->text), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The option as the user wrote it, for messages about the option just seen by getopt. */
static void option_name(int argc, char **argv, char *buf, size_t size)
{
	const char *arg = optind >= 1 && optind <= argc ? argv[optind - 1] : NULL;

	if (arg && strncmp(arg, "--", 2) == 0)
		cfg_quote(arg, buf, size);
	else if (optopt > 0 && optopt < 0x80)
		snprintf(buf, size, "-%c", optopt);
	else if (arg)
		cfg_quote(arg, buf, size);
	else
		snprintf(buf, size, "?");
}

/* Parse arenad's argv. See arena_config.h for the contract. */
int arena_cli_parse(int argc, char **argv, struct arena_cli *ret_cli,
                    struct arena_config_error *err)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	    {"foreground", no_argument, NULL, 'f'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool help = false, version = false, check = false;
	struct arena_cli cli;
	char q[96];
	int c;

	memset(&cli, 0, sizeof(cli));
	cli.workers = -1;
	if (argc < 1 || !argv) {
		cli.action = ARENA_CLI_RUN;
		*ret_cli = cli;
		return 0;
	}

	opterr = 0;
	optind = 0; /* glibc: full re-initialisation, so the parser can run more than once */
	while ((c = getopt_long(argc, argv, "+:c:l:w:fVh", options, NULL)) != -1) {
		struct arena_listen l;
		uint64_t n;
		int r;

		switch (c) {
		case 'c':
			if (optarg[0] == '\0' || strlen(optarg) >= sizeof(cli.config_path))
				return cli_fail(
				    err, "--config needs a file name of 1..%zu bytes; see --help",
				    sizeof(cli.config_path) - 1);
			memcpy(cli.config_path, optarg, strlen(optarg) + 1);
			cli.config_given = true;
			break;
		case 'l':
			cfg_quote(optarg, q, sizeof(q));
			if (cli.nlisten >= ARENA_LISTEN_MAX)
				return cli_fail(
				    err, "too many --listen options (at most %d); see --help",
				    ARENA_LISTEN_MAX);
			r = arena_listen_parse(optarg, &l);
			if (r == -ERANGE)
				return cli_fail(
				    err,
				    "--listen '%s': port out of range, ports are 1..65535; "
				    "see --help",
				    q);
			if (r < 0)
				return cli_fail(err,
				                "--listen '%s': expected IPV4:PORT, [IPV6]:PORT or "
				                "*:PORT; see --help",
				                q);
			/* parse succeeded, so optarg is at most CFG_LISTEN_TEXT_MAX bytes */
			memcpy(cli.listen[cli.nlisten], optarg, strlen(optarg) + 1);
			cli.nlisten++;
			break;
		case 'w':
			cfg_quote(optarg, q, sizeof(q));
			r = cfg_parse_uint(optarg, &n);
			if (r < 0 || n > 256)
				return cli_fail(
				    err,
				    "--workers '%s': expected a number 0..256 (0 = one per "
				    "CPU); see --help",
				    q);
			cli.workers = (int)n;
			break;
		case OPT_CHECK_CONFIG:
			check = true;
			break;
		case 'f':
			cli.foreground = true;
			break;
		case 'V':
			version = true;
			break;
		case 'h':
			help = true;
			break;
		case ':':
			option_name(argc, argv, q, sizeof(q));
			return cli_fail(err, "option '%s' needs an argument; see --help", q);
		default:
			option_name(argc, argv, q, sizeof(q));
			return cli_fail(err, "unknown or malformed option '%s'; see --help", q);
		}
	}
	if (optind < argc) {
		cfg_quote(argv[optind], q, sizeof(q));
		return cli_fail(
		    err, "unexpected argument '%s' (arenad takes only options); see --help", q);
	}

	if (help)
		cli.action = ARENA_CLI_HELP;
	else if (version)
		cli.action = ARENA_CLI_VERSION;
	else if (check)
		cli.action = ARENA_CLI_CHECK;
	else
		cli.action = ARENA_CLI_RUN;
	*ret_cli = cli;
	return 0;
}

/* Print the --help text. */
void arena_cli_usage(FILE *out, const char *argv0)
{
	fprintf(
	    out,
	    "Usage: %s [OPTION]...\n"
	    "Run the arena game server: a master process supervising worker processes that\n"
	    "serve game clients over TCP.\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config=FILE       read settings from the INI file FILE\n"
	    "  -l, --listen=ADDR:PORT  listen here instead of the file's listen list (repeatable)\n"
	    "  -w, --workers=N         run N worker processes, 0..256 (0 = one per online CPU)\n"
	    "      --check-config      check the configuration, print it, exit (0 valid, 78 not)\n"
	    "  -f, --foreground        accepted for compatibility; arenad never daemonizes\n"
	    "  -V, --version           print the version and exit\n"
	    "  -h, --help              print this help and exit\n"
	    "\n"
	    "ADDR:PORT is 1.2.3.4:7777, [::1]:7777, or *:7777 for every IPv4 address; at most\n"
	    "%d listen addresses.\n"
	    "\n"
	    "Configuration:\n"
	    "  Settings come from built-in defaults, overridden by the file given with -c,\n"
	    "  overridden by -l and -w. Without -c no file is read. The conventional file is\n"
	    "  %s/arenad.conf; the sample installed there documents every key.\n"
	    "\n"
	    "Signals:\n"
	    "  TERM, INT         graceful shutdown: stop accepting, send clients BYE, and let\n"
	    "                    workers drain for up to drain_timeout before exiting\n"
	    "  TERM, INT again   fast shutdown: stop the workers at once and exit\n"
	    "  HUP               reload: re-read the -c file and re-apply -l and -w; an invalid\n"
	    "                    file is reported and the running configuration is kept\n"
	    "\n"
	    "Exit status:\n"
	    "  0   success (clean shutdown, valid --check-config, --help, --version)\n"
	    "  1   runtime failure\n"
	    "  %d  configuration error (bad option, unreadable or invalid configuration)\n"
	    "\n"
	    "arena %s\n",
	    argv0 && argv0[0] ? argv0 : "arenad", ARENA_LISTEN_MAX, ARENA_SYSCONFDIR,
	    ARENA_EX_CONFIG, ARENA_VERSION);
}
