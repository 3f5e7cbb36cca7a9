/* SPDX-License-Identifier: MIT */
/* The fd table: slots indexed by fd number, in chunks of 4,096 fds mapped
 * on the first fd recorded in each (the first 64 KiB hold fds 0-4095), so
 * it takes room as the program uses fds, never moves, and needs no lock.
 * A FILE or DIR stream sits in the slot of the fd it owns. */
#define _GNU_SOURCE
#include <unistd.h>

#include "fdtable.h"
#include "shim.h"

#define FD_CHUNK 4096u
#define FD_CAP_MAX (1u << 24)  /* the kernel's nr_open is at most 1 Mi by default */

/* meta: trace << 32 | type << 16 | flags << 8 | 1; 0 is an empty slot.
 * One word, so that record and forget are each a single atomic store. */
struct fd_slot {
	uint64_t meta;
	uint64_t addr;
};

static void *fd_chunks[FD_CAP_MAX / FD_CHUNK]; /* atomic, mapped on use */
static uint32_t fd_high;      /* atomic: one past the highest fd recorded */
static uint64_t missed;       /* atomic: handles of any kind not recorded */

/* fd's slot; NULL when fd is out of range or its chunk is not mapped (and
 * map is false, or mapping failed). */
static struct fd_slot *slot_of(int fd, bool map)
{
	void **chunk_at = &fd_chunks[(uint32_t)fd / FD_CHUNK];
	struct fd_slot *chunk;

	if (fd < 0 || (uint32_t)fd >= FD_CAP_MAX)
		return NULL;
	/* acquire: pairs with lks_chunk's install */
	chunk = map ? lks_chunk(chunk_at, FD_CHUNK * sizeof(*chunk))
	            : __atomic_load_n(chunk_at, __ATOMIC_ACQUIRE);
	return chunk ? &chunk[(uint32_t)fd % FD_CHUNK] : NULL;
}

void lks_handles_count_missed(void)
{
	__atomic_fetch_add(&missed, 1, __ATOMIC_RELAXED);
}

uint64_t lks_handles_missed(void)
{
	return __atomic_load_n(&missed, __ATOMIC_RELAXED);
}

static uint64_t pack(uint16_t type, uint32_t trace)
{
	return (uint64_t)trace << 32 | (uint64_t)type << 16 | 1u;
}

static void unpack(uint64_t meta, uint16_t *type, uint8_t *flags, uint32_t *trace)
{
	*trace = (uint32_t)(meta >> 32);
	*type = (uint16_t)(meta >> 16);
	*flags = (uint8_t)(meta >> 8);
}

/* ---- fds ----------------------------------------------------------------- */

static void raise_high(uint32_t end)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);

	while (high < end && !__atomic_compare_exchange_n(&fd_high, &high, end, true,
	                                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* fds 0-2 are never a handle to close: whatever a program puts there
 * (dup2 of a pipe in a shell's pipeline child, freopen of stdout, a daemon's
 * /dev/null) is its standard stream, meant for its children and closed by
 * exit. */
void lks_fd_record(int fd, uint16_t type, uint32_t trace, uint64_t addr)
{
	struct fd_slot *slot;

	if (fd >= 0 && fd <= STDERR_FILENO)
		return;
	if (!(slot = slot_of(fd, true))) {
		lks_handles_count_missed();
		return;
	}
	__atomic_store_n(&slot->addr, addr, __ATOMIC_RELAXED);
	/* release: a reader that sees the meta word sees the addr above */
	__atomic_store_n(&slot->meta, pack(type, trace), __ATOMIC_RELEASE);
	raise_high((uint32_t)fd + 1);
}

static bool fill_entry(int fd, uint64_t meta, uint64_t addr, struct lks_fd_entry *entry)
{
	if (!meta)
		return false;
	entry->fd = fd;
	entry->addr = addr;
	unpack(meta, &entry->type, &entry->flags, &entry->trace);
	return true;
}

bool lks_fd_forget(int fd, struct lks_fd_entry *old)
{
	struct fd_slot *slot = slot_of(fd, false);
	uint64_t addr, meta;

	if (!slot || !__atomic_load_n(&slot->meta, __ATOMIC_RELAXED))
		return false;  /* read-only test first: an unused page stays unmapped */
	addr = __atomic_load_n(&slot->addr, __ATOMIC_RELAXED);
	/* acq_rel: pairs with the release in lks_fd_record for addr */
	meta = __atomic_exchange_n(&slot->meta, 0, __ATOMIC_ACQ_REL);
	return fill_entry(fd, meta, addr, old);
}

bool lks_fd_forget_stream(int fd, uint64_t addr)
{
	struct fd_slot *slot = slot_of(fd, false);
	uint64_t meta;

	if (!slot)
		return false;
	meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	if (!meta || __atomic_load_n(&slot->addr, __ATOMIC_RELAXED) != addr)
		return false;
	/* CAS: a thread that reused the fd meanwhile keeps its record */
	return __atomic_compare_exchange_n(&slot->meta, &meta, 0, false,
	                                   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void lks_fd_forget_range(unsigned first, unsigned last)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);
	struct lks_fd_entry unused;

	for (uint64_t fd = first; fd <= last && fd < high; fd++)
		lks_fd_forget((int)fd, &unused);
}

void lks_fd_forget_streams(uint16_t type)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);

	for (uint32_t fd = 0; fd < high; fd++) {
		struct fd_slot *slot = slot_of((int)fd, false);
		uint64_t meta = slot ? __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE) : 0;

		if (meta && (uint16_t)(meta >> 16) == type)
			__atomic_compare_exchange_n(&slot->meta, &meta, 0, false,
			                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
}

/* A copy taken between two reads of the same meta word: an entry replaced
 * meanwhile is skipped rather than reported half old, half new. */
bool lks_fd_lookup(int fd, struct lks_fd_entry *entry)
{
	struct fd_slot *slot = slot_of(fd, false);
	uint64_t meta, addr;

	if (!slot)
		return false;
	meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	addr = __atomic_load_n(&slot->addr, __ATOMIC_RELAXED);
	/* acquire fence: the re-read below is not hoisted above the addr read */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&slot->meta, __ATOMIC_RELAXED) != meta)
		return false;
	return fill_entry(fd, meta, addr, entry);
}

void lks_fd_foreach(void (*visit)(const struct lks_fd_entry *, void *), void *ctx)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);
	struct lks_fd_entry entry;

	for (uint32_t fd = 0; fd < high; fd++)
		if (lks_fd_lookup((int)fd, &entry))
			visit(&entry, ctx);
}

/* ---- fork ------------------------------------------------------------------ */

/* The fork child is single-threaded here: plain read-modify-writes suffice. */
void lks_fd_mark_inherited(void)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);

	for (uint32_t fd = 0; fd < high; fd++) {
		struct fd_slot *slot = slot_of((int)fd, false);

		if (slot && slot->meta)
			slot->meta |= (uint64_t)LKS_FD_INHERITED << 8; /* meta's flags byte */
	}
}
