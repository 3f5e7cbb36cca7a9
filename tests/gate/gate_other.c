/* SPDX-License-Identifier: MIT */
/* A leak in a second source file, for suppressions by file name. */
#include <stdlib.h>

void other_leak(void);

__attribute__((noinline)) void other_leak(void)
{
	void *block = malloc(30); /* gate-site: other_leak */

	__asm__ volatile("" : : "r"(block) : "memory");
}
