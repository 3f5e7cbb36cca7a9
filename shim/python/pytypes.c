/* SPDX-License-Identifier: MIT */
/* Python objects typed at snapshot time (docs/PYTHON.md, "Typed objects"):
 * a live block is an object when its header, at the block's start (an
 * object without GC) or past the GC header and pre-header its type says it
 * has, holds a live reference count and a type pytypeset.c proves. The
 * blocks are sorted by address and the heap read in pieces of up to 64 KiB
 * with process_vm_readv: an in-run snapshot races with frees, so a read
 * may fail, and never faults. */
#define _GNU_SOURCE
#include <unistd.h>

#include "../process.h"
#include "python.h"
#include "pygrowth.h"
#include "pyroom.h"
#include "pytypes.h"
#include "pywindow.h"

#define TYPE_IDS_MAX 0xffffffu
#define RADIX_MAX 4096     /* buckets of a level of the sort */

struct object_slot {
	uint64_t key;          /* trace << 32 | type << 8 | class; 0: empty */
	uint64_t index;        /* of the record in objects */
};

struct lks_pytypes {
	struct pytype_set set;
	struct pytype_block *blocks;  /* this snapshot's, then sorted */
	uint64_t block_count, block_room;
	bool blocks_sorted;           /* they came in address order (an exit scan's) */
	uint32_t *kinds;              /* per block, for pyretain.c: NULL, or type id
	                               * << 2 | object offset / 16 (0: none) */
	uint64_t kinds_room;
	bool kinds_valid;             /* this snapshot's are in kinds */
	void *scratch;                /* pyretain.c's arrays, kept touched */
	size_t scratch_bytes;
	struct pywindows windows;
	struct pygrowth growth;       /* pyretain.c's: the sites of the last in-run
	                               * snapshot with chains */
	uint64_t radix_next[RADIX_MAX], radix_end[RADIX_MAX];
	struct lks_buf objects;       /* struct lks_pyobjects */
	struct object_slot *slots;
	uint64_t slot_mask;
	size_t slots_bytes;
	uint64_t typed, untyped, unreadable, spent_ns;
};

static uint64_t mix(uint64_t key)
{
	return key * 0x9e3779b97f4a7c15u >> 32;  /* high bits: every bit of the key */
}

static struct object_slot *slot_for(struct object_slot *slots, uint64_t mask, uint64_t key)
{
	uint64_t at = mix(key) & mask;

	while (slots[at].key && slots[at].key != key)
		at = (at + 1) & mask;
	return &slots[at];
}

static uint64_t record_key(const struct lks_pyobjects *record)
{
	return (uint64_t)record->trace << 32 | (uint64_t)record->type << 8 | record->klass;
}

/* Twice the room once half is used: lookups stay short. */
static bool grow_slots(struct lks_pytypes *types)
{
	uint64_t count = (types->slot_mask + 1) * 2;
	size_t bytes = count * sizeof(struct object_slot);
	struct object_slot *slots = lks_map(bytes);
	const struct lks_pyobjects *records = (const void *)types->objects.bytes;

	if (!slots)
		return false;
	for (uint64_t i = 0; i < types->objects.len / sizeof(*records); i++) {
		struct object_slot *slot = slot_for(slots, count - 1, record_key(&records[i]));

		slot->key = record_key(&records[i]);
		slot->index = i;
	}
	if (types->slots)
		lks_unmap(types->slots, types->slots_bytes);
	types->slots = slots;
	types->slots_bytes = bytes;
	types->slot_mask = count - 1;
	return true;
}

static void count_object(struct lks_pytypes *types, const struct pytype_block *block,
                         uint32_t type)
{
	struct lks_pyobjects fresh = { .trace = block->trace, .type = type,
	                               .klass = PYT_BLOCK_CLASS(block) };
	uint64_t key = record_key(&fresh), records = types->objects.len / sizeof(fresh);
	struct object_slot *slot = slot_for(types->slots, types->slot_mask, key);
	struct lks_pyobjects *record;

	if (!slot->key) {
		if (records >= (types->slot_mask + 1) / 2) {
			if (!grow_slots(types))
				goto untyped;
			slot = slot_for(types->slots, types->slot_mask, key);
		}
		if (!lks_buf_append(&types->objects, &fresh, sizeof(fresh)))
			goto untyped;
		slot->key = key;
		slot->index = records;
	}
	record = (struct lks_pyobjects *)(void *)types->objects.bytes + slot->index;
	record->blocks++;
	record->bytes += block->size;
	pytype_set_info(&types->set, type)->used = true;
	types->typed++;
	return;
untyped:
	types->untyped++;
}

/* ---- reading the blocks, in address order ------------------------------ */

/* A level's digit: bits of the address above lo, as many as the level's
 * blocks need. */
struct digit {
	uint64_t lo;
	int shift;
	unsigned buckets;         /* a power of two, at most RADIX_MAX */
};

static unsigned digit(const struct pytype_block *block, const struct digit *d)
{
	return (unsigned)((block->addr_class - d->lo) >> d->shift) & (d->buckets - 1);
}

/* One level of the sort: the blocks by their digit, in place. Its counts
 * live in the mapped state: the snapshot may run on a small stack. */
static void permute(struct lks_pytypes *types, struct pytype_block *blocks, uint64_t count,
                    const struct digit *dg)
{
	uint64_t *next = types->radix_next, *end = types->radix_end, at = 0;

	__builtin_memset(end, 0, dg->buckets * sizeof(*end));
	for (uint64_t i = 0; i < count; i++)
		end[digit(&blocks[i], dg)]++;
	for (unsigned d = 0; d < dg->buckets; d++) {
		next[d] = at;
		at += end[d];
		end[d] = at;
	}
	for (unsigned d = 0; d < dg->buckets; d++)
		while (next[d] < end[d]) {
			struct pytype_block moving = blocks[next[d]];
			unsigned to = digit(&moving, dg);

			if (to == d) {
				next[d]++;
				continue;
			}
			blocks[next[d]] = blocks[next[to]];
			blocks[next[to]++] = moving;
		}
}

/* About four blocks a bucket, 16 to RADIX_MAX buckets, and the digit's
 * top bucket at the level's highest address: no level is spent on bits
 * its blocks share, a small level does not clear and scan every count, a
 * large one peels off the few blocks mapped far from the heap in fewer
 * levels, and each level divides the range by 8 at least (at most 16
 * levels deep). */
static struct digit level_digit(uint64_t lo, uint64_t hi, uint64_t count)
{
	struct digit d = { .lo = lo, .buckets = 16 };

	while (d.buckets < RADIX_MAX && d.buckets * 4 < count)
		d.buckets *= 2;
	while ((hi - lo) >> d.shift >= d.buckets)
		d.shift++;
	return d;
}

static void insertion_sort(struct pytype_block *blocks, uint64_t count)
{
	for (uint64_t i = 1; i < count; i++) {
		struct pytype_block kept = blocks[i];
		uint64_t j = i;

		for (; j > 0 && blocks[j - 1].addr_class > kept.addr_class; j--)
			blocks[j] = blocks[j - 1];
		blocks[j] = kept;
	}
}

/* In place, most significant digit first (American flag sort): a second
 * copy of the blocks would cost as much memory again. Each level's digit
 * spans that level's own range (level_digit): with a byte below a fixed
 * shift, 76,000 blocks of the json bench took 390 instructions a block.
 * A frame holds no array: the buckets are found again in the permuted
 * blocks. */
static void sort_range(struct lks_pytypes *types, struct pytype_block *blocks,
                       uint64_t count)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct digit dg;

	if (count < 16) {
		insertion_sort(blocks, count);
		return;
	}
	for (uint64_t i = 0; i < count; i++) {
		lo = blocks[i].addr_class < lo ? blocks[i].addr_class : lo;
		hi = blocks[i].addr_class > hi ? blocks[i].addr_class : hi;
	}
	if (lo == hi)
		return;  /* one address listed again and again: in order already */
	dg = level_digit(lo, hi, count);
	permute(types, blocks, count, &dg);
	for (uint64_t first = 0, i = 1; i <= count; i++)
		if (i == count || digit(&blocks[i], &dg) != digit(&blocks[first], &dg)) {
			sort_range(types, blocks + first, i - first);
			first = i;
		}
}

#define SPREAD_DEPTH 3      /* levels of out-of-place spreading, then in place */
#define SPREAD_PER_BUCKET 4

/* One level out of place: four to eight blocks a bucket over the level's
 * own range, counted, spread into `spread`, copied back; each bucket then
 * sorted by insertion, or spread again when large (a heap with a few
 * blocks mapped far from it puts most in one bucket at first), and from
 * SPREAD_DEPTH on sorted in place. Each level's counts follow its
 * parent's in `ends`. */
static void spread_range(struct lks_pytypes *types, struct pytype_block *blocks,
                         uint64_t count, struct pytype_block *spread, uint32_t *ends,
                         int depth)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct digit dg = { .buckets = 16 };
	uint32_t at = 0;

	if (count <= 4 * SPREAD_PER_BUCKET) {
		insertion_sort(blocks, count);
		return;
	}
	if (depth == SPREAD_DEPTH) {
		sort_range(types, blocks, count);
		return;
	}
	while (dg.buckets < (1u << 24) && dg.buckets * 2 * SPREAD_PER_BUCKET <= count)
		dg.buckets *= 2;
	for (uint64_t i = 0; i < count; i++) {
		lo = blocks[i].addr_class < lo ? blocks[i].addr_class : lo;
		hi = blocks[i].addr_class > hi ? blocks[i].addr_class : hi;
	}
	dg.lo = lo;
	while ((hi - lo) >> dg.shift >= dg.buckets)
		dg.shift++;
	__builtin_memset(ends, 0, dg.buckets * sizeof(*ends));
	for (uint64_t i = 0; i < count; i++)
		ends[digit(&blocks[i], &dg)]++;
	for (unsigned d = 0; d < dg.buckets; d++) {
		at += ends[d];
		ends[d] = at - ends[d];  /* where the bucket starts, then its end */
	}
	for (uint64_t i = 0; i < count; i++)
		spread[ends[digit(&blocks[i], &dg)]++] = blocks[i];
	__builtin_memcpy(blocks, spread, count * sizeof(*blocks));
	for (uint32_t d = 0, first = 0; d < dg.buckets; first = ends[d++])
		if (ends[d] - first > 1)
			spread_range(types, blocks + first, ends[d] - first, spread,
			             ends + dg.buckets, depth + 1);
}

/* Into memory the retainer walk maps next anyway (the list has fewer than
 * 2^32 blocks: the walk's indices are 32 bits): in place alone, a block of
 * the json bench took 150 instructions. */
static bool sort_spread(struct lks_pytypes *types)
{
	uint64_t count = types->block_count;
	uint64_t ends = SPREAD_DEPTH * (count / SPREAD_PER_BUCKET + 16);
	struct pytype_block *spread;

	if (count >= UINT32_MAX)
		return false;
	spread = lks_pytypes_scratch(types, count * sizeof(*spread) + ends * sizeof(uint32_t));
	if (!spread)
		return false;
	spread_range(types, types->blocks, count, spread, (uint32_t *)(spread + count), 0);
	return true;
}

/* With the scratch (a snapshot with chains), one level spread out of place;
 * else in place. */
static void sort_blocks(struct lks_pytypes *types, bool scratch)
{
	if (!scratch || types->block_count < 64 || !sort_spread(types))
		sort_range(types, types->blocks, types->block_count);
}

/* pywindows_read's give: a block's head, or NULL when it could not be
 * read. Its kind, for the retainer walk, when asked for. */
static void classify_given(void *ctx, uint64_t i, uint64_t from, const uint8_t *head,
                           uint64_t len)
{
	struct lks_pytypes *types = ctx;
	const struct pytype_block *block = &types->blocks[i];
	uint32_t at = 0, id = 0;

	(void)from;
	if (!head) {
		types->unreadable++;
	} else {
		id = pytype_set_classify(&types->set, head, len, block->size, &at);
		if (id && id <= TYPE_IDS_MAX)
			count_object(types, block, id);
		else
			types->untyped++;
	}
	if (types->kinds_valid)
		types->kinds[i] = id && id <= TYPE_IDS_MAX ? id << 2 | at / 16 : 0;
}

static void read_blocks(struct lks_pytypes *types)
{
	types->windows.pid = getpid();
	pywindows_read(&types->windows, &(struct pywindow_list){
		.blocks = types->blocks, .count = types->block_count, .give = classify_given,
		.ctx = types });
}

/* ---- one snapshot's state, kept for the next ------------------------------ */

/* The last snapshot's state, its mappings touched already: on this
 * machine a page touched for the first time costs about 40 us, and the
 * block list alone is 16 bytes per live block (docs/PERFORMANCE.md). */
static struct lks_pytypes *kept_state;  /* atomic */

/* Room for `count` blocks, and an eighth more when it must grow: the next
 * snapshot then finds room for a program that grew a little. */
static bool blocks_room(struct lks_pytypes *types, uint64_t count)
{
	struct pytype_block *blocks;

	if (count <= types->block_room)
		return true;
	count += count / 8 + 4096;
	if (!(blocks = lks_map_filled(count * sizeof(*blocks))))
		return false;
	if (types->blocks) {
		__builtin_memcpy(blocks, types->blocks, types->block_count * sizeof(*blocks));
		lks_unmap(types->blocks, types->block_room * sizeof(*blocks));
	}
	types->blocks = blocks;
	types->block_room = count;
	return true;
}

void lks_pytypes_visit(struct lks_pytypes *types, const struct lks_block *block, uint8_t klass)
{
	struct pytype_block kept = { .addr_class = block->addr | klass, .trace = block->trace,
	                             .size = (uint32_t)block->size };

	/* no object is smaller, unaligned, or (here) that large */
	if (block->size < 16 || (block->addr & 7) || block->size > UINT32_MAX || klass > 7 ||
	    (types->block_count == types->block_room &&
	     !blocks_room(types, types->block_room * 2 + 1))) {
		types->untyped++;
		return;
	}
	if (types->block_count &&
	    types->blocks[types->block_count - 1].addr_class > kept.addr_class)
		types->blocks_sorted = false;
	types->blocks[types->block_count++] = kept;
}

static bool typing_wanted(void)
{
	/* acquire: a refusal's state is seen with what it refused */
	int state = __atomic_load_n(&lks_pyrt.state, __ATOMIC_ACQUIRE);

	return lks_opt.python_types && lks_pyrt.runtime && state != PY_ABSENT &&
	       state != PY_REFUSED;
}

static void free_state(struct lks_pytypes *types)
{
	pytype_set_free(&types->set);
	if (types->slots)
		lks_unmap(types->slots, types->slots_bytes);
	lks_buf_free(&types->objects);
	if (types->blocks)
		lks_unmap(types->blocks, types->block_room * sizeof(*types->blocks));
	if (types->kinds)
		lks_unmap(types->kinds, types->kinds_room * sizeof(*types->kinds));
	if (types->scratch)
		lks_unmap(types->scratch, types->scratch_bytes);
	pygrowth_free(&types->growth);
	lks_unmap(types, sizeof(*types));
}

/* The kept state, emptied, or a new one. Two snapshots at once each have
 * their own: the second one maps its own. */
static struct lks_pytypes *take_state(void)
{
	/* acquire: pairs with the exchange in lks_pytypes_end */
	struct lks_pytypes *types = __atomic_exchange_n(&kept_state, NULL, __ATOMIC_ACQUIRE);

	if (!types) {
		if (!(types = lks_map(sizeof(*types))))
			return NULL;
		types->slot_mask = 1023;
		types->slots_bytes = (types->slot_mask + 1) * sizeof(struct object_slot);
		if (!(types->slots = lks_map(types->slots_bytes))) {
			free_state(types);
			return NULL;
		}
		return types;
	}
	__builtin_memset(types->slots, 0, types->slots_bytes);
	types->objects.len = 0;
	types->objects.failed = false;
	types->block_count = 0;
	types->kinds_valid = false;
	types->typed = types->untyped = types->unreadable = 0;
	return types;
}

struct lks_pytypes *lks_pytypes_begin(void)
{
	uint64_t started = lks_uptime_ns(), estimate;
	struct lks_live_stats live;
	struct lks_pytypes *types;

	if (!typing_wanted() || !(types = take_state()))
		return NULL;
	if (!pytype_set_begin(&types->set)) {
		lks_pytypes_end(types);
		return NULL;
	}
	/* room for the blocks live now: growing in the walk copies them */
	lks_live_stats(&live);
	estimate = live.allocs - live.frees;
	blocks_room(types, estimate);
	types->blocks_sorted = true;
	types->spent_ns = lks_uptime_ns() - started;
	return types;
}

void lks_pytypes_end(struct lks_pytypes *types)
{
	if (!types)
		return;
	/* acq_rel: the next snapshot to take it sees what this one wrote, and
	 * a state given back meanwhile by another is seen whole to be freed */
	types = __atomic_exchange_n(&kept_state, types, __ATOMIC_ACQ_REL);
	if (types)
		free_state(types);
}

/* The types some object has, by id, then the objects. */
/* Room for a kind per block, kept from one snapshot to the next; NULL
 * kinds (none recorded) when it cannot be had. */
static void kinds_room(struct lks_pytypes *types)
{
	uint64_t room = types->block_room;

	if (types->kinds && types->kinds_room >= room)
		return;
	if (types->kinds)
		lks_unmap(types->kinds, types->kinds_room * sizeof(*types->kinds));
	types->kinds = lks_map(room * sizeof(*types->kinds));
	types->kinds_room = types->kinds ? room : 0;
}

/* Every block typed, in address order. False when none could be. */
static bool type_blocks(struct lks_pytypes *types, bool kinds)
{
	/* a block the list had no room for was counted untyped already */
	if (!types->blocks_sorted)
		sort_blocks(types, kinds);
	if (kinds)
		kinds_room(types);
	types->kinds_valid = kinds && types->kinds;
	if (!pytype_set_blocks(&types->set, types->blocks, types->block_count)) {
		types->untyped += types->block_count;
		return false;
	}
	read_blocks(types);
	return true;
}

int lks_pytypes_write(struct lks_pytypes *types, struct lks_buf *type_records,
                      struct lks_buf *object_records, struct lks_strtab *strings,
                      struct lks_python *record, bool kinds)
{
	uint64_t started = lks_uptime_ns();
	uint32_t count;

	if (!type_blocks(types, kinds))
		types->kinds_valid = false;
	types->spent_ns += lks_uptime_ns() - started;
	count = (uint32_t)(types->set.types.len / sizeof(struct pytype_info));
	for (uint32_t id = 1; id <= count; id++) {
		const struct pytype_info *info = pytype_set_info(&types->set, id);
		struct lks_pytype out = { .id = id, .address = info->addr };

		if (!info->used)
			continue;
		out.name = lks_strtab_add(strings, (const char *)types->set.names.bytes +
		                                   info->name_at);
		out.flags = (info->flags & PYTF_HEAPTYPE ? LKS_PYTF_HEAP : 0) |
		            (info->flags & PYTF_HAVE_GC ? LKS_PYTF_GC : 0);
		lks_buf_append(type_records, &out, sizeof(out));
	}
	if (types->objects.len)
		lks_buf_append(object_records, types->objects.bytes, types->objects.len);
	record->flags |= LKS_PYF_TYPED;
	record->typed_blocks = types->typed;
	record->untyped_blocks = types->untyped;
	record->unreadable_blocks = types->unreadable;
	record->typing_ns = types->spent_ns;
	return type_records->failed || object_records->failed ? -1 : 0;
}

/* For pyretain.c, after lks_pytypes_write: the blocks it typed, sorted by
 * address, their kinds, the set that proved their types, the reader. */
const struct pytype_block *lks_pytypes_blocks(const struct lks_pytypes *types,
                                              uint64_t *count)
{
	*count = types->block_count;
	return types->blocks;
}

struct pytype_set *lks_pytypes_set(struct lks_pytypes *types)
{
	return &types->set;
}

const uint32_t *lks_pytypes_kinds(const struct lks_pytypes *types)
{
	return types->kinds_valid ? types->kinds : NULL;
}

struct pywindows *lks_pytypes_windows(struct lks_pytypes *types)
{
	return &types->windows;
}

struct pygrowth *lks_pytypes_growth(struct lks_pytypes *types)
{
	return &types->growth;
}

/* Memory kept with the state (its pages stay touched from one snapshot to
 * the next); its contents are the last user's. NULL when it cannot grow. */
void *lks_pytypes_scratch(struct lks_pytypes *types, size_t bytes)
{
	if (bytes <= types->scratch_bytes)
		return types->scratch;
	if (types->scratch)
		lks_unmap(types->scratch, types->scratch_bytes);
	bytes += bytes / 8;
	types->scratch = lks_map(bytes);
	types->scratch_bytes = types->scratch ? bytes : 0;
	return types->scratch;
}
