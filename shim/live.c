/* SPDX-License-Identifier: MIT */
/* The live block table: address -> {size, trace, seq, family}, lock-free.
 *
 * Blocks are spread over shards by the 64 MiB region of their address:
 * glibc gives each thread's arena regions of its own, so a thread mostly
 * writes cache lines no other thread touches. In a shard, open addressing
 * with linear probing in "generations": inserts go to the current
 * generation; when it is 3/4 used (live or tombstone) another one, twice
 * its live count (1.5 times its size while the program grows), becomes
 * current. Older generations only lose entries and are recycled once
 * empty; each knows the range of addresses it held since its reset, so a
 * remove skips the ones that cannot hold its block. No entry ever moves,
 * so a remove or a snapshot reader needs no lock and never waits for
 * another thread (an insert waits only when the current generation is
 * full while another thread rotates: claim_again), and neither an insert
 * nor a remove writes a shared word but its own slot (and the range,
 * while the heap grows).
 *
 * A slot's key goes EMPTY -> CLAIMED -> addr -> TOMB -> CLAIMED -> ... The
 * payload is written between CLAIMED and addr; the release store of addr
 * publishes it. Keys are unique: the program cannot be given an address
 * again before its free, and free un-records before the real free.
 * Recycling turns every free slot of a generation CLOSED, which no insert
 * may claim, before it resets them: see generation_recycle. */
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* Key values below KEY_LIVE are states; any other key is a block address
 * (malloc never returns an address in the first page) with the block's
 * family in its top byte (user addresses stay below 2^56, even with 5-level
 * page tables): a free then reads nothing but its key. */
#define KEY_EMPTY 0u      /* never used since the last reset: ends a probe */
#define KEY_TOMB 1u       /* freed: probes go on, inserts may claim it */
#define KEY_CLOSED 2u     /* generation being recycled: nobody claims it */
#define KEY_CLAIMED 3u    /* an insert is writing the payload */
#define KEY_LIVE 4u
#define FAMILY_SHIFT 56
#define ADDR_MASK ((1ull << FAMILY_SHIFT) - 1)
#define WATCHED_KEY ((uint64_t)LKS_LIVE_WATCHED << FAMILY_SHIFT)
#define MAX_GENERATIONS 64     /* per shard */
#define SHARD_BITS 4
#define REGION_SHIFT 26        /* glibc's thread arenas are 64 MiB aligned */
#define MIN_SLOTS (1u << 14)
/* A shard's first generation: 24 KiB. A short process keeps a few hundred
 * blocks, and each slot it claims at random in a larger table would be a
 * page fault of its own (two: the probe reads before the claim writes). */
#define FIRST_SLOTS (1u << 10)
#define MAX_PROBES 4096        /* insert and remove agree on this bound */
#define SEQ_BATCH 1024
#define USED_BATCH 64

/* A slot is its key (address | family << FAMILY_SHIFT, or a state) in one
 * array and its payload in another: a free and an insert's probes read
 * only keys, 8 bytes a slot, so the lines every call touches are a third
 * of the table and stay in the core's cache far longer (the payloads are
 * written once, by the insert, and read by snapshots and realloc). */
struct payload {
	uint64_t size;
	uint32_t trace;
	uint32_t seq;
};
_Static_assert(sizeof(struct payload) == 16, "16 bytes of payload a slot");

struct generation {
	uint64_t *keys;     /* atomic each */
	struct payload *payloads;  /* the same mapping, after the keys */
	uint64_t count;     /* slots; written before gen_count publishes it */
	uint32_t epoch;     /* atomic: odd while being recycled */
	uint64_t low, high; /* atomic: addresses held since the last reset */
	/* atomic: slots taken from EMPTY, fed in batches; on a line of its own,
	 * away from the fields every insert reads */
	uint64_t used __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct shard {
	struct generation generations[MAX_GENERATIONS];
	uint32_t gen_count;     /* atomic: generations[0..gen_count) exist */
	uint32_t current_gen;   /* atomic: where inserts go */
	pid_t rotating;         /* atomic: pid whose thread rotates, or 0 */
} __attribute__((aligned(64)));

static struct shard shards[1u << SHARD_BITS];
/* atomic: bit s set once shard s has a generation. The snapshot walks only
 * those: reading an unused shard's count would fault in its page of .bss. */
static uint32_t shards_started;
_Static_assert(SHARD_BITS <= 5, "a bit per shard in shards_started");
static uint64_t missed_allocs, busy_allocs, unknown_frees, mismatched_frees; /* atomic */
static uint32_t seq_next;      /* atomic: handed out SEQ_BATCH at a time */

/* What a thread is in the middle of: an insert that claimed a slot and has
 * not published it, a rotation it holds. A signal handler that jumps out of
 * the shim leaves them set; the thread's next insert finds them so (its
 * inserts never nest) and gives them back. */
struct thread_state {
	uint32_t seq, seq_end;
	uint32_t used;
	bool counts_shared;        /* no slot of counts to be had: shared ones */
	struct thread_counts *counts;
	uint64_t *claimed;         /* key of a slot claimed, not yet published */
	struct shard *rotating;    /* shard whose rotation this thread holds */
};
static __thread struct thread_state mine __attribute__((tls_model("initial-exec")));

/* ---- counts ----------------------------------------------------------------
 * Each thread counts in a slot of its own, on a line of its own, that it
 * holds while it lives. A slot's counts add up over every thread that held
 * it: a snapshot sums all slots and loses nothing when a thread ends, nor
 * misses what threads still running counted. A thread ending gives its slot
 * back (a pthread key's destructor) for the next thread to adopt. */
#define COUNTS_PER_CHUNK 256u
#define COUNT_CHUNKS 256u          /* 65,536 threads at once; then shared */
#define COUNT_SLOTS (COUNTS_PER_CHUNK * COUNT_CHUNKS)

enum { COUNT_ALLOCS, COUNT_FREES, COUNT_KINDS };

struct thread_counts {
	uint64_t events[COUNT_KINDS]; /* written by the holder only */
	uint32_t held;                /* atomic: 1 while a thread holds it */
	uint32_t index;
} __attribute__((aligned(64)));

static struct thread_counts *count_chunks[COUNT_CHUNKS]; /* atomic, mapped on use */
static uint64_t shared_events[COUNT_KINDS];             /* atomic */
static uint32_t adopt_from;                             /* atomic: a slot likely free */
static pthread_key_t counts_key;
static bool counts_key_made;

/* One instruction: a signal handler that frees on this thread between a
 * load and a store of the count would lose its own. */
static inline void bump(uint64_t *counter)
{
#if defined(__x86_64__)
	__asm__ volatile("incq %0" : "+m"(*counter));
#else
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
#endif
}

static struct thread_counts *count_chunk(uint32_t chunk)
{
	/* acquire: a chunk's zeroed pages before its pointer */
	struct thread_counts *have = __atomic_load_n(&count_chunks[chunk], __ATOMIC_ACQUIRE);
	struct thread_counts *made;

	if (lks_likely(have != NULL))
		return have;
	made = lks_map_growth(COUNTS_PER_CHUNK * sizeof(*made));
	if (!made)
		return NULL;
	for (uint32_t i = 0; i < COUNTS_PER_CHUNK; i++)
		made[i].index = chunk * COUNTS_PER_CHUNK + i;
	/* release: the indexes above are visible with the pointer */
	if (__atomic_compare_exchange_n(&count_chunks[chunk], &have, made, false,
	                                 __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		return made;
	lks_unmap(made, COUNTS_PER_CHUNK * sizeof(*made));
	return have;
}

static void counts_give_back(void *held)
{
	struct thread_counts *counts = held;

	mine.counts = NULL;
	__atomic_store_n(&adopt_from, counts->index, __ATOMIC_RELAXED);
	/* release: this thread's counts are seen by the slot's next holder */
	__atomic_store_n(&counts->held, 0, __ATOMIC_RELEASE);
}

/* The first free slot from adopt_from on; a slot per thread, so at most one
 * new chunk is mapped. The key's value runs the destructor at thread exit
 * (pthread_setspecific allocates nothing for the first 32 keys; for later
 * ones it allocates once per thread, in a quiet scope). */
static __attribute__((noinline)) struct thread_counts *counts_adopt(void)
{
	uint32_t start = __atomic_load_n(&adopt_from, __ATOMIC_RELAXED);

	for (uint32_t n = 0; n < COUNT_SLOTS && !mine.counts_shared; n++) {
		uint32_t index = (start + n) % COUNT_SLOTS, free_slot = 0;
		struct thread_counts *chunk = count_chunk(index / COUNTS_PER_CHUNK);
		struct thread_counts *counts = chunk ? &chunk[index % COUNTS_PER_CHUNK] : NULL;
		unsigned char quiet;

		if (!counts)
			break;
		/* acquire: the previous holder's counts are ours to add to */
		if (__atomic_load_n(&counts->held, __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&counts->held, &free_slot, 1, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		if (counts_key_made) {
			quiet = lks_quiet_begin();
			pthread_setspecific(counts_key, counts);
			lks_quiet_end(quiet);
		}
		return mine.counts = counts;
	}
	mine.counts_shared = true;
	return NULL;
}

static inline void count_event(int kind)
{
	struct thread_counts *counts = mine.counts;

	if (lks_unlikely(!counts) && !(counts = counts_adopt())) {
		__atomic_fetch_add(&shared_events[kind], 1, __ATOMIC_RELAXED);
		return;
	}
	bump(&counts->events[kind]);
}

static void counts_sum(uint64_t events[COUNT_KINDS])
{
	for (int kind = 0; kind < COUNT_KINDS; kind++)
		events[kind] = __atomic_load_n(&shared_events[kind], __ATOMIC_RELAXED);
	for (uint32_t chunk = 0; chunk < COUNT_CHUNKS; chunk++) {
		const struct thread_counts *counts =
			__atomic_load_n(&count_chunks[chunk], __ATOMIC_ACQUIRE);

		for (uint32_t i = 0; counts && i < COUNTS_PER_CHUNK; i++)
			for (int kind = 0; kind < COUNT_KINDS; kind++)
				events[kind] += __atomic_load_n(&counts[i].events[kind],
				                                __ATOMIC_RELAXED);
	}
}

void lks_count_busy_alloc(void)
{
	__atomic_fetch_add(&busy_allocs, 1, __ATOMIC_RELAXED);
}

/* ---- the table -------------------------------------------------------------- */

static struct shard *shard_of(uint64_t addr)
{
	return &shards[((addr >> REGION_SHIFT) * 0x9e3779b97f4a7c15u) >> (64 - SHARD_BITS)];
}

/* Any slot count: the hash scaled to it (multiply-shift). */
static uint64_t slot_of(uint64_t addr, uint64_t count)
{
	uint64_t hash = (addr >> 4) * 0x9e3779b97f4a7c15u;

	return (uint64_t)(((unsigned __int128)(hash ^ (hash >> 29)) * count) >> 64);
}

static uint64_t next_slot(uint64_t at, uint64_t count)
{
	return at + 1 == count ? 0 : at + 1;
}

/* An empty range: low above high. */
static void range_reset(struct generation *gen)
{
	__atomic_store_n(&gen->low, UINT64_MAX, __ATOMIC_RELAXED);
	__atomic_store_n(&gen->high, 0, __ATOMIC_RELAXED);
}

/* Widened before the key is published. relaxed: a remove of addr comes
 * after the program got addr back from malloc, so after this in the
 * program's own happens-before; and the range only widens between resets,
 * which happen with no entry left. */
static void range_widen(struct generation *gen, uint64_t addr)
{
	uint64_t low = __atomic_load_n(&gen->low, __ATOMIC_RELAXED);
	uint64_t high = __atomic_load_n(&gen->high, __ATOMIC_RELAXED);

	while (lks_unlikely(addr < low) &&
	       !__atomic_compare_exchange_n(&gen->low, &low, addr, true,
	                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	while (lks_unlikely(addr > high) &&
	       !__atomic_compare_exchange_n(&gen->high, &high, addr, true,
	                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static bool range_holds(const struct generation *gen, uint64_t addr)
{
	return addr >= __atomic_load_n(&gen->low, __ATOMIC_RELAXED) &&
	       addr <= __atomic_load_n(&gen->high, __ATOMIC_RELAXED);
}

/* Once, when an address-space limit first keeps a generation from being
 * made: from then on, inserts that find no slot are counted missed. */
static __attribute__((noinline)) void say_stopped(void)
{
	static int said; /* atomic */
	struct lks_line line = { .len = 0 };
	uint64_t events[COUNT_KINDS];

	if (!lks_aslimit_stopped() || __atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	counts_sum(events);
	lks_line_str(&line, "recording stopped growing at ");
	lks_line_count(&line, events[COUNT_ALLOCS] - events[COUNT_FREES], " blocks: RLIMIT_AS is ");
	lks_line_bytes(&line, lks_aslimit_stopped());
	lks_line_str(&line, " (ulimit -v), the room is left to the program; allocations the "
	                    "table has no room for are counted as not recorded");
	lks_say(&line);
}

static bool generation_create(struct shard *shard, uint32_t index, uint64_t slot_count)
{
	struct generation *gen = &shard->generations[index];

	/* Past the first, a generation is written all over before it rotates
	 * (MIN_SLOTS slots: 32 pages of keys, 64 of payloads); committed now,
	 * its pages cost no fault each, or two (claim_slot reads before its
	 * CAS, so a page is first mapped to the zero page, then copied). */
	uint64_t keys_bytes = (slot_count * sizeof(uint64_t) + 63) & ~(uint64_t)63;
	uint64_t bytes = keys_bytes + slot_count * sizeof(struct payload);
	char *mapped = slot_count < MIN_SLOTS ? lks_map_growth(bytes)
	               : lks_map_growth_committed(bytes);

	if (!mapped) {
		say_stopped();
		return false;
	}
	gen->keys = (uint64_t *)mapped;
	gen->payloads = (struct payload *)(mapped + keys_bytes);
	gen->count = slot_count;
	range_reset(gen);
	/* release: slots, count and range are visible to whoever sees it */
	__atomic_store_n(&shard->gen_count, index + 1, __ATOMIC_RELEASE);
	return true;
}

static uint32_t next_seq(void)
{
	if (lks_unlikely(mine.seq == mine.seq_end)) {
		/* relaxed: ages only need to be unique and roughly ordered */
		mine.seq = __atomic_fetch_add(&seq_next, SEQ_BATCH, __ATOMIC_RELAXED);
		mine.seq_end = mine.seq + SEQ_BATCH;
	}
	return mine.seq++;
}

static uint64_t live_in(const struct generation *gen)
{
	uint64_t live = 0;

	for (uint64_t at = 0; at < gen->count; at++)
		live += __atomic_load_n(&gen->keys[at], __ATOMIC_RELAXED) >= KEY_CLAIMED;
	return live;
}

static bool holds_any(const struct generation *gen)
{
	for (uint64_t at = 0; at < gen->count; at++)
		if (__atomic_load_n(&gen->keys[at], __ATOMIC_RELAXED) >= KEY_CLAIMED)
			return true;
	return false;
}

/* Turns every free slot CLOSED; false at the first claimed or live one.
 * An insert claims only EMPTY or TOMB with a CAS, so each slot is either
 * closed first (the insert skips it) or claimed first (we see it here):
 * once the whole pass succeeds, nothing can be claimed any more. */
static bool close_all(struct generation *gen)
{
	for (uint64_t at = 0; at < gen->count; at++) {
		uint64_t *key = &gen->keys[at];
		uint64_t seen = __atomic_load_n(key, __ATOMIC_RELAXED);

		do {
			if (seen >= KEY_CLAIMED)
				return false;
			/* relaxed: the RMW order on this one word is what matters */
		} while (seen != KEY_CLOSED &&
		         !__atomic_compare_exchange_n(key, &seen, KEY_CLOSED, false,
		                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	}
	return true;
}

/* Only the rotating thread makes slots CLOSED: it can reopen them with
 * plain stores. TOMB, not EMPTY: a late insert may have probed past one. */
static void reopen(struct generation *gen)
{
	for (uint64_t at = 0; at < gen->count; at++)
		if (__atomic_load_n(&gen->keys[at], __ATOMIC_RELAXED) == KEY_CLOSED)
			__atomic_store_n(&gen->keys[at], KEY_TOMB, __ATOMIC_RELAXED);
}

/* A retired generation with no entry left is reset and reused. An insert
 * that read current_gen before the rotation (a "late" insert) may still be
 * probing it. Before the reset, the CLOSED pass makes it either fail here
 * or find no slot there. During or after the reset it could claim a slot
 * behind a CLOSED one that later turns EMPTY, where no remove would find
 * it; so the epoch is odd from before the first CLOSED until after the
 * reset, and claim_slot gives a slot back when the epoch moved meanwhile. */
static bool generation_recycle(struct generation *gen, uint64_t slot_count)
{
	uint32_t odd = __atomic_load_n(&gen->epoch, __ATOMIC_RELAXED) | 1;

	if (gen->count < slot_count || holds_any(gen))
		return false;
	/* relaxed: ordered before the reset stores by the release fence */
	__atomic_store_n(&gen->epoch, odd, __ATOMIC_RELAXED);
	if (!close_all(gen)) {
		reopen(gen);  /* no reset: a late insert may stay, tombs are safe */
		__atomic_store_n(&gen->epoch, odd + 1, __ATOMIC_RELAXED);
		return false;
	}
	/* release: an insert whose CAS reads one of the EMPTY keys below
	 * (acquire) then sees the odd epoch, or a later one */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint64_t at = 0; at < gen->count; at++)
		__atomic_store_n(&gen->keys[at], KEY_EMPTY, __ATOMIC_RELAXED);
	range_reset(gen);
	/* relaxed: only fill levels */
	__atomic_store_n(&gen->used, 0, __ATOMIC_RELAXED);
	/* release: a late insert that reads this epoch (acquire) also sees
	 * the reset keys and range, so no stale key misleads its probing */
	__atomic_store_n(&gen->epoch, odd + 1, __ATOMIC_RELEASE);
	return true;
}

static void rotate(struct shard *shard, uint32_t full)
{
	uint64_t want = live_in(&shard->generations[full]) * 2;
	uint32_t count = __atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE), chosen = count;

	if (want < MIN_SLOTS)
		want = MIN_SLOTS;
	for (uint32_t i = 0; i < count && chosen == count; i++)
		if (i != full && generation_recycle(&shard->generations[i], want))
			chosen = i;
	if (chosen == count &&
	    (count == MAX_GENERATIONS || !generation_create(shard, count, want)))
		return;  /* keep filling the full one; inserts fail when no slot is left */
	/* release: a recycled generation's reset is visible before its use */
	__atomic_store_n(&shard->current_gen, chosen, __ATOMIC_RELEASE);
}

/* One thread rotates a shard at a time; the others go on inserting. The
 * flag holds the rotating process's pid: a child forked while a parent's
 * thread rotated inherits the flag set, though no thread of its own
 * rotates, and takes it over (the rotation steps leave the tables
 * consistent wherever they stop). getpid is a system call, but this runs
 * a few times per generation. */
static bool rotation_begin(struct shard *shard)
{
	pid_t self = getpid(), holder = 0;

	/* acquire/release: one rotation's table writes are seen by the next */
	if (__atomic_compare_exchange_n(&shard->rotating, &holder, self, false,
	                                __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) ||
	    (holder != self &&
	     __atomic_compare_exchange_n(&shard->rotating, &holder, self, false,
	                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))) {
		mine.rotating = shard;
		return true;
	}
	/* this thread's own, left by a jump out of the shim: take it back */
	return holder == self && mine.rotating == shard;
}

static void rotation_end(struct shard *shard)
{
	__atomic_store_n(&shard->rotating, 0, __ATOMIC_RELEASE);
	mine.rotating = NULL;
}

static void maybe_rotate(struct shard *shard, uint32_t index)
{
	if (__atomic_load_n(&shard->current_gen, __ATOMIC_RELAXED) != index ||
	    !rotation_begin(shard))
		return;
	if (__atomic_load_n(&shard->current_gen, __ATOMIC_RELAXED) == index)
		rotate(shard, index);
	rotation_end(shard);
}

/* A shard gets its first generation on its first insert: a shard never
 * used costs nothing (reading untouched slots would commit them). If
 * another thread is creating it right now, the insert waits for that
 * thread as for a rotation (claim_again). */
static __attribute__((noinline)) bool shard_start(struct shard *shard)
{
	if (rotation_begin(shard)) {
		if (__atomic_load_n(&shard->gen_count, __ATOMIC_RELAXED) == 0 &&
		    generation_create(shard, 0, FIRST_SLOTS))
			/* release: the shard's generation before its bit */
			__atomic_fetch_or(&shards_started, 1u << (shard - shards),
			                  __ATOMIC_RELEASE);
		rotation_end(shard);
	}
	/* acquire: generation 0 is complete once counted */
	return __atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE) != 0;
}

static inline bool shard_ready(struct shard *shard)
{
	/* acquire: generation 0 is complete once counted */
	return lks_likely(__atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE) != 0) ||
	       shard_start(shard);
}

/* The shard of the main heap, where start-up allocates: if even that one
 * cannot be mapped, the shim had better not start. */
bool lks_live_init(void)
{
	counts_key_made = pthread_key_create(&counts_key, counts_give_back) == 0;
	return shard_ready(shard_of((uint64_t)(uintptr_t)sbrk(0)));
}

/* A slot claimed while the generation was being recycled is given back:
 * release, so that whoever claims it next also sees the new epoch. */
static bool claimed_in_epoch(struct generation *gen, uint32_t epoch, uint64_t *key)
{
	/* relaxed: ordered after the claim by that CAS's acquire */
	if (lks_likely(__atomic_load_n(&gen->epoch, __ATOMIC_RELAXED) == epoch))
		return true;
	__atomic_store_n(key, KEY_TOMB, __ATOMIC_RELEASE);
	return false;
}

/* at: the key's home slot in generation index. */
/* The payload of the slot claimed for addr, or NULL; its key, left
 * CLAIMED for the caller to fill the payload and publish, is mine.claimed. */
static inline __attribute__((always_inline)) struct payload *claim_slot(struct shard *shard,
                                                                       uint32_t index,
                                                                       uint64_t addr, uint64_t at)
{
	struct generation *gen = &shard->generations[index];
	/* acquire: pairs with the end of a reset (see generation_recycle) */
	uint32_t epoch = __atomic_load_n(&gen->epoch, __ATOMIC_ACQUIRE);

	if (lks_unlikely(epoch & 1))
		return NULL;  /* being recycled: not current any more */
	range_widen(gen, addr);
	for (uint32_t probe = 0; probe < MAX_PROBES; probe++, at = next_slot(at, gen->count)) {
		uint64_t *slot_key = &gen->keys[at];
		/* relaxed: only a hint; the CAS below decides */
		uint64_t key = __atomic_load_n(slot_key, __ATOMIC_RELAXED);

		/* acquire on success: pairs with the remover's release (its
		 * payload reads are done before our writes below) and with the
		 * reset's release fence (the epoch check then sees the change) */
		if (key > KEY_TOMB ||
		    !__atomic_compare_exchange_n(slot_key, &key, KEY_CLAIMED, false,
		                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		if (lks_unlikely(!claimed_in_epoch(gen, epoch, slot_key)))
			return NULL;
		mine.claimed = slot_key;
		if (key == KEY_EMPTY && ++mine.used == USED_BATCH) {
			mine.used = 0;
			/* relaxed: a rough fill level; rotating late costs probes */
			if (__atomic_add_fetch(&gen->used, USED_BATCH, __ATOMIC_RELAXED) >
			    gen->count / 4 * 3)
				maybe_rotate(shard, index);
		}
		return &gen->payloads[at];
	}
	return NULL;
}

/* Called before the stack capture: the slot's cache miss then overlaps the
 * unwinding instead of following it. A prefetch never faults, and a stale
 * generation only makes it useless. */
#define NO_GENERATION UINT32_MAX

void lks_live_prefetch(uint64_t addr, struct lks_live_hint *hint)
{
	struct shard *shard = shard_of(addr);
	struct generation *gen;

	*hint = (struct lks_live_hint){ addr, shard, NO_GENERATION, 0 };
	/* acquire (both): slots and count of the generation are set */
	if (__atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE) == 0)
		return;
	hint->generation = __atomic_load_n(&shard->current_gen, __ATOMIC_ACQUIRE);
	gen = &shard->generations[hint->generation];
	hint->home = slot_of(addr, gen->count);
	__builtin_prefetch(&gen->keys[hint->home], 1, 3);
	__builtin_prefetch(&gen->payloads[hint->home], 1, 3);
}

/* No shared counter and no fence: a late insert into a generation being
 * recycled is caught by the CLOSED pass and the epoch check, not by
 * announcing itself. */
/* A slot this thread claimed and never published: no other thread writes
 * a CLAIMED key, and a generation holding one is never recycled. */
static __attribute__((noinline)) void give_back_claim(void)
{
	/* release: as claimed_in_epoch's */
	__atomic_store_n(mine.claimed, KEY_TOMB, __ATOMIC_RELEASE);
	mine.claimed = NULL;
}

/* Inserts that found the current generation full while another thread of
 * this process rotated the shard (or made its first generation) wait for
 * it: a rotation takes tens of microseconds, and the current generation
 * keeps a quarter of its slots for them (the first one only 256), but a
 * rotating thread descheduled on a loaded machine left hundreds of blocks
 * unrecorded (stress_recycle at load 25). The wait is bounded: a thread
 * stopped in a rotation (a debugger, a jump out of a signal handler) costs
 * the blocks made meanwhile, not a hang, and after one wait ran out none
 * waits again. */
#define ROTATION_PAUSE_NS 20000
#define ROTATION_PAUSES 10000    /* at least 0.2 s; with timer slack about 0.7 */
/* A bound only: each retry follows a change of the current generation (or
 * of its epoch), or a wait for another thread's rotation, and two in a row
 * are rare; the bound keeps threads that rotate over and over from holding
 * one insert in the loop. */
#define CLAIM_TRIES 6
static int rotation_waits_off;   /* atomic */

/* True once the rotation another thread held when called has ended. */
static bool rotation_awaited(struct shard *shard)
{
	const struct timespec pause = { 0, ROTATION_PAUSE_NS };
	pid_t self = getpid();

	for (int paused = 0; paused < ROTATION_PAUSES; paused++) {
		/* acquire: that rotation's table writes */
		pid_t holder = __atomic_load_n(&shard->rotating, __ATOMIC_ACQUIRE);

		/* not held, held by a forked parent's thread (rotation_begin takes
		 * that over) or this thread's own, left by a jump */
		if (holder != self || mine.rotating == shard)
			return holder != self && paused > 0;
		if (__atomic_load_n(&rotation_waits_off, __ATOMIC_RELAXED))
			return false;
		syscall(SYS_nanosleep, &pause, NULL);
	}
	__atomic_store_n(&rotation_waits_off, 1, __ATOMIC_RELAXED);
	return false;
}

/* A slot in the shard's current generation, or NULL when the shard has
 * none yet (another thread is making it, or no room) or it is full, in
 * which case the shard is rotated unless another thread is at it. A
 * generation never changes its slot count (a recycled one keeps it). */
static struct payload *claim_current(struct shard *shard, uint64_t addr)
{
	uint32_t index;
	struct payload *slot;

	if (!shard_ready(shard))
		return NULL;
	/* acquire: a new generation's slots, or a recycled one's reset */
	index = __atomic_load_n(&shard->current_gen, __ATOMIC_ACQUIRE);
	slot = claim_slot(shard, index, addr, slot_of(addr, shard->generations[index].count));
	if (lks_unlikely(slot == NULL))
		maybe_rotate(shard, index);
	return slot;
}

/* Which generation is current, and which use of it: a recycled generation
 * comes back with another epoch, so a rotation away and back again shows. */
static uint64_t current_use(struct shard *shard)
{
	/* relaxed: only compared, to tell whether anything changed */
	uint32_t index = __atomic_load_n(&shard->current_gen, __ATOMIC_RELAXED);

	return (uint64_t)index << 32 |
	       __atomic_load_n(&shard->generations[index].epoch, __ATOMIC_RELAXED);
}

/* After a rotation since the prefetch, or the shard's first insert. A try
 * that fails is worth repeating only if something changed since it began:
 * the current generation (this thread rotated the shard in claim_current,
 * or another thread did meanwhile), or a rotation another thread held has
 * ended (waited for here). Else nothing would go otherwise, and the block
 * is counted missed. */
static __attribute__((noinline)) struct payload *claim_again(const struct lks_live_hint *hint)
{
	for (int tries = 0; tries < CLAIM_TRIES; tries++) {
		uint64_t before = current_use(hint->shard);
		struct payload *slot = claim_current(hint->shard, hint->addr);

		if (lks_likely(slot != NULL))
			return slot;
		if (current_use(hint->shard) == before && !rotation_awaited(hint->shard))
			return NULL;
	}
	return NULL;
}

/* The prefetch's generation still current (it was made before the hint
 * was, so the shard is ready): its home slot holds. */
static inline struct payload *claim(const struct lks_live_hint *hint)
{
	struct shard *shard = hint->shard;
	struct payload *slot = NULL;

	/* acquire: a recycled generation's reset */
	if (lks_likely(hint->generation == __atomic_load_n(&shard->current_gen, __ATOMIC_ACQUIRE)))
		slot = claim_slot(shard, hint->generation, hint->addr, hint->home);
	return lks_likely(slot != NULL) ? slot : claim_again(hint);
}

void lks_live_insert_hinted(const struct lks_live_hint *hint, uint64_t size, uint32_t trace,
                            uint8_t family)
{
	struct payload *slot;

	if (lks_unlikely(mine.claimed != NULL))
		give_back_claim();
	if (lks_unlikely(hint->addr > ADDR_MASK) || lks_unlikely(!(slot = claim(hint)))) {
		/* no room, or a tagged pointer: its top byte would be the family */
		__atomic_fetch_add(&missed_allocs, 1, __ATOMIC_RELAXED);
		return;
	}
	/* relaxed stores: the release store of the key publishes them */
	__atomic_store_n(&slot->size, size, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->trace, trace, __ATOMIC_RELAXED);
	__atomic_store_n(&slot->seq, next_seq(), __ATOMIC_RELAXED);
	__atomic_store_n(mine.claimed, hint->addr | (uint64_t)family << FAMILY_SHIFT,
	                 __ATOMIC_RELEASE);
	mine.claimed = NULL;
	count_event(COUNT_ALLOCS);
}

void lks_live_insert(uint64_t addr, uint64_t size, uint32_t trace, uint8_t family)
{
	struct lks_live_hint hint = { addr, shard_of(addr), NO_GENERATION, 0 };

	lks_live_insert_hinted(&hint, size, trace, family);
}

/* out NULL: only the family is wanted (a free), and the payload, on
 * another line for a quarter of slots, is not read. Returns the family,
 * or -1 if no slot holds addr. */
static inline __attribute__((always_inline)) int remove_from(struct generation *gen,
                                                            uint64_t addr,
                                                            struct lks_block *out)
{
	uint64_t at;

	if (!range_holds(gen, addr))
		return -1;
	at = slot_of(addr, gen->count);
	for (uint32_t probe = 0; probe < MAX_PROBES; probe++, at = next_slot(at, gen->count)) {
		uint64_t *slot_key = &gen->keys[at];
		/* acquire: the payload read below is the one published with key */
		uint64_t key = __atomic_load_n(slot_key, __ATOMIC_ACQUIRE);

		if (key == KEY_EMPTY)
			return -1;
		if ((key & ADDR_MASK) != addr)
			continue;  /* TOMB, CLOSED, CLAIMED or another block */
		if (out) {
			const struct payload *slot = &gen->payloads[at];

			out->size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
			out->trace = __atomic_load_n(&slot->trace, __ATOMIC_RELAXED);
			out->seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
			out->addr = addr;
			out->family = (uint8_t)(key >> FAMILY_SHIFT);  /* with the bit */
		}
		/* fails for a double free racing with itself, and when
		 * lks_live_watch set the bit since the load: then again, with
		 * the bit (the family returned carries it). release: the
		 * payload reads above are done before a new claimer's writes
		 * (its CAS acquires) */
		while (!__atomic_compare_exchange_n(slot_key, &key, KEY_TOMB, false,
		                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			if ((key & ADDR_MASK) != addr)
				return -1;
		count_event(COUNT_FREES);
		return (int)(key >> FAMILY_SHIFT);
	}
	return -1;
}

/* The generations but the current one: a block inserted before the last
 * rotation (a few percent of frees under churn). */
static __attribute__((noinline)) int remove_older(struct shard *shard, uint32_t count,
                                                 uint32_t current, uint64_t addr,
                                                 struct lks_block *removed)
{
	for (uint32_t i = 0; i < count; i++) {
		int family = i == current ? -1 : remove_from(&shard->generations[i], addr, removed);

		if (family >= 0)
			return family;
	}
	return -1;
}

static inline __attribute__((always_inline)) int remove_block(uint64_t addr,
                                                             struct lks_block *removed)
{
	struct shard *shard = shard_of(addr);
	/* acquire (both): the generations' slots and counts are set */
	uint32_t count = __atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE);
	uint32_t current = __atomic_load_n(&shard->current_gen, __ATOMIC_ACQUIRE);
	int family;

	if (count == 0)
		return -1;  /* nothing was ever inserted here */
	family = remove_from(&shard->generations[current], addr, removed);
	return family >= 0 ? family : remove_older(shard, count, current, addr, removed);
}

bool lks_live_remove(uint64_t addr, struct lks_block *removed)
{
	return remove_block(addr, removed) >= 0;
}

int lks_live_forget(uint64_t addr)
{
	return remove_block(addr, NULL);
}

/* ---- watched blocks ------------------------------------------------------ */

/* Sets the bit in addr's key in gen; false when gen does not hold it. */
static bool watch_in(struct generation *gen, uint64_t addr)
{
	uint64_t at;

	if (!range_holds(gen, addr))
		return false;
	at = slot_of(addr, gen->count);
	for (uint32_t probe = 0; probe < MAX_PROBES; probe++, at = next_slot(at, gen->count)) {
		uint64_t *slot_key = &gen->keys[at];
		uint64_t key = __atomic_load_n(slot_key, __ATOMIC_RELAXED);

		if (key == KEY_EMPTY)
			return false;
		if ((key & ADDR_MASK) != addr)
			continue;
		/* relaxed: the bit publishes nothing; the free's CAS, a
		 * read-modify-write, reads it once it is set */
		return (key & WATCHED_KEY) ||
		       __atomic_compare_exchange_n(slot_key, &key, key | WATCHED_KEY, false,
		                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	}
	return false;
}

bool lks_live_watch(uint64_t addr)
{
	struct shard *shard = shard_of(addr);
	/* acquire (both): the generations' slots and counts are set */
	uint32_t count = __atomic_load_n(&shard->gen_count, __ATOMIC_ACQUIRE);
	uint32_t current = __atomic_load_n(&shard->current_gen, __ATOMIC_ACQUIRE);

	if (count == 0 || addr > ADDR_MASK)
		return false;
	if (watch_in(&shard->generations[current], addr))
		return true;
	for (uint32_t i = 0; i < count; i++)
		if (i != current && watch_in(&shard->generations[i], addr))
			return true;
	return false;
}

void lks_count_unknown_free(void)
{
	__atomic_fetch_add(&unknown_frees, 1, __ATOMIC_RELAXED);
}

struct slot_walk {
	struct generation *gen;
	void (*visit)(const struct lks_block *, void *);
	void *ctx;
};

/* The live slots of one run of touched pages of a generation. */
static void visit_slots(uint64_t lo, uint64_t hi, void *arg)
{
	const struct slot_walk *walk = arg;
	uint64_t *base = walk->gen->keys;
	uint64_t first = (lo - (uint64_t)(uintptr_t)base) / sizeof(*base);
	uint64_t end = (hi - (uint64_t)(uintptr_t)base) / sizeof(*base);

	for (uint64_t at = first; at < end && at < walk->gen->count; at++) {
		const struct payload *slot = &walk->gen->payloads[at];
		uint64_t key = __atomic_load_n(&base[at], __ATOMIC_ACQUIRE);
		struct lks_block block;

		if (key < KEY_LIVE)
			continue;
		block.size = __atomic_load_n(&slot->size, __ATOMIC_RELAXED);
		block.trace = __atomic_load_n(&slot->trace, __ATOMIC_RELAXED);
		block.seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* freed meanwhile: skip it, the snapshot is per-block atomic
		 * (a watch set meanwhile is no change of block) */
		if ((__atomic_load_n(&base[at], __ATOMIC_RELAXED) ^ key) & ~WATCHED_KEY)
			continue;
		block.addr = key & ADDR_MASK;
		block.family = (uint8_t)(key >> FAMILY_SHIFT) & ~LKS_LIVE_WATCHED;
		walk->visit(&block, walk->ctx);
	}
}

/* Only the slots on pages ever touched: a shard's first generation is
 * committed as it is used (later ones whole, when made), and reading its
 * untouched pages would commit them. A slot
 * across the edge of a run is read whole (its key is on a touched page, or
 * it is empty). */
void lks_live_foreach(void (*visit)(const struct lks_block *, void *), void *ctx)
{
	/* acquire: pairs with shard_start's release */
	uint32_t started = __atomic_load_n(&shards_started, __ATOMIC_ACQUIRE);
	int pagemap_fd = lks_pagemap_open();

	for (uint32_t s = 0; s < 1u << SHARD_BITS; s++) {
		uint32_t count = started & 1u << s ?
			__atomic_load_n(&shards[s].gen_count, __ATOMIC_ACQUIRE) : 0;

		for (uint32_t i = 0; i < count; i++) {
			struct slot_walk walk = { &shards[s].generations[i], visit, ctx };
			uint64_t lo = (uint64_t)(uintptr_t)walk.gen->keys;

			/* the keys' pages: a live key's payload was written */
			lks_touched_foreach(pagemap_fd, lo, lo + walk.gen->count * sizeof(uint64_t),
			                    visit_slots, &walk);
		}
	}
	lks_pagemap_close(pagemap_fd);
}

void lks_live_stats(struct lks_live_stats *stats)
{
	uint64_t events[COUNT_KINDS];

	counts_sum(events);
	*stats = (struct lks_live_stats){ 0 };
	stats->allocs = events[COUNT_ALLOCS];
	stats->frees = events[COUNT_FREES];
	stats->busy_allocs = __atomic_load_n(&busy_allocs, __ATOMIC_RELAXED);
	/* every allocation not recorded, made while busy or not */
	stats->missed_allocs = __atomic_load_n(&missed_allocs, __ATOMIC_RELAXED) +
	                       stats->busy_allocs;
	stats->unknown_frees = __atomic_load_n(&unknown_frees, __ATOMIC_RELAXED);
	stats->mismatched_frees = __atomic_load_n(&mismatched_frees, __ATOMIC_RELAXED);
}

void lks_count_mismatch(void)
{
	__atomic_fetch_add(&mismatched_frees, 1, __ATOMIC_RELAXED);
}
