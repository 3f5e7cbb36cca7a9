/* SPDX-License-Identifier: MIT */
/* Each thread's Python frame chain as its previous capture read it, so a
 * capture that finds the same chain takes that capture's Python frames
 * without tagging a frame or looking a code object up. Sound because no
 * object was allocated in the process between the two captures: the proof
 * is in docs/PERFORMANCE.md ("Why a reuse is never wrong"). */
#include "../shim.h"
#include "pyroom.h"

/* Static TLS is scarce (PTHREAD_STACK_MIN threads): 17 bytes a frame. */
struct chain {
	uint32_t count;                 /* frames read; 0: nothing kept */
	uint32_t pyseq;                 /* the walk's frames, interned */
	/* Inverted, as the stack cache's words: the exit scan reads this TLS
	 * as the program's memory, and a code object held only here would
	 * look reachable. */
	uint64_t inverted_code[PYCHAIN_MAX];
	uint64_t tag[PYCHAIN_MAX];      /* its tagged frame; 0 for a C-stack frame */
	uint8_t flags[PYCHAIN_MAX];     /* PYCHAIN_*: all the walk decides by */
};

static __thread struct chain last __attribute__((tls_model("initial-exec")));

/* The thread that made the process's latest capture, by the address of its
 * TLS (unique among live threads). Relaxed: see lks_pychain_claim. */
static uint64_t latest_thread;

bool lks_pychain_claim(void)
{
	uint64_t me = (uint64_t)(uintptr_t)&last;

	/* relaxed: another thread's capture that made an object this thread
	 * then runs happens-before this load (the object was handed over), so
	 * coherence shows its store or a later one; only this thread stores
	 * `me`, and it does so only here */
	if (__atomic_load_n(&latest_thread, __ATOMIC_RELAXED) == me)
		return true;
	__atomic_store_n(&latest_thread, me, __ATOMIC_RELAXED);
	return false;
}

/* The same code object at the same instruction as frame `at` of the kept
 * chain: its tag would come out the same (tag_frame's offset, 0 for the
 * unit before the first instruction too). */
static bool same_place(uint32_t at, uint64_t code, uint64_t instr, uint32_t co_code)
{
	uint64_t start = code + co_code, offset = LKS_PYFRAME_OFFSET(last.tag[at]);

	return code == ~last.inverted_code[at] &&
	       (instr - start == offset || (offset == 0 && instr + 2 == start));
}

uint32_t lks_pychain_find(const struct lks_py_layout *lay, uint64_t frame)
{
	uint32_t count = last.count, i;

	for (i = 0; i < count && frame; i++) {
		uint8_t flags;

		if (!lks_py_plausible(frame) || (flags = lks_pychain_flags(lay, frame)) != last.flags[i])
			return 0;
		if (!(flags & PYCHAIN_CSTACK) &&
		    !same_place(i, *(const uint64_t *)(uintptr_t)(frame + lay->fr_code),
		                *(const uint64_t *)(uintptr_t)(frame + lay->fr_instr), lay->co_code))
			return 0;
		frame = *(const uint64_t *)(uintptr_t)(frame + lay->fr_previous);
	}
	/* the chain must end where it ended: a frame more is a different one */
	return count && i == count && !frame ? last.pyseq : 0;
}

uint64_t lks_pychain_tag(uint32_t outer, uint64_t code, uint64_t instr, uint32_t co_code)
{
	uint32_t count = last.count, at = count - 1 - outer;
	uint64_t start = code + co_code, units;

	if (outer >= count || !last.tag[at] || code != ~last.inverted_code[at])
		return 0;
	if (same_place(at, code, instr, co_code))
		return last.tag[at];
	/* the same code object (it is the one the kept frame ran), at another
	 * instruction: its copy stands, the offset is checked as tag_frame
	 * does (the object is live, held by the frame just read) */
	units = *(const uint64_t *)(uintptr_t)(code + LKS_PY_OB_SIZE);
	if (units > (1u << 28) || instr + 2 < start || instr > start + units * 2)
		return 0;
	return LKS_PYFRAME(LKS_PYFRAME_CODE(last.tag[at]), instr < start ? 0 : instr - start);
}

void lks_pychain_forget(void)
{
	last.count = 0;
}

void lks_pychain_keep(const struct lks_pychain_frames *read, uint32_t pyseq)
{
	last.count = 0;
	if (!pyseq)
		return;
	for (uint32_t i = 0; i < read->count; i++) {
		last.inverted_code[i] = ~read->code[i];
		last.tag[i] = read->tag[i];
		last.flags[i] = read->flags[i];
	}
	last.pyseq = pyseq;
	last.count = read->count;
}
