/* harness-private.h: what the harness's own files share and tests do not need.
 *
 * The emergency table lets the fatal-signal handler (harness.c) kill every daemon's process
 * group with async-signal-safe calls only, when meson times a test out or the user presses
 * Ctrl-C, so no arenad is ever left running behind a dead test.
 */
#ifndef ARENA_HARNESS_PRIVATE_H
#define ARENA_HARNESS_PRIVATE_H

#include <sys/types.h>

#include "harness.h"

/* Remember / forget a process group to SIGKILL from the fatal-signal handler. */
void h_emergency_add(pid_t pgid);
void h_emergency_remove(pid_t pgid);

/* One non-blocking step of a client: 1 with a message in *ret, 0 if nothing is available now,
 * or a negative result as hc_recv (HC_EOF, HC_RESET, decode error). */
int hc_step(struct hc *c, struct arena_msg *ret);

#endif /* ARENA_HARNESS_PRIVATE_H */
