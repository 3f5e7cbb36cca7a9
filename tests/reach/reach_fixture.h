/* SPDX-License-Identifier: MIT */
/* Shared by the reachability fixtures. Annotations read by check_reach.py:
 *   expect-class: fn=NAME class=CLASS blocks=N bytes=N [indirect_blocks=N
 *                 indirect_bytes=N] [via='HEURISTIC']   on an allocating
 *                 line (may repeat); via: reachable only through the
 *                 pointers of that heuristic ('new[] cookie'...)
 *   expect-inside: fn=NAME inside=FUNCTION class=CLASS   on a line calling
 *                 into the C runtime: every site of a block FUNCTION (any
 *                 object's) allocated on that call has CLASS, the
 *                 runtime's own (suppressed in reports) included; one at least
 *   expect-retainer: root=SYMBOL|called-from:FUNCTION site=FUNCTION
 *   expect-runtime-clean   no leak of any class but reachable, anywhere
 *   expect-scanned-at-most: BYTES   the scan read no more than that */
#ifndef LEAKSCOPE_REACH_FIXTURE_H
#define LEAKSCOPE_REACH_FIXTURE_H

/* Keeps the optimizer from dropping a store or an allocation, without
 * storing the pointer anywhere the scan could find it. */
static inline void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

#endif
