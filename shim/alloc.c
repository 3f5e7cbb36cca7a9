/* SPDX-License-Identifier: MIT */
/* The memory interposers. Each one: forward when not recording, else call
 * the real function and record on success; releases un-record first so no
 * other thread can be handed the same address while it is still ours. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enter.h"
#include "python/python.h"
#include "reach/heapnote.h"

/* ---- recording ------------------------------------------------------------ */

/* noinline: its frames all lie below its caller's, where the scrub goes.
 * The address goes into the hint (in this frame, scrubbed) before anything
 * else, so no register the capture's frames save holds it: they reach
 * deeper than the scrub (the walk's buffers are sized by the depth
 * option), and a saved copy would lie under a later frame of the
 * program's. */
static __attribute__((noinline)) void record(void *ptr, size_t size, uint8_t family)
{
	struct lks_live_hint hint;
	int saved_errno;
	uint32_t trace;

	lks_live_prefetch((uint64_t)ptr, &hint);     /* overlaps the unwinding */
	saved_errno = errno;                         /* the capture may set it */
	trace = lks_capture_trace();                 /* 0 if no stack: counted */

	lks_live_insert_hinted(&hint, size, trace, family);
	if (lks_unlikely(__atomic_load_n(&lks_py_exit_due, __ATOMIC_RELAXED)))
		lks_py_exit_snapshot();  /* CPython began to finalize */
	errno = saved_errno;
}

#ifndef LKS_SCRUB_BYTES
#define LKS_SCRUB_BYTES 256
#endif

typedef uint64_t scrub_word __attribute__((vector_size(16)));

/* Recording leaves copies of the block's address in its dead frames (the
 * registers it pushed) just below the program's frame. A later frame of
 * the program's that leaves them unwritten and is still live at exit would
 * make a block the program dropped look reachable: zeroed here, in a frame
 * laid where record's were. By 16-byte stores the compiler may not merge
 * into a memset (a rep stos: twice the instructions, and a start-up cost
 * of its own on every malloc). */
static __attribute__((noinline)) void scrub_dead_stack(void)
{
	scrub_word dead[LKS_SCRUB_BYTES / sizeof(scrub_word)];

#pragma GCC unroll 16
	for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
		((volatile scrub_word *)dead)[i] = (scrub_word){ 0, 0 };
	__asm__ volatile("" : : "r"(dead) : "memory");  /* the stores are kept */
}

void lks_record(void *ptr, size_t size, uint8_t family)
{
	record(ptr, size, family);
	scrub_dead_stack();
}

/* A freed block's family is not the one freeing it: a mismatch, or a
 * block watched (live.c's bit, set by shim/python/ on code objects its
 * kept frame chains hold), or both. Out of line: no other free pays. */
static __attribute__((noinline)) void family_differs(int had, uint8_t family)
{
	if (had & LKS_LIVE_WATCHED)
		lks_py_code_freed();
	if ((had & ~LKS_LIVE_WATCHED) != family)
		lks_count_mismatch();
}

/* Un-recording runs even while lks_busy is set (a signal handler that frees
 * inside our code): the table is lock-free, and a block left recorded after
 * its free would be a false leak. A busy free of an unknown block is no news:
 * operator delete's own free, or a block allocated while we were busy. */
static inline __attribute__((always_inline)) void unrecord(void *ptr, uint8_t family)
{
	int had;

	if (lks_unlikely(__atomic_load_n(&lks_state, __ATOMIC_RELAXED) != LKS_ACTIVE))
		return;
	had = lks_live_forget((uint64_t)ptr);
	if (had < 0) {
		if (!lks_behalf_forget(ptr) && !lks_busy)
			lks_count_unknown_free();
	} else if (had != family) {
		family_differs(had, family);
	}
}

void lks_unrecord(void *ptr, uint8_t family)
{
	unrecord(ptr, family);
}

/* ---- forwarding when not recording ---------------------------------------- */

/* A real allocator to forward to, or false: serve from the bootstrap arena.
 * False inside dlsym before the function is known (a lookup that fails
 * allocates; another would nest), and on the thread that is starting the
 * shim: its lookups must not enter a program's own malloc, which may be
 * what called us and hold its start-up lock. */
#define real_alloc_ready(slot) alloc_ready((void *const *)(slot))
static bool alloc_ready(void *const *slot)
{
	/* relaxed: the starting thread reads its own store of STARTING */
	if (lks_unlikely(lks_busy) &&
	    (!*slot || __atomic_load_n(&lks_state, __ATOMIC_RELAXED) == LKS_STARTING))
		return false;
	return lks_real_get(slot);
}

/* A real release function (free, realloc) for a block that is not the
 * arena's: always the real one, looked up unless inside dlsym. */
#define real_release_ready(slot) release_ready((void *const *)(slot))
static bool release_ready(void *const *slot)
{
	return lks_likely(*slot != NULL) || (!lks_busy && lks_real_get(slot));
}

/* Forwarded while recording, the block is the C library's work inside an
 * interposer (the FILE of fopen, the DIR of opendir; with unwind_check=1,
 * libunwind's): not recorded, but it may come to hold the program's
 * pointers, so the exit scan reads it (reach/behalf.c). */
static void *for_shim(void *ptr, size_t size)
{
	/* relaxed: forwarded while ACTIVE means this thread is busy in the shim */
	if (ptr && __atomic_load_n(&lks_state, __ATOMIC_RELAXED) == LKS_ACTIVE)
		lks_behalf_note(ptr, size);
	return ptr;
}

static void *forward_malloc(size_t size)
{
	return real_alloc_ready(&lks_real.malloc) ? for_shim(lks_real.malloc(size), size)
	                                          : lks_bootstrap_alloc(size, 16);
}

static void *forward_calloc(size_t count, size_t size)
{
	size_t total;

	if (real_alloc_ready(&lks_real.calloc))
		return for_shim(lks_real.calloc(count, size), count * size);
	if (__builtin_mul_overflow(count, size, &total))
		return NULL;
	return lks_bootstrap_alloc(total, 16);
}

static void *forward_memalign(size_t align, size_t size)
{
	return real_alloc_ready(&lks_real.memalign)
	       ? lks_real.memalign(align, size) : lks_bootstrap_alloc(size, align);
}

/* ---- malloc family -------------------------------------------------------- */

LKS_EXPORT void *malloc(size_t size)
{
	void *ptr;

	if (lks_unlikely(!lks_enter()))
		return forward_malloc(size);
	ptr = lks_real.malloc(size);
	if (lks_likely(ptr != NULL)) {
		lks_heap_note(ptr);
		lks_record(ptr, size, LKS_FAMILY_MALLOC);
	}
	lks_leave();
	return ptr;
}

LKS_EXPORT void *calloc(size_t count, size_t size)
{
	void *ptr;

	if (lks_unlikely(!lks_enter()))
		return forward_calloc(count, size);
	ptr = lks_real.calloc(count, size);  /* checks count * size itself */
	if (lks_likely(ptr != NULL)) {
		lks_heap_note(ptr);
		lks_record(ptr, count * size, LKS_FAMILY_MALLOC);
	}
	lks_leave();
	return ptr;
}

LKS_EXPORT void free(void *ptr)
{
	if (lks_unlikely(ptr == NULL))
		return;
	if (lks_unlikely(lks_bootstrap_owns(ptr)))
		return;                      /* arena blocks are never reused */
	/* The real free reads the chunk header before ptr and writes at ptr:
	 * start those misses now, to overlap the table's (never faults). */
	__builtin_prefetch((char *)ptr - sizeof(size_t), 1, 3);
	unrecord(ptr, LKS_FAMILY_MALLOC);  /* inline: free's own fixed cost */
	if (lks_likely(real_release_ready(&lks_real.free)))
		lks_real.free(ptr);
}

static void *realloc_from_arena(void *ptr, size_t size)
{
	size_t old = lks_bootstrap_size(ptr);
	void *moved = malloc(size);

	if (moved)
		memcpy(moved, ptr, old < size ? old : size);
	return moved;
}

LKS_EXPORT void *realloc(void *ptr, size_t size)
{
	struct lks_block old;
	bool had_old;
	void *moved;

	if (ptr == NULL)
		return malloc(size);
	if (lks_unlikely(lks_bootstrap_owns(ptr)))
		return realloc_from_arena(ptr, size);
	if (lks_unlikely(!lks_enter())) {
		lks_unrecord(ptr, LKS_FAMILY_MALLOC);
		return real_release_ready(&lks_real.realloc)
		       ? for_shim(lks_real.realloc(ptr, size), size) : NULL;
	}
	/* Un-record first: once realloc returns, another thread may get ptr. */
	had_old = __atomic_load_n(&lks_state, __ATOMIC_RELAXED) == LKS_ACTIVE &&
	          lks_live_remove((uint64_t)ptr, &old);
	if (had_old && old.family != LKS_FAMILY_MALLOC)
		family_differs(old.family, LKS_FAMILY_MALLOC);  /* as free() of it */
	moved = lks_real.realloc(ptr, size);
	if (moved != NULL) {
		lks_heap_note(moved);
		lks_record(moved, size, LKS_FAMILY_MALLOC);
	} else if (size != 0 && had_old) {  /* failed: the old block lives on */
		lks_live_insert(old.addr, old.size, old.trace, old.family);
	}
	lks_leave();
	return moved;
}

LKS_EXPORT void *reallocarray(void *ptr, size_t count, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(count, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

LKS_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	int error;

	if (lks_unlikely(!lks_enter())) {
		if (real_alloc_ready(&lks_real.posix_memalign))
			return lks_real.posix_memalign(out, align, size);
		*out = lks_bootstrap_alloc(size, align);
		return *out ? 0 : ENOMEM;
	}
	error = lks_real.posix_memalign(out, align, size);
	if (error == 0)
		lks_record(*out, size, LKS_FAMILY_MALLOC);
	lks_leave();
	return error;
}

/* One body for the (align, size) -> pointer allocators. */
#define ALIGNED_ALLOCATOR(name)                                           \
	LKS_EXPORT void *name(size_t align, size_t size)                  \
	{                                                                 \
		void *ptr;                                                \
		if (lks_unlikely(!lks_enter()))                           \
			return real_alloc_ready(&lks_real.name) \
			       ? lks_real.name(align, size)               \
			       : forward_memalign(align, size);           \
		ptr = lks_real.name(align, size);                         \
		if (ptr != NULL)                                          \
			lks_record(ptr, size, LKS_FAMILY_MALLOC);         \
		lks_leave();                                              \
		return ptr;                                               \
	}

ALIGNED_ALLOCATOR(aligned_alloc)
ALIGNED_ALLOCATOR(memalign)

/* valloc and pvalloc round to the page; pvalloc records the rounded size,
 * which is what the program may use. */
static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return size == 0 ? page : (size + page - 1) & ~(page - 1);
}

LKS_EXPORT void *valloc(size_t size)
{
	void *ptr;

	if (lks_unlikely(!lks_enter()))
		return real_alloc_ready(&lks_real.valloc) ? lks_real.valloc(size)
		       : forward_memalign(4096, size);
	ptr = lks_real.valloc(size);
	if (ptr != NULL)
		lks_record(ptr, size, LKS_FAMILY_MALLOC);
	lks_leave();
	return ptr;
}

LKS_EXPORT void *pvalloc(size_t size)
{
	void *ptr;

	if (lks_unlikely(!lks_enter()))
		return real_alloc_ready(&lks_real.pvalloc) ? lks_real.pvalloc(size)
		       : forward_memalign(4096, page_round(size));
	ptr = lks_real.pvalloc(size);
	if (ptr != NULL)
		lks_record(ptr, page_round(size), LKS_FAMILY_MALLOC);
	lks_leave();
	return ptr;
}
