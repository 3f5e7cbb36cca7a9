/* SPDX-License-Identifier: MIT */
/* The handle tables. fds: an array indexed by fd number, reserved once for
 * the hard RLIMIT_NOFILE and committed by the kernel page by page as fds are
 * used, so it never moves and needs no lock. Mappings: an open-addressing
 * table keyed by address where a key is looked for only within a short
 * window, so that churn (tombstones) never makes a probe long. */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <unistd.h>

#include "fdtable.h"
#include "shim.h"

#define FD_CAP_MIN 65536u
#define FD_CAP_MAX (1u << 24)
#define MAP_SLOTS (1u << 17)
#define MAP_WINDOW 32u

/* meta: trace << 32 | type << 16 | flags << 8 | 1; 0 is an empty slot.
 * One word, so that record and forget are each a single atomic store. */
struct fd_slot {
	uint64_t meta;
	uint64_t addr;
};

#define KEY_EMPTY 0u
#define KEY_TOMB 1u  /* mapping addresses are page aligned: never 1 */

struct map_slot {
	uint64_t key;  /* address, KEY_EMPTY or KEY_TOMB */
	uint64_t size;
	uint64_t meta; /* as fd_slot.meta; written last, cleared first */
};

enum { TABLES_NONE, TABLES_BUSY, TABLES_READY, TABLES_FAILED };

static int tables_state;      /* atomic */
static struct fd_slot *fds;
static uint32_t fd_cap;
static uint32_t fd_high;      /* atomic: one past the highest fd recorded */
static struct map_slot *maps;
/* Which runs of MAP_RUN slots were ever written: the walks (a snapshot,
 * a fork child marking what it inherited) read those only, not the 3 MiB
 * table, whose untouched pages would each cost a fault. */
#define MAP_RUN 512u
static uint64_t map_runs_used[MAP_SLOTS / MAP_RUN / 64]; /* atomic bits */
static uint64_t missed;       /* atomic */

static uint32_t fd_capacity(void)
{
	struct rlimit limit;
	uint64_t cap = FD_CAP_MIN;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max > cap)
		cap = limit.rlim_max;
	return cap > FD_CAP_MAX ? FD_CAP_MAX : (uint32_t)cap;
}

/* Set up at start-up (lks_fd_tables_init), before the program has threads.
 * A recorder that comes first anyway sets up itself; one racing with it
 * counts its handle missed rather than wait (a signal handler may have
 * interrupted the set-up on its own thread). */
static bool tables_ready(void)
{
	int state = __atomic_load_n(&tables_state, __ATOMIC_ACQUIRE);

	if (lks_likely(state == TABLES_READY))
		return true;
	if (state != TABLES_NONE ||
	    !__atomic_compare_exchange_n(&tables_state, &state, TABLES_BUSY, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	fd_cap = fd_capacity();
	fds = lks_reserve((size_t)fd_cap * sizeof(*fds));
	maps = lks_reserve((size_t)MAP_SLOTS * sizeof(*maps));
	/* release: the pointers above are visible to whoever sees READY */
	__atomic_store_n(&tables_state, fds && maps ? TABLES_READY : TABLES_FAILED,
	                 __ATOMIC_RELEASE);
	return fds && maps;
}

void lks_fd_tables_init(void)
{
	tables_ready();
}

static bool tables_present(void)
{
	return __atomic_load_n(&tables_state, __ATOMIC_ACQUIRE) == TABLES_READY;
}

void lks_handles_count_missed(void)
{
	__atomic_fetch_add(&missed, 1, __ATOMIC_RELAXED);
}

uint64_t lks_handles_missed(void)
{
	return __atomic_load_n(&missed, __ATOMIC_RELAXED);
}

static uint64_t pack(uint16_t type, uint8_t flags, uint32_t trace)
{
	return (uint64_t)trace << 32 | (uint64_t)type << 16 | (uint64_t)flags << 8 | 1u;
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
	if (fd >= 0 && fd <= STDERR_FILENO)
		return;
	if (!tables_ready() || fd < 0 || (uint32_t)fd >= fd_cap) {
		lks_handles_count_missed();
		return;
	}
	__atomic_store_n(&fds[fd].addr, addr, __ATOMIC_RELAXED);
	/* release: a reader that sees the meta word sees the addr above */
	__atomic_store_n(&fds[fd].meta, pack(type, 0, trace), __ATOMIC_RELEASE);
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
	uint64_t addr, meta;

	if (!tables_present() || fd < 0 || (uint32_t)fd >= fd_cap)
		return false;
	if (!__atomic_load_n(&fds[fd].meta, __ATOMIC_RELAXED))
		return false;  /* read-only test first: an unused page stays unmapped */
	addr = __atomic_load_n(&fds[fd].addr, __ATOMIC_RELAXED);
	/* acq_rel: pairs with the release in lks_fd_record for addr */
	meta = __atomic_exchange_n(&fds[fd].meta, 0, __ATOMIC_ACQ_REL);
	return fill_entry(fd, meta, addr, old);
}

bool lks_fd_forget_stream(int fd, uint64_t addr)
{
	uint64_t meta;

	if (!tables_present() || fd < 0 || (uint32_t)fd >= fd_cap)
		return false;
	meta = __atomic_load_n(&fds[fd].meta, __ATOMIC_ACQUIRE);
	if (!meta || __atomic_load_n(&fds[fd].addr, __ATOMIC_RELAXED) != addr)
		return false;
	/* CAS: a thread that reused the fd meanwhile keeps its record */
	return __atomic_compare_exchange_n(&fds[fd].meta, &meta, 0, false,
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

	for (uint32_t fd = 0; fd < high && tables_present(); fd++) {
		uint64_t meta = __atomic_load_n(&fds[fd].meta, __ATOMIC_ACQUIRE);

		if (meta && (uint16_t)(meta >> 16) == type)
			__atomic_compare_exchange_n(&fds[fd].meta, &meta, 0, false,
			                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
	}
}

/* A copy taken between two reads of the same meta word: an entry replaced
 * meanwhile is skipped rather than reported half old, half new. */
bool lks_fd_lookup(int fd, struct lks_fd_entry *entry)
{
	uint64_t meta, addr;

	if (!tables_present() || fd < 0 || (uint32_t)fd >= fd_cap)
		return false;
	meta = __atomic_load_n(&fds[fd].meta, __ATOMIC_ACQUIRE);
	addr = __atomic_load_n(&fds[fd].addr, __ATOMIC_RELAXED);
	/* acquire fence: the re-read below is not hoisted above the addr read */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&fds[fd].meta, __ATOMIC_RELAXED) != meta)
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

/* ---- mappings ------------------------------------------------------------ */

static uint32_t map_home(uint64_t addr)
{
	return (uint32_t)(((addr >> 12) * 0x9e3779b97f4a7c15ull) >> 40) % MAP_SLOTS;
}

static void mark_run_used(uint32_t slot)
{
	uint32_t run = slot / MAP_RUN;

	/* relaxed: the walks read a run's slots with their own ordering */
	__atomic_fetch_or(&map_runs_used[run / 64], 1ull << (run % 64), __ATOMIC_RELAXED);
}

/* Calls visit(slot index) for every slot of the runs ever used. */
static void walk_used_slots(void (*visit)(uint32_t slot, void *), void *ctx)
{
	for (uint32_t run = 0; run < MAP_SLOTS / MAP_RUN; run++)
		if (__atomic_load_n(&map_runs_used[run / 64], __ATOMIC_RELAXED) &
		    (1ull << (run % 64)))
			for (uint32_t slot = run * MAP_RUN; slot < (run + 1) * MAP_RUN; slot++)
				visit(slot, ctx);
}

void lks_mapping_record(uint64_t addr, uint64_t size, uint32_t trace)
{
	uint32_t home = map_home(addr);

	if (!tables_ready() || addr <= KEY_TOMB) {
		lks_handles_count_missed();
		return;
	}
	for (uint32_t i = 0; i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		uint64_t key = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);

		if (key != KEY_EMPTY && key != KEY_TOMB)
			continue;
		/* relaxed CAS: the slot's contents are published by meta below */
		if (!__atomic_compare_exchange_n(&slot->key, &key, addr, false,
		                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		mark_run_used((home + i) % MAP_SLOTS);
		__atomic_store_n(&slot->size, size, __ATOMIC_RELAXED);
		/* release: a reader that sees meta sees key and size */
		__atomic_store_n(&slot->meta, pack(LKS_HANDLE_MMAP, 0, trace), __ATOMIC_RELEASE);
		return;
	}
	lks_handles_count_missed();
}

static bool copy_mapping(struct map_slot *slot, uint64_t meta, struct lks_map_entry *entry)
{
	uint16_t type;

	if (!meta)
		return false;
	entry->addr = __atomic_load_n(&slot->key, __ATOMIC_RELAXED);
	entry->size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
	unpack(meta, &type, &entry->flags, &entry->trace);
	return entry->addr > KEY_TOMB;
}

bool lks_mapping_forget(uint64_t addr, struct lks_map_entry *old)
{
	uint32_t home = map_home(addr);

	if (!tables_present())
		return false;
	for (uint32_t i = 0; i < MAP_WINDOW; i++) {
		struct map_slot *slot = &maps[(home + i) % MAP_SLOTS];
		uint64_t meta;

		if (__atomic_load_n(&slot->key, __ATOMIC_ACQUIRE) != addr)
			continue;
		/* acq_rel: whoever clears meta owns the slot's contents */
		meta = __atomic_exchange_n(&slot->meta, 0, __ATOMIC_ACQ_REL);
		if (!copy_mapping(slot, meta, old))
			continue;
		/* release: the slot is free only after its contents were read */
		__atomic_store_n(&slot->key, KEY_TOMB, __ATOMIC_RELEASE);
		return true;
	}
	return false;
}

struct mapping_visit {
	void (*visit)(const struct lks_map_entry *, void *);
	void *ctx;
};

static void visit_mapping(uint32_t slot, void *ctx)
{
	struct mapping_visit *walk = ctx;
	/* acquire: the key and size below were written before meta */
	uint64_t meta = __atomic_load_n(&maps[slot].meta, __ATOMIC_ACQUIRE);
	struct lks_map_entry entry;

	if (meta && copy_mapping(&maps[slot], meta, &entry))
		walk->visit(&entry, walk->ctx);
}

void lks_mapping_foreach(void (*visit)(const struct lks_map_entry *, void *), void *ctx)
{
	struct mapping_visit walk = { visit, ctx };

	if (maps && tables_present())
		walk_used_slots(visit_mapping, &walk);
}

/* ---- fork ------------------------------------------------------------------ */

#define INHERITED_MARK ((uint64_t)LKS_FD_INHERITED << 8) /* in meta's flags byte */

static void mark_mapping_inherited(uint32_t slot, void *unused)
{
	(void)unused;
	if (maps[slot].meta)
		maps[slot].meta |= INHERITED_MARK;
}

/* The fork child is single-threaded here: plain read-modify-writes suffice. */
void lks_handles_mark_inherited(void)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);

	if (!tables_present())
		return;
	for (uint32_t fd = 0; fd < high; fd++)
		if (fds[fd].meta)
			fds[fd].meta |= INHERITED_MARK;
	walk_used_slots(mark_mapping_inherited, NULL);
}
