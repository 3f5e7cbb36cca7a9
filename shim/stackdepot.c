/* SPDX-License-Identifier: MIT */
/* Interned stacks, as the sanitizers' StackDepot: insert-only and lock-free.
 * A stack is stored once and named by a 32-bit id; blocks keep only the id.
 * All memory is reserved up front (untouched pages cost nothing), so the
 * tables never move and readers need no lock. */
#include <string.h>

#include "shim.h"

#define SLOT_BITS 20                     /* hash slots: 1 Mi, 4 MiB reserved */
#define SLOTS (1u << SLOT_BITS)
#define MAX_TRACES (SLOTS - SLOTS / 4)   /* keep probing short */
#define MAX_FRAMES (16u << 20)           /* 128 MiB of frames reserved */
#define MAX_PROBES 256

struct trace_record {
	uint32_t hash;
	uint32_t depth;      /* atomic; 0 until the frames are written */
	uint64_t first;      /* index into frames */
};

static uint32_t *slots;               /* hash -> trace id (0 = empty) */
static struct trace_record *records;  /* by id; record 0 unused */
static uint64_t *frames;
static uint32_t next_id = 1;          /* atomic */
static uint64_t frames_used;          /* atomic */
static uint64_t missed;               /* atomic: stacks we could not keep */

/* Called once by the thread that starts the shim, before it goes active. */
bool lks_depot_init(void)
{
	slots = lks_reserve(SLOTS * sizeof(*slots));
	records = lks_reserve((size_t)MAX_TRACES * sizeof(*records));
	frames = lks_reserve((size_t)MAX_FRAMES * sizeof(*frames));
	return slots && records && frames;
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
	const struct trace_record *record = &records[id];

	/* acquire: pairs with the release that published depth */
	if (record->hash != hash ||
	    __atomic_load_n(&record->depth, __ATOMIC_ACQUIRE) != depth)
		return false;
	return memcmp(&frames[record->first], ips, depth * sizeof(*frames)) == 0;
}

/* A new record, complete before any slot can point at it. */
static uint32_t new_record(uint32_t hash, void *const *ips, uint32_t depth)
{
	uint32_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	uint64_t first = __atomic_fetch_add(&frames_used, depth, __ATOMIC_RELAXED);

	if (id >= MAX_TRACES || first + depth > MAX_FRAMES)
		return 0;
	memcpy(&frames[first], ips, depth * sizeof(*frames));
	records[id].hash = hash;
	records[id].first = first;
	/* release: frames and first are visible to whoever reads depth */
	__atomic_store_n(&records[id].depth, depth, __ATOMIC_RELEASE);
	return id;
}

uint32_t lks_depot_intern(void *const *ips, uint32_t depth)
{
	uint32_t hash, mine = 0;

	if (depth == 0)
		goto missed;
	hash = hash_frames(ips, depth);
	for (uint32_t probe = 0; probe < MAX_PROBES; probe++) {
		uint32_t *slot = &slots[(hash + probe) & (SLOTS - 1)];
		/* acquire: the record behind a published id is complete */
		uint32_t id = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		if (id == 0) {
			if (mine == 0 && (mine = new_record(hash, ips, depth)) == 0)
				goto missed;
			if (__atomic_compare_exchange_n(slot, &id, mine, false,
			                                __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
				return mine;
			/* lost the slot: id is the winner's; our record stays
			 * unreferenced and is tried again at the next slot */
		}
		if (same_trace(id, hash, ips, depth))
			return id;
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
	if (id == 0 || id >= lks_depot_count() || !records)
		return NULL;
	*depth = __atomic_load_n(&records[id].depth, __ATOMIC_ACQUIRE);
	return *depth ? &frames[records[id].first] : NULL;
}

uint64_t lks_depot_missed(void)
{
	return __atomic_load_n(&missed, __ATOMIC_RELAXED);
}
