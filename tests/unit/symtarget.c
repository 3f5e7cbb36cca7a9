/* SPDX-License-Identifier: MIT */
/* Call sites at known lines for test_symbols, built -O2 -g so that one of
 * them is an inlined call. The "mark:" comments are how the test finds the
 * lines: keep one per line. */
#include "symtarget.h"

/* Keeps the calls below from becoming tail calls, whose return address
 * would be the caller's. */
#define NO_TAIL_CALL() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) void *symtarget_here(void)
{
	return __builtin_return_address(0);
}

__attribute__((noinline)) void *symtarget_plain(void)
{
	void *ip = symtarget_here(); /* mark: plain */

	NO_TAIL_CALL();
	return ip;
}

static inline __attribute__((always_inline)) void *inlined_middle(void)
{
	void *ip = symtarget_here(); /* mark: inside-inlined */

	NO_TAIL_CALL();
	return ip;
}

__attribute__((noinline)) void *symtarget_inlined(void)
{
	void *ip = inlined_middle(); /* mark: calls-inlined */

	NO_TAIL_CALL();
	return ip;
}
