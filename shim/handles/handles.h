/* SPDX-License-Identifier: MIT */
/* Helpers shared by the handle interposers (handles.c, streams.c,
 * mappings.c, spawn.c). */
#ifndef LEAKSCOPE_HANDLES_H
#define LEAKSCOPE_HANDLES_H

#include <errno.h>

#include "enter.h"
#include "fdtable.h"
#include "sys.h"

/* Forward to the real function; ENOSYS when this libc has none. */
#define LKS_FORWARD(fn, fail, ...)                                        \
	(lks_real_get(&lks_real.fn) ? lks_real.fn(__VA_ARGS__) : (errno = ENOSYS, fail))

/* Forward to the real function once the shim has started; before, by the
 * system call `raw` (sys.h): looking the real one up may allocate and lock,
 * from inside a program's own allocator's start-up (rustc's jemalloc maps
 * memory under its init lock, from an initializer that runs before ours). */
#define LKS_FORWARD_SYS(raw, fn, ...)                                     \
	(lks_started() && lks_real_get(&lks_real.fn) ? lks_real.fn(__VA_ARGS__) : (raw))

/* Records entry with the stack of the call and the file its fd holds.
 * Called with lks_busy set; keeps errno as the real call left it. */
static inline void lks_record_fd_entry(struct lks_fd_entry *entry)
{
	int saved_errno = errno;  /* the capture and fstat may set it */

	if (entry->fd >= 0 && entry->fd <= 2)
		return;  /* never recorded (fdtable.c): not worth a stack */
	entry->trace = lks_capture_trace();
	lks_fd_identify(entry);
	lks_fd_record(entry);
	errno = saved_errno;
}

static inline void lks_record_fd(int fd, uint16_t type, uint64_t addr)
{
	struct lks_fd_entry entry = { .fd = fd, .type = type, .addr = addr };

	lks_record_fd_entry(&entry);
}

/* Body of an interposer returning a new fd: `record` is an expression
 * that records it, run with the fd in `new_fd`; raw makes the fd before
 * the shim has started. */
#define LKS_RETURN_NEW_FD(record, raw, fn, ...)                           \
	do {                                                              \
		int new_fd;                                               \
		if (lks_unlikely(!lks_enter_started()))                   \
			return LKS_FORWARD_SYS(raw, fn, __VA_ARGS__);     \
		new_fd = LKS_FORWARD_SYS(raw, fn, __VA_ARGS__);           \
		if (new_fd >= 0)                                          \
			record;                                           \
		lks_leave();                                              \
		return new_fd;                                            \
	} while (0)

/* ... of a new fd of `kind`. */
#define LKS_CREATE_FD(kind, raw, fn, ...)                                 \
	LKS_RETURN_NEW_FD(lks_record_fd(new_fd, kind, 0), raw, fn, __VA_ARGS__)

#endif
