/* SPDX-License-Identifier: MIT */
/* Resolution of the real functions with dlsym(RTLD_NEXT), and the static
 * arena that serves the allocations dlsym itself makes meanwhile. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

struct lks_real_fns lks_real;

static const struct {
	const char *symbol;
	size_t offset;
} real_symbols[] = {
#define LKS_REAL_ENTRY(field, symbol, ret, params) \
	{ symbol, offsetof(struct lks_real_fns, field) },
	LKS_REAL_TABLE(LKS_REAL_ENTRY)
#undef LKS_REAL_ENTRY
};

/* Idempotent and safe to run in several threads at once: each writes the
 * same values. The caller holds lks_busy, so the malloc/calloc that dlsym
 * makes (dlerror state) come back to us and are served by the arena. */
void lks_resolve_real(void)
{
	for (size_t i = 0; i < sizeof(real_symbols) / sizeof(real_symbols[0]); i++) {
		void *fn = dlsym(RTLD_NEXT, real_symbols[i].symbol);
		void **slot = (void **)((char *)&lks_real + real_symbols[i].offset);

		/* relaxed: readers that see NULL take the arena or re-resolve */
		__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	}
}

/* ---- bootstrap arena ------------------------------------------------------
 * Blocks carry a 16-byte header holding their size, so that realloc of an
 * arena block can copy it out. free() of an arena block does nothing. */

#define ARENA_BYTES (256 * 1024)
#define ARENA_HEADER 16

static _Alignas(64) unsigned char arena[ARENA_BYTES];
static size_t arena_used;      /* atomic bump pointer */
static uint64_t arena_blocks;  /* atomic: reported as bootstrap_allocs */

void *lks_bootstrap_alloc(size_t size, size_t align)
{
	size_t need, start, old;

	if (align < ARENA_HEADER)
		align = ARENA_HEADER;
	if (size > ARENA_BYTES || align > 4096)
		return NULL;
	need = size + ARENA_HEADER + align;
	old = __atomic_fetch_add(&arena_used, need, __ATOMIC_RELAXED);
	if (old + need > ARENA_BYTES)
		return NULL;
	start = (old + ARENA_HEADER + align - 1) & ~(align - 1);
	memcpy(&arena[start - ARENA_HEADER], &size, sizeof(size));
	__atomic_fetch_add(&arena_blocks, 1, __ATOMIC_RELAXED);
	return &arena[start];  /* static storage: already zero, calloc is free */
}

bool lks_bootstrap_owns(const void *ptr)
{
	const unsigned char *byte = ptr;

	return byte >= arena && byte < arena + ARENA_BYTES;
}

size_t lks_bootstrap_size(const void *ptr)
{
	size_t size;

	memcpy(&size, (const unsigned char *)ptr - ARENA_HEADER, sizeof(size));
	return size;
}

uint64_t lks_bootstrap_count(void)
{
	return __atomic_load_n(&arena_blocks, __ATOMIC_RELAXED);
}
