/* SPDX-License-Identifier: MIT */
/* mmap interposers: the program's own mappings, tracked like blocks. libc's
 * malloc and the loader map memory without going through these names, and
 * the shim's own tables are mapped while lks_busy is set, so neither shows
 * up. Only a mapping's start is known: unmapping its head moves the record,
 * other partial unmaps are caught when the snapshot reads /proc/self/maps. */
#undef _FILE_OFFSET_BITS  /* define mmap, not a redirect to mmap64 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

	/* MAP_FIXED may have replaced a mapping recorded at the same start */
	lks_mapping_forget((uint64_t)(uintptr_t)addr, &replaced);
	lks_mapping_record((uint64_t)(uintptr_t)addr, page_round(len), trace);
}

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

/* caller: the shim's own maps are never the program's, busy or not. */
static void *map_now(mmap_fn real, uint64_t caller, void *addr, size_t len, int prot,
                     int flags, int fd, off_t off)
{
	void *result;
	int saved_errno;

	if (lks_unlikely(!real))  /* the shim's first tables, before dlsym ran */
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (lks_unlikely(lks_in_shim(caller) || !lks_enter()))
		return real(addr, len, prot, flags, fd, off);
	result = real(addr, len, prot, flags, fd, off);
	if (result != MAP_FAILED) {
		saved_errno = errno;
		record_mapping(result, len, lks_capture_trace());
		errno = saved_errno;
	}
	lks_leave();
	return result;
}

static mmap_fn real_mmap(mmap_fn *slot)
{
	return lks_have_real((void *const *)slot) ? *slot : NULL;
}

LKS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_now(real_mmap(&lks_real.mmap), (uint64_t)__builtin_return_address(0),
	               addr, len, prot, flags, fd, off);
}

LKS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_now(real_mmap(&lks_real.mmap64), (uint64_t)__builtin_return_address(0),
	               addr, len, prot, flags, fd, off);
}

/* Forgets first (another thread may map the range once it is free); a head
 * unmapped alone leaves the rest recorded at its new start. */
LKS_EXPORT int munmap(void *addr, size_t len)
{
	struct lks_map_entry old;
	uint64_t start = (uint64_t)(uintptr_t)addr, cut = page_round(len);

	if (lks_mapping_forget(start, &old) && cut < old.size)
		lks_mapping_record(start + cut, old.size - cut, old.trace);
	if (lks_unlikely(!lks_have_real((void *const *)&lks_real.munmap)))
		return (int)syscall(SYS_munmap, addr, len);
	return lks_real.munmap(addr, len);
}

/* A recorded mapping keeps its site when it moves or grows; others stay
 * unrecorded. */
LKS_EXPORT void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...)
{
	struct lks_map_entry old;
	void *new_addr = NULL, *result;
	bool had;
	va_list args;

	va_start(args, flags);
	if (flags & MREMAP_FIXED)
		new_addr = va_arg(args, void *);
	va_end(args);
	if (!lks_have_real((void *const *)&lks_real.mremap)) {
		errno = ENOSYS;
		return MAP_FAILED;
	}
	had = lks_mapping_forget((uint64_t)(uintptr_t)old_addr, &old);
	result = lks_real.mremap(old_addr, old_len, new_len, flags, new_addr);
	if (had && result != MAP_FAILED)
		record_mapping(result, new_len, old.trace);
	else if (had)
		lks_mapping_record(old.addr, old.size, old.trace);
	return result;
}
