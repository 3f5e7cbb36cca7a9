/* SPDX-License-Identifier: MIT */
/* Run under the shim by test_snapread to make a real snapshot with every
 * section in use: leaks from several stacks and both allocator families'
 * C side, a block kept reachable by a global, an open file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static void *kept; /* reachable at exit: gives the scan a chain to record */

__attribute__((noinline)) static void leak_small(int n)
{
	for (int i = 0; i < n; i++)
		__asm__ volatile("" : : "r"(malloc(24 + (size_t)i)) : "memory");
}

__attribute__((noinline)) static void leak_strings(void)
{
	__asm__ volatile("" : : "r"(strdup("a string nobody frees")) : "memory");
}

int main(void)
{
	leak_small(5);
	leak_strings();
	kept = calloc(4, 64);
	return open("/dev/null", O_RDONLY) < 0;
}
