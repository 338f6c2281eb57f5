/* util.h: small helpers shared by the daemon's files: cleanup attributes, TAKE_PTR, sizes.
 *
 * The cleanup attributes follow systemd's conventions (which libsystemd does not export, so
 * they are defined here): a variable declared `_cleanup_free_ char *p = NULL;` is freed when it
 * goes out of scope, `_cleanup_close_ int fd = -1;` closed; TAKE_PTR()/TAKE_FD() hand ownership
 * out of such a variable. Every destructor accepts the "empty" value (NULL, -1).
 */
#ifndef ARENA_UTIL_H
#define ARENA_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Close fd if it is valid; keep errno as it was (a close in a cleanup path must not clobber
 * the error being reported). Returns -1 so `fd = safe_close(fd);` resets the variable. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	safe_close(*fd);
}

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _unused_        __attribute__((unused))
#define _printf_(a, b)  __attribute__((format(printf, a, b)))
#define _noreturn_      __attribute__((noreturn))

/* Hand the pointer out of a cleanup variable: returns it and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})

/* Same for an fd: returns it and leaves -1 behind. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

#endif /* ARENA_UTIL_H */
