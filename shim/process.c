/* SPDX-License-Identifier: MIT */
/* The bottom of the shim (process.h): the state byte, the busy flag, and
 * what the process told us at start. It calls nothing of the shim's. */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "process.h"

int lks_state = LKS_UNINIT;
__thread unsigned char lks_busy __attribute__((tls_model("initial-exec")));
__thread uintptr_t lks_busy_frame __attribute__((tls_model("initial-exec")));
static uint64_t scopes_recovered; /* atomic */

static char exe_path[PATH_MAX];
static char output_dir[PATH_MAX];
static uint64_t start_ns;
static struct stat stderr_at_start;
static int stderr_state;  /* 0: not looked at yet, 1: open, -1: closed */
static bool forked_child;
static bool own_malloc;  /* the program defines malloc: we see none of it */
/* the blocks libc allocates through the shim can be sized (DIR buffers) */
static bool heap_sizes_known;

/* ---- the busy flag ------------------------------------------------------ */

static bool within(uintptr_t addr, const stack_t *stack)
{
	return !(stack->ss_flags & SS_DISABLE) && addr >= (uintptr_t)stack->ss_sp &&
	       addr - (uintptr_t)stack->ss_sp < stack->ss_size;
}

/* Whether addr, a frame or a jump's target, is past the scope's frames:
 * on the scope's stack at or above its frame (stacks grow down), or off
 * the alternate signal stack the scope was on. On the alternate stack while
 * the scope is on another, it is a signal handler that interrupted it. */
static bool past_scope(uintptr_t addr)
{
	stack_t alternate;
	bool here_alternate, scope_alternate;

	if (sigaltstack(NULL, &alternate) != 0)
		return false;
	here_alternate = within(addr, &alternate);
	scope_alternate = within(lks_busy_frame, &alternate);
	if (here_alternate != scope_alternate)
		return scope_alternate;
	return addr >= lks_busy_frame;
}

static void recover(void)
{
	lks_busy = LKS_BUSY_NONE;
	__atomic_fetch_add(&scopes_recovered, 1, __ATOMIC_RELAXED);
}

/* A call made inside the scope, directly or from a signal handler on the
 * same stack, has a frame below the scope's: nested, no system call. At or
 * above it, the kernel is asked which stack this is (on this rare path
 * only). Jumps are caught where they are made (jump.c); this catches what
 * leaves the scope otherwise and comes back higher. A coroutine switch
 * that left it and calls from lower on another stack is not told apart:
 * its calls stay counted as nested, never recorded twice. */
bool lks_busy_abandoned(uintptr_t frame)
{
	if (frame < lks_busy_frame || !past_scope(frame))
		return false;
	recover();
	return true;
}

void lks_busy_jump(uintptr_t target)
{
	if (past_scope(target))
		recover();
}

uint64_t lks_busy_recovered(void)
{
	return __atomic_load_n(&scopes_recovered, __ATOMIC_RELAXED);
}

/* ---- the process ----------------------------------------------------------- */

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

const char *lks_exe_path(void)
{
	return exe_path;
}

const char *lks_output_dir(void)
{
	return output_dir;
}

uint64_t lks_uptime_ns(void)
{
	return monotonic_ns() - start_ns;
}

/* fd 2 as the program got it: looked at at start-up, or by an
 * earlier message (an interposer called from the loader), before the
 * program could have closed or reused it. */
static void remember_stderr(void)
{
	if (!stderr_state)
		stderr_state = fstat(STDERR_FILENO, &stderr_at_start) == 0 ? 1 : -1;
}

bool lks_stderr_unchanged(void)
{
	struct stat now;

	remember_stderr();
	return stderr_state > 0 && fstat(STDERR_FILENO, &now) == 0 &&
	       now.st_dev == stderr_at_start.st_dev &&
	       now.st_ino == stderr_at_start.st_ino;
}

void lks_process_remember(const char *dir)
{
	ssize_t len = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	start_ns = monotonic_ns();
	exe_path[len > 0 ? len : 0] = '\0';
	remember_stderr();
	/* Resolved now: the program may chdir before it exits. */
	if (dir[0] == '/' || !realpath(dir, output_dir)) {
		size_t len_dir = strlen(dir);

		if (len_dir >= sizeof(output_dir))
			len_dir = sizeof(output_dir) - 1;
		memcpy(output_dir, dir, len_dir);
		output_dir[len_dir] = '\0';
	}
}

void lks_process_set_forked(void)
{
	forked_child = true;
}

bool lks_forked_child(void)
{
	return forked_child;
}

void lks_process_set_own_malloc(bool own)
{
	own_malloc = own;
}

bool lks_own_malloc(void)
{
	return own_malloc;
}

void lks_process_set_heap_sizes(bool known)
{
	heap_sizes_known = known;
}

bool lks_heap_sizes_known(void)
{
	return heap_sizes_known;
}
