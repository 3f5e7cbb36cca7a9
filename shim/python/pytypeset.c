/* SPDX-License-Identifier: MIT */
/* Which pointers are type objects, proven for one snapshot: a static type
 * lies in a loaded object's writable segment, a heap type is a live block
 * of the size of one; either way its own type is `type` or a proven
 * metatype, and its flags say it is ready. Nothing else is followed, and
 * every read goes through lks_py_peek (docs/PYTHON.md, "Typed objects"). */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include "pyroom.h"
#include "pytypes.h"

#define CACHE_SLOTS (1u << 16)
#define REFCOUNT_MAX 0xffffffffu /* 3.12's immortal count; no real one is higher */
#define METATYPE_DEPTH 3   /* a metaclass of a metaclass of a metaclass */
#define TYPE_HEADER (PYT_TP_FLAGS + 8)

static uint64_t mix(uint64_t addr)
{
	return (addr >> 3) * 0x9e3779b97f4a7c15u >> 32;
}

static int note_writable(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct pytype_set *set = arg;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) ||
		    set->range_count == PYT_RANGES_MAX)
			continue;
		set->ranges[set->range_count++] = (struct pytype_range){
			info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz };
	}
	return 0;
}

/* By start, for a binary search; segments of loaded objects never overlap. */
static void sort_ranges(struct pytype_set *set)
{
	for (uint32_t i = 1; i < set->range_count; i++) {
		struct pytype_range range = set->ranges[i];
		uint32_t j = i;

		for (; j > 0 && set->ranges[j - 1].start > range.start; j--)
			set->ranges[j] = set->ranges[j - 1];
		set->ranges[j] = range;
	}
}

static bool in_static_data(const struct pytype_set *set, uint64_t addr)
{
	uint32_t lo = 0, hi = set->range_count;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (addr < set->ranges[mid].start)
			hi = mid;
		else if (addr >= set->ranges[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The table is mapped again only when it must grow: a fresh mapping costs
 * a page fault per page touched, clearing one already touched does not. */
static bool heap_table_room(struct pytype_set *set, uint64_t slots)
{
	size_t bytes = slots * sizeof(uint64_t);

	if (bytes > set->heap_bytes) {
		uint64_t *table = lks_map(bytes);

		if (!table)
			return false;
		if (set->heap_types)
			lks_unmap(set->heap_types, set->heap_bytes);
		set->heap_types = table;
		set->heap_bytes = bytes;
	} else {
		memset(set->heap_types, 0, bytes);
	}
	set->heap_mask = slots - 1;
	return true;
}

bool pytype_set_blocks(struct pytype_set *set, const struct pytype_block *blocks,
                       uint64_t count)
{
	uint64_t big = 0, slots = 1024;

	for (uint64_t i = 0; i < count; i++)
		big += blocks[i].size >= set->min_type_block;
	while (slots < big * 2)
		slots *= 2;
	if (!heap_table_room(set, slots))
		return false;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t start = PYT_BLOCK_ADDR(&blocks[i]) + PYT_GC_HEAD, at;

		if (blocks[i].size < set->min_type_block)
			continue;
		for (at = mix(start) & set->heap_mask; set->heap_types[at] &&
		     set->heap_types[at] != start; at = (at + 1) & set->heap_mask)
			;
		set->heap_types[at] = start;
	}
	return true;
}

static bool is_heap_type_block(const struct pytype_set *set, uint64_t candidate)
{
	for (uint64_t at = mix(candidate) & set->heap_mask; set->heap_types[at];
	     at = (at + 1) & set->heap_mask)
		if (set->heap_types[at] == candidate)
			return true;
	return false;
}

/* PyType_Type as the offsets here expect it: its own type, named "type",
 * ready, collected, a metatype, no heap type. */
static bool check_type_type(struct pytype_set *set)
{
	uint64_t head[TYPE_HEADER / 8];
	char name[5];
	uint64_t want = PYTF_READY | PYTF_HAVE_GC | PYTF_TYPE_SUBCLASS;

	if (!set->type_type || !lks_py_peek(head, set->type_type, sizeof(head)) ||
	    head[1] != set->type_type || (head[PYT_TP_FLAGS / 8] & want) != want ||
	    (head[PYT_TP_FLAGS / 8] & PYTF_HEAPTYPE) || head[4] < 256 || head[4] > 4096 ||
	    !lks_py_peek(name, head[3], sizeof(name)) || memcmp(name, "type", 5) != 0)
		return false;
	set->min_type_block = PYT_GC_HEAD + head[4];
	return true;
}

/* What the last snapshot proved may have been freed since: its types and
 * verdicts are dropped (the cache's by the epoch, without a write). */
static void forget_proofs(struct pytype_set *set)
{
	set->types.len = 0;
	set->types.failed = false;
	set->names.len = 0;
	set->names.failed = false;
	set->range_count = 0;
	set->cache_used = 0;
	if (++set->epoch == 0)
		set->epoch = 1;
}

bool pytype_set_begin(struct pytype_set *set)
{
	uint32_t minor = lks_pyrt.version >> 16 & 0xff;

	forget_proofs(set);
	set->type_type = lks_pyrt.type_type;
	set->pre_header_flags = PYTF_MANAGED_DICT | (minor >= 12 ? PYTF_MANAGED_WEAKREF : 0);
	if (!check_type_type(set))
		return false;
	dl_iterate_phdr(note_writable, set);
	sort_ranges(set);
	if (!set->cache) {
		set->cache_bytes = CACHE_SLOTS * sizeof(*set->cache);
		set->cache = lks_map(set->cache_bytes);
		set->cache_mask = CACHE_SLOTS - 1;
	}
	return set->cache != NULL;
}

void pytype_set_free(struct pytype_set *set)
{
	if (set->cache)
		lks_unmap(set->cache, set->cache_bytes);
	if (set->heap_types)
		lks_unmap(set->heap_types, set->heap_bytes);
	lks_buf_free(&set->types);
	lks_buf_free(&set->names);
}

struct pytype_info *pytype_set_info(struct pytype_set *set, uint32_t id)
{
	return (struct pytype_info *)(void *)set->types.bytes + id - 1;
}

/* tp_name, bounded, read up to a page end at a time (a short name can end
 * just before an unmapped page). Printable bytes only; a name cut short is
 * cut before a character, never inside one. */
static bool copy_name(struct pytype_set *set, uint64_t at, uint32_t *name_at)
{
	char name[PYT_NAME_MAX];
	size_t len = 0;
	char *end = NULL;

	while (!end && len < sizeof(name)) {
		size_t chunk = 4096 - ((at + len) & 4095);

		if (chunk > sizeof(name) - len)
			chunk = sizeof(name) - len;
		if (!lks_py_peek(name + len, at + len, chunk))
			return false;
		end = memchr(name + len, '\0', chunk);
		len += chunk;
	}
	if (end) {
		len = (size_t)(end - name);
	} else {
		len = sizeof(name) - 1;
		while (len && ((unsigned char)name[len] & 0xc0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	if (len == 0)
		return false;
	name[len] = '\0';
	*name_at = (uint32_t)set->names.len;
	return lks_buf_append(&set->names, name, len + 1) != NULL;
}

static uint32_t prove_at(struct pytype_set *set, uint64_t candidate, int depth);

/* The type's own type must be `type`, or a proven type that makes types. */
static bool made_by_metatype(struct pytype_set *set, uint64_t metatype, int depth)
{
	uint32_t id;

	if (metatype == set->type_type)
		return true;
	if (depth >= METATYPE_DEPTH || !(id = prove_at(set, metatype, depth + 1)))
		return false;
	return pytype_set_info(set, id)->flags & PYTF_TYPE_SUBCLASS;
}

static uint32_t admit(struct pytype_set *set, uint64_t candidate, bool heap, int depth)
{
	uint64_t head[TYPE_HEADER / 8];
	struct pytype_info info = { .addr = candidate };
	uint64_t pre;

	if (!lks_py_peek(head, candidate, sizeof(head)) || head[0] == 0)
		return 0;
	info.flags = head[PYT_TP_FLAGS / 8];
	info.basicsize = head[4];
	if (!(info.flags & PYTF_READY) || !(info.flags & PYTF_HEAPTYPE) != !heap ||
	    info.basicsize < 16 || info.basicsize > (1u << 24) ||
	    !made_by_metatype(set, head[1], depth) || !copy_name(set, head[3], &info.name_at))
		return 0;
	pre = info.flags & set->pre_header_flags ? PYT_PRE_HEADER : 0;
	info.object_offset = (uint32_t)((info.flags & PYTF_HAVE_GC ? PYT_GC_HEAD : 0) + pre);
	if (!lks_buf_append(&set->types, &info, sizeof(info)))
		return 0;
	return (uint32_t)(set->types.len / sizeof(info));
}

/* Only what was read is kept: a pointer that is neither in a writable
 * segment nor a heap type's block costs less to reject again. A full
 * cache still answers; what it cannot keep is proven again. */
static void remember(struct pytype_set *set, uint64_t candidate, uint32_t id)
{
	uint64_t at = mix(candidate) & set->cache_mask;

	if (set->cache_used >= set->cache_mask / 4 * 3)
		return;
	while (set->cache[at].epoch == set->epoch)
		at = (at + 1) & set->cache_mask;
	set->cache[at].addr = candidate;
	set->cache[at].verdict = id;
	set->cache[at].epoch = set->epoch;
	set->cache_used++;
}

/* Where a type may be is asked first: both tables are small and stay in
 * the cache, the proven ones are not. */
static uint32_t prove_at(struct pytype_set *set, uint64_t candidate, int depth)
{
	bool heap;
	uint32_t id;

	if (!lks_py_plausible(candidate))
		return 0;
	heap = is_heap_type_block(set, candidate);
	if (!heap && !in_static_data(set, candidate))
		return 0;
	for (uint64_t at = mix(candidate) & set->cache_mask; set->cache[at].epoch == set->epoch;
	     at = (at + 1) & set->cache_mask)
		if (set->cache[at].addr == candidate)
			return set->cache[at].verdict;
	id = admit(set, candidate, heap, depth);
	remember(set, candidate, id);
	return id;
}

/* A type proven in this snapshot is asked for first among the recent
 * ones: one load and two compares, where the tables' probes and the
 * segments' search took about 100 instructions a block. */
uint32_t pytype_set_prove(struct pytype_set *set, uint64_t candidate)
{
	uint32_t slot = (uint32_t)(mix(candidate) & (PYT_RECENT - 1)), id;

	if (set->recent[slot].addr == candidate && set->recent[slot].epoch == set->epoch)
		return set->recent[slot].id;
	id = prove_at(set, candidate, 0);
	if (id) {
		set->recent[slot].addr = candidate;
		set->recent[slot].id = id;
		set->recent[slot].epoch = set->epoch;
	}
	return id;
}

/* An object may start 0, 16 or 32 bytes into its block (past the GC
 * header and pre-header its type says it has): where its type puts its
 * objects is the only place it is believed. */
uint32_t pytype_set_classify(struct pytype_set *set, const uint8_t *head, uint64_t len,
                             uint64_t size, uint32_t *at)
{
	for (uint32_t start = 0; start + 16 <= len; start += 16) {
		uint64_t refcount, type;
		const struct pytype_info *info;
		uint32_t id;

		__builtin_memcpy(&refcount, head + start, sizeof(refcount));
		__builtin_memcpy(&type, head + start + 8, sizeof(type));
		if (refcount - 1 >= REFCOUNT_MAX)
			continue;  /* 0: a dead object on a free list, or no object */
		id = pytype_set_prove(set, type);
		if (!id)
			continue;
		info = pytype_set_info(set, id);
		/* a compact str is shorter than its type's basic size says */
		if (info->object_offset != start ||
		    size < start + (info->addr == lks_pyrt.str_type ?
		                    lks_pyrt.layout.str_ascii_data + 1 : info->basicsize))
			continue;
		*at = start;
		return id;
	}
	return 0;
}
