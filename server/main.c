/* main.c: arenad's entry point: command line, configuration, then the master.
 *
 * Everything that can be decided without side effects happens here, in order: parse argv,
 * answer --help/--version, load the configuration (defaults < file < flags), answer
 * --check-config by printing the effective configuration. Only then does master_main() open
 * sockets and fork. Exit status: 0 success, 1 runtime failure, 78 (EX_CONFIG) for any
 * configuration or command-line error, reported once on stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arena-build.h"
#include "arena_config.h"
#include "log.h"
#include "master.h"
#include "proc.h"
#include "upgrade.h"

int main(int argc, char **argv)
{
	struct arena_config_error err = {{0}};
	struct arena_config cfg;
	struct arena_cli cli;
	int r;

	proc_ignore_signals();
	log_init();

	r = arena_cli_parse(argc, argv, &cli, &err);
	if (r < 0) {
		fprintf(stderr, "arenad: %s\n", err.text);
		return ARENA_EX_CONFIG;
	}
	switch (cli.action) {
	case ARENA_CLI_HELP:
		arena_cli_usage(stdout, argv[0]);
		return EXIT_SUCCESS;
	case ARENA_CLI_VERSION:
		printf("arenad %s\n", ARENA_VERSION);
		return EXIT_SUCCESS;
	default:
		break;
	}

	r = arena_config_load(&cli, &cfg, &err);
	if (r < 0) {
		log_error("%s", err.text);
		return ARENA_EX_CONFIG;
	}
	if (cli.action == ARENA_CLI_CHECK) {
		arena_config_dump(&cfg, stdout);
		return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
	}
	log_set_level(cfg.log_level);
	upgrade_remember_argv(argv);
	return master_main(&cli, &cfg);
}
