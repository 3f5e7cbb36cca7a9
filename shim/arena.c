/* SPDX-License-Identifier: MIT */
/* Memory for the shim's own tables and buffers, straight from mmap so that
 * none of it ever shows up in the program's heap or in its own report. */
#include <sys/mman.h>

#include "shim.h"

static uint64_t mapped_bytes; /* atomic; reported as tool_bytes */

static void *map_with(size_t bytes, int extra_flags)
{
	void *ptr = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);

	if (ptr == MAP_FAILED)
		return NULL;
	__atomic_fetch_add(&mapped_bytes, bytes, __ATOMIC_RELAXED);
	return ptr;
}

void *lks_map(size_t bytes)
{
	return map_with(bytes, 0);
}

/* Untouched pages of a reservation cost no memory: tables reserve their
 * maximum once and never move, which keeps them lock-free. */
void *lks_reserve(size_t bytes)
{
	return map_with(bytes, MAP_NORESERVE);
}

void lks_unmap(void *ptr, size_t bytes)
{
	if (ptr && munmap(ptr, bytes) == 0)
		__atomic_fetch_sub(&mapped_bytes, bytes, __ATOMIC_RELAXED);
}

uint64_t lks_mapped_bytes(void)
{
	return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
}
