/* SPDX-License-Identifier: MIT */
/* The scan's view of the heap: every live block copied from the live table
 * into one array sorted by address, and a per-page index over it, so that
 * finding the block a word points into costs a few cache misses. */
#include <string.h>

#include "reach.h"

/* Blocks are gathered straight into per-granule buckets (the granule is
 * the address's bits 30 and up), then each bucket is radix-sorted on bits
 * 4..29 in two passes: three passes over the array in all, not five. */
#define GRANULE_BITS 30
#define GRANULE_COUNT (1u << (47 - GRANULE_BITS)) /* user space on x86-64 */
#define DIGIT_BITS 13
#define DIGITS (1u << DIGIT_BITS)
#define SMALL_BUCKET 64 /* sorted by insertion */
/* Up to this, merged: the radix passes' histogram is 64 KiB of .bss, which
 * a short process would fault in page by page for a few hundred blocks */
#define MERGED_BUCKET DIGITS
struct filler {
	struct reach *reach;
	uint64_t *next;       /* per granule: where its next block goes */
	uint64_t *end;        /* per granule: one past its room */
	uint64_t total;
};

/* A heap lies in a few granules (the brk heap, the mmap area): the loops
 * visit those only, in address order, so that the per-granule arrays,
 * 1 MiB each, are not written whole (page faults, costly in a process
 * with little heap). Static: the world is stopped, one scan at a time. */
static uint64_t used_granules[GRANULE_COUNT / 64];
/* Bit w: used_granules[w] may have bits set. Only the words it names are
 * read and cleared: the whole bitmap is 16 KiB of .bss, four faults in a
 * short process. */
static uint64_t used_words[GRANULE_COUNT / 64 / 64];

static bool word_used(uint64_t word)
{
	return used_words[word / 64] >> (word % 64) & 1;
}

static void granules_clear(void)
{
	for (uint64_t word = 0; word < GRANULE_COUNT / 64; word++)
		if (word_used(word))
			used_granules[word] = 0;
	memset(used_words, 0, sizeof(used_words));
}

/* The first granule at or after `from` that holds blocks; GRANULE_COUNT
 * when none. */
static uint64_t next_used_granule(uint64_t from)
{
	for (uint64_t word = from / 64; word < GRANULE_COUNT / 64; word++) {
		uint64_t bits = word_used(word) ? used_granules[word] : 0;

		if (word == from / 64)
			bits &= ~0ull << (from % 64);
		if (bits)
			return word * 64 + (uint64_t)__builtin_ctzll(bits);
	}
	return GRANULE_COUNT;
}

#define FOR_EACH_USED_GRANULE(g) \
	for (uint64_t g = next_used_granule(0); g < GRANULE_COUNT; g = next_used_granule(g + 1))

static uint64_t granule_of(uint64_t addr)
{
	uint64_t granule = addr >> GRANULE_BITS;

	return granule < GRANULE_COUNT ? granule : GRANULE_COUNT - 1;
}

static void count_block(const struct lks_block *block, void *ctx)
{
	struct filler *fill = ctx;
	uint64_t granule = granule_of(block->addr);

	fill->end[granule]++;
	used_granules[granule / 64] |= 1ull << (granule % 64);
	used_words[granule / 64 / 64] |= 1ull << (granule / 64 % 64);
	fill->total++;
}

static void copy_block(const struct lks_block *block, void *ctx)
{
	struct filler *fill = ctx;
	uint64_t granule = granule_of(block->addr);

	if (fill->next[granule] == fill->end[granule])
		return;  /* allocated by a thread that did not stop: not classified */
	fill->reach->nodes[fill->next[granule]++] = (struct reach_node){ block->addr,
		block->size | (uint64_t)block->family << 56, 0, block->trace, block->seq };
}

/* Also puts right the rare blocks closer than 16 bytes, which the radix
 * passes (from bit 4) leave in any order: nearly sorted input, linear. */
REACH_DEFINE_SORT(insertion_sort, struct reach_node, addr)

static void radix_pass(const struct reach_node *from, struct reach_node *to,
                       uint64_t count, unsigned shift)
{
	static uint64_t histogram[DIGITS];  /* world stopped: one scan at a time */
	uint64_t sum = 0;

	for (uint32_t d = 0; d < DIGITS; d++)
		histogram[d] = 0;
	for (uint64_t i = 0; i < count; i++)
		histogram[(from[i].addr >> shift) & (DIGITS - 1)]++;
	for (uint32_t d = 0; d < DIGITS; d++) {
		uint64_t here = histogram[d];

		histogram[d] = sum;
		sum += here;
	}
	for (uint64_t i = 0; i < count; i++)
		to[histogram[(from[i].addr >> shift) & (DIGITS - 1)]++] = from[i];
}

static void merge_runs(const struct reach_node *from, struct reach_node *to, uint64_t count,
                       uint64_t width)
{
	for (uint64_t lo = 0; lo < count; lo += 2 * width) {
		uint64_t mid = lo + width < count ? lo + width : count;
		uint64_t hi = lo + 2 * width < count ? lo + 2 * width : count;
		uint64_t a = lo, b = mid, out = lo;

		while (a < mid && b < hi)
			to[out++] = from[b].addr < from[a].addr ? from[b++] : from[a++];
		while (a < mid)
			to[out++] = from[a++];
		while (b < hi)
			to[out++] = from[b++];
	}
}

static void merge_sort(struct reach_node *nodes, struct reach_node *spare, uint64_t count)
{
	struct reach_node *from = nodes, *to = spare, *swap;

	for (uint64_t width = 1; width < count; width *= 2) {
		merge_runs(from, to, count, width);
		swap = from;
		from = to;
		to = swap;
	}
	if (from != nodes)
		memcpy(nodes, from, count * sizeof(*nodes));
}

static void sort_bucket(struct reach_node *nodes, struct reach_node *spare, uint64_t count)
{
	if (count > SMALL_BUCKET && count <= MERGED_BUCKET) {
		merge_sort(nodes, spare, count);
		return;
	}
	if (count > SMALL_BUCKET) {
		radix_pass(nodes, spare, count, 4);
		radix_pass(spare, nodes, count, 4 + DIGIT_BITS);
	}
	insertion_sort(nodes, count);
}

/* Buckets are laid out by the first count; blocks freed before the copy
 * (by a thread that did not stop) leave holes, closed here. */
static uint64_t sort_buckets(struct filler *fill, struct reach_node *spare,
                             const uint64_t *start)
{
	struct reach_node *nodes = fill->reach->nodes;
	uint64_t packed = 0;

	FOR_EACH_USED_GRANULE(g) {
		uint64_t count = fill->next[g] - start[g];

		if (!count)
			continue;
		if (packed != start[g])
			memmove(&nodes[packed], &nodes[start[g]], count * sizeof(*nodes));
		sort_bucket(&nodes[packed], spare, count);
		packed += count;
	}
	return packed;
}

static int fill_sorted(struct lks_reach *scan, struct reach_node *spare, struct filler *fill)
{
	uint64_t *start = lks_map(GRANULE_COUNT * sizeof(uint64_t));
	uint64_t offset = 0;

	if (!start)
		return -1;
	FOR_EACH_USED_GRANULE(g) {
		start[g] = fill->next[g] = offset;
		offset += fill->end[g];
		fill->end[g] = offset;
	}
	lks_live_foreach(copy_block, fill);
	scan->core.count = sort_buckets(fill, spare, start);
	lks_unmap(start, GRANULE_COUNT * sizeof(uint64_t));
	return 0;
}

int reach_collect_blocks(struct lks_reach *scan)
{
	struct reach *reach = &scan->core;
	size_t counts_bytes = GRANULE_COUNT * sizeof(uint64_t);
	struct filler fill = { reach, lks_map(counts_bytes), lks_map(counts_bytes), 0 };
	struct reach_node *spare = NULL;
	int failed = -1;

	if (!fill.next || !fill.end)
		goto out;
	granules_clear();
	lks_live_foreach(count_block, &fill);
	scan->nodes_bytes = (fill.total + 1) * sizeof(struct reach_node);
	reach->nodes = lks_map(scan->nodes_bytes);
	reach->state = lks_map(fill.total + 1);
	reach->stack = lks_map((fill.total + 1) * sizeof(uint32_t));
	scan->totals_bytes = (fill.total + 1) * sizeof(struct lost_total);
	scan->totals = lks_reserve(scan->totals_bytes);
	spare = lks_map(scan->nodes_bytes);
	if (reach->nodes && reach->state && reach->stack && scan->totals && spare)
		failed = fill_sorted(scan, spare, &fill);
out:
	lks_unmap(spare, scan->nodes_bytes);
	lks_unmap(fill.next, counts_bytes);
	lks_unmap(fill.end, counts_bytes);
	if (failed || !reach->count)
		return failed;
	reach->lowest = reach->nodes[0].addr;
	reach->highest = reach->nodes[reach->count - 1].addr +
	                 NODE_SIZE(&reach->nodes[reach->count - 1]) + 1;
	return 0;
}

/* A binary search over millions of blocks misses the cache at every step.
 * For each 1 GiB granule holding blocks, an array gives per 4 KiB page the
 * first block at or after the page's start: a lookup searches one page's
 * few blocks. Granules beyond REACH_INDEXED_GRANULES fall back to the
 * full search, and so do small heaps: a search over them stays in the
 * cache, and each granule's array (1 MiB) would cost more page faults than
 * it saves. */
#define PAGE_SHIFT 12
#define PAGES (1u << (GRANULE_BITS - PAGE_SHIFT))
#define INDEX_MIN_BLOCKS (1u << 16)

static uint64_t first_at_or_after(const struct reach *reach, uint64_t from, uint64_t addr)
{
	while (from < reach->count && reach->nodes[from].addr < addr)
		from++;
	return from;
}

void reach_build_index(struct lks_reach *scan)
{
	struct reach *reach = &scan->core;
	uint64_t at = 0;

	if (reach->count < INDEX_MIN_BLOCKS)
		return;
	scan->granules = lks_map(GRANULE_COUNT * sizeof(*scan->granules));
	if (!scan->granules)
		return;
	while (at < reach->count && scan->indexed_count < REACH_INDEXED_GRANULES) {
		uint64_t granule = reach->nodes[at].addr >> GRANULE_BITS;
		uint32_t *pages;

		if (granule >= GRANULE_COUNT || !(pages = lks_map((PAGES + 1) * sizeof(*pages))))
			break;
		scan->granules[granule] = pages;
		scan->indexed[scan->indexed_count++] = (uint32_t)granule;
		for (uint32_t page = 0; page <= PAGES; page++) {
			at = first_at_or_after(reach, at, (granule << GRANULE_BITS) +
			                                  ((uint64_t)page << PAGE_SHIFT));
			pages[page] = (uint32_t)at;
		}
	}
}

void reach_free_index(struct lks_reach *scan)
{
	if (!scan->granules)
		return;
	for (uint32_t i = 0; i < scan->indexed_count; i++)
		lks_unmap(scan->granules[scan->indexed[i]], (PAGES + 1) * sizeof(uint32_t));
	lks_unmap(scan->granules, GRANULE_COUNT * sizeof(*scan->granules));
}

/* The last node whose start is <= addr, within [lo, hi); lo - 1 if none. */
static int64_t last_at_or_before(const struct reach *reach, uint64_t lo, uint64_t hi,
                                 uint64_t addr)
{
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (reach->nodes[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int64_t)lo - 1;
}

static bool holds(const struct reach_node *node, uint64_t addr)
{
	/* a zero-sized block is reached by a pointer to its start only */
	return addr == node->addr ||
	       (addr > node->addr && addr - node->addr < NODE_SIZE(node));
}

int64_t reach_find(const struct reach *reach, uint64_t addr)
{
	const struct lks_reach *scan = (const struct lks_reach *)reach;
	uint64_t lo = 0, hi = reach->count, granule = addr >> GRANULE_BITS;
	const struct reach_node *node;

	if (addr < reach->lowest || addr >= reach->highest)
		return -1;
	if (scan->granules && granule < GRANULE_COUNT && scan->granules[granule]) {
		const uint32_t *pages = scan->granules[granule];
		uint32_t page = (uint32_t)(addr >> PAGE_SHIFT) & (PAGES - 1);
		int64_t found = last_at_or_before(reach, pages[page], pages[page + 1], addr);

		/* none in the page: the block before it may reach into it */
		return found >= 0 && holds(&reach->nodes[found], addr) ? found : -1;
	}
	while (hi - lo > 1) {  /* the last node whose start is <= addr */
		uint64_t mid = lo + (hi - lo) / 2;

		if (reach->nodes[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	node = &reach->nodes[lo];
	return holds(node, addr) ? (int64_t)lo : -1;
}

uint64_t reach_first_from(const struct reach *reach, uint64_t addr)
{
	uint64_t lo = 0, hi = reach->count;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (reach->nodes[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}
