/* admin.h: the admin socket (docs/ADMIN.md): the master's Unix stream socket for arenactl, and
 * the worker's half of the requests that need the world or the sessions.
 *
 * The master side (admin.c) accepts, reads one request line per connection, answers what it
 * knows itself (status, reload, drain-worker, shutdown) and hands the rest to workers over the
 * channel (struct ch_admin), never taking a lock in shared memory. The worker side
 * (admin-worker.c) runs those in the worker's loop.
 */
#ifndef ARENA_ADMIN_H
#define ARENA_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"

struct master;
struct sessions;
struct world;
struct admin;

/* What only master.c can do, called by admin.c (which never calls master.c otherwise). */
struct admin_ops {
	/* Reload the configuration now, as SIGHUP does: 0, or -errno with why in err. */
	int (*reload)(struct master *m, char *err, size_t errlen);
	/* Stop handing worker `slot` connections, let its clients stay until they leave, and
	 * start a replacement. 0, or -errno with why in err. */
	int (*drain_worker)(struct master *m, unsigned slot, char *err, size_t errlen);
	/* Begin a graceful shutdown; deadline_ms > 0 replaces drain_timeout for it. */
	void (*shutdown)(struct master *m, uint32_t deadline_ms);
};

/* Bind path (mode 0660; its directory is made, mode 0750, if it is missing; a stale socket
 * left by a dead arenad is replaced, a live one is not) and serve it from m's loop. 0 and *ret, or
 * -errno (-EADDRINUSE: another daemon answers). */
int admin_start(struct master *m, const char *path, const struct admin_ops *ops,
                struct admin **ret);
/* Close every admin connection and remove the socket. NULL is fine. */
void admin_stop(struct admin *a);
/* A worker answered a request (CH_ADMIN_DONE). */
void admin_worker_done(struct admin *a, unsigned slot, const struct ch_admin_done *d);
/* Worker `slot` is gone: requests waiting for it stop waiting. */
void admin_worker_gone(struct admin *a, unsigned slot);

/* Worker side: run request a (fd: the memory file for a listing, or -1 if it was lost). The
 * result for CH_ADMIN_DONE: rows written, players kicked or rooms reached, or -errno. */
int admin_worker_run(struct world *w, struct sessions *ss, const struct ch_admin *a, int fd);

/* s as a quoted JSON string in out (escaping '"', '\\' and control characters), cut to fit
 * cap. Shared by both halves so every JSON answer quotes the same way. */
void admin_json_quote(const char *s, char *out, size_t cap);

#endif /* ARENA_ADMIN_H */
