/* cluster.h: the master's Redis link for a multi-node setup (cluster.c, docs/SCALE.md). */
#ifndef ARENA_CLUSTER_H
#define ARENA_CLUSTER_H

#include "channel.h"

struct cluster;
struct master;
struct mworker;

/* Start connecting to m->cfg.redis (in the background: an unreachable Redis is not an error
 * here, the node serves alone until it answers). 0 or -ENOMEM. */
int cluster_start(struct master *m, struct cluster **ret);

/* Close the links; chat still unanswered goes into the local rooms. NULL is fine. */
void cluster_stop(struct cluster *c);

/* A worker's CHAT_OUT, SESSIONS or RESUME_ASK. NULL c (single node): ignored. */
void cluster_worker_msg(struct cluster *c, struct mworker *w, const struct channel_msg *msg);

/* This node's id in Redis ("host/first listener"), NULL without a cluster. */
const char *cluster_node(const struct cluster *c);

#endif /* ARENA_CLUSTER_H */
