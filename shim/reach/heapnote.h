/* SPDX-License-Identifier: MIT */
/* The hot path's half of reach/heaps.c: a block glibc's malloc carved from
 * a thread's heap says so in its chunk header, the word before it, which
 * malloc has just written. The heap's base is noted once each time a
 * thread's allocations move to another heap, so that the exit scan knows
 * the heap even when no block is left in it. */
#ifndef LEAKSCOPE_HEAPNOTE_H
#define LEAKSCOPE_HEAPNOTE_H

#include <stdbool.h>
#include <stdint.h>

#define LKS_HEAP_SPAN (64ull << 20)  /* glibc's HEAP_MAX_SIZE: heaps aligned to it */
#define LKS_CHUNK_MMAPPED 0x2u       /* the chunk is a mapping of its own */
#define LKS_CHUNK_NON_MAIN 0x4u      /* the chunk lies in a thread arena's heap */

/* Set once at start, before anything is recorded, and only when the real
 * malloc is glibc's: no other allocator's header is ever read. */
extern bool lks_heap_headers;
extern __thread uint64_t lks_heap_last __attribute__((tls_model("initial-exec")));
void lks_heap_note_base(uint64_t base);

/* ptr: a block the real malloc, calloc or realloc just returned. */
static inline void lks_heap_note(const void *ptr)
{
	uint64_t header, base;

	/* relaxed: written before the program's first recorded call */
	if (!__atomic_load_n(&lks_heap_headers, __ATOMIC_RELAXED))
		return;
	header = ((const uint64_t *)ptr)[-1];
	if ((header & (LKS_CHUNK_MMAPPED | LKS_CHUNK_NON_MAIN)) != LKS_CHUNK_NON_MAIN)
		return;  /* the main arena's, or a mapping of its own */
	base = (uint64_t)(uintptr_t)ptr & ~(LKS_HEAP_SPAN - 1);
	if (base != lks_heap_last)
		lks_heap_note_base(base);
}

#endif
