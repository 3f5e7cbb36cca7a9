/* SPDX-License-Identifier: MIT */
/* Shared by the reachability fixtures. Annotations read by check_reach.py:
 *   expect-class: fn=NAME class=CLASS blocks=N bytes=N [indirect_blocks=N
 *                 indirect_bytes=N]   on an allocating line (may repeat)
 *   expect-retainer: root=SYMBOL|called-from:FUNCTION site=FUNCTION
 *   expect-runtime-clean   no leak of any class but reachable, anywhere */
#ifndef LEAKSCOPE_REACH_FIXTURE_H
#define LEAKSCOPE_REACH_FIXTURE_H

#include <string.h>

/* Keeps the optimizer from dropping a store or an allocation, without
 * storing the pointer anywhere the scan could find it. */
static inline void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

/* Overwrites the dead stack below the caller, where the frames of exit()
 * will be: a pointer left there by a returned function would otherwise keep
 * a lost block reachable (conservative scanners all share this). */
__attribute__((noinline)) static void clobber_stack(void)
{
	volatile char junk[32768];

	memset((char *)junk, 0, sizeof(junk));
	escape((void *)junk);
}

#endif
