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

/* pthread_self() without the call: glibc's thread descriptor is the
 * thread pointer on x86_64; checked once, when frames are first read
 * (where it is not, the call is made). */
static bool self_is_thread_pointer;

static inline __attribute__((always_inline)) uint64_t thread_self(void)
{
#if defined(__x86_64__)
	if (lks_likely(self_is_thread_pointer))
		return (uint64_t)(uintptr_t)__builtin_thread_pointer();
#endif
	return (uint64_t)pthread_self();
}

/* This thread's PyThreadState, kept in the interpreter's own pthread key
 * whether or not the thread holds the GIL (a C extension called with the
 * GIL released still has its caller's frames); 0 when it has none.
 * Inline: a call's frame cost a fifth of it. */
static inline __attribute__((always_inline)) uint64_t own_thread_state(void)
{
	const struct lks_py_layout *lay = &lks_pyrt.layout;
	uint64_t key_at = lks_pyrt.runtime + lay->rt_tss_key;
	uint32_t key = load32(key_at + 4);
	uint64_t tstate;

	if (load32(key_at) != 1 || key >= TSS_KEYS_MAX)
		return 0;  /* the runtime is not initialized (yet, or any more) */
	tstate = (uint64_t)pthread_getspecific((pthread_key_t)key);
	if (!lks_py_plausible(tstate) || load64(tstate + lay->ts_thread_id) != thread_self())
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
#if defined(__x86_64__)
	self_is_thread_pointer = (uint64_t)pthread_self() ==
	                         (uint64_t)(uintptr_t)__builtin_thread_pointer();
#endif
	lks_pyrt.status = LKS_PY_ON;
	/* chains are kept only where every object comes from malloc: the free
	 * path must see a code object go */
	if ((lks_pyrt.flags & (LKS_PYF_RAW_MALLOC | LKS_PYF_ENV_IGNORED)) == LKS_PYF_RAW_MALLOC)
		lks_pychain_start(lks_pyrt.code_type, &lks_pyrt.layout);
	__atomic_store_n(&lks_pyrt.state, PY_ACTIVE, __ATOMIC_RELEASE);
	return true;
}

/* Py_Finalize is under way: the thread states may be freed under other
 * threads from now on. The first capture to see it has the python-exit
 * snapshot taken. */
static bool finalizing(void)
{
	if (!load64(lks_pyrt.runtime + lks_pyrt.layout.rt_finalizing))
		return false;
	if (!__atomic_load_n(&lks_pyrt.finalizing_seen, __ATOMIC_RELAXED) &&
	    !__atomic_exchange_n(&lks_pyrt.finalizing_seen, 1, __ATOMIC_RELAXED))
		__atomic_store_n(&lks_py_exit_due, lks_opt.python_exit, __ATOMIC_RELAXED);
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
	uint32_t budget;    /* frames it may still read */
	uint64_t code_type;
	struct lks_py_layout lay;
};

/* One Python frame as a tagged value; 0 when the frame fails a check. */
static uint64_t tag_frame(const struct walk *w, uint64_t code, uint64_t instr)
{
	const struct lks_py_layout *lay = &w->lay;
	struct lks_py_code_seen seen = { .addr = code };
	uint64_t start = code + lay->co_code;
	uint64_t units;

	if (!lks_py_plausible(code) || load64(code + LKS_PY_OB_TYPE) != w->code_type)
		return 0;
	units = load64(code + LKS_PY_OB_SIZE);
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

/* In the interned Python frames only: the last frame of a run, the frames
 * of one _PyEval_EvalFrameDefault call (byte offsets stay below 2^29). */
#define RUN_END (1ull << 31)

static void end_run(uint64_t *tags, uint32_t n)
{
	if (n)
		tags[n - 1] |= RUN_END;
}

static uint32_t bad_frame(uint64_t *tags, uint32_t n)
{
	__atomic_fetch_add(&lks_pyrt.bad_frames, 1, __ATOMIC_RELAXED);
	end_run(tags, n);
	return n;
}

/* Adds one frame's tag to tags[0..*n), ending its run as its flags say;
 * false when the frame fails a check. */
static inline __attribute__((always_inline)) bool add_frame(uint64_t *tags, uint32_t *n, uint8_t flags, uint64_t tag)
{
	if (flags & PYCHAIN_CSTACK) {
		end_run(tags, *n);  /* a run ends at the C-stack frame after it */
		return true;
	}
	if (!tag)
		return false;
	tags[(*n)++] = tag;
	if (flags & PYCHAIN_ENTRY)
		end_run(tags, *n);  /* 3.11: its first frame ends it */
	return true;
}

/* The rest of a chain deeper than PYCHAIN_MAX, appended to tags[0..n). */
static uint32_t walk_rest(struct walk *w, uint64_t *tags, uint32_t n, uint32_t room)
{
	const struct lks_py_layout *lay = &w->lay;

	while (w->frame && n < room) {
		uint64_t frame = w->frame;
		uint8_t flags;

		if (!lks_py_plausible(frame) || w->budget-- == 0)
			return bad_frame(tags, n);
		w->frame = load64(frame + lay->fr_previous);
		flags = lks_pychain_flags(lay, frame);
		if (!add_frame(tags, &n, flags, flags & PYCHAIN_CSTACK ? 0 :
		               tag_frame(w, load64(frame + lay->fr_code),
		                         load64(frame + lay->fr_instr))))
			return bad_frame(tags, n);
	}
	end_run(tags, n);
	return n;
}

/* The first PYCHAIN_MAX frames' reads, leaf first; false at a frame that
 * is no frame (the reads before it stand). */
static bool read_frames(struct walk *w, struct lks_pychain_frames *read)
{
	const struct lks_py_layout *lay = &w->lay;

	for (read->count = 0; w->frame && read->count < PYCHAIN_MAX; read->count++) {
		uint64_t frame = w->frame;
		uint32_t i = read->count;

		if (!lks_py_plausible(frame))
			return false;
		w->budget--;
		w->frame = load64(frame + lay->fr_previous);
		read->flags[i] = lks_pychain_flags(lay, frame);
		read->state[i] = lks_pychain_state(lay, frame);
		read->code[i] = load64(frame + lay->fr_code);
		read->instr[i] = load64(frame + lay->fr_instr);
	}
	return true;
}

/* The whole chain, leaf first, into tags: a run ends at its entry frame
 * (3.11: is_entry; 3.12 on: the C-stack frame that follows it). A frame
 * that ran the same code as the frame as far from the outermost in the
 * chain this thread found or kept last takes that frame's copy (pychain.c);
 * *whole: the chain was read to its end, every frame good. */
static uint32_t walk_chain(struct walk *w, struct lks_pychain_frames *read, uint64_t *tags,
                           bool *whole)
{
	bool readable = read_frames(w, read);
	uint32_t count = read->count, n = 0;

	*whole = readable && !w->frame;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t code = read->code[i], instr = read->instr[i], tag = 0;

		if (!(read->flags[i] & PYCHAIN_CSTACK)) {
			if (*whole)
				tag = lks_pychain_tag(count - 1 - i, code, instr, w->lay.co_code);
			/* a tag from the chain found or kept last: its code is watched */
			if (!tag && (tag = tag_frame(w, code, instr)) && *whole)
				*whole = lks_pychain_watch(code);
		}
		read->tag[i] = tag;
		if (!add_frame(tags, &n, read->flags[i], tag)) {
			*whole = false;
			return bad_frame(tags, n);
		}
	}
	if (!readable)
		return bad_frame(tags, n);
	return walk_rest(w, tags, n, MERGED_MAX - 1);
}

/* The thread's Python frames interned (0: none), read from the chain that
 * starts at `frame`, and kept for its next captures. noinline: its
 * buffers and the merge's need not share the hot path's stack. */
static __attribute__((noinline)) uint32_t read_python(uint64_t frame)
{
	uint64_t tags[MERGED_MAX - 1];  /* the merged stack keeps a native frame */
	struct lks_pychain_frames read;
	struct walk walk = { .frame = frame, .budget = WALK_MAX,
	                     .code_type = lks_pyrt.code_type, .lay = lks_pyrt.layout };
	bool whole;
	uint32_t n = walk_chain(&walk, &read, tags, &whole);
	uint32_t pyseq = n ? lks_depot_intern((void *const *)tags, n) : 0;

	if (whole)
		lks_pychain_keep(frame, &read, pyseq);
	return pyseq;
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

/* The native frames are copied in pieces between eval-loop frames, each
 * run of Python frames just inside its eval-loop frame; the scan for those
 * is one compare per frame over the span holding the loop and its cold
 * part (most of a Python stack is native: 30 frames or more for a few
 * Python ones). *taken: the Python frames placed. */
static uint32_t merge(const uint64_t *ips, uint32_t depth, const uint64_t *tags,
                      uint32_t count, void **merged, uint32_t *taken)
{
	const struct eval_code eval = { lks_pyrt.eval_start, lks_pyrt.eval_end,
	                                lks_pyrt.cold_start, lks_pyrt.cold_end };
	uint64_t low = eval.cold_end && eval.cold_start < eval.start ? eval.cold_start
	                                                               : eval.start;
	uint64_t span = (eval.cold_end > eval.end ? eval.cold_end : eval.end) - low;
	uint32_t n = 0, copied = 0, t = 0;

	for (uint32_t i = 0; i < depth && t < count; i++) {
		uint64_t ip = ips[i];

		if (lks_likely(ip - low - 1 >= span) || !in_eval_loop(&eval, ip))
			continue;
		n = append(merged, n, ips + copied, i - copied);
		copied = i;
		while (t < count) {
			uint64_t tag = tags[t++];

			if (n < MERGED_MAX - 1)
				merged[n++] = (void *)(uintptr_t)(tag & ~RUN_END);
			if (tag & RUN_END)
				break;
		}
	}
	*taken = t;
	return append(merged, n, ips + copied, depth - copied);
}

/* The merged stack of a pair not merged before; 0 when the depot is full,
 * `native` when no Python frame found its eval-loop frame. */
static __attribute__((noinline)) uint32_t merge_new(uint32_t native, uint32_t pyseq,
                                                    bool *unpaired)
{
	void *merged[MERGED_MAX];
	const uint64_t *ips, *tags;
	uint32_t depth, count, taken, n;

	ips = lks_depot_frames(native, &depth);
	tags = lks_depot_frames(pyseq, &count);
	if (!ips || !tags)
		return native;
	n = merge(ips, depth, tags, count, merged, &taken);
	/* more runs than eval frames, on a stack that was not cut short: a
	 * native frame of the eval loop went unrecognized (docs/PYTHON.md) */
	*unpaired = taken < count && depth < (uint32_t)lks_opt.depth;
	return taken ? lks_depot_intern(merged, n) : native;
}

/* A thread running Python code. noinline: a program without Python pays
 * lks_py_merge's one branch, not this function's frame. */
static __attribute__((noinline)) uint32_t merge_python(uint32_t native)
{
	uint64_t tstate, frame;
	uint32_t pyseq, merged;
	bool unpaired = false;

	if (!checked(&tstate) || finalizing())
		return native;
	frame = innermost_frame(tstate);
	if (!frame)
		return native;
	pyseq = lks_pychain_find(frame);
	if (!pyseq)
		pyseq = read_python(frame);
	if (!pyseq || !native)
		return native;
	merged = lks_pymerged_find(native, pyseq, &unpaired);
	if (!merged) {
		merged = merge_new(native, pyseq, &unpaired);
		lks_pymerged_put(native, pyseq, merged, unpaired);
	}
	if (unpaired)
		__atomic_fetch_add(&lks_pyrt.unpaired, 1, __ATOMIC_RELAXED);
	return merged;
}

uint32_t lks_py_merge(uint32_t native)
{
	/* relaxed: a stale state only costs this one stack its Python frames */
	if (lks_likely(__atomic_load_n(&lks_pyrt.state, __ATOMIC_RELAXED) < PY_WAITING))
		return native;
	return merge_python(native);
}
