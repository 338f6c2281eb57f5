/* upgrade.h: the live binary upgrade (SIGUSR2): the old master execs the new binary, which
 * inherits the listeners and the shared world; the old one hands over and drains. See
 * upgrade.c for the handshake and docs/DEPLOY.md ("Live upgrade") for the operator's view.
 */
#ifndef ARENA_UPGRADE_H
#define ARENA_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct master;

/* main(): remember argv and the running binary's path for a later upgrade. */
void upgrade_remember_argv(char **argv);

/* Old master: start the new binary. 0 (under way), or -errno with the reason in err. */
int upgrade_begin(struct master *m, char *err, size_t errlen);
/* Old master: a reaped child; true if it was the upgrade's new master (handled here). */
bool upgrade_reaped(struct master *m, pid_t pid, int status);
/* Old master: shutting down with an upgrade under way: stop the new master. */
void upgrade_abort(struct master *m);

/* New master: take the listeners and the world named by ARENA_UPGRADE. 0 if there is none
 * (a normal start), 1 if adopted, -errno (logged) if the handover cannot be used. */
int upgrade_inherit(struct master *m);
/* New master: every worker is ready: tell the old master, and send READY=1 once it let go. */
void upgrade_child_ready(struct master *m);
/* Release what the upgrade holds (either side). */
void upgrade_free_master(struct master *m);

#endif /* ARENA_UPGRADE_H */
