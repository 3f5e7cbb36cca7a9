/* SPDX-License-Identifier: MIT */
/* The per-capture walk: this thread's Python frames, read by the layout in
 * force, merged into its native stack where _PyEval_EvalFrameDefault ran
 * them. No GIL, no lock, no allocation, no call into the interpreter: a
 * thread reads only its own thread state, whose frame chain it alone
 * changes, and every pointer is checked before it is followed (docs/PYTHON.md
 * says why plain loads suffice here and where the copies use a
 * non-faulting read). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>

#include "../shim.h"
#include "python.h"
#include "pyroom.h"

#define MERGED_MAX LKS_TRACE_FRAMES_MAX /* native (at most 256) and Python frames */
#define TSS_KEYS_MAX 1024
#define WALK_MAX 4096    /* frames read per capture: a deeper chain is cut */

static uint64_t load64(uint64_t addr)
{
	return *(const uint64_t *)addr;
}

static uint32_t load32(uint64_t addr)
{
	return *(const uint32_t *)addr;
}

static uint8_t load8(uint64_t addr)
{
	return *(const uint8_t *)addr;
}

/* This thread's PyThreadState, kept in the interpreter's own pthread key
 * whether or not the thread holds the GIL (a C extension called with the
 * GIL released still has its caller's frames); 0 when it has none. */
static uint64_t own_thread_state(void)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t key_at = lks_pyrt.runtime + lay->rt_tss_key;
	uint32_t key = load32(key_at + 4);
	uint64_t tstate;

	if (load32(key_at) != 1 || key >= TSS_KEYS_MAX)
		return 0;  /* the runtime is not initialized (yet, or any more) */
	tstate = (uint64_t)pthread_getspecific((pthread_key_t)key);
	if (!lks_py_plausible(tstate) || load64(tstate + lay->ts_thread_id) !=
	    (uint64_t)pthread_self())
		return 0;
	return tstate;
}

static uint64_t innermost_frame(uint64_t tstate)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t holder = tstate;

	if (lay->ts_cframe) {
		holder = load64(tstate + lay->ts_cframe);
		if (!lks_py_plausible(holder))
			return 0;
	}
	return load64(holder + lay->current_frame);
}

/* The first thread state seen decides, once, whether the layout is right:
 * a wrong key offset finds no state or a state of another thread. */
static bool checked(uint64_t *tstate)
{
	int state = __atomic_load_n(&lks_pyrt.state, __ATOMIC_ACQUIRE);
	int expected = PY_WAITING;

	if (lks_likely(state == PY_ACTIVE))
		return (*tstate = own_thread_state()) != 0;
	if (state != PY_WAITING ||
	    load32(lks_pyrt.runtime + lks_pyrt.layout.rt_tss_key) != 1)
		return false;  /* refused, or Py_Initialize has not run yet */
	if (!__atomic_compare_exchange_n(&lks_pyrt.state, &expected, PY_CHECKING, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return false;
	*tstate = own_thread_state();
	if (!*tstate || !lks_py_plausible(load64(*tstate + lks_pyrt.layout.ts_interp))) {
		/* no state for this thread yet: the next capture tries again */
		__atomic_store_n(&lks_pyrt.state, PY_WAITING, __ATOMIC_RELEASE);
		return false;
	}
	lks_pyrt.status = LKS_PY_ON;
	__atomic_store_n(&lks_pyrt.state, PY_ACTIVE, __ATOMIC_RELEASE);
	return true;
}

/* The eval loop's code, in locals: the merge loop's stores could alias
 * the globals (the shim is built with -fno-strict-aliasing). */
struct eval_code {
	uint64_t start, end, cold_start, cold_end;
};

static bool in_eval_loop(const struct eval_code *eval, uint64_t ip)
{
	/* a return address follows its call: it may equal the function's end
	 * (one unsigned compare per range: ip - start - 1 < end - start) */
	return ip - eval->start - 1 < eval->end - eval->start ||
	       ip - eval->cold_start - 1 < eval->cold_end - eval->cold_start;
}

/* The layout and what the walk compares, in locals for the same reason. */
struct walk {
	uint64_t frame;     /* next frame to read; 0 when the chain ended */
	uint32_t python;    /* Python frames emitted */
	uint32_t budget;    /* frames it may still read */
	uint64_t code_type;
	struct lks_py_layout lay;
};

/* One Python frame as a tagged value; 0 when the frame fails a check. */
static uint64_t tag_frame(const struct walk *w, uint64_t frame, uint64_t code)
{
	const struct lks_py_layout *lay = &w->lay;
	struct lks_py_code_seen seen = { .addr = code };
	uint64_t start = code + lay->co_code, instr;
	uint64_t units;

	if (!lks_py_plausible(code) || load64(code + LKS_PY_OB_TYPE) != w->code_type)
		return 0;
	units = load64(code + LKS_PY_OB_SIZE);
	instr = load64(frame + lay->fr_instr);
	/* 3.11 and 3.12 point at the last instruction run, one unit before
	 * the first when none has run yet */
	if (units > (1u << 28) || instr + 2 < start || instr > start + units * 2)
		return 0;
	seen.filename = load64(code + lay->co_filename);
	seen.qualname = load64(code + lay->co_qualname);
	seen.linetable = load64(code + lay->co_linetable);
	seen.firstlineno = (int32_t)load32(code + lay->co_firstlineno);
	seen.code_units = (uint32_t)units;
	if (!lks_py_plausible(seen.filename) || !lks_py_plausible(seen.qualname) ||
	    !lks_py_plausible(seen.linetable))
		return 0;
	/* the names' hashes: a code object freed with its names and line table,
	 * all three addresses reused by the next one, still differs here */
	seen.qualname_hash = load64(seen.qualname + lay->str_length + 8);
	seen.filename_hash = load64(seen.filename + lay->str_length + 8);
	return LKS_PYFRAME(lks_pycode_find(&seen), instr < start ? 0 : instr - start);
}

/* The frames of one _PyEval_EvalFrameDefault call, leaf first, into out:
 * up to its entry frame (3.11: is_entry; 3.12 on: the C-stack frame that
 * follows it). Returns how many were written. */
static uint32_t emit_run(struct walk *w, void **out, uint32_t room)
{
	const struct lks_py_layout *lay = &w->lay;
	uint32_t n = 0;

	while (w->frame) {
		uint64_t frame = w->frame, tagged;
		bool entry;

		if (!lks_py_plausible(frame) || w->budget-- == 0)
			goto bad;
		w->frame = load64(frame + lay->fr_previous);
		if (load8(frame + lay->fr_owner) == lay->owner_cstack) {
			if (n)
				return n;  /* the run ends at its entry frame */
			continue;
		}
		entry = lay->fr_is_entry && load8(frame + lay->fr_is_entry);
		tagged = tag_frame(w, frame, load64(frame + lay->fr_code));
		if (!tagged)
			goto bad;
		if (n < room)
			out[n++] = (void *)tagged;
		if (entry)
			return n;
	}
	return n;
bad:
	__atomic_fetch_add(&lks_pyrt.bad_frames, 1, __ATOMIC_RELAXED);
	w->frame = 0;
	return n;
}

/* Appends ips[0..count) to merged[0..n), as far as it has room. */
static uint32_t append(void **merged, uint32_t n, const uint64_t *ips, uint32_t count)
{
	uint32_t room = MERGED_MAX - n;

	if (count > room)
		count = room;
	memcpy(merged + n, ips, count * sizeof(*merged));
	return n + count;
}

/* The native frames are copied in pieces between eval-loop frames; the
 * scan for those is one compare per frame over the span holding the loop
 * and its cold part (most of a Python stack is native: 30 frames or more
 * for a few Python ones). */
static uint32_t merge(struct walk *w, const uint64_t *ips, uint32_t depth, void **merged)
{
	const struct eval_code eval = { lks_pyrt.eval_start, lks_pyrt.eval_end,
	                                lks_pyrt.cold_start, lks_pyrt.cold_end };
	uint64_t low = eval.cold_end && eval.cold_start < eval.start ? eval.cold_start
	                                                               : eval.start;
	uint64_t span = (eval.cold_end > eval.end ? eval.cold_end : eval.end) - low;
	uint32_t n = 0, copied = 0;

	for (uint32_t i = 0; i < depth && w->frame; i++) {
		uint64_t ip = ips[i];

		if (lks_likely(ip - low - 1 >= span) || !in_eval_loop(&eval, ip))
			continue;
		n = append(merged, n, ips + copied, i - copied);
		copied = i;
		if (n < MERGED_MAX - 1) {
			uint32_t run = emit_run(w, merged + n, MERGED_MAX - 1 - n);

			n += run;
			w->python += run;
		}
	}
	n = append(merged, n, ips + copied, depth - copied);
	/* more runs than eval frames, on a stack that was not cut short: a
	 * native frame of the eval loop went unrecognized (docs/PYTHON.md) */
	if (w->frame && depth < (uint32_t)lks_opt.depth)
		__atomic_fetch_add(&lks_pyrt.unpaired, 1, __ATOMIC_RELAXED);
	return n;
}

uint32_t lks_py_merge(uint32_t native)
{
	void *merged[MERGED_MAX];
	struct walk walk = { .budget = WALK_MAX, .code_type = lks_pyrt.code_type,
	                     .lay = lks_pyrt.layout };
	const uint64_t *ips;
	uint64_t tstate;
	uint32_t depth, n;

	/* relaxed: a stale state only costs this one stack its Python frames */
	if (lks_likely(__atomic_load_n(&lks_pyrt.state, __ATOMIC_RELAXED) < PY_WAITING) ||
	    !checked(&tstate))
		return native;
	/* the thread states may be freed under other threads from now on */
	if (load64(lks_pyrt.runtime + lks_pyrt.layout.rt_finalizing)) {
		if (!__atomic_load_n(&lks_pyrt.finalizing_seen, __ATOMIC_RELAXED) &&
		    !__atomic_exchange_n(&lks_pyrt.finalizing_seen, 1, __ATOMIC_RELAXED))
			__atomic_store_n(&lks_py_exit_due, lks_opt.python_exit, __ATOMIC_RELAXED);
		return native;
	}
	walk.frame = innermost_frame(tstate);
	ips = lks_depot_frames(native, &depth);
	if (!walk.frame || !ips)
		return native;
	n = merge(&walk, ips, depth, merged);
	if (!walk.python)
		return native;
	return lks_depot_intern(merged, n);
}
