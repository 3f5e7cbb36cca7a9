/* SPDX-License-Identifier: MIT */
/* A program with its own malloc, as one that links jemalloc or tcmalloc
 * statically: the executable's definitions come before the preloaded
 * shim's, so the shim sees no allocation. The report must say it is
 * incomplete rather than look clean. A bump allocator over a static pool. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) unsigned char pool[1 << 22];
static size_t used;

void *malloc(size_t size)
{
	size_t start = (used + 15) & ~(size_t)15;

	if (size > sizeof(pool) - start) {
		errno = ENOMEM;
		return NULL;
	}
	used = start + size;
	return pool + start;
}

void free(void *ptr)
{
	(void)ptr;
}

void *calloc(size_t count, size_t size)
{
	void *ptr = count && size > SIZE_MAX / count ? NULL : malloc(count * size);

	return ptr ? memset(ptr, 0, count * size) : NULL;
}

void *realloc(void *ptr, size_t size)
{
	void *moved = malloc(size);

	if (moved && ptr)
		memcpy(moved, ptr, size);  /* the pool is larger than any copy */
	return moved;
}

int main(void)
{
	char *leaked = malloc(100);

	return leaked ? 0 : 1;
}
