/* outq.c: a connection's output queue (see outq.h).
 *
 * Writing peeks at most 16 chains of the evbuffer into an iovec and hands them to one sendmsg
 * (MSG_DONTWAIT | MSG_NOSIGNAL), then drains what the kernel took. Frame boundaries are only
 * worked out on a partial write: a write of everything queued ends on a boundary by
 * construction; otherwise the frame headers are walked from the old partial position to find
 * how much of the frame now at the head is still unwritten. Cutting (a slow reader, a BYE)
 * keeps that unwritten tail, so the peer always receives whole frames followed by whatever the
 * caller queues next.
 */
#include "outq.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "arena_proto.h"
#include "util.h"

#define OUTQ_WRITE_CHUNK (256 * 1024)
#define OUTQ_IOV         16

/* After n bytes at the head of `out` were written (before they are drained): how much of the
 * frame then at the head is still unwritten. */
static void advance_partial(struct evbuffer *out, size_t *partial, size_t n)
{
	struct evbuffer_ptr p;
	size_t pos;

	if (n == evbuffer_get_length(out)) {
		*partial = 0; /* frames are queued whole: a full write ends on a boundary */
		return;
	}
	if (n <= *partial) {
		*partial -= n;
		return;
	}
	pos = *partial;
	if (evbuffer_ptr_set(out, &p, pos, EVBUFFER_PTR_SET) < 0) {
		*partial = 0;
		return;
	}
	while (pos < n) {
		unsigned char hdr[2];
		size_t flen;

		if (evbuffer_copyout_from(out, &p, hdr, 2) != 2)
			break;
		flen = ARENA_HEADER_SIZE + ((size_t)hdr[0] << 8 | hdr[1]);
		pos += flen;
		if (pos < n && evbuffer_ptr_set(out, &p, flen, EVBUFFER_PTR_ADD) < 0)
			break;
	}
	*partial = pos > n ? pos - n : 0;
}

int outq_write(struct evbuffer *out, int fd, size_t *partial)
{
	for (;;) {
		size_t len = evbuffer_get_length(out);
		struct evbuffer_iovec v[OUTQ_IOV];
		struct iovec iov[OUTQ_IOV];
		struct msghdr mh;
		int nv;
		ssize_t n;

		if (len == 0)
			return 0;
		nv = evbuffer_peek(out, (ev_ssize_t)MIN(len, OUTQ_WRITE_CHUNK), NULL, v, OUTQ_IOV);
		if (nv > OUTQ_IOV)
			nv = OUTQ_IOV;
		if (nv <= 0)
			return -EIO;
		for (int i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)nv;
		n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -errno;
		}
		advance_partial(out, partial, (size_t)n);
		evbuffer_drain(out, (size_t)n);
	}
}

void outq_discard_unsent(struct evbuffer *out, size_t partial)
{
	unsigned char keep[ARENA_FRAME_MAX];
	size_t k = MIN(partial, sizeof(keep));

	if (k)
		evbuffer_remove(out, keep, k);
	evbuffer_drain(out, evbuffer_get_length(out));
	if (k)
		evbuffer_add(out, keep, k);
}
