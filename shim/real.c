/* SPDX-License-Identifier: MIT */
/* Resolution of the real functions with dlsym(RTLD_NEXT), and the static
 * arena that serves the allocations dlsym itself makes meanwhile. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "shim.h"

struct lks_real_fns lks_real;

static const char *const real_names[] = {
#define LKS_REAL_NAME(field, symbol, ret, params) symbol,
	LKS_REAL_TABLE(LKS_REAL_NAME)
#undef LKS_REAL_NAME
};
_Static_assert(sizeof(real_names) / sizeof(real_names[0]) * sizeof(void *) ==
               sizeof(struct lks_real_fns), "one function pointer per name");

/* The lookup behind lks_real_get: the next definition of one name after
 * the shim's. A lookup that finds its name allocates nothing; one that
 * fails makes glibc allocate its error message, which comes back to our
 * malloc on a quiet thread (served by the bootstrap arena while the shim is
 * starting). Safe in several threads at once: each writes the same value. */
bool lks_resolve_real(void *const *slot)
{
	size_t index = (size_t)((const char *)slot - (const char *)&lks_real) / sizeof(void *);
	unsigned char quiet = lks_quiet_begin();
	void *fn = dlsym(RTLD_NEXT, real_names[index]);

	lks_quiet_end(quiet);
	/* relaxed: a reader that sees NULL looks it up again */
	__atomic_store_n((void **)slot, fn, __ATOMIC_RELAXED);
	return fn != NULL;
}

bool lks_resolve_at_start(void)
{
#define LKS_REAL_LOOKUP(field, symbol, ret, params) lks_real_get(&lks_real.field);
	LKS_REAL_AT_START(LKS_REAL_LOOKUP)
#undef LKS_REAL_LOOKUP
	return lks_real.malloc && lks_real.free;
}

/* ---- bootstrap arena ------------------------------------------------------
 * Blocks carry a 16-byte header holding their size, so that realloc of an
 * arena block can copy it out. free() of an arena block does nothing. */

#define ARENA_BYTES LKS_BOOTSTRAP_BYTES
#define ARENA_HEADER 16

_Alignas(64) unsigned char lks_bootstrap_arena[ARENA_BYTES];
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
	memcpy(&lks_bootstrap_arena[start - ARENA_HEADER], &size, sizeof(size));
	__atomic_fetch_add(&arena_blocks, 1, __ATOMIC_RELAXED);
	return &lks_bootstrap_arena[start];  /* static storage: already zero, calloc is free */
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
