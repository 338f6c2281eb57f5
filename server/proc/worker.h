/* worker.h: a worker process: one event loop serving the client connections the master hands it.
 *
 * The master forks a worker through proc_spawn() with worker_main() as the child's entry point;
 * everything the worker needs is in struct worker_args (a copy of the master's current state
 * at fork time, in the child's copied memory). The worker runs until it is told to shut down
 * (SHUTDOWN message, the shutdown eventfd, or SIGTERM), until it has drained after a DRAIN
 * message, or until its channel to the master fails (the master died or broke protocol).
 */
#ifndef ARENA_WORKER_H
#define ARENA_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "arena_config.h"
#include "channel.h"

struct shm_header;

struct worker_args {
	unsigned slot; /* scoreboard slot */
	uint32_t gen;  /* the slot's generation for this process */
	struct shm_header *shm;
	const struct arena_config *cfg; /* copied by the worker at start */
	struct ch_tick_clock clock;     /* the tick clock in force */
	int shutdown_fd;                /* eventfd the master makes readable at shutdown */
};

/* Child entry point for proc_spawn(): run the worker; returns its exit status (0 after a drain
 * or shutdown, 1 on a failure). */
int worker_main(void *args, int channel_fd);

#endif /* ARENA_WORKER_H */
