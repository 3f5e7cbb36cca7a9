/* SPDX-License-Identifier: MIT */
/* Shared by pytypes.c (typing blocks) and pytypeset.c (proving types) only:
 * the type objects one snapshot has proven, and how they were proven; and
 * for pysnap.c, the sections they give. */
#ifndef LEAKSCOPE_SHIM_PYTYPES_H
#define LEAKSCOPE_SHIM_PYTYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "../shim.h"

/* CPython's type flags (Include/object.h of 3.11, 3.12 and 3.13 agree). */
#define PYTF_MANAGED_WEAKREF (1ull << 3)  /* 3.12+: part of the pre-header */
#define PYTF_MANAGED_DICT (1ull << 4)     /* 3.11+: the pre-header */
#define PYTF_HEAPTYPE (1ull << 9)
#define PYTF_READY (1ull << 12)
#define PYTF_HAVE_GC (1ull << 14)
#define PYTF_TYPE_SUBCLASS (1ull << 31)
/* PyTypeObject.tp_flags: after the object header and 18 pointer-sized
 * slots, the same from 3.11 to 3.13 (checked on PyType_Type at start). */
#define PYT_TP_FLAGS 168
#define PYT_GC_HEAD 16        /* PyGC_Head: _gc_next, _gc_prev */
#define PYT_PRE_HEADER 16     /* managed dict (and weakref) pointers */
#define PYT_NAME_MAX 256      /* bytes of tp_name kept, its NUL included */

struct pytype_info {
	uint64_t addr;
	uint64_t flags;           /* tp_flags */
	uint64_t basicsize;
	uint32_t name_at;         /* in the set's names */
	uint32_t object_offset;   /* where its objects start in their block */
	bool used;                /* an object of this snapshot has it */
};

struct pytype_range {
	uint64_t start, end;
};

#define PYT_RANGES_MAX 2048
#define PYT_RECENT 64

/* A live block as the snapshot saw it: 8-byte aligned (an object always
 * is), so the low bits of its address hold the site's class. */
struct pytype_block {
	uint64_t addr_class;
	uint32_t trace;
	uint32_t size;            /* blocks of 4 GiB and more are not typed */
};
#define PYT_BLOCK_ADDR(b) ((b)->addr_class & ~7ull)
#define PYT_BLOCK_CLASS(b) ((uint8_t)((b)->addr_class & 7))

struct pytype_set {
	uint64_t type_type;       /* &PyType_Type */
	uint64_t min_type_block;  /* a heap type's block is at least this big */
	uint64_t pre_header_flags;/* the flags that add the pre-header */
	struct pytype_range ranges[PYT_RANGES_MAX]; /* modules' writable segments */
	uint32_t range_count;
	uint64_t *heap_types;     /* where a heap type may start: past the GC
	                           * header of a block big enough for one; open
	                           * addressing, 0 = empty */
	uint64_t heap_mask;
	size_t heap_bytes;        /* mapped; the snapshot uses heap_mask + 1 slots */
	/* verdicts, 0: not a type; an entry of an older snapshot is empty */
	struct { uint64_t addr; uint32_t verdict, epoch; } *cache;
	uint64_t cache_mask, cache_used;
	size_t cache_bytes;
	uint32_t epoch;           /* this snapshot's, never 0 */
	/* the types proven last, direct-mapped: a heap's objects have a few
	 * types, asked for again and again */
	struct { uint64_t addr; uint32_t id, epoch; } recent[PYT_RECENT];
	struct lks_buf types;     /* struct pytype_info; id = index + 1 */
	struct lks_buf names;     /* NUL-terminated tp_name copies */
};

/* Before the snapshot looks at blocks (and before any thread is stopped:
 * it asks the loader for its objects). A set is kept from one snapshot to
 * the next: what it mapped is used again, what it proved is forgotten.
 * False when typing cannot start. */
bool pytype_set_begin(struct pytype_set *set);
void pytype_set_free(struct pytype_set *set);
/* The snapshot's blocks, by address, before anything is proven: a heap
 * type is one of them. False when there is no memory for their table. */
bool pytype_set_blocks(struct pytype_set *set, const struct pytype_block *blocks,
                       uint64_t count);
/* The id of the type object at `candidate`, 0 when it is not proven to be
 * one. Reads the program's memory with lks_py_peek only. */
uint32_t pytype_set_prove(struct pytype_set *set, uint64_t candidate);
struct pytype_info *pytype_set_info(struct pytype_set *set, uint32_t id);
/* The proven type of the object a block of `size` bytes holds, from its
 * first `len` bytes `head`, and in *at where the object starts; 0 when
 * it holds none. */
uint32_t pytype_set_classify(struct pytype_set *set, const uint8_t *head, uint64_t len,
                             uint64_t size, uint32_t *at);

/* pytypes.c, for pysnap.c: the python types and python objects sections,
 * and the typing counts in `record`; with `kinds`, each block's kind kept
 * for pyretain.c. 0, or -1 when a buffer could not grow. */
struct lks_pytypes;
struct lks_python;
int lks_pytypes_write(struct lks_pytypes *types, struct lks_buf *type_records,
                      struct lks_buf *object_records, struct lks_strtab *strings,
                      struct lks_python *record, bool kinds);

/* pytypes.c, for pyretain.c, after lks_pytypes_write: its sorted blocks;
 * per block its type id << 2 | object offset / 16 (0: not an object), or
 * NULL when they were not typed; the set that proved their types; the
 * reader and its buffers; memory kept from one snapshot to the next, and
 * the sites of the last in-run snapshot with chains. */
const struct pytype_block *lks_pytypes_blocks(const struct lks_pytypes *types,
                                              uint64_t *count);
const uint32_t *lks_pytypes_kinds(const struct lks_pytypes *types);
struct pytype_set *lks_pytypes_set(struct lks_pytypes *types);
struct pywindows *lks_pytypes_windows(struct lks_pytypes *types);
void *lks_pytypes_scratch(struct lks_pytypes *types, size_t bytes);
struct pygrowth;
struct pygrowth *lks_pytypes_growth(struct lks_pytypes *types);

/* pyretain.c, for pysnap.c: retainer chains from the module dicts to
 * sites of Python code (RETAINERS and PYRETAINERS records) of a snapshot
 * without a reachability scan, and a PYUNCHAINED record for each site
 * chosen that has none: with parts->to_growth, to those that grew most
 * since the last snapshot it was asked for (the largest at the first),
 * else to the largest. 0, or -1 when a buffer could not grow. */
struct lks_py_parts;
int lks_py_retainers(struct lks_pytypes *types, const struct lks_py_parts *parts,
                     struct lks_strtab *strings);

#endif
