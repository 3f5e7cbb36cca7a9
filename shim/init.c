/* SPDX-License-Identifier: MIT */
/* Start-up and the process-wide state machine:
 * uninit -> starting -> active, or -> disabled on enabled=0 or our failure.
 * Any interposer may be the first call (even from another library's
 * constructor, before ours ran), so start-up is lazy and never waits. */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdtable.h"
#include "python/python.h"
#include "shim.h"

int lks_state = LKS_UNINIT;
__thread unsigned char lks_busy __attribute__((tls_model("initial-exec")));

static char exe_path[PATH_MAX];
static char output_dir[PATH_MAX];
static uint64_t start_ns;
static struct stat stderr_at_start;
static int stderr_state;  /* 0: not looked at yet, 1: open, -1: closed */
static bool forked_child;

static uint64_t monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* Only the thread that wins uninit -> starting sets up; the others forward
 * unrecorded meanwhile (counted nowhere: nothing of theirs is known yet). */
void lks_start(void)
{
	int expected = LKS_UNINIT;
	unsigned char was_busy = lks_busy;

	if (!__atomic_compare_exchange_n(&lks_state, &expected, LKS_STARTING, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	lks_busy = 1;
	lks_resolve_real();
	if (!lks_real.malloc || !lks_real.free || !lks_live_init() || !lks_depot_init()) {
		lks_busy = was_busy;
		lks_disable("cannot set up (real malloc not found or no memory)");
		return;
	}
	lks_unwind_init();
	lks_modules_init();
	lks_fd_tables_init();
	/* release: tables set up above are visible to whoever sees ACTIVE */
	__atomic_store_n(&lks_state, LKS_ACTIVE, __ATOMIC_RELEASE);
	lks_busy = was_busy;
}

void lks_disable(const char *why)
{
	struct lks_line line = { .len = 0 };

	__atomic_store_n(&lks_state, LKS_DISABLED, __ATOMIC_RELEASE);
	lks_line_str(&line, "disabled: ");
	lks_line_str(&line, why);
	lks_say(&line);
}

bool lks_forked_child(void)
{
	return forked_child;
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

/* fd 2 as the program got it: looked at by the constructor, or by an
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

static void remember_process(void)
{
	ssize_t len = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);

	exe_path[len > 0 ? len : 0] = '\0';
	remember_stderr();
	/* Resolved now: the program may chdir before it exits. */
	if (lks_opt.output_dir[0] == '/' ||
	    !realpath(lks_opt.output_dir, output_dir)) {
		size_t len_dir = strlen(lks_opt.output_dir);

		if (len_dir >= sizeof(output_dir))
			len_dir = sizeof(output_dir) - 1;
		memcpy(output_dir, lks_opt.output_dir, len_dir);
		output_dir[len_dir] = '\0';
	}
}

static void after_fork_in_child(void)
{
	forked_child = true;
	lks_exit_claim();
}

static bool own_malloc;  /* the program defines malloc: we see none of it */

bool lks_own_malloc(void)
{
	return own_malloc;
}

static void at_exit(int status, void *unused)
{
	lks_process_end(LKS_REASON_EXIT, status);
}

/* Runs after libc is initialized, so getenv works (an interposer called
 * earlier, from the loader, saw no environment and used the defaults). */
__attribute__((constructor(101))) static void leakscope_constructor(void)
{
	const char *options;

	start_ns = monotonic_ns();
	lks_busy = 1;  /* realpath, on_exit and pthread_atfork may allocate */
	options = getenv("LEAKSCOPE_OPTIONS");
	if (options)
		lks_options_parse(options);
	remember_process();
	lks_busy = 0;
	if (!lks_opt.enabled) {
		__atomic_store_n(&lks_state, LKS_DISABLED, __ATOMIC_RELEASE);
		return;
	}
	lks_start();
	lks_exit_claim();
	lks_busy = 1;
	own_malloc = !lks_malloc_is_ours();
	/* Registered before __libc_start_main registers the loader's fini, so
	 * it runs after atexit handlers, C++ static destructors and every
	 * library's destructors: what they free is not reported. */
	on_exit(at_exit, NULL);
	pthread_atfork(NULL, NULL, after_fork_in_child);
	lks_control_start();
	lks_py_init();  /* dlsym: a CPython runtime in the process? */
	lks_busy = 0;
}
