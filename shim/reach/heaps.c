/* SPDX-License-Identifier: MIT */
/* glibc's thread heaps, which are never roots: where they are (noted on
 * allocation by heapnote.h, or said by a live block's chunk header), and
 * the proof, at exit, that a heap is still there, from the heap's own
 * header and the mappings glibc made for it (docs/REACH.md). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gnu/libc-version.h>

#include "heapnote.h"
#include "reach.h"

#define MAX_NOTED 4096  /* 256 GiB of heaps; a heap not noted is scanned */
#define MAX_FOUND 4096

bool lks_heap_headers;
__thread uint64_t lks_heap_last __attribute__((tls_model("initial-exec")));

static uint64_t noted[MAX_NOTED];  /* atomic: 0 until written */
static uint32_t noted_taken;       /* atomic: slots handed out, may pass MAX_NOTED */
static uint32_t heap_info_bytes;   /* sizeof(heap_info) in the running glibc */

/* A heap's header as glibc lays it out, at the heap's 64 MiB-aligned base;
 * glibc 2.35 added the page size (and 8 bytes of padding) after it. */
struct heap_info {
	uint64_t arena;          /* ar_ptr: the arena the heap belongs to */
	uint64_t prev;           /* the arena's previous heap, 0 for its first */
	uint64_t size;           /* bytes in use, page-aligned */
	uint64_t mprotect_size;  /* bytes made readable and writable */
	uint64_t pagesize;       /* 2.35 and later */
};

/* Found at exit: a heap proven by its header and its mappings. */
struct heap_found {
	uint64_t base, bytes;    /* [base, base + mprotect_size) */
	uint64_t arena;
	bool first;              /* the arena's own: its malloc_state follows */
};

static struct heap_found found[MAX_FOUND];
static uint32_t found_count;

/* Whether every function that hands out the blocks recorded as malloc's
 * is glibc's own: only then is the word before a block a glibc chunk
 * header (jemalloc's, tcmalloc's or a program's allocator's is not). */
static bool real_malloc_is_glibc(void)
{
	void *const *functions[] = { (void *const *)&lks_real.malloc,
	                             (void *const *)&lks_real.calloc,
	                             (void *const *)&lks_real.realloc,
	                             (void *const *)&lks_real.free };
	Dl_info libc, of;

	if (!dladdr((void *)(uintptr_t)gnu_get_libc_version, &libc))
		return false;
	for (unsigned i = 0; i < sizeof(functions) / sizeof(functions[0]); i++)
		if (!lks_real_get(functions[i]) || !dladdr(*functions[i], &of) ||
		    of.dli_fbase != libc.dli_fbase)
			return false;
	return true;
}

void lks_heaps_start(void)
{
	const char *version = gnu_get_libc_version();
	unsigned major = 0, minor = 0;

	if (!real_malloc_is_glibc())
		return;
	for (; *version >= '0' && *version <= '9'; version++)
		major = major * 10 + (unsigned)(*version - '0');
	if (*version++ != '.')
		return;
	for (; *version >= '0' && *version <= '9'; version++)
		minor = minor * 10 + (unsigned)(*version - '0');
	if (major != 2)
		return;
	heap_info_bytes = minor >= 35 ? 48 : 32;
	__atomic_store_n(&lks_heap_headers, true, __ATOMIC_RELAXED);
}

/* Lock-free: a thread that moves to another heap checks the few noted so
 * far, then takes a slot. Two threads noting one base at once both keep
 * it, which costs nothing. */
void lks_heap_note_base(uint64_t base)
{
	uint32_t taken = __atomic_load_n(&noted_taken, __ATOMIC_RELAXED);
	uint32_t slot;

	lks_heap_last = base;
	for (uint32_t i = 0; i < taken && i < MAX_NOTED; i++)
		if (__atomic_load_n(&noted[i], __ATOMIC_RELAXED) == base)
			return;
	slot = __atomic_fetch_add(&noted_taken, 1, __ATOMIC_RELAXED);
	/* relaxed: read by the exit scan, with the world stopped */
	if (slot < MAX_NOTED)
		__atomic_store_n(&noted[slot], base, __ATOMIC_RELAXED);
}

/* ---- at exit ---------------------------------------------------------------- */

void reach_heaps_begin(void)
{
	found_count = 0;
}

static bool is_found(uint64_t base)
{
	for (uint32_t i = 0; i < found_count; i++)
		if (found[i].base == base)
			return true;
	return false;
}

/* glibc maps a heap as 64 MiB of PROT_NONE at a 64 MiB-aligned base and
 * makes its first mprotect_size bytes readable and writable: base lies in
 * a read-write anonymous mapping that ends at base + mprotect_size, and an
 * inaccessible anonymous one runs from there to the 64 MiB boundary or
 * past it (rw_end, none_end; the kernel merges neighbours alike). Its
 * header says so, and names its arena: right after it in an arena's first
 * heap, in a later heap an arena another heap is the first of. */
static void check_heap(uint64_t base, uint64_t rw_end, uint64_t none_end)
{
	const struct heap_info *info = (const struct heap_info *)(uintptr_t)base;
	struct heap_found heap = { base, 0, 0, false };
	uint64_t prot, arena_heap;

	if (found_count == MAX_FOUND || rw_end - base < sizeof(*info) || is_found(base))
		return;
	prot = heap.bytes = info->mprotect_size;
	heap.arena = info->arena;
	arena_heap = info->arena - heap_info_bytes;
	if (!prot || prot > LKS_HEAP_SPAN || info->size > prot || ((prot | info->size) & 4095))
		return;
	if (prot < LKS_HEAP_SPAN ? rw_end != base + prot || none_end < base + LKS_HEAP_SPAN
	                         : rw_end < base + LKS_HEAP_SPAN)
		return;
	if (heap_info_bytes == 48 &&
	    (info->pagesize < 4096 || (info->pagesize & (info->pagesize - 1))))
		return;
	heap.first = arena_heap == base && info->prev == 0;
	if (!heap.first && (arena_heap & (LKS_HEAP_SPAN - 1) || !info->prev ||
	                    info->prev & (LKS_HEAP_SPAN - 1) || info->prev == base))
		return;
	found[found_count++] = heap;
}

/* The base of the heap the first live block at or after `from` lies in,
 * by its chunk header; 0 if it says it is no thread heap's. */
static uint64_t heap_of_first_block(const struct reach *reach, uint64_t from, uint64_t hi,
                                    uint64_t *next)
{
	uint64_t index = reach_first_from(reach, from), addr, base;

	if (index == reach->count || reach->nodes[index].addr >= hi) {
		*next = hi;
		return 0;
	}
	addr = reach->nodes[index].addr;
	base = addr & ~(LKS_HEAP_SPAN - 1);
	*next = base + LKS_HEAP_SPAN;
	if (addr - 8 < base)
		return 0;  /* its header would lie before the aligned base */
	return (*(const uint64_t *)(uintptr_t)(addr - 8) &
	        (LKS_CHUNK_MMAPPED | LKS_CHUNK_NON_MAIN)) == LKS_CHUNK_NON_MAIN ? base : 0;
}

/* The heaps that may start in the read-write anonymous mapping [lo, hi):
 * bases noted, and bases live blocks' headers give. Only ever called while
 * every thread is held still: the mapping is read in place. */
void reach_heaps_in(const struct reach *reach, uint64_t lo, uint64_t hi, uint64_t none_end)
{
	uint32_t taken = __atomic_load_n(&noted_taken, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < taken && i < MAX_NOTED; i++) {
		uint64_t base = __atomic_load_n(&noted[i], __ATOMIC_RELAXED);

		if (base && base >= lo && base < hi)
			check_heap(base, hi, none_end);
	}
	for (uint64_t at = (lo + LKS_HEAP_SPAN - 1) & ~(LKS_HEAP_SPAN - 1); at < hi; ) {
		uint64_t base = heap_of_first_block(reach, at, hi, &at);

		if (base)
			check_heap(base, hi, none_end);
	}
}

void reach_heaps_foreach(void (*visit)(uint64_t start, uint64_t bytes, void *ctx), void *ctx)
{
	for (uint32_t i = 0; i < found_count; i++) {
		bool of_known_arena = found[i].first;

		for (uint32_t j = 0; j < found_count && !of_known_arena; j++)
			of_known_arena = found[j].first && found[j].arena == found[i].arena;
		if (of_known_arena)
			visit(found[i].base, found[i].bytes, ctx);
	}
}
