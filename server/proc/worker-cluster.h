/* worker-cluster.h: a worker's side of a multi-node setup (docs/SCALE.md). */
#ifndef ARENA_WORKER_CLUSTER_H
#define ARENA_WORKER_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "channel.h"

struct session_env;
struct sessions;
struct shm_header;
struct worker_cluster;

/* Set env->cluster to hooks that reach the master's Redis link over chan. Call only when
 * `redis` is set. 0 or -ENOMEM. */
int worker_cluster_new(struct session_env *env, struct channel *chan, struct sessions *sessions,
                       struct shm_header *shm, struct worker_cluster **ret);
void worker_cluster_free(struct worker_cluster *wc);

/* The master's CHAT_IN, BOARD or RESUME_ANSWER. */
void worker_cluster_message(struct worker_cluster *wc, const struct channel_msg *m);

/* Every heartbeat: publish the resume records that changed or are due for a refresh, and let
 * sessions whose resume question went unanswered for too long go on as new players. */
void worker_cluster_heartbeat(struct worker_cluster *wc, uint64_t now_ms);

#endif /* ARENA_WORKER_CLUSTER_H */
