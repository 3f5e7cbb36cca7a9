/* SPDX-License-Identifier: MIT */
/* The interposers' way in and out of recording. Included only by the files
 * that define interposed names: entering may start the shim (lifecycle.c),
 * which the tables below it must not depend on. */
#ifndef LEAKSCOPE_ENTER_H
#define LEAKSCOPE_ENTER_H

#include "shim.h"

void lks_start(void);  /* at start-up (lifecycle.c), or lazily by an allocation */
/* lifecycle.c: sets a fork child up that no atfork handler did (forkpage.c) */
void lks_fork_adopt(void);

/* The scope's frame, stored after lks_busy (no instruction, only an order
 * the compiler keeps): the capture starts from it while lks_busy says an
 * interposer set it (unwind/capture.c). A handler that runs between the two
 * stores finds lks_busy set and either nests (forwards) or recovers the
 * scope, which leaves lks_busy clear, and the capture then walks instead. */
static inline __attribute__((always_inline)) void lks_busy_set_frame(uintptr_t frame)
{
	__atomic_signal_fence(__ATOMIC_RELEASE);
	lks_busy_frame = frame;
}

/* Busy on entry: the scope that set it was left by a jump (recovered: go
 * on), or this call is nested inside it: forward. A nested allocation while
 * an interposer records is a signal handler's: not recorded, so counted. */
static inline __attribute__((always_inline)) bool lks_enter_busy(uintptr_t frame,
                                                                 bool allocation)
{
	if (lks_busy_abandoned(frame))
		return true;
	if (allocation && lks_busy == LKS_BUSY_RECORDING)
		lks_count_busy_alloc();
	return false;
}

/* Enter the recording path: false means forward and record nothing. For
 * the allocation interposers (malloc's family, operator new): the first may
 * start the shim (other libraries' initializers allocate before its own). */
static inline __attribute__((always_inline)) bool lks_enter(void)
{
	uintptr_t frame = LKS_FRAME();

	if (lks_unlikely(lks_busy) && !lks_enter_busy(frame, true))
		return false;
	/* relaxed: a stale LKS_STARTING only costs one unrecorded call */
	if (lks_unlikely(__atomic_load_n(&lks_state, __ATOMIC_RELAXED) != LKS_ACTIVE)) {
		lks_start();
		if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
			return false;
	}
	lks_busy = LKS_BUSY_RECORDING;
	lks_busy_set_frame(frame);
	return true;
}

/* The same for every other interposer (fds, streams, mmap, exec): never
 * starts the shim. Starting looks functions up and maps memory, which a program's own
 * allocator may be in the middle of (rustc's jemalloc maps its first pages,
 * under its start-up lock, from another library's initializer). Its scope
 * is INNER: what the real function allocates (fopen's FILE, opendir's DIR)
 * is its own, not counted; a nested call is not counted either (libunwind's
 * own pipe comes here). */
static inline __attribute__((always_inline)) bool lks_enter_started(void)
{
	uintptr_t frame = LKS_FRAME();

	if (lks_unlikely(lks_busy) && !lks_enter_busy(frame, false))
		return false;
	/* acquire: the tables set up before ACTIVE are visible */
	if (lks_unlikely(__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE))
		return false;
	/* before its first handle: what it inherited is marked as such */
	if (lks_unlikely(lks_forked_unseen()))
		lks_fork_adopt();
	lks_busy = LKS_BUSY_INNER;
	lks_busy_set_frame(frame);
	return true;
}

static inline void lks_leave(void)
{
	lks_busy = LKS_BUSY_NONE;
}

#endif
