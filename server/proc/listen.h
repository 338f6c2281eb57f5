/* listen.h: the master's listening sockets and the low-level accept/refuse helpers.
 *
 * Listeners come either from systemd socket activation (sd_listen_fds, checked to be listening
 * stream sockets) or from the config's listen= entries (bound here: SO_REUSEADDR, IPV6_V6ONLY
 * on IPv6 so "[::]:7777" and "0.0.0.0:7777" coexist). Every fd is non-blocking and
 * close-on-exec. A refused client is told why with one BYE frame written without blocking,
 * encoded by the protocol library, and its input drained so the close is a FIN, not an RST.
 */
#ifndef ARENA_LISTEN_H
#define ARENA_LISTEN_H

#include <stddef.h>

#include "arena_config.h"
#include "arena_proto.h"
#include "peer.h"

struct listener {
	int fd;
	char name[64]; /* "127.0.0.1:7777", for logs */
};

/* Take the sockets systemd passed (LISTEN_FDS), unsetting the variables so children do not see
 * them. Returns how many (0: not socket-activated) or -errno; -EINVAL if one is not a listening
 * SOCK_STREAM socket, with its fd number in *ret_bad_fd. ret has room for ARENA_LISTEN_MAX. */
int listen_from_systemd(struct listener *ret, int *ret_bad_fd);
/* The address a listening fd is bound to, as text ("127.0.0.1:7777"), or "fd N". */
void listen_name(int fd, char name[64]);

/* Bind and listen on one config entry. 0 or -errno; *ret filled on success. */
int listen_bind(const struct arena_listen *l, unsigned backlog, struct listener *ret);

/* Accept one connection (accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC). Returns 0 with the fd and
 * address, or -errno (-EAGAIN: none pending). */
int listen_accept(int lfd, int *ret_fd, struct peer_addr *ret_peer);

/* Tell a client we will not serve it (BYE reason + text), then close fd. Never blocks. */
void listen_refuse(int fd, enum arena_bye_reason reason, const char *text);

#endif /* ARENA_LISTEN_H */
