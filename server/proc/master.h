/* master.h: the master process: listeners, accept and dispatch, supervision of the workers,
 * shutdown and reload orchestration, persistence of the scores.
 *
 * The master never takes a lock in shared memory and never touches the world after forking
 * (except the lock-free score export), so a worker that dies or hangs holding a lock cannot
 * stop it from supervising, replacing workers, or shutting down.
 */
#ifndef ARENA_MASTER_H
#define ARENA_MASTER_H

#include "arena_config.h"

/* Run the daemon with the loaded configuration; cli is kept for reloads (SIGHUP re-reads the
 * same file with the same flags). Returns the process exit status: 0 after a clean shutdown,
 * 1 on a runtime failure (cannot listen, crash loop, ...). */
int master_main(const struct arena_cli *cli, const struct arena_config *cfg);

#endif /* ARENA_MASTER_H */
