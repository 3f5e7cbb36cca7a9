/* SPDX-License-Identifier: MIT */
/* Threads that block the stop signal (worker pools often block every
 * signal) cannot answer it. They are held with ptrace instead, as
 * LeakSanitizer holds every thread: a helper task that shares our memory
 * but is not in our thread group (ptrace refuses one's own group) seizes
 * each of them, interrupts it, copies its registers into its slot and keeps
 * it stopped until the scan is done.
 *
 * Never when a seccomp filter is in force: a filter we cannot read may kill
 * the process for a ptrace or clone call, and the shim must not change how
 * the program ends. Nor when ptrace is refused (Yama, no permission, already
 * traced): the threads stay unanswered and are counted as missed. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reach.h"
#include "sys.h"

#define TRACER_STACK (64u << 10)
#define HOLD_WAIT_NS 2000000000ull   /* for the helper to hold them all */
#define STOP_WAIT_NS 500000000ull    /* for one thread to stop */

/* The helper's progress, a futex word both sides wait on. */
enum { TRACER_WAIT, TRACER_GO, TRACER_HELD, TRACER_RELEASE };

struct tracer {
	struct reach *reach;
	int phase;                        /* atomic futex word: TRACER_* */
	int pending_signal[MAX_THREADS];  /* caught while seizing: given back */
	bool seized[MAX_THREADS];
};

/* Static: one scan at a time, and the helper reads it after we return. */
static struct tracer tracer;
static void *tracer_stack;
static pid_t tracer_pid;

static long futex(int *word, int op, int value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static void set_phase(int phase)
{
	/* release: the slots written before are visible to whoever sees it */
	__atomic_store_n(&tracer.phase, phase, __ATOMIC_RELEASE);
	futex(&tracer.phase, FUTEX_WAKE, 1 << 30, NULL);
}

/* Waits while the phase is `from`, until deadline_ns (0: no deadline). */
static int wait_phase(int from, uint64_t deadline_ns)
{
	static const struct timespec slice = { 0, 50000000 };
	int phase;

	while ((phase = __atomic_load_n(&tracer.phase, __ATOMIC_ACQUIRE)) == from) {
		if (deadline_ns && lks_uptime_ns() >= deadline_ns)
			break;
		futex(&tracer.phase, FUTEX_WAIT, from, &slice);
	}
	return phase;
}

/* ---- the helper task: shares our memory, never our libc state ------------
 * It runs on the scanning thread's TLS (clone without CLONE_SETTLS), so it
 * calls nothing that allocates, takes a lock or is a cancellation point
 * (that would read the scanning thread's cancel state): system calls only. */

static bool copy_registers(pid_t tid, struct reach_thread *slot)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;
	struct iovec vec = { &regs, sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &vec) != 0)
		return false;
	memcpy(slot->regs, &regs, sizeof(regs) < sizeof(slot->regs) ?
	       sizeof(regs) : sizeof(slot->regs));
	slot->sp = regs.rsp;
	slot->tp = regs.fs_base;
#elif defined(__aarch64__)
	struct user_pt_regs regs;
	uint64_t tls;
	struct iovec vec = { &regs, sizeof(regs) }, tls_vec = { &tls, sizeof(tls) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &vec) != 0 ||
	    ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_TLS, &tls_vec) != 0)
		return false;
	memcpy(slot->regs, regs.regs, sizeof(regs.regs));
	slot->sp = regs.sp;
	slot->tp = tls;
#else
#error "leakscope: reading a traced thread's registers is not written for this CPU"
#endif
	return true;
}

/* Until the thread reports a stop; a signal it was about to get is kept to
 * be given back when it is let go. */
static bool wait_stopped(pid_t tid, int *pending_signal)
{
	uint64_t deadline = lks_uptime_ns() + STOP_WAIT_NS;
	static const struct timespec pause = { 0, 1000000 };
	int status;

	for (;;) {
		pid_t got = (pid_t)syscall(SYS_wait4, tid, &status, __WALL | WNOHANG, NULL);

		if (got == tid && WIFSTOPPED(status)) {
			if (status >> 16 != PTRACE_EVENT_STOP)
				*pending_signal = WSTOPSIG(status);
			return true;
		}
		if (got == tid || (got < 0 && errno != EINTR) || lks_uptime_ns() >= deadline)
			return false;  /* gone, or stuck where it cannot stop */
		syscall(SYS_nanosleep, &pause, NULL);
	}
}

static void hold(uint32_t index)
{
	struct reach_thread *slot = &tracer.reach->threads[index];
	pid_t tid = slot->tid;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0)
		return;
	tracer.seized[index] = true;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0 ||
	    !wait_stopped(tid, &tracer.pending_signal[index]) || !copy_registers(tid, slot))
		return;
	/* release: the registers are visible to the scanner first */
	__atomic_store_n(&slot->answered, 1, __ATOMIC_RELEASE);
}

static int tracer_main(void *unused)
{
	struct reach *reach = tracer.reach;

	(void)unused;
	prctl(PR_SET_PDEATHSIG, SIGKILL);  /* never outlive the scanning thread */
	wait_phase(TRACER_WAIT, 0);
	for (uint32_t i = 1; i < reach->thread_count; i++)
		if (reach->threads[i].blocks_stop)
			hold(i);
	set_phase(TRACER_HELD);
	wait_phase(TRACER_HELD, 0);
	for (uint32_t i = 1; i < reach->thread_count; i++)
		if (tracer.seized[i])
			ptrace(PTRACE_DETACH, reach->threads[i].tid, NULL,
			       (void *)(intptr_t)tracer.pending_signal[i]);
	return 0;
}

/* ---- the scanning thread's side ------------------------------------------ */

/* Filters are per thread: ours is the one whose calls would be filtered. */
static bool seccomp_filtered(void)
{
	char status[4096];
	int fd = lks_sys_openat(AT_FDCWD, "/proc/thread-self/status", O_RDONLY | O_CLOEXEC, 0);
	ssize_t len = fd < 0 ? -1 : lks_sys_read(fd, status, sizeof(status) - 1);
	const char *field;

	if (fd >= 0)
		lks_sys_close(fd);
	if (len <= 0)
		return true;  /* cannot tell: assume the worst */
	status[len] = '\0';
	field = strstr(status, "\nSeccomp:");
	return !field || field[strspn(field + 9, " \t") + 9] != '0';
}

static void reap_tracer(void)
{
	int status;

	/* by system call: the shim's waitpid would mark it as a child killed */
	while (syscall(SYS_wait4, tracer_pid, &status, __WCLONE, NULL) < 0 && errno == EINTR)
		;
	tracer_pid = 0;
	lks_unmap(tracer_stack, TRACER_STACK);
	tracer_stack = NULL;
}

/* A helper that did not report in time is killed (the kernel lets its
 * threads go) and its slots cleared: what it half wrote is not trusted. */
static void give_up(struct reach *reach)
{
	syscall(SYS_kill, tracer_pid, SIGKILL);
	reap_tracer();
	for (uint32_t i = 1; i < reach->thread_count; i++)
		if (reach->threads[i].blocks_stop)
			__atomic_store_n(&reach->threads[i].answered, 0, __ATOMIC_RELAXED);
}

/* The raw call: glibc's keeps its own two signals unblocked. */
static void sys_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8);
}

void reach_trace_threads(struct reach *reach)
{
	int saved_errno = errno;
	sigset_t every, saved;

	if (seccomp_filtered() || !(tracer_stack = lks_map(TRACER_STACK)))
		return;
	sigfillset(&every);
	memset(&tracer, 0, sizeof(tracer));
	tracer.reach = reach;
	/* no exit signal: the program never hears of it, and only a
	 * __WCLONE wait (ours) reaps it. It starts with every signal blocked:
	 * as a tracer it gets a SIGCHLD each time a thread it holds stops, and
	 * the program's handler, copied by clone, must not run on a task that
	 * is not the program's (a Go program's wants its own signal stack,
	 * which no such task has, and ended the helper with Go's "signal 17
	 * received on thread with no signal stack" on stderr) */
	sys_sigmask(SIG_SETMASK, &every, &saved);
	tracer_pid = clone(tracer_main, (char *)tracer_stack + TRACER_STACK,
	                   CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, NULL);
	sys_sigmask(SIG_SETMASK, &saved, NULL);
	if (tracer_pid <= 0) {
		lks_unmap(tracer_stack, TRACER_STACK);
		tracer_stack = NULL;
		tracer_pid = 0;
		errno = saved_errno;
		return;
	}
	/* Yama's scope 1 (EINVAL without Yama). Not undone: there is no way to
	 * read the program's own setting back, and the process is ending. */
	prctl(PR_SET_PTRACER, tracer_pid);
	set_phase(TRACER_GO);
	if (wait_phase(TRACER_GO, lks_uptime_ns() + HOLD_WAIT_NS) != TRACER_HELD)
		give_up(reach);
	errno = saved_errno;
}

void reach_untrace_threads(void)
{
	int saved_errno = errno;

	if (!tracer_pid)
		return;
	set_phase(TRACER_RELEASE);
	reap_tracer();
	errno = saved_errno;
}
