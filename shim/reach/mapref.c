/* SPDX-License-Identifier: MIT */
/* Which of the program's own open mappings something still points at when
 * the exit scan runs. A custom allocator's arenas (Python's obmalloc, a
 * pool) stay mapped until exit by design, like memory still reachable; a
 * mapping nothing points at any more is lost, a leaked handle. Mappings
 * stay roots of the scan either way (roots.c): this only notes, for each,
 * whether a word of the roots or of reached blocks points into it from
 * outside it. */
#include "handles/maptable.h"
#include "reach.h"

#define MAX_MAPPINGS 4096 /* more: none is marked, all are reported open */

static void add_mapping(const struct lks_map_entry *entry, void *ctx)
{
	struct reach *reach = ctx;

	if (entry->flags & LKS_FD_INHERITED)
		return;  /* the parent's: it reports it */
	if (reach->map_count >= MAX_MAPPINGS) {
		reach->map_count = MAX_MAPPINGS + 1;  /* overflow: marks none */
		return;
	}
	reach->maps[reach->map_count++] =
		(struct reach_mapping){ entry->addr, entry->addr + entry->size, 0 };
}

/* By address; few mappings. */
REACH_DEFINE_SORT(sort_mappings, struct reach_mapping, lo)

void reach_collect_mappings(struct reach *reach)
{
	reach->maps_bytes = MAX_MAPPINGS * sizeof(struct reach_mapping);
	reach->maps = lks_map(reach->maps_bytes);
	if (!reach->maps)
		return;
	lks_mapping_foreach(add_mapping, reach);
	if (reach->map_count > MAX_MAPPINGS || reach->map_count == 0) {
		reach->map_count = 0;
		return;
	}
	sort_mappings(reach->maps, reach->map_count);
	reach->maps_lo = reach->maps[0].lo;
	for (uint32_t i = 0; i < reach->map_count; i++)
		if (reach->maps[i].hi > reach->maps_hi)
			reach->maps_hi = reach->maps[i].hi;
}

static int64_t mapping_holding(const struct reach *reach, uint64_t addr)
{
	uint32_t lo = 0, hi = reach->map_count;

	while (lo < hi) {  /* the last mapping starting at or below addr */
		uint32_t mid = lo + (hi - lo) / 2;

		if (reach->maps[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < reach->maps[lo - 1].hi ? (int64_t)lo - 1 : -1;
}

/* The dynamic loader keeps a pointer to where it mapped ld.so.cache at
 * start-up, and unmaps the cache: a mapping the program later gets at that
 * very address is not held by it. The loader holds none of the program's
 * own mappings by their start. */
static bool stale_in_loader(const struct reach *reach, uint64_t where, uint64_t value,
                            const struct reach_mapping *map)
{
	return where >= reach->loader_lo && where < reach->loader_hi && value == map->lo;
}

void reach_note_mapping(struct reach *reach, uint64_t where, uint64_t value)
{
	int64_t found = mapping_holding(reach, value);
	struct reach_mapping *map = found >= 0 ? &reach->maps[found] : NULL;

	if (map && !(where >= map->lo && where < map->hi) &&
	    !stale_in_loader(reach, where, value, map))
		map->referenced = 1;
}

void lks_reach_referenced_mappings(const struct lks_reach *scan, struct lks_buf *out)
{
	const struct reach *reach = &scan->core;

	for (uint32_t i = 0; i < reach->map_count; i++)
		if (reach->maps[i].referenced)
			lks_buf_append(out, &reach->maps[i].lo, sizeof(uint64_t));
}
