/* client-net.c: arena-client's connection set-up: HOST:PORT, name resolution, connect.
 *
 * HOST:PORT is split by hand ([v6]:PORT for IPv6 literals) and resolved with getaddrinfo, so
 * IPv4 and IPv6 literals and host names all work. Each address is tried in turn with a
 * non-blocking connect bounded by CONNECT_TIMEOUT_S (select() on the one socket: this runs
 * before the event loop exists). The socket is O_CLOEXEC and TCP_NODELAY (moves are small
 * and latency is what the player sees).
 */
#include "client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 5

/* Split HOST:PORT ([v6]:PORT for IPv6) into host[cap] and *ret_port. 0 or -EINVAL. */
static int split_target(const char *t, char *host, size_t cap, const char **ret_port)
{
	const char *colon, *h = t;
	size_t hlen;
	if (t[0] == '[') {
		const char *end = strchr(t, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		h = t + 1;
		hlen = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(t, ':');
		if (!colon || strchr(t, ':') != colon)
			return -EINVAL;
		hlen = (size_t)(colon - t);
	}
	if (hlen == 0 || hlen >= cap || colon[1] == '\0')
		return -EINVAL;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*ret_port = colon + 1;
	return 0;
}

/* Connect to one address within CONNECT_TIMEOUT_S. Returns a connected fd or -errno. */
static int connect_one(const struct addrinfo *ai)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			int e = errno;
			close(fd);
			return -e;
		}
		fd_set w;
		FD_ZERO(&w);
		FD_SET(fd, &w);
		struct timeval tv = {.tv_sec = CONNECT_TIMEOUT_S};
		int n = select(fd + 1, NULL, &w, NULL, &tv);
		int err = 0;
		socklen_t len = sizeof(err);
		if (n == 0)
			err = ETIMEDOUT;
		else if (n < 0)
			err = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			close(fd);
			return -err;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int client_connect(const char *target)
{
	char host[256];
	const char *port;
	if (split_target(target, host, sizeof(host), &port) < 0) {
		fprintf(stderr, "arena-client: bad address '%s' (want HOST:PORT or [IPV6]:PORT)\n",
		        target);
		return -CLIENT_EXIT_USAGE;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		fprintf(stderr, "arena-client: cannot resolve %s: %s\n", host, gai_strerror(r));
		return -CLIENT_EXIT_CONNECT;
	}
	int fd = -ENOENT;
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		fd = connect_one(ai);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "arena-client: cannot connect to %s: %s\n", target, strerror(-fd));
		return -CLIENT_EXIT_CONNECT;
	}
	return fd;
}
