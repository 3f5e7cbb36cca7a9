/* SPDX-License-Identifier: MIT */
/* The bottom of the shim: the process-wide state, the per-thread busy flag
 * and its one named scope, and the facts about the process taken at start.
 * Everything else may read these; this depends on nothing of the shim's. */
#ifndef LEAKSCOPE_PROCESS_H
#define LEAKSCOPE_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

enum lks_state {
	LKS_UNINIT = 0,   /* nothing resolved yet */
	LKS_STARTING,     /* one thread is setting up; others forward */
	LKS_ACTIVE,       /* recording */
	LKS_DISABLED,     /* enabled=0 or a failure of ours: forward only */
};

extern int lks_state;                 /* enum lks_state, atomic */
/* Per-thread "inside leakscope" flag, with what set it. initial-exec TLS:
 * reading it never calls __tls_get_addr, which may allocate. */
enum lks_busy_kind {
	LKS_BUSY_NONE = 0,
	LKS_BUSY_RECORDING, /* an interposer records: a nested allocation is a
	                     * signal handler's, counted as not recorded */
	LKS_BUSY_QUIET,     /* the shim's own work: nested calls are its helpers' */
	LKS_BUSY_INNER,     /* the real function behind an interposer (operator
	                     * new, fopen): what it allocates is its own */
};
extern __thread unsigned char lks_busy __attribute__((tls_model("initial-exec")));
/* The frame (CFA) of the function that set lks_busy from NONE. A call made
 * inside the scope has a lower one on the same stack; a call with one as
 * high or higher finds the scope's frames gone (a signal handler jumped
 * out of it with siglongjmp). */
extern __thread uintptr_t lks_busy_frame __attribute__((tls_model("initial-exec")));

/* The calling function's frame, as the scopes compare it: always from an
 * always-inline function, so that it is the interposer's own. */
#define LKS_FRAME() ((uintptr_t)__builtin_dwarf_cfa())

/* lks_busy found set at frame: true when the scope that set it was left
 * by a jump (it is then cleared, and counted), false when this call is
 * nested inside it (a helper of the shim's, or a signal handler). */
bool lks_busy_abandoned(uintptr_t frame);
/* A jump to the stack pointer target is being made with lks_busy set:
 * if it leaves the scope, the scope ends here (and is counted). */
void lks_busy_jump(uintptr_t target);
uint64_t lks_busy_recovered(void);    /* scopes found abandoned so far */

/* Set up, or given up: from now on an interposer may look its real
 * function up. Before, one forwards by system call (sys.h). */
static inline bool lks_started(void)
{
	/* acquire: what was set up before ACTIVE is visible */
	return __atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) >= LKS_ACTIVE;
}

/* A scope of the given kind (QUIET or INNER) on this thread; returns what
 * lks_quiet_end must restore. */
static inline __attribute__((always_inline)) unsigned char lks_scope_begin(unsigned char kind)
{
	uintptr_t frame = LKS_FRAME();
	unsigned char was_busy = lks_busy;

	if (__builtin_expect(!was_busy, 1) || lks_busy_abandoned(frame)) {
		was_busy = LKS_BUSY_NONE;
		lks_busy_frame = frame;
	}
	lks_busy = kind;
	return was_busy;
}

/* The shim's own work on this thread: whatever it calls (libc, dlsym,
 * libunwind, the real function behind an interposer) is not the program's
 * and is not recorded. Scopes nest: end restores what begin returned.
 *   unsigned char quiet = lks_quiet_begin(); ...; lks_quiet_end(quiet); */
static inline __attribute__((always_inline)) unsigned char lks_quiet_begin(void)
{
	return lks_scope_begin(LKS_BUSY_QUIET);
}

static inline void lks_quiet_end(unsigned char was_busy)
{
	lks_busy = was_busy;
}

/* Taken once at start-up (lifecycle.c), before the program could change them:
 * the executable, stderr's identity, the output directory made absolute
 * (output_dir is the option's value), the start of the uptime clock. */
void lks_process_remember(const char *output_dir);
const char *lks_exe_path(void);       /* /proc/self/exe at start */
const char *lks_output_dir(void);     /* absolute */
uint64_t lks_uptime_ns(void);
bool lks_stderr_unchanged(void);      /* fd 2 is still the program's stderr */

void lks_process_set_forked(void);    /* in a fork child */
bool lks_forked_child(void);
void lks_process_set_own_malloc(bool own);
bool lks_own_malloc(void);            /* malloc calls never reach the shim */
void lks_process_set_heap_sizes(bool known);
/* lks_real.malloc_usable_size may size a block libc allocated through the
 * shim: malloc is ours and the function is its allocator's */
bool lks_heap_sizes_known(void);

#endif
