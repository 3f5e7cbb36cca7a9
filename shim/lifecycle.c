/* SPDX-License-Identifier: MIT */
/* The top of the shim: the one place that starts the process's recording,
 * forks it and ends it. State machine: uninit -> starting -> active, or
 * -> disabled on enabled=0 or our failure. Any interposer may be the first
 * call (even from another library's constructor, before ours ran), so
 * start-up is lazy and never waits. At the end: the exit snapshot and the
 * one-paragraph summary, written once whichever way the process ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "enter.h"
#include "fdproxy.h"
#include "handles/execnote.h"
#include "handles/maptable.h"
#include "handles/unseen.h"
#include "python/python.h"
#include "snapfile.h"

#define END_WAIT_NS 10000000000ull /* a fatal signal waits this long for the end snapshot */

enum { END_NONE, END_WRITING, END_WRITTEN };

static int end_state;    /* atomic futex word: END_*; one end snapshot per process */
static pid_t end_writer; /* the thread writing it */
static pid_t owner_pid;  /* the process whose memory this is */

static void disable(const char *why)
{
	struct lks_line line = { .len = 0 };

	__atomic_store_n(&lks_state, LKS_DISABLED, __ATOMIC_RELEASE);
	lks_line_str(&line, "disabled: ");
	lks_line_str(&line, why);
	lks_say(&line);
}

/* verbose=1: one line of what the shim decided, text then detail. */
static void say_verbose(const char *text, const char *detail)
{
	struct lks_line line = { .len = 0 };

	if (!lks_opt.verbose)
		return;
	lks_line_str(&line, text);
	lks_line_str(&line, detail);
	lks_say(&line);
}

/* Under an address-space limit too tight for the tables' start, the
 * program keeps the room: disabled, saying which limit and how much more. */
static bool room_to_start(void)
{
	struct lks_line why = { .len = 0 };

	if (lks_aslimit_room_to_start(LKS_START_BYTES, &why))
		return true;
	why.text[why.len < sizeof(why.text) ? why.len : sizeof(why.text) - 1] = '\0';
	disable(why.text);
	return false;
}

/* Only the thread that wins uninit -> starting sets up; the others forward
 * unrecorded meanwhile (counted nowhere: nothing of theirs is known yet). */
void lks_start(void)
{
	int expected = LKS_UNINIT;
	unsigned char quiet;

	if (!__atomic_compare_exchange_n(&lks_state, &expected, LKS_STARTING, false,
	                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	quiet = lks_quiet_begin();
	if (!room_to_start() || !lks_resolve_at_start() || !lks_live_init() ||
	    !lks_depot_init()) {
		lks_quiet_end(quiet);
		if (__atomic_load_n(&lks_state, __ATOMIC_RELAXED) == LKS_STARTING)
			disable("cannot set up (real malloc not found or no memory)");
		return;
	}
	lks_unwind_init();
	lks_modules_init();
	lks_unseen_note_start();
	/* release: tables set up above are visible to whoever sees ACTIVE */
	__atomic_store_n(&lks_state, LKS_ACTIVE, __ATOMIC_RELEASE);
	lks_quiet_end(quiet);
}

/* At start and in a fork child: this process's memory is ours to report. */
static void exit_claim(void)
{
	owner_pid = (pid_t)syscall(SYS_getpid);
	end_state = END_NONE;  /* a fork child writes its own */
}

/* ---- fork ------------------------------------------------------------------ */

/* Everything a fork child must reset, in this order: it is a child (its
 * snapshots say so), its exit snapshot is its own, the handles it inherited
 * are its parent's to report, exec notes go to a new area. */
static void reset_in_fork_child(void)
{
	struct lks_line pid = { .len = 0 };

	lks_line_u64(&pid, (uint64_t)getpid());
	pid.text[pid.len] = '\0';
	say_verbose("fork child: recording its own, in pid ", pid.text);
	lks_process_set_forked();
	lks_identity_after_fork();
	exit_claim();
	lks_fdproxy_after_fork();
	lks_fd_mark_inherited();
	lks_unseen_note_start();
	lks_mapping_mark_inherited();
	lks_execnote_after_fork();
}

/* An interposer may have set the child up first (another library's
 * handler opened a file): then only the control thread is left, last
 * since it may snapshot at once. */
static void after_fork_in_child(void)
{
	if (lks_forkpage_claim())
		reset_in_fork_child();
	lks_control_after_fork();
}

/* A fork child no handler set up: _Fork, a raw clone or fork (a crash
 * handler's, a sandbox's). Found by its first handle call or its end; it
 * records and writes its snapshot as any fork child, without a control
 * thread (no snapshot on request). */
void lks_fork_adopt(void)
{
	unsigned char quiet = lks_quiet_begin();

	if (lks_forkpage_claim())
		reset_in_fork_child();
	lks_quiet_end(quiet);
}

/* ---- the end --------------------------------------------------------------- */

/* A vfork child (or a clone sharing our memory) that calls _exit runs in
 * its parent's memory with no atfork handler run: its scan and snapshot
 * would describe, and disturb, the parent's tables. It leaves quietly. A
 * fork child that no handler set up is set up first (forkpage.c). */
static bool shares_parents_memory(void)
{
	if (lks_forked_unseen())
		lks_fork_adopt();
	return owner_pid != 0 && (pid_t)syscall(SYS_getpid) != owner_pid;
}

/* "; NOT recorded: N allocations (M made while the shim was busy: signal
 * handlers), K stacks" */
static void say_not_recorded(struct lks_line *line, const struct lks_snapshot_result *result)
{
	lks_line_str(line, "; NOT recorded: ");
	lks_line_count(line, result->missed_allocs, " allocations");
	if (result->busy_allocs) {
		lks_line_str(line, " (");
		lks_line_count(line, result->busy_allocs,
		               " made while the shim was busy: signal handlers)");
	}
	lks_line_str(line, ", ");
	lks_line_count(line, result->missed_stacks, " stacks");
}

static void print_summary(const struct lks_snapshot_result *result)
{
	struct lks_line line = { .len = 0 };

	lks_line_bytes(&line, result->bytes);
	lks_line_str(&line, " in ");
	lks_line_count(&line, result->blocks, " blocks not freed at exit (");
	lks_line_count(&line, result->sites, " sites, ");
	lks_line_bytes(&line, result->reachable_bytes);
	lks_line_str(&line, " still reachable), ");
	lks_line_count(&line, result->handles,
	               result->handles == 1 ? " handle open" : " handles open");
	if (lks_own_malloc())
		lks_line_str(&line, "; NOT recorded: the program's own malloc");
	if (result->missed_allocs || result->missed_stacks)
		say_not_recorded(&line, result);
	lks_line_str(&line, ". Report: leakscope report ");
	lks_line_str(&line, result->path);
	lks_say(&line);
}

struct end_work {
	enum lks_reason reason;
	int status;
};

/* Said, and left in the output directory for `leakscope run` to say. */
static void say_every_fd_in_use(struct lks_line *line, int limit)
{
	struct lks_line why = { .len = 0 };

	lks_line_str(line, ": every fd in use (RLIMIT_NOFILE ");
	lks_line_u64(line, (uint64_t)limit);
	lks_line_str(line, ")");
	lks_line_str(&why, LKS_UNWRITTEN_NOFILE);
	lks_line_u64(&why, (uint64_t)limit);
	why.text[why.len] = '\0';
	lks_snapfile_mark_unwritten(owner_pid, why.text);
}

/* ": renameat2 failed: Operation not permitted", said and left for
 * `leakscope run` as .unwritten.PID.failed-ERRNO-STEP: a sandbox, a
 * chroot or a directory removed or made read-only refused it. Where the
 * mark cannot be made either, the line on stderr is all there is. */
static void say_write_error(struct lks_line *line, const struct lks_write_error *failed)
{
	struct lks_line why = { .len = 0 };
	const char *description = failed->error ? strerrordesc_np(failed->error) : NULL;

	lks_line_str(line, ": ");
	lks_line_str(line, failed->step);
	lks_line_str(line, " failed");
	if (description) {
		lks_line_str(line, ": ");
		lks_line_str(line, description);
	}
	lks_line_str(&why, LKS_UNWRITTEN_FAILED);
	lks_line_u64(&why, (uint64_t)failed->error);
	lks_line_str(&why, "-");
	lks_line_str(&why, failed->step);
	why.text[why.len] = '\0';
	lks_snapfile_mark_unwritten(owner_pid, why.text);
}

/* Runs on the shim's own stack: the scan and the writer need far more than
 * the smallest thread stack has (PTHREAD_STACK_MIN, 16 KiB). */
static void write_end_snapshot(void *arg)
{
	const struct end_work *work = arg;
	struct lks_snapshot_result result;

	if (lks_snapshot_write(work->reason, "exit", work->status, &result) == 0) {
		if (lks_opt.summary)
			print_summary(&result);
	} else {
		struct lks_line line = { .len = 0 };

		lks_line_str(&line, "cannot write the exit snapshot in ");
		lks_line_str(&line, lks_output_dir());
		if (result.fd_limit)
			say_every_fd_in_use(&line, result.fd_limit);
		else
			say_write_error(&line, &result.failed);
		lks_say(&line);
	}
}

/* getpid refused (a seccomp filter) leaves a vfork child and its parent
 * alike: neither writes, and each says why under the pid it started with
 * (a vfork child's mark, its parent's pid, is ignored if the parent writes
 * after all: a pid with a snapshot has no "no snapshot"). */
static void say_if_pid_refused(void)
{
	struct lks_line line = { .len = 0 };
	struct lks_write_error refused;

	if ((pid_t)syscall(SYS_getpid) >= 0)
		return;
	refused = (struct lks_write_error){ "getpid", errno };
	lks_line_str(&line, "no exit snapshot: a vfork child cannot be told from its parent");
	say_write_error(&line, &refused);
	lks_say(&line);
}

/* Once per process, by the process whose memory this is, while recording. */
static bool claim_end(void)
{
	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return false;
	if (shares_parents_memory()) {
		say_if_pid_refused();
		return false;
	}
	return __atomic_exchange_n(&end_state, END_WRITING, __ATOMIC_ACQ_REL) == END_NONE;
}

/* stack_from: where the program's own frames on this thread's stack begin;
 * the frames below it are exit()'s and ours, full of stale words. */
static void end_with_snapshot(enum lks_reason reason, int status, uint64_t stack_from)
{
	struct end_work work = { reason, status };
	unsigned char quiet = lks_quiet_begin();

	end_writer = gettid();
	lks_reach_stack_from(stack_from);
	lks_on_own_stack(write_end_snapshot, &work);
	/* release: the file is in place for whoever sees WRITTEN */
	__atomic_store_n(&end_state, END_WRITTEN, __ATOMIC_RELEASE);
	syscall(SYS_futex, &end_state, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
	lks_quiet_end(quiet);
}

static void wait_for_end_snapshot(void);

/* Another thread may be writing the end snapshot at a fatal signal: this
 * exit would cut it short, so it waits (bounded) as the signal would. */
static void process_end(enum lks_reason reason, int status)
{
	if (claim_end())
		end_with_snapshot(reason, status, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	else
		wait_for_end_snapshot();
}

/* ---- the end by a signal ----------------------------------------------------- */

/* The interrupted code's stack: from the kernel's signal frame when it lies
 * there (its saved registers may hold the only pointer to a block), from
 * the interrupted stack pointer when the handler runs on an alternate
 * stack. */
static uint64_t interrupted_stack(const void *context)
{
	const ucontext_t *interrupted = context;
	stack_t alternate;
	uint64_t sp;

#if defined(__x86_64__)
	sp = (uint64_t)interrupted->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	sp = interrupted->uc_mcontext.sp;
#else
	return (uint64_t)(uintptr_t)__builtin_frame_address(0);
#endif
	if (sigaltstack(NULL, &alternate) == 0 && (alternate.ss_flags & SS_ONSTACK))
		return sp;
	return (uint64_t)(uintptr_t)interrupted < sp ? (uint64_t)(uintptr_t)interrupted : sp;
}

/* Another thread is writing the end snapshot (exit() raced with a fatal
 * signal): ending now would cut it short. Not when this thread is the
 * writer (a signal from inside the writer itself). */
static void wait_for_end_snapshot(void)
{
	uint64_t deadline = lks_uptime_ns() + END_WAIT_NS;
	struct timespec slice = { 0, 100000000 };

	if (shares_parents_memory() || end_writer == gettid())
		return;
	while (__atomic_load_n(&end_state, __ATOMIC_ACQUIRE) == END_WRITING &&
	       lks_uptime_ns() < deadline)
		syscall(SYS_futex, &end_state, FUTEX_WAIT_PRIVATE, END_WRITING, &slice, NULL, 0);
}

/* In the shim's handler of a signal about to end the process (sigchain.c,
 * which then lets it). The thread may have been interrupted anywhere, in
 * malloc under its lock or inside the shim: the snapshot takes no lock and
 * allocates nothing. */
static void end_by_signal(int signo, void *info, void *context)
{
	(void)info;
	if (claim_end())
		end_with_snapshot(LKS_REASON_FATAL_SIGNAL, signo, interrupted_stack(context));
	else
		wait_for_end_snapshot();
}

static void at_exit(int status, void *unused)
{
	process_end(LKS_REASON_EXIT, status);
}

static _Noreturn void exit_now(void (*real_exit)(int), int status)
{
	if (real_exit)
		real_exit(status);
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

/* ---- where the exiting thread's live stack begins -------------------------- */

/* The caller's stack pointer before its call: the callee's canonical frame
 * address. Not noted in a vfork child: it borrows its parent's thread. */
static void note_exit_call(uint64_t caller_sp)
{
	if (!shares_parents_memory())
		lks_reach_note_exit_call(caller_sp);
}

/* _exit skips atexit handlers, so ours too: write the snapshot here. */
LKS_EXPORT void _exit(int status)
{
	note_exit_call((uint64_t)(uintptr_t)__builtin_dwarf_cfa());
	process_end(LKS_REASON__EXIT, status);
	exit_now(lks_started() && lks_real_get(&lks_real._exit) ? lks_real._exit : NULL, status);
}

LKS_EXPORT void _Exit(int status)
{
	note_exit_call((uint64_t)(uintptr_t)__builtin_dwarf_cfa());
	process_end(LKS_REASON__EXIT, status);
	exit_now(lks_started() && lks_real_get(&lks_real._Exit) ? lks_real._Exit : NULL, status);
}

/* ---- the start ------------------------------------------------------------- */

/* Starts the shim, unless an allocation from another library's initializer
 * started it already (early), and says which. */
static void say_start(bool early)
{
	struct lks_line pid = { .len = 0 };

	lks_start();
	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_ACTIVE)
		return;  /* disable() said why */
	lks_line_u64(&pid, (uint64_t)getpid());
	pid.text[pid.len] = '\0';
	say_verbose(early ? "recording (started early, by an allocation before the shim's "
	                    "initializer ran) in pid " : "recording in pid ", pid.text);
}

/* Whether the program's malloc reaches the shim: a malloc of its own does
 * not, and the report must say it is incomplete. */
static void note_malloc(void)
{
	const char *where;
	bool ours = lks_malloc_is_ours(&where);

	lks_process_set_own_malloc(!ours);
	lks_process_set_heap_sizes(ours && lks_usable_size_matches_malloc());
	if (ours)
		lks_heaps_start();
	if (ours)
		say_verbose("malloc: the program's calls come through the shim", "");
	else
		say_verbose("malloc: NOT recorded, the program's own comes first, from ", where);
}

/* A set-user-ID or set-group-ID program (the shim in /etc/ld.so.preload):
 * its environment, and the directory it runs in, are its caller's choice,
 * and a snapshot would be written with the program's privileges wherever
 * that caller said. Nothing is taken from the environment, and nothing is
 * recorded or written. */
static bool secure_mode(void)
{
	if (!getauxval(AT_SECURE))
		return false;
	disable("set-user-ID or set-group-ID program (AT_SECURE): LEAKSCOPE_OPTIONS "
	        "ignored, nothing recorded or written");
	return true;
}

/* The one constructor. It runs after libc is initialized, so getenv works
 * (an interposer called earlier, from the loader, saw no environment and
 * used the defaults). */
__attribute__((constructor(101))) static void leakscope_constructor(void)
{
	const char *options;
	unsigned char quiet;

	if (secure_mode())
		return;
	quiet = lks_quiet_begin(); /* realpath, on_exit, pthread_atfork and mmap
	                            * may allocate */
	options = getenv("LEAKSCOPE_OPTIONS");
	if (options)
		lks_options_parse(options);
	lks_process_remember(lks_opt.output_dir);
	lks_identity_start(lks_opt.run_token);
	lks_quiet_end(quiet);
	if (lks_opt.help)
		lks_options_print_help();
	if (lks_opt.verbose)
		lks_options_print_taken();
	if (!lks_opt.enabled) {
		__atomic_store_n(&lks_state, LKS_DISABLED, __ATOMIC_RELEASE);
		say_verbose("not recording: enabled=0, every call goes straight through", "");
		return;
	}
	say_start(__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) != LKS_UNINIT);
	exit_claim();
	lks_reach_note_main_thread();
	quiet = lks_quiet_begin();
	lks_unwind_check_start();  /* dlopen allocates */
	note_malloc();
	/* Registered before __libc_start_main registers the loader's fini, so
	 * it runs after atexit handlers, C++ static destructors and every
	 * library's destructors: what they free is not reported. */
	on_exit(at_exit, NULL);
	lks_forkpage_start();
	pthread_atfork(NULL, NULL, after_fork_in_child);
	lks_control_start();
	if (__atomic_load_n(&lks_state, __ATOMIC_ACQUIRE) == LKS_ACTIVE)
		lks_sigchain_watch_fatal(end_by_signal);  /* after the request signal's */
	lks_execnote_init();
	lks_py_init();  /* dlsym: a CPython runtime in the process? */
	lks_quiet_end(quiet);
}
