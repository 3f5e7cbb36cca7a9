/* SPDX-License-Identifier: MIT */
/* Interned stacks, as the sanitizers' StackDepot: insert-only and lock-free.
 * A stack is stored once and named by a 32-bit id; blocks keep only the id.
 * The hash slots are reserved whole at start (4 MiB); records and frames
 * grow in chunks mapped as they fill, each twice the one before, so a
 * program with few stacks holds little address space. Nothing ever moves:
 * readers need no lock.
 *
 * A stack's probe sequence starts with a bucket of a small table (16 KiB,
 * one cache line per bucket) and goes on in the large one: a short
 * process's hundred stacks fill a few pages of the small table where they
 * touched a page each of the large one (two faults: the probe reads the
 * page before the claim writes it). One sequence, so two threads interning
 * the same new stack still meet at its first empty slot. A slot holds the
 * id and, in its top bits, some of the hash: most slots of other stacks
 * are passed without reading their record. */
#include <string.h>

#include "shim.h"

#define SLOT_BITS 20                     /* hash slots: 1 Mi, 4 MiB reserved */
#define SLOTS (1u << SLOT_BITS)
#define MAX_TRACES (SLOTS - SLOTS / 4)   /* keep probing short */
#define MAX_PROBES 256
#define BUCKET_SLOTS 16u                 /* a cache line of slots */
#define BUCKETS 256u                     /* the small table: 16 KiB */
#define ID_BITS 20                       /* a slot: id | tag << ID_BITS */
#define ID_MASK ((1u << ID_BITS) - 1)

/* Records by id: chunk k holds RECORDS_FIRST << k of them (64 KiB first). */
#define RECORDS_FIRST 4096u
#define RECORD_CHUNKS 8u   /* 4096 * 255 ids, more than MAX_TRACES */
/* Frames: chunk k holds FRAMES_FIRST << k (1 MiB first, 127 MiB in all). */
#define FRAMES_FIRST (128u << 10)
#define FRAME_CHUNKS 7u

struct trace_record {
	uint32_t hash;
	uint32_t depth;      /* atomic; 0 until the frames are written */
	uint64_t *frames;
};

static uint32_t *slots;               /* hash -> tag | trace id (0 = empty) */
static uint32_t *first_slots;         /* the small table, in buckets */
static void *record_chunks[RECORD_CHUNKS];   /* atomic */
static struct trace_record *first_records;   /* chunk 0, mapped at start */
static void *frame_chunks[FRAME_CHUNKS];     /* atomic */
static uint64_t frames_at;            /* atomic: chunk << 32 | frames taken in it */
static uint32_t next_id = 1;          /* atomic */
static uint64_t missed;               /* atomic: stacks we could not keep */

_Static_assert(MAX_TRACES <= ID_MASK, "an id fits below the tag");
_Static_assert((uint64_t)RECORDS_FIRST * ((1u << RECORD_CHUNKS) - 1) >= MAX_TRACES,
               "a record for every id");

static uint32_t chunk_of_id(uint32_t id, uint32_t *first)
{
	uint32_t chunk = 31u - (uint32_t)__builtin_clz(id / RECORDS_FIRST + 1);

	*first = RECORDS_FIRST * ((1u << chunk) - 1);
	return chunk;
}

/* The record of an id handed out; NULL if its chunk could not be mapped. */
static inline struct trace_record *record_of(uint32_t id, bool map)
{
	uint32_t first, chunk;

	if (lks_likely(id < RECORDS_FIRST))
		return &first_records[id];  /* most programs' every stack */
	chunk = chunk_of_id(id, &first);
	size_t bytes = (size_t)(RECORDS_FIRST << chunk) * sizeof(struct trace_record);
	/* acquire: pairs with lks_chunk's install */
	struct trace_record *records = map ? lks_chunk(&record_chunks[chunk], bytes)
	                               : __atomic_load_n(&record_chunks[chunk], __ATOMIC_ACQUIRE);

	return records ? &records[id - first] : NULL;
}

static uint64_t *frame_chunk(uint32_t chunk)
{
	return lks_chunk(&frame_chunks[chunk], (size_t)(FRAMES_FIRST << chunk) * sizeof(uint64_t));
}

/* Room for depth frames: taken from the current chunk, or at the start of
 * the next one (the rest of the current one is left unused). */
static uint64_t *frames_take(uint32_t depth)
{
	uint64_t at = __atomic_load_n(&frames_at, __ATOMIC_RELAXED);

	for (;;) {
		uint32_t chunk = (uint32_t)(at >> 32), used = (uint32_t)at;
		uint64_t next = at + depth;
		uint64_t *base;

		if (used + depth > FRAMES_FIRST << chunk) {
			if (++chunk == FRAME_CHUNKS)
				return NULL;
			used = 0;
			next = (uint64_t)chunk << 32 | depth;
		}
		base = frame_chunk(chunk);
		if (!base)
			return NULL;
		/* relaxed: the record's release publishes the frames */
		if (__atomic_compare_exchange_n(&frames_at, &at, next, true,
		                                __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			return base + used;
	}
}

/* Called once by the thread that starts the shim, before it goes active:
 * the hash slots and the first chunks. */
bool lks_depot_init(void)
{
	slots = lks_reserve(SLOTS * sizeof(*slots));
	first_slots = lks_map(BUCKETS * BUCKET_SLOTS * sizeof(*first_slots));
	first_records = lks_chunk(&record_chunks[0],
	                          RECORDS_FIRST * sizeof(struct trace_record));
	return slots && first_slots && first_records && frame_chunk(0);
}

static uint32_t hash_frames(void *const *ips, uint32_t depth)
{
	uint64_t hash = 0x9e3779b97f4a7c15u ^ depth;

	for (uint32_t i = 0; i < depth; i++) {
		hash ^= (uint64_t)ips[i];
		hash *= 0xff51afd7ed558ccdu;
		hash ^= hash >> 32;
	}
	return (uint32_t)hash;
}

static bool same_trace(uint32_t id, uint32_t hash, void *const *ips, uint32_t depth)
{
	/* a published id's record is mapped: its chunk came before the slot */
	const struct trace_record *record = record_of(id, false);

	/* acquire: pairs with the release that published depth */
	if (record->hash != hash ||
	    __atomic_load_n(&record->depth, __ATOMIC_ACQUIRE) != depth)
		return false;
	return memcmp(record->frames, ips, depth * sizeof(uint64_t)) == 0;
}

/* A new record, complete before any slot can point at it. */
static uint32_t new_record(uint32_t hash, void *const *ips, uint32_t depth)
{
	uint32_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	struct trace_record *record;
	uint64_t *frames;

	if (id >= MAX_TRACES || !(record = record_of(id, true)) || !(frames = frames_take(depth)))
		return 0;
	memcpy(frames, ips, depth * sizeof(uint64_t));
	record->hash = hash;
	record->frames = frames;
	/* release: frames and their place are visible to whoever reads depth */
	__atomic_store_n(&record->depth, depth, __ATOMIC_RELEASE);
	return id;
}

/* The probe'th slot of the hash's sequence: its bucket, then the large table. */
static uint32_t *slot_at(uint32_t hash, uint32_t probe)
{
	if (probe < BUCKET_SLOTS)
		return &first_slots[(hash >> 8) % BUCKETS * BUCKET_SLOTS + probe];
	return &slots[(hash + probe - BUCKET_SLOTS) & (SLOTS - 1)];
}

uint32_t lks_depot_intern(void *const *ips, uint32_t depth)
{
	uint32_t hash, tag, mine = 0;

	if (depth == 0)
		goto missed;
	hash = hash_frames(ips, depth);
	tag = hash & ~ID_MASK;
	for (uint32_t probe = 0; probe < BUCKET_SLOTS + MAX_PROBES; probe++) {
		uint32_t *slot = slot_at(hash, probe);
		/* acquire: the record behind a published id is complete */
		uint32_t seen = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		if (seen == 0) {
			if (mine == 0 && (mine = new_record(hash, ips, depth)) == 0)
				goto missed;
			if (__atomic_compare_exchange_n(slot, &seen, tag | mine, false,
			                                __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
				return mine;
			/* lost the slot: seen is the winner's; our record stays
			 * unreferenced and is tried again at the next slot */
		}
		if ((seen & ~ID_MASK) == tag && same_trace(seen & ID_MASK, hash, ips, depth))
			return seen & ID_MASK;
	}
missed:
	__atomic_fetch_add(&missed, 1, __ATOMIC_RELAXED);
	return 0;
}

uint32_t lks_depot_count(void)
{
	uint32_t count = __atomic_load_n(&next_id, __ATOMIC_RELAXED);

	return count > MAX_TRACES ? MAX_TRACES : count;
}

const uint64_t *lks_depot_frames(uint32_t id, uint32_t *depth)
{
	const struct trace_record *record;

	if (id == 0 || id >= lks_depot_count() || !(record = record_of(id, false)))
		return NULL;
	*depth = __atomic_load_n(&record->depth, __ATOMIC_ACQUIRE);
	return *depth ? record->frames : NULL;
}

uint64_t lks_depot_missed(void)
{
	return __atomic_load_n(&missed, __ATOMIC_RELAXED);
}
