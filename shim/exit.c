/* SPDX-License-Identifier: MIT */
/* The end of the process: the exit snapshot and the one-paragraph summary,
 * written once whichever way the process ends normally. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static int exit_done; /* atomic: 1 once the exit snapshot was started */
static pid_t owner_pid; /* the process whose memory this is */

void lks_exit_claim(void)
{
	owner_pid = (pid_t)syscall(SYS_getpid);
	exit_done = 0;  /* a fork child writes its own */
}

/* A vfork child (or a clone sharing our memory) that calls _exit runs in
 * its parent's memory with no atfork handler run: its scan and snapshot
 * would describe, and disturb, the parent's tables. It leaves quietly. */
static bool shares_parents_memory(void)
{
	return owner_pid != 0 && (pid_t)syscall(SYS_getpid) != owner_pid;
}

static void print_summary(const struct lks_snapshot_result *result)
{
	struct lks_line line = { .len = 0 };

	lks_line_bytes(&line, result->bytes);
	lks_line_str(&line, " in ");
	lks_line_u64(&line, result->blocks);
	lks_line_str(&line, " blocks not freed at exit (");
	lks_line_u64(&line, result->sites);
	lks_line_str(&line, " sites, ");
	lks_line_bytes(&line, result->reachable_bytes);
	lks_line_str(&line, " still reachable), ");
	lks_line_u64(&line, result->handles);
	lks_line_str(&line, result->handles == 1 ? " handle open" : " handles open");
	if (lks_own_malloc())
		lks_line_str(&line, "; NOT recorded: the program's own malloc");
	if (result->missed_allocs || result->missed_stacks) {
		lks_line_str(&line, "; NOT recorded: ");
		lks_line_u64(&line, result->missed_allocs);
		lks_line_str(&line, " allocations, ");
		lks_line_u64(&line, result->missed_stacks);
		lks_line_str(&line, " stacks");
	}
	lks_line_str(&line, ". Report: leakscope report ");
	lks_line_str(&line, result->path);
	lks_say(&line);
}

void lks_process_end(enum lks_reason reason, int status)
{
	struct lks_snapshot_result result;
	unsigned char was_busy = lks_busy;

	if (shares_parents_memory())
		return;
	if (__atomic_exchange_n(&exit_done, 1, __ATOMIC_ACQ_REL))
		return;
	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return;
	lks_busy = 1;
	/* the scan reads this thread's stack from here up: our frames below
	 * hold stale words of the program's that would keep leaks reachable */
	lks_reach_stack_from((uint64_t)(uintptr_t)__builtin_frame_address(0));
	if (lks_snapshot_write(reason, "exit", status, &result) == 0) {
		if (lks_opt.summary)
			print_summary(&result);
	} else {
		struct lks_line line = { .len = 0 };

		lks_line_str(&line, "cannot write the exit snapshot in ");
		lks_line_str(&line, lks_output_dir());
		lks_say(&line);
	}
	lks_busy = was_busy;
}

static _Noreturn void exit_now(void (*real_exit)(int), int status)
{
	if (real_exit)
		real_exit(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

/* _exit skips atexit handlers, so ours too: write the snapshot here. */
LKS_EXPORT void _exit(int status)
{
	lks_process_end(LKS_REASON__EXIT, status);
	exit_now(lks_real._exit, status);
}

LKS_EXPORT void _Exit(int status)
{
	lks_process_end(LKS_REASON__EXIT, status);
	exit_now(lks_real._Exit, status);
}
