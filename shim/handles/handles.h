/* SPDX-License-Identifier: MIT */
/* Helpers shared by the handle interposers (handles.c, streams.c,
 * mappings.c, spawn.c). */
#ifndef LEAKSCOPE_HANDLES_H
#define LEAKSCOPE_HANDLES_H

#include <errno.h>

#include "enter.h"
#include "fdtable.h"

/* Before start-up (another library's constructor) or while dlsym runs, a
 * real function may not be known yet: resolve it then, or fail. */
static inline bool lks_have_real(void *const *slot)
{
	if (lks_likely(__atomic_load_n(slot, __ATOMIC_RELAXED) != NULL))
		return true;
	if (!lks_busy) {
		lks_busy = 1;
		lks_resolve_real();
		lks_busy = 0;
	}
	return __atomic_load_n(slot, __ATOMIC_RELAXED) != NULL;
}

/* Forward to the real function; ENOSYS when this libc has none. */
#define LKS_FORWARD(fn, fail, ...)                                        \
	(lks_have_real((void *const *)&lks_real.fn) ? lks_real.fn(__VA_ARGS__) \
	                                           : (errno = ENOSYS, fail))

/* Called with lks_busy set; keeps errno as the real call left it. */
static inline void lks_record_fd(int fd, uint16_t type, uint64_t addr)
{
	int saved_errno = errno;  /* libunwind may set it */

	lks_fd_record(fd, type, lks_capture_trace(), addr);
	errno = saved_errno;
}

/* Body of an interposer returning a new fd of `kind`. */
#define LKS_CREATE_FD(kind, fn, ...)                                      \
	do {                                                              \
		int new_fd;                                               \
		if (lks_unlikely(!lks_enter()))                           \
			return LKS_FORWARD(fn, -1, __VA_ARGS__);          \
		if (lks_unlikely(!lks_real.fn)) {                         \
			lks_leave();                                      \
			errno = ENOSYS;                                   \
			return -1;                                        \
		}                                                         \
		new_fd = lks_real.fn(__VA_ARGS__);                        \
		if (new_fd >= 0)                                          \
			lks_record_fd(new_fd, kind, 0);                   \
		lks_leave();                                              \
		return new_fd;                                            \
	} while (0)

#endif
