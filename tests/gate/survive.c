/* SPDX-License-Identifier: MIT */
/* What a baseline survives (test_gate.py, case baseline_survives): built
 * in variants, each with the marker comments below replaced by code:
 * lines above the function, lines inside it above the leak, a second leak
 * in the same function, a second way to reach it. */
#include <stdlib.h>

/*@ABOVE@*/

/* Hides a pointer from the optimizer without storing it anywhere. */
static void escape(void *ptr)
{
	__asm__ volatile("" : : "r"(ptr) : "memory");
}

__attribute__((noinline)) static void store(int n)
{
	/*@INSIDE@*/
	escape(malloc(24 + (size_t)n)); /* survive-site: first */
	/*@SECOND@*/
}

__attribute__((noinline)) static void relay(int n)
{
	store(n);
	escape(&n);
}

int main(int argc, char **argv)
{
	store(argc);
	/*@CALLER@*/
	escape(argv);
	return 0;
}
