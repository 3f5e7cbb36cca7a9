/* SPDX-License-Identifier: MIT */
/* Symbols by address: built once per module, then a binary search per
 * lookup instead of libdwfl's pass over the whole table. */
#include <stdlib.h>

#include "symindex.h"

/* Symbols overlapping an address are few: a lookup walks back this far at
 * most for one whose extent holds it. */
#define MAX_WALK_BACK 32

struct entry {
	uint64_t addr, size;
	const char *name;
	uint32_t order;  /* in the symbol table: the earlier wins a full tie */
	uint8_t type, bind;
};

struct symindex {
	struct entry *entries;
	size_t count;
};

static bool worth_indexing(const GElf_Sym *sym, GElf_Word shndx, const char *name)
{
	int type = GELF_ST_TYPE(sym->st_info);

	return name && name[0] && shndx != SHN_UNDEF && type != STT_SECTION &&
	       type != STT_FILE && type != STT_TLS;
}

/* At one address: global before weak before local (`__environ` rather
 * than its weak alias `environ`), sized before sizeless. */
static int rank(const struct entry *e)
{
	return (e->bind == STB_LOCAL) * 4 + (e->bind == STB_WEAK) * 2 + (e->size == 0);
}

static int by_address(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (rank(x) != rank(y))
		return rank(x) - rank(y);
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Keeps the best-ranked entry of each address (the first after sorting). */
static size_t drop_aliases(struct entry *entries, size_t count)
{
	size_t kept = 0;

	for (size_t i = 0; i < count; i++)
		if (kept == 0 || entries[kept - 1].addr != entries[i].addr)
			entries[kept++] = entries[i];
	return kept;
}

struct symindex *symindex_build(Dwfl_Module *mod)
{
	struct symindex *index = calloc(1, sizeof(*index));
	int total = dwfl_module_getsymtab(mod);

	if (!index)
		return NULL;
	if (total <= 0)
		return index;
	index->entries = calloc((size_t)total, sizeof(*index->entries));
	if (!index->entries) {
		free(index);
		return NULL;
	}
	for (int i = 1; i < total; i++) {  /* 0 is the null symbol */
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx,
							   NULL, NULL);

		if (worth_indexing(&sym, shndx, name))
			index->entries[index->count++] = (struct entry){
				addr, sym.st_size, name, (uint32_t)i, GELF_ST_TYPE(sym.st_info),
				GELF_ST_BIND(sym.st_info) };
	}
	if (index->count)
		qsort(index->entries, index->count, sizeof(*index->entries), by_address);
	index->count = drop_aliases(index->entries, index->count);
	return index;
}

void symindex_free(struct symindex *index)
{
	if (!index)
		return;
	free(index->entries);
	free(index);
}

/* The last entry starting at or below addr, or count when none. */
static size_t last_at_or_below(const struct symindex *index, uint64_t addr)
{
	size_t lo = 0, hi = index->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (index->entries[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : index->count;
}

static void fill(const struct entry *e, uint64_t addr, struct symindex_hit *hit)
{
	*hit = (struct symindex_hit){ e->name, addr - e->addr, e->size,
				      e->type == STT_FUNC || e->type == STT_GNU_IFUNC };
}

bool symindex_find(const struct symindex *index, uint64_t addr, struct symindex_hit *hit)
{
	size_t nearest = last_at_or_below(index, addr);

	if (nearest == index->count)
		return false;
	for (size_t i = nearest, walked = 0; walked < MAX_WALK_BACK; i--, walked++) {
		const struct entry *e = &index->entries[i];

		if (e->size && addr < e->addr + e->size) {
			fill(e, addr, hit);
			return true;
		}
		if (i == 0)
			break;
	}
	if (index->entries[nearest].size)
		return false;
	fill(&index->entries[nearest], addr, hit);
	return true;
}
