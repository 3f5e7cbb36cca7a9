/* SPDX-License-Identifier: MIT */
/* A leak in a shared library, for suppressions by module name. */
#include <stdlib.h>

void lib_leak(void);

__attribute__((noinline)) void lib_leak(void)
{
	void *block = malloc(20); /* gate-site: lib_leak */

	__asm__ volatile("" : : "r"(block) : "memory");
}
