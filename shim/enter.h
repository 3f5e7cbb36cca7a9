/* SPDX-License-Identifier: MIT */
/* The interposers' way in and out of recording. Included only by the files
 * that define interposed names: entering may start the shim (lifecycle.c),
 * which the tables below it must not depend on. */
#ifndef LEAKSCOPE_ENTER_H
#define LEAKSCOPE_ENTER_H

#include "shim.h"

void lks_start(void);  /* at start-up (lifecycle.c), or lazily by an allocation */

/* Enter the recording path: false means forward and record nothing. For
 * the allocation interposers (malloc's family, operator new): the first may
 * start the shim (other libraries' initializers allocate before its own). */
static inline bool lks_enter(void)
{
	if (lks_unlikely(lks_busy))
		return false;
	/* relaxed: a stale LKS_STARTING only costs one unrecorded call */
	if (lks_unlikely(__atomic_load_n(&lks_state, __ATOMIC_RELAXED) != LKS_ACTIVE)) {
		lks_start();
		if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
			return false;
	}
	lks_busy = 1;
	return true;
}

/* The same for every other interposer (fds, streams, mmap, exec): never
 * starts the shim. Starting looks functions up and maps memory, which a program's own
 * allocator may be in the middle of (rustc's jemalloc maps its first pages,
 * under its start-up lock, from another library's initializer). */
static inline bool lks_enter_started(void)
{
	if (lks_unlikely(lks_busy))
		return false;
	/* acquire: the tables set up before ACTIVE are visible */
	if (lks_unlikely(__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE))
		return false;
	lks_busy = 1;
	return true;
}

static inline void lks_leave(void)
{
	lks_busy = 0;
}

#endif
