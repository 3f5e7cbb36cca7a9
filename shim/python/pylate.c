/* SPDX-License-Identifier: MIT */
/* A libpython that the program loads itself, after start-up (a C program
 * embedding Python with dlopen): the unwinder names each object the first
 * time a stack runs through it, and the first libpython it names is looked
 * at then, by its own dynamic symbol table, read in memory. That happens
 * inside a capture, so nothing here takes a lock or calls the loader. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <string.h>

#include "../shim.h"
#include "python.h"
#include "pyroom.h"

/* The object's dynamic symbols, as the loader left them in memory. */
struct dynsyms {
	uint64_t bias;
	const ElfW(Sym) *symtab;
	const char *strtab;
	const uint32_t *gnu_hash;  /* DT_GNU_HASH: what every current linker emits */
};

static struct dynsyms late;    /* the libpython being looked at */
static char late_path[4096];
static int claimed;            /* atomic: one object, one thread, once */

/* glibc relocates these entries in place on x86_64; an unrelocated one is
 * a link-time address below the load bias. */
static uint64_t dyn_address(const struct link_map *map, uint64_t ptr)
{
	return ptr < map->l_addr ? ptr + map->l_addr : ptr;
}

static bool read_dynamic(const struct link_map *map, struct dynsyms *out)
{
	*out = (struct dynsyms){ .bias = map->l_addr };
	for (const ElfW(Dyn) *dyn = map->l_ld; dyn && dyn->d_tag != DT_NULL; dyn++) {
		uint64_t at = dyn_address(map, dyn->d_un.d_ptr);

		if (dyn->d_tag == DT_SYMTAB)
			out->symtab = (const ElfW(Sym) *)at;
		else if (dyn->d_tag == DT_STRTAB)
			out->strtab = (const char *)at;
		else if (dyn->d_tag == DT_GNU_HASH)
			out->gnu_hash = (const uint32_t *)at;
	}
	return out->symtab && out->strtab && out->gnu_hash;
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t hash = 5381;

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		hash = hash * 33 + *c;
	return hash;
}

/* A defined symbol by name: its bucket, then its chain, whose entries hold
 * the hashes with the last one's low bit set. */
static const ElfW(Sym) *find_symbol(const struct dynsyms *d, const char *name)
{
	const uint32_t *table = d->gnu_hash;
	uint32_t buckets = table[0], first = table[1], bloom_words = table[2];
	const uint32_t *bucket = table + 4 + bloom_words * (sizeof(ElfW(Addr)) / 4);
	const uint32_t *chain = bucket + buckets;
	uint32_t hash = gnu_hash(name), index;

	if (!buckets)
		return NULL;
	index = bucket[hash % buckets];
	if (index < first)
		return NULL;
	for (;; index++) {
		const ElfW(Sym) *sym = &d->symtab[index];
		uint32_t entry = chain[index - first];

		if ((entry | 1) == (hash | 1) && sym->st_shndx != SHN_UNDEF &&
		    strcmp(d->strtab + sym->st_name, name) == 0)
			return sym;
		if (entry & 1)
			return NULL;
	}
}

static uint64_t late_find(const char *name, uint64_t *size)
{
	const ElfW(Sym) *sym = find_symbol(&late, name);

	if (size)
		*size = sym ? sym->st_size : 0;
	return sym ? late.bias + sym->st_value : 0;
}

static bool is_libpython(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : path;
	return base && strncmp(base, "libpython", 9) == 0;
}

void lks_py_object_learned(const struct link_map *map)
{
	static const struct lks_py_symbols lookup = { late_find, late_path };
	size_t len;
	int expected = 0;

	/* relaxed: a runtime found at start-up is set before any thread runs */
	if (__atomic_load_n(&lks_pyrt.runtime, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&claimed, __ATOMIC_RELAXED) || !is_libpython(map->l_name))
		return;
	len = strlen(map->l_name);
	/* the first libpython decides, found or not: a second one in the same
	 * process would hold a second runtime, which the shim does not read */
	if (len >= sizeof(late_path) ||
	    !__atomic_compare_exchange_n(&claimed, &expected, 1, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_RELAXED) ||
	    !read_dynamic(map, &late))
		return;
	memcpy(late_path, map->l_name, len + 1);
	lks_py_init_from(&lookup);
}
