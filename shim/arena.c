/* SPDX-License-Identifier: MIT */
/* Memory for the shim's own tables and buffers, straight from mmap so that
 * none of it ever shows up in the program's heap or in its own report. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

#define MAX_REGIONS 4096

static uint64_t mapped_bytes; /* atomic; reported as tool_bytes */
static uint64_t regions_unlisted; /* atomic */

/* Every region mapped here, so the reachability scan can leave the shim's
 * own tables out of the program's anonymous mappings (the kernel merges
 * adjacent ones, so a maps line alone cannot tell them apart). A slot is
 * free when its start is 0; claimed with a CAS, cleared on unmap. */
struct region {
	uint64_t start; /* atomic */
	uint64_t bytes;
};
static struct region regions[MAX_REGIONS];
/* atomic: slots below it may be taken. The walks stop there: reading the
 * whole table (64 KiB, never touched past its first slots) cost a short
 * process 15 page faults. */
static uint32_t regions_used;

static void remember(void *ptr, size_t bytes)
{
	for (uint32_t i = 0; i < MAX_REGIONS; i++) {
		uint64_t free_slot = 0;
		uint32_t used = __atomic_load_n(&regions_used, __ATOMIC_RELAXED);

		/* relaxed: only the scan reads these, with the world stopped */
		if (__atomic_compare_exchange_n(&regions[i].start, &free_slot,
		                                (uint64_t)(uintptr_t)ptr, false,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_store_n(&regions[i].bytes, bytes, __ATOMIC_RELAXED);
			while (used < i + 1 &&
			       !__atomic_compare_exchange_n(&regions_used, &used, i + 1, false,
			                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				;
			return;
		}
	}
	/* table full: the region may be scanned as the program's; counted */
	__atomic_fetch_add(&regions_unlisted, 1, __ATOMIC_RELAXED);
}

static void forget(void *ptr)
{
	uint32_t used = __atomic_load_n(&regions_used, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < used; i++)
		if (__atomic_load_n(&regions[i].start, __ATOMIC_RELAXED) ==
		    (uint64_t)(uintptr_t)ptr) {
			__atomic_store_n(&regions[i].start, 0, __ATOMIC_RELAXED);
			return;
		}
}

void lks_arena_foreach(void (*visit)(uint64_t start, uint64_t bytes, void *ctx),
                       void *ctx)
{
	uint32_t used = __atomic_load_n(&regions_used, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < used; i++) {
		uint64_t start = __atomic_load_n(&regions[i].start, __ATOMIC_RELAXED);

		if (start)
			visit(start, __atomic_load_n(&regions[i].bytes, __ATOMIC_RELAXED), ctx);
	}
}

bool lks_arena_holds(uint64_t addr)
{
	uint32_t used = __atomic_load_n(&regions_used, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < used; i++) {
		uint64_t start = __atomic_load_n(&regions[i].start, __ATOMIC_RELAXED);

		if (start && addr - start < __atomic_load_n(&regions[i].bytes, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

uint64_t lks_arena_unlisted(void)
{
	return __atomic_load_n(&regions_unlisted, __ATOMIC_RELAXED);
}

static void *map_with(size_t bytes, int extra_flags)
{
	int sharing = extra_flags & MAP_SHARED ? 0 : MAP_PRIVATE;
	void *ptr = lks_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	                         sharing | MAP_ANONYMOUS | extra_flags, -1, 0);

	if (ptr == MAP_FAILED)
		return NULL;
	__atomic_fetch_add(&mapped_bytes, bytes, __ATOMIC_RELAXED);
	remember(ptr, bytes);
	return ptr;
}

void *lks_map(size_t bytes)
{
	return map_with(bytes, 0);
}

/* Every page at once: for a buffer about to be filled whole, one system
 * call instead of a page fault per page (half the time on this machine). */
void *lks_map_filled(size_t bytes)
{
	return map_with(bytes, MAP_POPULATE);
}

/* Untouched pages of a reservation cost no memory: tables reserve their
 * maximum once and never move, which keeps them lock-free. */
void *lks_reserve(size_t bytes)
{
	return map_with(bytes, MAP_NORESERVE);
}

/* Shared with fork children (their notes for the parent): listed as the
 * shim's like the rest, or the exit scan would read it as the program's,
 * a page fault per page even where nothing was written (shared memory
 * has no zero page). */
void *lks_map_shared(size_t bytes)
{
	return map_with(bytes, MAP_SHARED);
}

static void *growth_with(size_t bytes, int extra_flags)
{
	void *ptr;

	if (!lks_aslimit_allows(bytes))
		return NULL;
	ptr = map_with(bytes, extra_flags);
	if (!ptr)
		lks_aslimit_failed(errno);
	return ptr;
}

void *lks_map_growth(size_t bytes)
{
	return growth_with(bytes, 0);
}

/* One pass of the kernel's instead of a fault per page, or two where the
 * first access to a page reads it (the zero page) and the next writes. */
void *lks_map_growth_committed(size_t bytes)
{
	return growth_with(bytes, MAP_POPULATE);
}

void *lks_chunk(void **slot, size_t bytes)
{
	/* acquire: the chunk's zeroed pages before its pointer */
	void *have = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	void *made;

	if (lks_likely(have != NULL))
		return have;
	made = lks_map_growth(bytes);
	if (!made)
		return NULL;
	/* release: what the winner writes after is ordered after the mapping */
	if (__atomic_compare_exchange_n(slot, &have, made, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE))
		return made;
	lks_unmap(made, bytes);
	return have;
}

void lks_unmap(void *ptr, size_t bytes)
{
	if (!ptr)
		return;
	forget(ptr);
	if (lks_sys_munmap(ptr, bytes) == 0)
		__atomic_fetch_sub(&mapped_bytes, bytes, __ATOMIC_RELAXED);
}

/* Pages of our regions the process really holds: present and mapped only
 * here, per /proc/self/pagemap. Not mincore: pages that were only read map
 * the shared zero page, which mincore counts and RSS does not. */
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_EXCLUSIVE (1ull << 56)

struct resident {
	int pagemap_fd;
	uint64_t page, bytes;
};

static void add_resident(uint64_t start, uint64_t bytes, void *ctx)
{
	struct resident *res = ctx;
	uint64_t entries[512];
	uint64_t first = start / res->page, pages = bytes / res->page;

	for (uint64_t done = 0; done < pages; ) {
		uint64_t want = pages - done < 512 ? pages - done : 512;
		ssize_t got = lks_sys_pread(res->pagemap_fd, entries, want * sizeof(uint64_t),
		                            (off_t)((first + done) * sizeof(uint64_t)));

		if (got <= 0)
			return;  /* unmapped meanwhile by a table that grew */
		for (uint64_t i = 0; i < (uint64_t)got / sizeof(uint64_t); i++)
			if ((entries[i] & PAGEMAP_PRESENT) && (entries[i] & PAGEMAP_EXCLUSIVE))
				res->bytes += res->page;
		done += (uint64_t)got / sizeof(uint64_t);
	}
}

/* 0 when /proc cannot tell (not mounted, no fd left): "not measured".
 * thread-self: once the main thread has exited, /proc/self's has no memory. */
uint64_t lks_arena_resident(void)
{
	struct resident res = {
		lks_sys_openat(AT_FDCWD, "/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC, 0),
		(uint64_t)sysconf(_SC_PAGESIZE), 0 };

	if (res.pagemap_fd < 0)
		return 0;
	lks_arena_foreach(add_resident, &res);
	lks_sys_close(res.pagemap_fd);
	return res.bytes;
}

uint64_t lks_mapped_bytes(void)
{
	return __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
}
