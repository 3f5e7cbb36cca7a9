/* SPDX-License-Identifier: MIT */
/* The interposers' way in and out of recording. Included only by the files
 * that define interposed names: entering may start the shim (lifecycle.c),
 * which the tables below it must not depend on. */
#ifndef LEAKSCOPE_ENTER_H
#define LEAKSCOPE_ENTER_H

#include "shim.h"

void lks_start(void);  /* at start-up (lifecycle.c), or lazily by an interposer */

/* Enter the recording path: false means forward and record nothing. The
 * first may start the shim (other libraries' initializers run before the
 * shim's). */
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

static inline void lks_leave(void)
{
	lks_busy = 0;
}

#endif
