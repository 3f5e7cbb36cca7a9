/* SPDX-License-Identifier: MIT */
/* The shim's own files when every fd is in use (fdproxy.c), used by sys.c:
 * an open that meets EMFILE inside a snapshot's scope is made by a helper
 * task with a table of its own, and returns a tagged fd that sys.c hands
 * every later call on to it. */
#ifndef LEAKSCOPE_FDPROXY_H
#define LEAKSCOPE_FDPROXY_H

#include <fcntl.h>
#include <sys/types.h>

/* No real fd reaches it: the kernel's fd numbers stay below 2^30 (nr_open). */
#define LKS_FDPROXY_TAG 0x40000000

static inline int lks_fdproxy_tagged(int fd)
{
	return fd >= LKS_FDPROXY_TAG;
}

/* A tagged fd, or -1 with errno (EMFILE when no helper could be had). */
int lks_fdproxy_openat(int dir_fd, const char *path, int flags, mode_t mode);
/* System call `number` on a tagged fd with up to 3 more arguments. */
long lks_fdproxy_call(long number, int fd, long b, long c, long d);

/* A snapshot's scope (they nest): the helper may be started within it, and
 * is stopped at its end. */
void lks_fdproxy_begin(void);
void lks_fdproxy_end(void);
/* RLIMIT_NOFILE when an open in the current scope met EMFILE that the
 * helper could not get round; 0 otherwise. */
int lks_fdproxy_limit_met(void);
void lks_fdproxy_after_fork(void);

#endif
