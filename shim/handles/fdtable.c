/* SPDX-License-Identifier: MIT */
/* The fd table: slots indexed by fd number, in chunks of 4,096 fds mapped
 * on the first fd recorded in each (the first 128 KiB hold fds 0-4095), so
 * it takes room as the program uses fds, never moves, and needs no lock.
 * A FILE or DIR stream sits in the slot of the fd it owns. Each slot keeps
 * which file its fd was opened on, so that a close the shim never saw
 * (libuv's syscall(SYS_close)) is found when a snapshot is taken. */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "fdtable.h"
#include "shim.h"
#include "sys.h"

#define FD_CHUNK 4096u
#define FD_CAP_MAX (1u << 24)  /* the kernel's nr_open is at most 1 Mi by default */

/* meta: trace << 32 | type << 16 | flags << 8 | 1; 0 is an empty slot.
 * One word, so that record and forget are each a single atomic store; the
 * other fields are written before it and read between two reads of it. */
struct fd_slot {
	uint64_t meta;
	uint64_t addr;
	uint64_t ino;
	uint32_t dev;
	uint32_t bytes;
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
void lks_fd_record(const struct lks_fd_entry *entry)
{
	int fd = entry->fd;
	struct fd_slot *slot;

	if (fd >= 0 && fd <= STDERR_FILENO)
		return;
	if (!(slot = slot_of(fd, true))) {
		lks_handles_count_missed();
		return;
	}
	__atomic_store_n(&slot->addr, entry->addr, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->ino, entry->ino, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->dev, entry->dev, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->bytes, entry->bytes, __ATOMIC_RELAXED);
	/* release: a reader that sees the meta word sees the fields above */
	__atomic_store_n(&slot->meta, pack(entry->type, entry->trace), __ATOMIC_RELEASE);
	raise_high((uint32_t)fd + 1);
}

/* The fields besides meta, read relaxed: the caller orders them. */
static void read_fields(int fd, const struct fd_slot *slot, struct lks_fd_entry *entry)
{
	entry->fd = fd;
	entry->addr = __atomic_load_n(&slot->addr, __ATOMIC_RELAXED);
	entry->ino = __atomic_load_n(&slot->ino, __ATOMIC_RELAXED);
	entry->dev = __atomic_load_n(&slot->dev, __ATOMIC_RELAXED);
	entry->bytes = __atomic_load_n(&slot->bytes, __ATOMIC_RELAXED);
}

static bool fill_entry(uint64_t meta, struct lks_fd_entry *entry)
{
	if (!meta)
		return false;
	unpack(meta, &entry->type, &entry->flags, &entry->trace);
	return true;
}

bool lks_fd_forget(int fd, struct lks_fd_entry *old)
{
	struct fd_slot *slot = slot_of(fd, false);
	uint64_t meta;

	if (!slot || !__atomic_load_n(&slot->meta, __ATOMIC_RELAXED))
		return false;  /* read-only test first: an unused page stays unmapped */
	read_fields(fd, slot, old);
	/* acq_rel: pairs with the release in lks_fd_record for the fields */
	meta = __atomic_exchange_n(&slot->meta, 0, __ATOMIC_ACQ_REL);
	return fill_entry(meta, old);
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
	uint64_t meta;

	if (!slot)
		return false;
	meta = __atomic_load_n(&slot->meta, __ATOMIC_ACQUIRE);
	if (!meta)
		return false;
	read_fields(fd, slot, entry);
	/* acquire fence: the re-read below is not hoisted above the field reads */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&slot->meta, __ATOMIC_RELAXED) != meta)
		return false;
	return fill_entry(meta, entry);
}

void lks_fd_foreach(void (*visit)(const struct lks_fd_entry *, void *), void *ctx)
{
	uint32_t high = __atomic_load_n(&fd_high, __ATOMIC_RELAXED);
	struct lks_fd_entry entry;

	for (uint32_t fd = 0; fd < high; fd++)
		if (lks_fd_lookup((int)fd, &entry))
			visit(&entry, ctx);
}

/* ---- the file an fd holds ------------------------------------------------------ */

/* 32 bits: enough for the kernel's encoding of a device number. */
static uint32_t fold_dev(dev_t dev)
{
	return (uint32_t)(dev ^ (dev >> 32));
}

/* One raw fstat per recorded fd (docs/PERFORMANCE.md has its cost): an
 * identity taken later could not tell a closed fd from a reused number. */
void lks_fd_identify(struct lks_fd_entry *entry)
{
	struct stat st;

	lks_fd_set_identity(entry, lks_sys_fstat(entry->fd, &st) == 0 ? &st : NULL);
}

void lks_fd_set_identity(struct lks_fd_entry *entry, const struct stat *st)
{
	entry->ino = st ? st->st_ino : 0;
	entry->dev = st ? fold_dev(st->st_dev) : 0;
}

/* A number closed and reopened unseen on the same file (the same path, an
 * anonymous inode that many share) still looks the same: it is open, and
 * reported so. */
enum lks_fd_state lks_fd_check(const struct lks_fd_entry *entry)
{
	struct stat st;

	if (lks_sys_fstat(entry->fd, &st) != 0)
		return errno == EBADF ? LKS_FD_CLOSED : LKS_FD_SAME;
	if (entry->ino == 0 && entry->dev == 0)
		return LKS_FD_SAME;  /* no identity was taken: open is all we know */
	return st.st_ino == entry->ino && fold_dev(st.st_dev) == entry->dev
	       ? LKS_FD_SAME : LKS_FD_REPLACED;
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
