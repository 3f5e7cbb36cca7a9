/* SPDX-License-Identifier: MIT */
/* Where the scan looks for pointers: the writable segments of loaded objects
 * (never the shim's), each thread's TLS, registers and live stack
 * (stacks.c), and the program's own writable mappings, anonymous or of
 * files, from /proc/thread-self/maps, less the shim's regions, the thread
 * stacks already taken and glibc's malloc heaps (heaps.c). */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "heapnote.h"
#include "reach.h"
#include "roots.h"
#include "sys.h"

#define MAX_MAPS 65536           /* the kernel's default vm.max_map_count */
#define MAX_EXCLUDED 8192

#define MAX_IMAGES 8192          /* more: the vtable heuristic misses some */
/* A global root's thread until clip_globals: the segment's part past its
 * file contents (.bss), zero-filled anonymous memory where pages never
 * touched hold nothing. */
#define ZERO_FILLED UINT32_MAX

/* The loader maps, and the kernel reports, whole pages of this size
 * (sysconf gives the loader's value from the auxiliary vector: no
 * allocation, no lock). */
uint64_t reach_page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t page_down(uint64_t addr)
{
	return addr & ~(reach_page_size() - 1);
}

static uint64_t page_up(uint64_t addr)
{
	return page_down(addr + reach_page_size() - 1);
}

static struct reach_range *excluded(struct reach *reach)
{
	return reach->code + MAX_MAPS; /* after code[] in the same mapping */
}

/* A root or an exclusion that does not fit would make blocks look lost, or
 * the shim's tables look like the program's: the scan gives up instead. */
void reach_add_root(struct reach *reach, uint64_t lo, uint64_t hi, uint32_t kind,
                     uint32_t thread)
{
	if (lo >= hi)
		return;
	if (reach->root_count == MAX_ROOTS)
		reach->overflow = true;
	else
		reach->roots[reach->root_count++] = (struct reach_range){ lo, hi, kind, thread };
}

void reach_exclude(struct reach *reach, uint64_t lo, uint64_t hi)
{
	if (reach->excluded_count == MAX_EXCLUDED)
		reach->overflow = true;
	else
		excluded(reach)[reach->excluded_count++] = (struct reach_range){ lo, hi, 0, 0 };
}

/* ---- loaded objects (before the world stops: dl_iterate_phdr locks) ----- */

static bool covered(const struct dl_phdr_info *info, const ElfW(Phdr) *relro)
{
	uint64_t lo = relro->p_vaddr, hi = lo + relro->p_memsz;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type == PT_LOAD && (p->p_flags & PF_W) && p->p_vaddr <= lo &&
		    p->p_vaddr + p->p_memsz >= hi)
			return true;
	}
	return false;
}

/* The loader maps a writable segment's file contents up to the end of the
 * page holding their last byte, and anonymous zeroed pages past it. */
static void add_segment(struct reach *reach, uint64_t lo, uint64_t hi, uint64_t file_end)
{
	uint64_t zero_from = page_up(file_end);

	if (zero_from >= hi) {
		reach_add_root(reach, lo, hi, LKS_RK_GLOBAL, 0);
		return;
	}
	reach_add_root(reach, lo, zero_from, LKS_RK_GLOBAL, 0);
	reach_add_root(reach, zero_from, hi, LKS_RK_GLOBAL, ZERO_FILLED);
}

/* A writable segment to the end of its last page: the loader maps whole
 * pages, and ld.so's own minimal malloc hands out the rest of the page
 * past its .bss (from _end) before it maps any page of its own. The main
 * program's link map lives there, with the pointer to the global scope
 * that dlopen(RTLD_GLOBAL) mallocs; in any other object those bytes are
 * zeros. Like .bss, the loader's writable memory holds none of the
 * program's mappings (reach.h: loader_lo). */
static void add_writable(struct reach *reach, uint64_t lo, uint64_t hi, uint64_t file_end,
                         bool loader)
{
	hi = page_up(hi);
	if (loader) {
		reach->loader_lo = lo;
		reach->loader_hi = hi;
	}
	add_segment(reach, lo, hi, file_end);
}

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct reach *reach = arg;
	uint64_t loader_base = getauxval(AT_BASE);
	bool shim = false;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];

		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) &&
		    lks_in_shim(info->dlpi_addr + p->p_vaddr))
			shim = true;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + p->p_vaddr, hi = lo + p->p_memsz;

		if (p->p_type != PT_LOAD && p->p_type != PT_GNU_RELRO)
			continue;
		if (p->p_type == PT_LOAD)
			reach_exclude(reach, page_down(lo), page_up(hi));
		if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && reach->code_count < MAX_MAPS)
			reach->code[reach->code_count++] = (struct reach_range){ lo, hi, 0, 0 };
		if (p->p_type == PT_LOAD && reach->image_count < MAX_IMAGES)
			reach->images[reach->image_count++] = (struct reach_range){ lo, hi, 0, 0 };
		if (shim)
			continue;  /* the shim's own data is never a root */
		if (p->p_type == PT_LOAD && (p->p_flags & PF_W))
			add_writable(reach, lo, hi, lo + p->p_filesz,
			             info->dlpi_addr == loader_base);
		/* RELRO is read-only after relocation but holds pointers */
		else if (p->p_type == PT_GNU_RELRO && !covered(info, p))
			reach_add_root(reach, lo, hi, LKS_RK_GLOBAL, 0);
	}
	return 0;
}

int reach_collect_modules(struct reach *reach)
{
	reach->mapped_bytes = (2 * MAX_MAPS + MAX_EXCLUDED + MAX_IMAGES) *
	                      sizeof(struct reach_range);
	reach->readable = lks_map(reach->mapped_bytes);
	if (!reach->readable)
		return -1;
	reach->code = reach->readable + MAX_MAPS;
	reach->images = excluded(reach) + MAX_EXCLUDED;
	dl_iterate_phdr(add_module, reach);
	return 0;
}

/* ---- /proc/self/maps ------------------------------------------------------ */

static const char *parse_hex(const char *at, uint64_t *value)
{
	*value = 0;
	for (;; at++) {
		unsigned digit;

		if (*at >= '0' && *at <= '9')
			digit = (unsigned)(*at - '0');
		else if (*at >= 'a' && *at <= 'f')
			digit = (unsigned)(*at - 'a' + 10);
		else
			return at;
		*value = *value << 4 | digit;
	}
}

static const char *skip_field(const char *at)
{
	while (*at && *at != ' ')
		at++;
	while (*at == ' ')
		at++;
	return at;
}

/* "lo-hi rwxp offset dev inode   path"; anonymous: inode 0 and no path,
 * an [anon:name] or the main thread's [stack]. */
void reach_parse_map_line(const char *line, struct map_line *out)
{
	uint64_t inode;
	const char *at = parse_hex(line, &out->lo);

	at = parse_hex(at + 1, &out->hi);
	at++;
	out->readable = at[0] == 'r';
	out->writable = at[1] == 'w';
	out->inaccessible = at[0] == '-' && at[1] == '-' && at[2] == '-';
	at = skip_field(skip_field(skip_field(at)));
	at = parse_hex(at, &inode);  /* decimal, but only zero matters */
	while (*at == ' ')
		at++;
	out->main_stack = !strcmp(at, "[stack]");
	/* Valgrind too reads writable file mappings, and not devices, whose
	 * reads may hang or have effects */
	out->file = inode != 0 && *at == '/' &&
	            (strncmp(at, "/dev/", 5) != 0 || !strncmp(at, "/dev/zero", 9) ||
	             !strncmp(at, "/dev/shm/", 9));
	out->anonymous = inode == 0 && (*at == '\0' || !strncmp(at, "[anon:", 6) ||
	                                out->main_stack);
}

/* Reads the whole file into buf (NUL-terminated); its length or -1. */
static ssize_t read_maps(char *buf, size_t size)
{
	int fd = lks_sys_open_proc("maps");
	size_t len = 0;
	ssize_t got = 1;

	if (fd < 0)
		return -1;
	while (len + 1 < size && got > 0) {
		got = lks_sys_read(fd, buf + len, size - 1 - len);
		if (got > 0)
			len += (size_t)got;
	}
	lks_sys_close(fd);
	buf[len] = '\0';
	return got < 0 ? -1 : (ssize_t)len;
}

static void add_readable(struct reach *reach, uint64_t lo, uint64_t hi)
{
	struct reach_range *last = reach->readable_count ?
		&reach->readable[reach->readable_count - 1] : NULL;

	if (last && last->hi == lo)
		last->hi = hi;  /* one block may straddle two mappings */
	else if (reach->readable_count < MAX_MAPS)
		reach->readable[reach->readable_count++] = (struct reach_range){ lo, hi, 0, 0 };
}

/* Non-overlapping ranges (duplicates aside) by address. */
REACH_DEFINE_SORT(sort_ranges, struct reach_range, lo)

/* A readable mapping less the shim's regions (sorted): what the scan may
 * read as the program's. A module's segment is a root by its program
 * headers, and the kernel may place a region of the shim's (its exit
 * tables) in a hole the program unmapped there; a block whose free was
 * never seen may lie where one is now. */
static void add_readable_outside(struct reach *reach, const struct reach_range *shim,
                                 uint32_t count, uint64_t lo, uint64_t hi)
{
	uint32_t first = 0, last = count;

	while (first < last) {  /* the first region that ends after lo */
		uint32_t mid = first + (last - first) / 2;

		if (shim[mid].hi <= lo)
			first = mid + 1;
		else
			last = mid;
	}
	for (uint32_t i = first; i < count && shim[i].lo < hi; i++) {
		if (shim[i].lo > lo)
			add_readable(reach, lo, shim[i].lo);
		if (shim[i].hi > lo)
			lo = shim[i].hi;
	}
	if (lo < hi)
		add_readable(reach, lo, hi);
}

/* ---- the program's anonymous mappings ------------------------------------ */

static void exclude_region(uint64_t start, uint64_t bytes, void *ctx)
{
	struct reach *reach = ctx;

	reach_exclude(reach, start, start + bytes);
}

/* The start of the first chunk in [lo, hi) that glibc mapped on its own
 * for a live block (hi if none), and in *skip_to the end of its mapping:
 * that memory is the block, read only if the block is reached. Such a
 * mapping starts prev_size bytes before the chunk, on a page, and spans
 * whole pages (both are checked). Thread heaps are excluded before
 * (heaps.c); another allocator's header is never read. */
static uint64_t heap_free_until(const struct reach *reach, uint64_t lo, uint64_t hi,
                                uint64_t *skip_to)
{
	*skip_to = hi;
	if (!__atomic_load_n(&lks_heap_headers, __ATOMIC_RELAXED) || reach->missed_threads)
		return hi;
	for (uint64_t i = reach_first_from(reach, lo);
	     i < reach->count && reach->nodes[i].addr < hi; i++) {
		const struct reach_node *node = &reach->nodes[i];
		uint64_t chunk = node->addr - 16, offset, size, end;

		if (chunk < lo)
			continue;  /* its header is not in this stretch */
		offset = *(const uint64_t *)(uintptr_t)chunk;
		size = *(const uint64_t *)(uintptr_t)(chunk + 8);
		if ((size & (LKS_CHUNK_MMAPPED | LKS_CHUNK_NON_MAIN)) != LKS_CHUNK_MMAPPED)
			continue;
		size &= ~7ull;
		end = chunk + size;
		if (page_down(chunk - offset) != chunk - offset ||
		    page_down(offset + size) != offset + size ||
		    end < chunk || end < node->addr + NODE_SIZE(node))
			continue;
		/* [lo, hi) may be a run of touched pages: the mapping goes on */
		*skip_to = end < hi ? end : hi;
		return offset > chunk - lo ? lo : chunk - offset;
	}
	return hi;
}

static void add_mapped(struct reach *reach, uint64_t lo, uint64_t hi, uint32_t kind)
{
	while (lo < hi) {
		uint64_t skip_to, until = heap_free_until(reach, lo, hi, &skip_to);

		reach_add_root(reach, lo, until, kind, 0);
		if (skip_to <= lo)
			break;
		lo = skip_to;
	}
}

/* [lo, hi) less every excluded range (modules' own segments among them). */
static void add_unexcluded(struct reach *reach, uint64_t lo, uint64_t hi, uint32_t kind)
{
	const struct reach_range *ex = excluded(reach);

	for (uint32_t i = 0; i < reach->excluded_count && lo < hi; i++) {
		if (ex[i].hi <= lo || ex[i].lo >= hi)
			continue;
		if (ex[i].lo > lo)
			add_unexcluded(reach, lo, ex[i].lo, kind);
		lo = ex[i].hi;
		i = (uint32_t)-1;  /* the rest may overlap what is left */
	}
	if (lo < hi)
		add_mapped(reach, lo, hi, kind);
}

/* Blocks of the C library's, allocated while the shim worked: the program
 * may keep pointers in them (a pthread key's value), last in scan order. */
static void add_behalf_root(uint64_t addr, uint64_t size, void *ctx)
{
	reach_add_root(ctx, addr, addr + size, LKS_RK_RUNTIME, 0);
}

/* Of an anonymous mapping, only the runs of pages ever touched: the rest
 * holds zeros, and reading it would fault in a page each. Once roots run
 * short, the runs are scanned as one with the untouched pages between
 * them: a mapping written in a sparse pattern must not use up the root
 * table. */
struct touched_roots {
	struct reach *reach;
	uint64_t lo, hi;  /* the run being gathered; lo == hi: none */
};

static void touched_flush(struct touched_roots *runs)
{
	if (runs->lo < runs->hi)
		add_unexcluded(runs->reach, runs->lo, runs->hi, LKS_RK_MMAP);
	runs->lo = runs->hi = 0;
}

static void touched_run(uint64_t lo, uint64_t hi, void *ctx)
{
	struct touched_roots *runs = ctx;

	if (runs->lo < runs->hi && runs->reach->root_count >= MAX_ROOTS / 2) {
		runs->hi = hi;
		return;
	}
	touched_flush(runs);
	runs->lo = lo;
	runs->hi = hi;
}

static void add_touched_mmap(struct reach *reach, const struct map_line *map, int pagemap_fd)
{
	struct touched_roots runs = { reach, 0, 0 };

	lks_touched_foreach(pagemap_fd, map->lo, map->hi, touched_run, &runs);
	touched_flush(&runs);
}

/* glibc's thread heaps: their free chunks hold stale pointers, their
 * live blocks are read when reached. Each read-write anonymous mapping
 * with the mapping after it, where a heap keeps its inaccessible rest. */
static void exclude_heaps(struct reach *reach, const char *text, ssize_t len)
{
	struct map_line map, next;

	if (!__atomic_load_n(&lks_heap_headers, __ATOMIC_RELAXED) || reach->missed_threads)
		return;
	reach_heaps_begin();
	for (const char *line = text; line < text + len; line += strlen(line) + 1) {
		const char *after = line + strlen(line) + 1;
		uint64_t none_end;

		reach_parse_map_line(line, &map);
		if (!map.readable || !map.writable || !map.anonymous)
			continue;
		none_end = map.hi;
		if (after < text + len) {
			reach_parse_map_line(after, &next);
			if (next.lo == map.hi && next.inaccessible && next.anonymous)
				none_end = next.hi;
		}
		reach_heaps_in(reach, map.lo, map.hi, none_end);
	}
	reach_heaps_foreach(exclude_region, reach);
}

/* ---- globals the program made unreadable ---------------------------------- */

/* Module segments come from program headers, which say what a segment was
 * linked as: a page the program later made PROT_NONE (a guard page, a
 * sealed table) must not be read. The globals, the only roots so far, are
 * cut to the readable mappings (sorted, adjacent ones merged); what falls
 * outside is counted. Of a .bss, only pages ever touched are kept: its
 * untouched pages are zeros, and reading them would fault each in (C
 * libraries keep tens of KiB there that a short process never uses). */
struct clipping {
	struct reach *reach;
	uint32_t read_at;  /* the next root not read yet */
};

static void keep_global(uint64_t lo, uint64_t hi, void *ctx)
{
	struct clipping *clip = ctx;

	if (clip->reach->root_count >= clip->read_at)
		clip->reach->overflow = true;  /* would overwrite roots not read yet */
	else
		reach_add_root(clip->reach, lo, hi, LKS_RK_GLOBAL, 0);
}

static void clip_globals(struct reach *reach, int pagemap_fd)
{
	uint32_t count = reach->root_count;
	struct clipping clip = { reach, MAX_ROOTS - count };

	memmove(&reach->roots[clip.read_at], reach->roots, count * sizeof(*reach->roots));
	reach->root_count = 0;
	for (; clip.read_at < MAX_ROOTS; ) {
		struct reach_range root = reach->roots[clip.read_at++];
		uint64_t kept = 0;

		for (uint32_t map = 0; map < reach->readable_count; map++) {
			const struct reach_range *r = &reach->readable[map];
			uint64_t lo = root.lo > r->lo ? root.lo : r->lo;
			uint64_t hi = root.hi < r->hi ? root.hi : r->hi;

			if (lo >= hi)
				continue;
			if (root.thread == ZERO_FILLED)
				lks_touched_foreach(pagemap_fd, lo, hi, keep_global, &clip);
			else
				keep_global(lo, hi, &clip);
			kept += hi - lo;
		}
		reach->unreadable_root_bytes += root.hi - root.lo - kept;
	}
}

/* The readable mappings less the shim's regions, which are excluded from
 * shim_first on; each line of text is cut at its end. */
static void collect_readable(struct reach *reach, char *text, uint32_t shim_first)
{
	struct reach_range *shim = excluded(reach) + shim_first;
	uint32_t count = reach->excluded_count - shim_first;
	struct map_line map;

	for (uint32_t i = 0; i < count; i++)
		shim[i].hi = page_up(shim[i].hi);  /* mapped in whole pages */
	sort_ranges(shim, count);
	for (char *line = text; *line; ) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		reach_parse_map_line(line, &map);
		if (map.readable)
			add_readable_outside(reach, shim, count, map.lo, map.hi);
		line = end ? end + 1 : line + strlen(line);
	}
}

int reach_collect_maps(struct reach *reach)
{
	size_t size = 16u << 20;
	char *text = lks_map(size);
	ssize_t len;
	struct map_line map;
	int pagemap_fd;
	uint32_t shim_first;

	if (!text)
		return -1;
	len = read_maps(text, size);
	if (len >= 0 && (size_t)len + 1 >= size)
		errno = EFBIG;
	if (len < 0 || (size_t)len + 1 >= size) {
		lks_unmap(text, size);  /* errno kept: a munmap that works leaves it */
		return -1;
	}
	shim_first = reach->excluded_count;
	lks_arena_foreach(exclude_region, reach);
	exclude_region((uint64_t)(uintptr_t)text, size, reach);
	collect_readable(reach, text, shim_first);
	pagemap_fd = lks_pagemap_open();
	clip_globals(reach, pagemap_fd);
	reach_add_stacks(reach, text, len);
	reach_add_thread_words(reach);
	exclude_heaps(reach, text, len);
	for (char *line = text; line < text + len; line += strlen(line) + 1) {
		reach_parse_map_line(line, &map);
		if (!map.readable || !map.writable)
			continue;
		if (map.anonymous && !reach_dead_thread_stack(reach, &map, pagemap_fd))
			add_touched_mmap(reach, &map, pagemap_fd);
		else if (map.file)
			add_unexcluded(reach, map.lo, map.hi, LKS_RK_FILE);
	}
	lks_pagemap_close(pagemap_fd);
	reach_behalf_foreach(add_behalf_root, reach);
	lks_unmap(text, size);
	return 0;
}
