/* SPDX-License-Identifier: MIT */
/* Python objects typed at snapshot time (docs/PYTHON.md, "Typed objects"):
 * a live block is an object when its header, at the block's start (an
 * object without GC) or past the GC header and pre-header its type says it
 * has, holds a live reference count and a type pytypeset.c proves. The
 * blocks are sorted by address and the heap read in pieces of up to 64 KiB
 * with process_vm_readv: an in-run snapshot races with frees, so a read
 * may fail, and never faults. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../process.h"
#include "python.h"
#include "pyroom.h"
#include "pytypes.h"

#define HEAD_BYTES 48      /* pre-header, GC header, refcount, type */
#define WINDOW (64 * 1024) /* bytes of heap read in one piece */
#define GAP_MAX 4096       /* farther apart, two blocks are read apart */
#define WINDOWS 16         /* pieces per system call */
#define TYPE_IDS_MAX 0xffffffu
#define RADIX_MAX 4096     /* buckets of a level of the sort */

struct object_slot {
	uint64_t key;          /* trace << 32 | type << 8 | class; 0: empty */
	uint64_t index;        /* of the record in objects */
};

struct window {
	uint64_t first, end;   /* blocks [first, end) of the sorted ones */
	uint64_t start, len;   /* the bytes read */
};

struct lks_pytypes {
	struct pytype_set set;
	pid_t pid;
	struct pytype_block *blocks;  /* this snapshot's, then sorted */
	uint64_t block_count, block_room;
	bool blocks_sorted;           /* they came in address order (an exit scan's) */
	uint8_t bytes[WINDOWS][WINDOW];
	struct window windows[WINDOWS];
	struct iovec local[WINDOWS], remote[WINDOWS];
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

static size_t head_len(const struct pytype_block *block)
{
	return block->size < HEAD_BYTES ? block->size : HEAD_BYTES;
}

static void classify(struct lks_pytypes *types, const struct pytype_block *block,
                     const uint8_t *head)
{
	uint32_t at, id = pytype_set_classify(&types->set, head, head_len(block), block->size, &at);

	if (id && id <= TYPE_IDS_MAX)
		count_object(types, block, id);
	else
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
		for (uint64_t i = 1; i < count; i++) {
			struct pytype_block kept = blocks[i];
			uint64_t j = i;

			for (; j > 0 && blocks[j - 1].addr_class > kept.addr_class; j--)
				blocks[j] = blocks[j - 1];
			blocks[j] = kept;
		}
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

static void sort_blocks(struct lks_pytypes *types)
{
	sort_range(types, types->blocks, types->block_count);
}

/* Blocks close together are read as one piece of heap, up to WINDOW. */
static uint64_t plan_window(const struct pytype_block *blocks, uint64_t count, uint64_t at,
                            struct window *window)
{
	uint64_t start = PYT_BLOCK_ADDR(&blocks[at]), end = start + head_len(&blocks[at]);

	window->first = at;
	for (at++; at < count; at++) {
		uint64_t addr = PYT_BLOCK_ADDR(&blocks[at]), last = addr + head_len(&blocks[at]);

		if (addr > end + GAP_MAX || last - start > WINDOW)
			break;
		end = last > end ? last : end;
	}
	window->end = at;
	window->start = start;
	window->len = end - start;
	return at;
}

static void classify_window(struct lks_pytypes *types, const struct window *window,
                            const uint8_t *bytes)
{
	const struct pytype_block *blocks = types->blocks;

	for (uint64_t i = window->first; i < window->end; i++)
		classify(types, &blocks[i], bytes + PYT_BLOCK_ADDR(&blocks[i]) - window->start);
}

/* A piece that could not be read whole (part of it unmapped since): each
 * of its blocks alone; what cannot be read is counted. */
static void classify_one_by_one(struct lks_pytypes *types, const struct window *window)
{
	const struct pytype_block *blocks = types->blocks;
	uint8_t head[HEAD_BYTES];

	for (uint64_t i = window->first; i < window->end; i++) {
		if (lks_py_peek(head, PYT_BLOCK_ADDR(&blocks[i]), head_len(&blocks[i])))
			classify(types, &blocks[i], head);
		else
			types->unreadable++;
	}
}

/* Up to WINDOWS pieces per system call. The call stops at a piece it cannot
 * read: that one goes block by block, the ones after it are planned again. */
static void read_blocks(struct lks_pytypes *types)
{
	const struct pytype_block *blocks = types->blocks;
	uint64_t count = types->block_count, at = 0;

	while (at < count) {
		uint32_t planned = 0, done = 0;
		uint64_t next = at;
		long got;

		while (planned < WINDOWS && next < count) {
			struct window *w = &types->windows[planned];

			next = plan_window(blocks, count, next, w);
			types->local[planned] = (struct iovec){ types->bytes[planned], w->len };
			types->remote[planned++] = (struct iovec){ (void *)w->start, w->len };
		}
		got = syscall(SYS_process_vm_readv, (long)types->pid, types->local,
		              (unsigned long)planned, types->remote, (unsigned long)planned, 0L);
		for (uint64_t left = got > 0 ? (uint64_t)got : 0;
		     done < planned && left >= types->windows[done].len; done++) {
			left -= types->windows[done].len;
			classify_window(types, &types->windows[done], types->bytes[done]);
		}
		if (done < planned)
			classify_one_by_one(types, &types->windows[done++]);
		at = done < planned ? types->windows[done].first : next;
	}
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
	types->pid = getpid();
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
int lks_pytypes_write(struct lks_pytypes *types, struct lks_buf *type_records,
                      struct lks_buf *object_records, struct lks_strtab *strings,
                      struct lks_python *record)
{
	uint64_t started = lks_uptime_ns();
	uint32_t count;

	/* a block the list had no room for was counted untyped already */
	if (!types->blocks_sorted)
		sort_blocks(types);
	if (pytype_set_blocks(&types->set, types->blocks, types->block_count))
		read_blocks(types);
	else
		types->untyped += types->block_count;
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
 * address, and the set that proved their types. */
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
