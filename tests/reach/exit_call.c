/* SPDX-License-Identifier: MIT */
/* A 100-byte block dropped, then exit() called from a function whose large
 * buffer is never written, in a frame laid where malloc's frames were: the
 * shim's recording and glibc's malloc left copies of the block's address
 * there (pushed registers), which the buffer, live at exit, would keep as
 * roots. The program keeps no copy of its own: the address goes from
 * malloc's return register straight into an empty asm (a pointer stored in
 * an unwritten live slot is a root for any conservative scan; Valgrind
 * alone tells it apart, by definedness). `valgrind --leak-check=full`
 * (3.19) on both builds: 100 bytes definitely lost. */
#include <stdlib.h>

#include "reach_fixture.h"

/* escape() without a call: at -O0 a call would store its argument */
#define DROP(expr) __asm__ volatile("" : : "r"(expr) : "memory")

__attribute__((noinline)) static void drop(void)
{
	DROP(malloc(100)); /* expect-class: fn=drop class=definite blocks=1 bytes=100 */
}

__attribute__((noinline)) static void exit_from_large_frame(void)
{
	char unwritten[16384];

	DROP(unwritten);
	exit(0);
}

int main(void)
{
	drop();
	exit_from_large_frame();
}
