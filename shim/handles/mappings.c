/* SPDX-License-Identifier: MIT */
/* mmap interposers: the program's own mappings, tracked like blocks. libc's
 * malloc and the loader map memory without going through these names, and
 * neither do the shim's own tables (sys.c), so neither shows up. An unmap
 * of part of a mapping leaves the rest recorded, in one or two pieces. */
#undef _FILE_OFFSET_BITS  /* define mmap, not a redirect to mmap64 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "handles.h"
#include "maptable.h"

static uint64_t page_round(uint64_t bytes)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (bytes + page - 1) & ~(page - 1);
}

static void record_mapping(void *addr, size_t len, uint32_t trace)
{
	struct lks_map_entry replaced;

	/* one unmapped unseen (or the old place of a MREMAP_FIXED move) may
	 * have left a record at the same start */
	lks_mapping_forget((uint64_t)(uintptr_t)addr, &replaced);
	lks_mapping_record((uint64_t)(uintptr_t)addr, page_round(len), trace);
}

/* With lks_busy set; keeps errno as the real call left it. */
static void record_new(void *addr, size_t len)
{
	int saved_errno = errno;

	record_mapping(addr, len, lks_capture_trace());
	errno = saved_errno;
}

/* MAP_FIXED replaces whatever its range held. Inside one mapping already
 * recorded (a reservation: V8 remaps its builtins into its code range, a
 * JVM commits its heap) only the pages change: that mapping keeps the
 * range and its site, and its unmap, whole, leaves nothing recorded
 * behind. Otherwise what the range held is cut and the new one recorded.
 * With lks_busy set; keeps errno as the real call left it. */
static void record_placed(void *addr, size_t len)
{
	uint64_t start = (uint64_t)(uintptr_t)addr, end = start + page_round(len);
	int saved_errno = errno;

	if (!lks_mapping_contains(start, end)) {
		lks_mapping_cut(start, end);
		lks_mapping_record(start, end - start, lks_capture_trace());
	}
	errno = saved_errno;
}

/* The shim's own maps go through sys.c and never come here; the libraries
 * it calls (libunwind for unwind_check=1, the loader under dl_iterate_phdr,
 * a thread stack from pthread_create) map inside its quiet scope:
 * lks_enter_started turns both away, so only the program's mappings are
 * recorded. */
#define MMAP_LIKE(name)                                                   \
	LKS_EXPORT void *name(void *addr, size_t len, int prot, int flags, int fd, \
	                      off_t off)                                  \
	{                                                                 \
		void *result;                                             \
		if (lks_unlikely(!lks_enter_started()))                   \
			return MAP_NOW(name, addr, len, prot, flags, fd, off); \
		result = MAP_NOW(name, addr, len, prot, flags, fd, off);  \
		if (result != MAP_FAILED && (flags & MAP_FIXED))          \
			record_placed(result, len);                       \
		else if (result != MAP_FAILED)                            \
			record_new(result, len);                          \
		lks_leave();                                              \
		return result;                                            \
	}
#define MAP_NOW(name, ...) LKS_FORWARD_SYS(lks_sys_mmap(__VA_ARGS__), name, __VA_ARGS__)

MMAP_LIKE(mmap)
MMAP_LIKE(mmap64)

/* Forgets first (another thread may map the range once it is free): a
 * mapping's head, middle or tail unmapped leaves the rest recorded. */
LKS_EXPORT int munmap(void *addr, size_t len)
{
	uint64_t start = (uint64_t)(uintptr_t)addr;

	if (start % (uint64_t)sysconf(_SC_PAGESIZE) == 0)  /* else it fails */
		lks_mapping_cut(start, start + page_round(len));
	return LKS_FORWARD_SYS(lks_sys_munmap(addr, len), munmap, addr, len);
}

/* A recorded mapping keeps its site when it moves or grows (and stays
 * recorded where it was with MREMAP_DONTUNMAP); others stay unrecorded.
 * MREMAP_FIXED replaces whatever the target range held. */
LKS_EXPORT void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...)
{
	struct lks_map_entry old;
	void *new_addr = NULL, *result;
	bool had;
	int saved_errno;
	va_list args;

	va_start(args, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(args, void *);
	va_end(args);
	had = lks_mapping_forget((uint64_t)(uintptr_t)old_addr, &old);
	result = LKS_FORWARD_SYS(lks_sys_mremap(old_addr, old_len, new_len, flags, new_addr),
	                         mremap, old_addr, old_len, new_len, flags, new_addr);
	saved_errno = errno;
	if (result != MAP_FAILED && (flags & MREMAP_FIXED))
		lks_mapping_cut((uint64_t)(uintptr_t)result,
		                (uint64_t)(uintptr_t)result + page_round(new_len));
	if (had && (result == MAP_FAILED || (flags & MREMAP_DONTUNMAP)))
		lks_mapping_record(old.addr, old.size, old.trace);
	if (had && result != MAP_FAILED)
		record_mapping(result, new_len, old.trace);
	errno = saved_errno;
	return result;
}
