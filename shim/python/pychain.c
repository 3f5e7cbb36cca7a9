/* SPDX-License-Identifier: MIT */
/* The Python frame chains a thread's recent captures read, so a capture
 * that finds one of them again takes its Python frames without tagging a
 * frame or looking a code object up. Sound while no code object was freed
 * since they were read, which the free path counts: the proof is in
 * docs/PERFORMANCE.md ("Why a reuse is never wrong"). */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>

#include "../shim.h"
#include "python.h"
#include "pyroom.h"

/* Kept per thread: a set by the innermost frame's address and instruction,
 * in it the least recently used replaced (a request loop runs 20 to 30
 * chains in turn, and a one-way set would lose to such a cycle). */
#define SET_BITS 4
#define WAYS 4
#define CHAINS ((1u << SET_BITS) * WAYS)
#define TP_FLAGS 168         /* PyTypeObject.tp_flags, the same in 3.11 to 3.13 */
/* Py_TPFLAGS_HAVE_GC, _MANAGED_DICT, _MANAGED_WEAKREF: memory before the
 * object, so its block would not start with it (no watch would be set) */
#define TP_PREHEADER ((1ull << 14) | (1ull << 4) | (1ull << 3))

struct kept_chain {
	uint64_t gen;                   /* the thread's generation it was kept in */
	uint32_t count;                 /* frames read */
	uint32_t pyseq;                 /* the walk's frames, interned */
	uint32_t used;                  /* the thread's clock at its last find or keep */
	uint64_t code[PYCHAIN_MAX];     /* a C-stack frame's too: compared all the same */
	uint64_t instr[PYCHAIN_MAX];
	uint64_t tag[PYCHAIN_MAX];      /* its tagged frame; 0 for a C-stack frame */
	uint16_t state[PYCHAIN_MAX];    /* lks_pychain_state: all else the walk decides by */
};

/* The layout's offsets that a compare reads, set once at start. */
struct frame_offsets {
	uint32_t code, instr, previous, state;
	uint16_t state_mask;
};

/* A thread's chains live in a pool mapped on first use, not in static TLS
 * (PTHREAD_STACK_MIN threads): only a Python thread takes a slot, and gives
 * it back when it ends (the key's destructor). */
struct thread_chains {
	uint32_t held;                  /* atomic: 1 while a thread holds it */
	uint32_t index;                 /* its place in the pool */
	uint32_t newest;                /* the chain found or kept last */
	uint32_t clock;
	uint64_t gen;                   /* only chains kept in it stand; never wraps */
	uint64_t code_frees;            /* the count of watched frees they are good for */
	struct kept_chain chain[CHAINS];
};

#define SLOTS_PER_CHUNK 4u
#define CHUNKS 256u                 /* 1,024 Python threads at once; others read */

static bool keeping;                          /* atomic: chains are kept */
static uint64_t code_frees;                   /* atomic: watched blocks freed */
/* The writable segment holding _PyRuntime: its code objects (3.11's deep
 * frozen modules) are no blocks, and never freed. */
static uint64_t static_lo, static_size;
static struct thread_chains *chunks[CHUNKS];  /* atomic, mapped on use */
static struct frame_offsets offsets;
static uint32_t adopt_from;                   /* atomic: a slot likely free */
static pthread_key_t chains_key;
static bool chains_key_made;
static __thread struct thread_chains *mine __attribute__((tls_model("initial-exec")));
/* No slot could be had: not looked for again on every capture. */
static __thread bool slotless __attribute__((tls_model("initial-exec")));

static void give_back(void *held)
{
	struct thread_chains *chains = held;

	mine = NULL;
	/* relaxed: the next holder clears the slot before using it */
	__atomic_store_n(&adopt_from, chains->index, __ATOMIC_RELAXED);
	/* release: this thread's writes to the slot are done */
	__atomic_store_n(&chains->held, 0, __ATOMIC_RELEASE);
}

void lks_pychain_start(uint64_t code_type, const struct lks_py_layout *lay)
{
	const uint64_t *type = (const uint64_t *)(uintptr_t)code_type;

	/* a code object is watched by its block's address */
	if ((type[TP_FLAGS / 8] & TP_PREHEADER) || !lay->state_mask)
		return;
	offsets = (struct frame_offsets){ lay->fr_code, lay->fr_instr, lay->fr_previous,
	                                  lay->fr_state, lay->state_mask };
	chains_key_made = pthread_key_create(&chains_key, give_back) == 0;
	/* release: the offsets and the key before it */
	__atomic_store_n(&keeping, true, __ATOMIC_RELEASE);
}

static int find_static(struct dl_phdr_info *info, size_t size, void *arg)
{
	uint64_t runtime = *(const uint64_t *)arg;

	(void)size;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && runtime - lo < ph->p_memsz) {
			static_lo = lo;
			static_size = ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

void lks_pychain_learn_static(uint64_t runtime)
{
	dl_iterate_phdr(find_static, &runtime);
}

void lks_py_code_freed(void)
{
	__atomic_fetch_add(&code_frees, 1, __ATOMIC_RELAXED);
}

bool lks_pychain_watch(uint64_t code)
{
	/* mine: current() ran first in this capture; no chain, no watch */
	return mine && (code - static_lo < static_size || lks_live_watch(code));
}

static struct thread_chains *take(struct thread_chains *chains, uint32_t index)
{
	uint32_t free_slot = 0;
	unsigned char quiet;

	/* acquire: the previous holder's writes come before ours */
	if (__atomic_load_n(&chains->held, __ATOMIC_RELAXED) ||
	    !__atomic_compare_exchange_n(&chains->held, &free_slot, 1, false,
	                                 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return NULL;
	chains->gen++;  /* the previous holder's chains are not this thread's */
	chains->newest = 0;
	chains->index = index;
	if (chains_key_made) {
		/* may allocate (a key past the first 32): the shim's own */
		quiet = lks_quiet_begin();
		pthread_setspecific(chains_key, chains);
		lks_quiet_end(quiet);
	}
	return mine = chains;
}

/* The first free slot from adopt_from on; NULL when all are held or no
 * chunk can be mapped (the thread's captures then read every chain, and
 * look for a slot no more). */
static __attribute__((noinline)) struct thread_chains *adopt(void)
{
	uint32_t start = __atomic_load_n(&adopt_from, __ATOMIC_RELAXED);

	for (uint32_t n = 0; n < SLOTS_PER_CHUNK * CHUNKS; n++) {
		uint32_t index = (start + n) % (SLOTS_PER_CHUNK * CHUNKS);
		struct thread_chains *chunk = lks_chunk((void **)&chunks[index / SLOTS_PER_CHUNK],
		                                        SLOTS_PER_CHUNK * sizeof(*chunk));
		struct thread_chains *taken;

		if (!chunk)
			break;
		if ((taken = take(&chunk[index % SLOTS_PER_CHUNK], index)) != NULL)
			return taken;
	}
	slotless = true;
	return NULL;
}

/* The chain from `frame` is `kept`, frame for frame (the same code object
 * at the same instruction with the same owner and is_entry bytes gives the
 * same tag), and ends where it did; the innermost frame's code and
 * instruction are compared already (lks_pychain_find). A C-stack frame's
 * code and instruction are compared too: stricter than the walk, so sound. */
static bool same_chain(const struct kept_chain *kept, const struct frame_offsets *at,
                       uint64_t frame)
{
	const uint32_t count = kept->count;

	if ((lks_py_load16(frame + at->state) & at->state_mask) != kept->state[0])
		return false;
	for (uint32_t i = 1; i < count; i++) {
		frame = *(const uint64_t *)(uintptr_t)(frame + at->previous);
		/* 0 is not plausible: a chain that ends early differs */
		if (!lks_py_plausible(frame) ||
		    (lks_py_load16(frame + at->state) & at->state_mask) !=
		    kept->state[i] ||
		    *(const uint64_t *)(uintptr_t)(frame + at->code) != kept->code[i] ||
		    *(const uint64_t *)(uintptr_t)(frame + at->instr) != kept->instr[i])
			return false;
	}
	/* a frame more is a different chain: a recursion one deeper repeats
	 * every frame of the shallower one */
	return !*(const uint64_t *)(uintptr_t)(frame + at->previous);
}

/* This thread's chains, emptied when a code object was freed since they
 * were kept; NULL when none are kept in this process or no slot is free. */
static struct thread_chains *current(void)
{
	struct thread_chains *chains = mine;
	uint64_t frees;

	/* relaxed: this thread stored it, or saw PY_ACTIVE (acquire) after it */
	if (!__atomic_load_n(&keeping, __ATOMIC_RELAXED))
		return NULL;
	if (lks_unlikely(!chains) && (slotless || !(chains = adopt())))
		return NULL;
	/* relaxed: a free of a code object this thread now runs in place of
	 * one it kept happens-before this load (docs/PERFORMANCE.md) */
	frees = __atomic_load_n(&code_frees, __ATOMIC_RELAXED);
	if (lks_unlikely(chains->code_frees != frees)) {
		chains->gen++;  /* every chain kept is dropped */
		chains->code_frees = frees;
	}
	return chains;
}

/* The first of the set where a chain whose innermost frame is `frame` at
 * `instr` is kept. */
static uint32_t set_of(uint64_t frame, uint64_t instr)
{
	uint64_t mixed = (frame ^ (instr << 16)) * 0x9e3779b97f4a7c15u;

	return (uint32_t)(mixed >> (64 - SET_BITS)) * WAYS;
}

uint32_t lks_pychain_find(uint64_t frame)
{
	struct thread_chains *chains = current();
	uint64_t code, instr;
	uint32_t first;

	if (!chains || !lks_py_plausible(frame))
		return 0;
	code = *(const uint64_t *)(uintptr_t)(frame + offsets.code);
	instr = *(const uint64_t *)(uintptr_t)(frame + offsets.instr);
	first = set_of(frame, instr);
	for (uint32_t way = first; way < first + WAYS; way++) {
		struct kept_chain *kept = &chains->chain[way];

		/* the innermost frame first: most chains of a set differ there */
		if (kept->code[0] != code || kept->instr[0] != instr || kept->gen != chains->gen ||
		    !same_chain(kept, &offsets, frame))
			continue;
		kept->used = ++chains->clock;
		chains->newest = way;
		return kept->pyseq;
	}
	return 0;
}

uint64_t lks_pychain_tag(uint32_t outer, uint64_t code, uint64_t instr, uint32_t co_code)
{
	const struct thread_chains *chains = mine;
	const struct kept_chain *kept;
	uint64_t start = code + co_code, units;
	uint32_t at;

	/* mine is current(): lks_pychain_find ran first in this capture */
	if (!chains)
		return 0;
	kept = &chains->chain[chains->newest];
	at = kept->count - 1 - outer;
	if (kept->gen != chains->gen || outer >= kept->count || !kept->tag[at] ||
	    code != kept->code[at])
		return 0;
	if (instr == kept->instr[at])
		return kept->tag[at];  /* the same place: the same tag */
	/* the same code object (it is the one the kept frame ran), at another
	 * instruction: its copy stands, the offset is checked as tag_frame
	 * does (the object is live, held by the frame just read) */
	units = *(const uint64_t *)(uintptr_t)(code + LKS_PY_OB_SIZE);
	if (units > (1u << 28) || instr + 2 < start || instr > start + units * 2)
		return 0;
	return LKS_PYFRAME(LKS_PYFRAME_CODE(kept->tag[at]), instr < start ? 0 : instr - start);
}

/* A way of the set not kept in this generation, else its least recently used. */
static struct kept_chain *victim(struct thread_chains *chains, struct kept_chain *set)
{
	struct kept_chain *oldest = set;

	for (uint32_t way = 0; way < WAYS; way++) {
		if (set[way].gen != chains->gen)
			return &set[way];
		if (chains->clock - set[way].used > chains->clock - oldest->used)
			oldest = &set[way];
	}
	return oldest;
}

void lks_pychain_keep(uint64_t frame, const struct lks_pychain_frames *read, uint32_t pyseq)
{
	struct thread_chains *chains = mine;
	struct kept_chain *kept;

	/* mine is current(): lks_pychain_find ran first in this capture */
	if (!chains || !pyseq || !read->count)
		return;
	kept = victim(chains, &chains->chain[set_of(frame, read->instr[0])]);
	for (uint32_t i = 0; i < read->count; i++) {
		kept->code[i] = read->code[i];
		kept->instr[i] = read->instr[i];
		kept->tag[i] = read->tag[i];
		kept->state[i] = read->state[i];
	}
	kept->pyseq = pyseq;
	kept->count = read->count;
	kept->gen = chains->gen;
	kept->used = ++chains->clock;
	chains->newest = (uint32_t)(kept - chains->chain);
}
