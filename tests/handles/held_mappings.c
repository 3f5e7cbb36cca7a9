/* SPDX-License-Identifier: MIT */
/* Mappings still mapped at exit. One a global still points at, as a
 * custom allocator's arena: held, like reachable memory, not an open
 * handle. One whose only pointer is inside itself, and one nothing points
 * at: lost, reported open.
 * expect-held-mappings: 1 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RW PROT_READ | PROT_WRITE
#define ANON MAP_PRIVATE | MAP_ANONYMOUS

char **g_arena;  /* not static: the optimizer must keep the store */

__attribute__((noinline)) static void keep_arena(void)
{
	g_arena = mmap(NULL, 1 << 16, RW, ANON, -1, 0);
	if (g_arena == MAP_FAILED)
		exit(2);
	g_arena[0] = "in use";
}

__attribute__((noinline)) static void lose_self_pointing(void)
{
	void **self = mmap(NULL, 4096, RW, ANON, -1, 0); /* expect-handle: type=mmap count=1 desc=anonymous */

	if (self == MAP_FAILED)
		exit(2);
	self[3] = self + 3;  /* a pointer into itself does not hold it */
}

__attribute__((noinline)) static void lose_dropped(void)
{
	char *dropped = mmap(NULL, 8192, RW, ANON, -1, 0); /* expect-handle: type=mmap count=1 desc=anonymous */

	if (dropped == MAP_FAILED)
		exit(2);
	dropped[0] = 1;
}

/* Overwrites the dead stack below main, where the functions above left
 * their pointers, as exit's own frames would only partly. */
__attribute__((noinline)) static void clobber_stack(void)
{
	volatile char junk[32768];

	memset((char *)junk, 0, sizeof(junk));
}

int main(void)
{
	keep_arena();
	lose_self_pointing();
	lose_dropped();
	clobber_stack();
	return 0;
}
