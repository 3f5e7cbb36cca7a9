/* SPDX-License-Identifier: MIT */
/* A leak whose line information says it is in a system header, as code
 * inlined from /usr/include is: source, but not the program's own. */
#include <stdlib.h>

void header_leak(void);

#line 40 "/usr/include/leakscope-test/inline-alloc.h"
__attribute__((noinline)) void header_leak(void)
{
	void *block = malloc(48); /* line 42 of the header */

	__asm__ volatile("" : : "r"(block) : "memory");
}
