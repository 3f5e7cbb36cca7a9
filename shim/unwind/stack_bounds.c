/* SPDX-License-Identifier: MIT */
/* Which stack a walk may read: from the stack pointer up to the top of the
 * stack it lies on. The main thread's top is known at start; a glibc
 * thread's descriptor (its thread pointer) sits at the top of its own
 * stack, above its static TLS, in the same mapping; a handler on a
 * sigaltstack is found by asking the kernel, only when the stack pointer
 * is on neither. Anything else (a coroutine's stack) is not read at all:
 * no probe, no fd, no lock, no allocation. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unwind.h"

#define MAX_SPAN (1ull << 30)  /* an unlimited main stack: read at most 1 GiB */

extern void *__libc_stack_end;

static uint64_t main_lo, main_hi;
static uint64_t thread_span;  /* glibc's default thread stack size */

static uint64_t clamp_span(uint64_t span)
{
	if (span < (64u << 10))
		return 64u << 10;
	return span > MAX_SPAN ? MAX_SPAN : span;
}

/* Called once, by the thread that starts the shim (busy: may allocate). */
void lks_stack_bounds_init(void)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct rlimit limit;
	pthread_attr_t attr;
	size_t size = 0;

	main_hi = ((uint64_t)(uintptr_t)__libc_stack_end + page) & ~(page - 1);
	if (getrlimit(RLIMIT_STACK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
		limit.rlim_cur = MAX_SPAN;
	main_lo = main_hi - clamp_span(limit.rlim_cur);
	if (pthread_getattr_default_np(&attr) == 0) {
		pthread_attr_getstacksize(&attr, &size);
		pthread_attr_destroy(&attr);
	}
	thread_span = clamp_span(size ? size : 8u << 20);
}

static bool on_altstack(uint64_t sp, struct stack_region *out)
{
	stack_t alt;

	/* the raw call: a program's sigaltstack wrapper is not ours to run */
	if (syscall(SYS_sigaltstack, NULL, &alt) != 0 || (alt.ss_flags & SS_DISABLE))
		return false;
	if (sp < (uint64_t)(uintptr_t)alt.ss_sp ||
	    sp >= (uint64_t)(uintptr_t)alt.ss_sp + alt.ss_size)
		return false;
	out->hi = (uint64_t)(uintptr_t)alt.ss_sp + alt.ss_size;
	return true;
}

bool lks_stack_region(uint64_t sp, struct stack_region *out)
{
	uint64_t tcb = (uint64_t)(uintptr_t)__builtin_thread_pointer();

	out->lo = sp;
	out->fixed = true;
	if (sp >= main_lo && sp < main_hi) {
		out->hi = main_hi;
		return true;
	}
	if (sp < tcb && tcb - sp <= thread_span) {
		out->hi = tcb;
		return true;
	}
	out->fixed = false;  /* a sigaltstack may be replaced at the same place */
	return on_altstack(sp, out);
}
