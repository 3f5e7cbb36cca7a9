/* SPDX-License-Identifier: MIT */
/* Shared by the unwinder's test programs. */
#ifndef LEAKSCOPE_UNWIND_TEST_H
#define LEAKSCOPE_UNWIND_TEST_H

/* Makes the optimizer believe the pointer is used, so an unused malloc is
 * not removed at -O2, without storing it anywhere a scan could find it. */
static inline void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

#endif
