/* outq.h: a connection's output queue: whole frames in an evbuffer, written as the socket takes
 * them, cut without ever leaving half a frame on the wire.
 *
 * `partial` is the caller's record of how many bytes of the frame at the head of the queue are
 * still unwritten after a partial write (0 when the head is a frame boundary). Frames must be
 * queued whole (evbuffer_add of a complete frame); outq_write keeps `partial` up to date.
 */
#ifndef ARENA_OUTQ_H
#define ARENA_OUTQ_H

#include <event2/buffer.h>
#include <stddef.h>

/* Write as much of `out` as the non-blocking socket fd takes (sendmsg, up to 16 chunks of at
 * most 256 KiB in all per call, repeated until empty or EAGAIN). Returns 0 (all written, or
 * the socket is full) or a negative errno from sendmsg; *partial follows what was written. */
int outq_write(struct evbuffer *out, int fd, size_t *partial);

/* Drop every queued frame that has not started going out; keep the unwritten tail of the frame
 * already partly written (`partial` bytes) so the stream stays parseable. */
void outq_discard_unsent(struct evbuffer *out, size_t partial);

#endif
