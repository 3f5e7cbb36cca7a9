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
/* Per-thread "inside leakscope" flag. initial-exec TLS: reading it never
 * calls __tls_get_addr, which may allocate. */
extern __thread unsigned char lks_busy __attribute__((tls_model("initial-exec")));

/* Set up, or given up: from now on an interposer may look its real
 * function up. Before, one forwards by system call (sys.h). */
static inline bool lks_started(void)
{
	/* acquire: what was set up before ACTIVE is visible */
	return __atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) >= LKS_ACTIVE;
}

/* The shim's own work on this thread: whatever it calls (libc, dlsym,
 * libunwind, the real function behind an interposer) is not the program's
 * and is not recorded. Scopes nest: end restores what begin returned.
 *   unsigned char quiet = lks_quiet_begin(); ...; lks_quiet_end(quiet); */
static inline unsigned char lks_quiet_begin(void)
{
	unsigned char was_busy = lks_busy;

	lks_busy = 1;
	return was_busy;
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
