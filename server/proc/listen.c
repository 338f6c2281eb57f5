/* listen.c: listening sockets (socket activation or bind), accept, and refusing a client; see
 * listen.h.
 *
 * Refusing is the master's only write to a client: the BYE frame is tiny and the socket brand
 * new, so one non-blocking send() either takes it whole or the client gets a bare close (it is
 * refused either way). shutdown(SHUT_WR) then a bounded drain of what the client already sent
 * (often its HELLO) make the close graceful, so the BYE is not destroyed by an RST.
 */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "util.h"

static int set_nonblock_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

void listen_name(int fd, char name[64])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct peer_addr p;
	char text[PEER_TEXT_MAX];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(name, 64, "fd %d", fd);
		return;
	}
	peer_from_sockaddr((struct sockaddr *)&ss, len, &p);
	snprintf(name, 64, "%s", peer_format(&p, text));
}

int listen_from_systemd(struct listener *ret, int *ret_bad_fd)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return n;
	if (n > ARENA_LISTEN_MAX) {
		*ret_bad_fd = SD_LISTEN_FDS_START + ARENA_LISTEN_MAX;
		return -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			*ret_bad_fd = fd;
			return -EINVAL;
		}
		if (set_nonblock_cloexec(fd) < 0) {
			*ret_bad_fd = fd;
			return -EBADF;
		}
		ret[i].fd = fd;
		listen_name(fd, ret[i].name);
	}
	return n;
}

int listen_bind(const struct arena_listen *l, unsigned backlog, struct listener *ret)
{
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (l->addr.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		return -errno;
	if (listen(fd, (int)backlog) < 0)
		return -errno;
	ret->fd = TAKE_FD(fd);
	snprintf(ret->name, sizeof(ret->name), "%s", l->text);
	return 0;
}

int listen_accept(int lfd, int *ret_fd, struct peer_addr *ret_peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	do
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	peer_from_sockaddr((struct sockaddr *)&ss, len, ret_peer);
	*ret_fd = fd;
	return 0;
}

void listen_refuse(int fd, enum arena_bye_reason reason, const char *text)
{
	unsigned char frame[ARENA_HEADER_SIZE + 2 + ARENA_TEXT_MAX];
	unsigned char junk[1024];
	struct arena_msg m;
	size_t len = text ? strlen(text) : 0;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = ARENA_BYE;
	m.u.bye.reason = (uint8_t)reason;
	if (len > ARENA_TEXT_MAX)
		len = ARENA_TEXT_MAX;
	m.u.bye.text.len = (uint8_t)len;
	if (len)
		memcpy(m.u.bye.text.s, text, len);
	n = arena_encode(&m, frame, sizeof(frame));
	if (n > 0)
		(void)!send(fd, frame, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	for (int i = 0; i < 4; i++)
		if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
	safe_close(fd);
}
