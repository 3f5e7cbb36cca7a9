/* SPDX-License-Identifier: MIT */
/* The shim's own files when the program holds every fd it may (EMFILE): a
 * helper task sharing our memory, but with a copy of the fd table in which
 * it closes what it likes (a copy: the program's fds, their locks and their
 * files are untouched), opens and reads and writes for us. Started by the
 * first open that meets EMFILE inside a snapshot, stopped when that
 * snapshot is done: nothing exists between uses. Its fds reach the shim's
 * code tagged (LKS_FDPROXY_TAG), and sys.c hands every call on one to it.
 * Under a seccomp filter, where no helper may be cloned, the soft limit is
 * raised instead for the snapshot's time, when the hard one leaves room.
 *
 * It runs on the caller's TLS (clone without CLONE_SETTLS), as ptrace_hold.c's
 * helper does, so it calls nothing of libc's: raw system calls only, which
 * leave errno alone (errno is the caller's, who may be waiting on a futex). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fdproxy.h"

#define HELPER_STACK (64u << 10)
#define FREED_FDS 64  /* closed in the helper's copy: more than a snapshot opens at once */

enum { PHASE_IDLE, PHASE_REQUEST, PHASE_DONE, PHASE_QUIT };

struct request {
	int phase;      /* atomic futex word: PHASE_* */
	long number;    /* system call */
	long args[4];
	long result;    /* the kernel's: -errno on failure */
	char path[PATH_MAX + 64]; /* openat's path, /proc/self made explicit */
};

static struct request request;
/* The shim's .bss is never a root of the scan, which runs meanwhile; one
 * helper at a time, and its pages cost nothing until it runs. */
static char helper_stack[HELPER_STACK] __attribute__((aligned(16)));
static pid_t helper_pid;       /* 0: none */
static pid_t owner;            /* atomic: the thread served, 0: none */
static struct rlimit lowered;  /* RLIMIT_NOFILE before raise_soft_limit */
static rlim_t raised_to;       /* its soft limit since, 0: not raised */
static int limit_met;          /* atomic: RLIMIT_NOFILE when EMFILE could not be helped */
static __thread unsigned char scope_depth __attribute__((tls_model("initial-exec")));
static __thread unsigned char in_call __attribute__((tls_model("initial-exec")));

/* A system call that returns -errno and never writes errno. */
static long direct_syscall(long number, long a, long b, long c, long d)
{
#if defined(__x86_64__)
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile("syscall" : "=a"(ret)
	                 : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
	                 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = number;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
#else
	int saved_errno = errno;
	long ret = syscall(number, a, b, c, d);

	if (ret < 0)
		ret = -errno;
	errno = saved_errno;
	return ret;
#endif
}

/* ---- the helper ------------------------------------------------------------ */

static int helper_main(void *unused)
{
	(void)unused;
	direct_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0);
	/* its own copy of the table, full: room is made in the copy only */
	if (direct_syscall(SYS_close_range, 0, FREED_FDS - 1, 0, 0) < 0)
		for (int fd = 0; fd < FREED_FDS; fd++)
			direct_syscall(SYS_close, fd, 0, 0, 0);
	for (;;) {
		int phase = __atomic_load_n(&request.phase, __ATOMIC_ACQUIRE);

		if (phase == PHASE_QUIT)
			return 0;
		if (phase != PHASE_REQUEST) {
			direct_syscall(SYS_futex, (long)&request.phase, FUTEX_WAIT_PRIVATE, phase, 0);
			continue;
		}
		request.result = direct_syscall(request.number, request.args[0], request.args[1],
		                                request.args[2], request.args[3]);
		/* release: the result is visible to whoever sees DONE */
		__atomic_store_n(&request.phase, PHASE_DONE, __ATOMIC_RELEASE);
		direct_syscall(SYS_futex, (long)&request.phase, FUTEX_WAKE_PRIVATE, 1, 0);
	}
}

static bool helper_gone(void)
{
	int status;

	return direct_syscall(SYS_wait4, helper_pid, (long)&status, WNOHANG | __WCLONE, 0) ==
	       helper_pid;
}

/* With every signal blocked (inherited by the helper: a signal to our
 * process group must not run the program's handlers there). Not under a
 * seccomp filter, which may kill the process for a clone. */
static bool start_helper(void)
{
	sigset_t all, before;

	if (direct_syscall(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0) != 0)
		return false;
	sigfillset(&all);
	direct_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, (long)&before, _NSIG / 8);
	__atomic_store_n(&request.phase, PHASE_IDLE, __ATOMIC_RELAXED);
	/* no CLONE_FILES: its own copy of our fds; no exit signal: the program
	 * never hears of it, and only a __WCLONE wait (ours) reaps it */
	helper_pid = clone(helper_main, helper_stack + HELPER_STACK,
	                   CLONE_VM | CLONE_FS | CLONE_UNTRACED, NULL);
	direct_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&before, 0, _NSIG / 8);
	if (helper_pid > 0)
		return true;
	helper_pid = 0;
	return false;
}

static void stop_helper(void)
{
	int status;

	__atomic_store_n(&request.phase, PHASE_QUIT, __ATOMIC_RELEASE);
	direct_syscall(SYS_futex, (long)&request.phase, FUTEX_WAKE_PRIVATE, 1, 0);
	while (direct_syscall(SYS_wait4, helper_pid, (long)&status, __WCLONE, 0) == -EINTR)
		;
	helper_pid = 0;
}

/* ---- the caller's side ----------------------------------------------------- */

/* One call at a time, from the owner only (a signal handler that interrupts
 * the owner in the middle of one gets EMFILE). */
static long call(long number, long a, long b, long c, long d)
{
	static const struct timespec slice = { 0, 100000000 };
	long result;

	if (in_call || !helper_pid)
		return -EMFILE;
	in_call = 1;
	request.number = number;
	request.args[0] = a, request.args[1] = b, request.args[2] = c, request.args[3] = d;
	/* release: the request is visible to the helper first */
	__atomic_store_n(&request.phase, PHASE_REQUEST, __ATOMIC_RELEASE);
	direct_syscall(SYS_futex, (long)&request.phase, FUTEX_WAKE_PRIVATE, 1, 0);
	while (__atomic_load_n(&request.phase, __ATOMIC_ACQUIRE) == PHASE_REQUEST) {
		direct_syscall(SYS_futex, (long)&request.phase, FUTEX_WAIT_PRIVATE, PHASE_REQUEST,
		               (long)&slice);
		if (__atomic_load_n(&request.phase, __ATOMIC_ACQUIRE) == PHASE_REQUEST &&
		    helper_gone()) {  /* killed (SIGKILL to our process group), reaped */
			helper_pid = 0;
			in_call = 0;
			return -EMFILE;
		}
	}
	result = request.result;
	__atomic_store_n(&request.phase, PHASE_IDLE, __ATOMIC_RELAXED);
	in_call = 0;
	return result;
}

/* The thread whose snapshot holds the way round: the helper, or a raised
 * limit. One at a time: another thread's snapshot meets EMFILE. */
static bool owned_here(void)
{
	return __atomic_load_n(&owner, __ATOMIC_ACQUIRE) == gettid();
}

static bool take_ownership(void)
{
	pid_t none = 0;

	return __atomic_compare_exchange_n(&owner, &none, gettid(), false, __ATOMIC_ACQ_REL,
	                                   __ATOMIC_ACQUIRE);
}

/* /proc/self and /proc/thread-self name the helper there: ours, by number. */
static bool explicit_path(const char *path)
{
	const char *rest;
	int len;

	if (!strncmp(path, "/proc/self/", 11)) {
		rest = path + 11;
		len = snprintf(request.path, sizeof(request.path), "/proc/%d/%s", (int)getpid(), rest);
	} else if (!strncmp(path, "/proc/thread-self/", 18)) {
		rest = path + 18;
		len = snprintf(request.path, sizeof(request.path), "/proc/%d/task/%d/%s",
		               (int)getpid(), (int)gettid(), rest);
	} else {
		len = snprintf(request.path, sizeof(request.path), "%s", path);
	}
	return len > 0 && (size_t)len < sizeof(request.path);
}

static int open_by_helper(const char *path, int flags, mode_t mode)
{
	long fd;

	if (in_call || !explicit_path(path)) {
		errno = EMFILE;
		return -1;
	}
	fd = call(SYS_openat, AT_FDCWD, (long)request.path, flags, mode);
	if (fd >= 0)
		return (int)fd | LKS_FDPROXY_TAG;
	errno = (int)-fd;
	return -1;
}

/* Where no helper may run (a seccomp filter), but the hard limit leaves
 * room: the soft limit goes up by as many fds as the helper frees, until
 * the snapshot is done. The program can see that meanwhile (getrlimit, or
 * an open of another thread that succeeds), which the helper avoids. */
static bool raise_soft_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) || limit.rlim_cur >= limit.rlim_max)
		return false;
	lowered = limit;
	limit.rlim_cur = limit.rlim_max - limit.rlim_cur > FREED_FDS ?
		limit.rlim_cur + FREED_FDS : limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit))
		return false;
	raised_to = limit.rlim_cur;
	return true;
}

/* Unless the program changed it meanwhile. */
static void lower_soft_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur == raised_to)
		setrlimit(RLIMIT_NOFILE, &lowered);
	raised_to = 0;
}

/* Inside a snapshot only: the program's own opens forwarded before start
 * are none of this. */
static void note_limit(void)
{
	struct rlimit limit;

	if (scope_depth && getrlimit(RLIMIT_NOFILE, &limit) == 0)
		__atomic_store_n(&limit_met, (int)limit.rlim_cur, __ATOMIC_RELAXED);
}

int lks_fdproxy_openat(int dir_fd, const char *path, int flags, mode_t mode)
{
	int fd;

	if (!scope_depth || (dir_fd != AT_FDCWD && path[0] != '/'))
		goto unhelped;
	if (!owned_here()) {
		if (!take_ownership())
			goto unhelped;  /* another thread's snapshot has it */
		if (!start_helper() && !raise_soft_limit()) {
			__atomic_store_n(&owner, 0, __ATOMIC_RELEASE);
			goto unhelped;
		}
	}
	fd = helper_pid ? open_by_helper(path, flags, mode) :
	                  (int)syscall(SYS_openat, dir_fd, path, flags, mode);
	if (fd < 0 && errno == EMFILE)
		note_limit();
	return fd;
unhelped:
	note_limit();
	errno = EMFILE;
	return -1;
}

long lks_fdproxy_call(long number, int fd, long b, long c, long d)
{
	long result;

	if (!helper_pid || !owned_here()) {
		errno = EBADF;
		return -1;
	}
	result = call(number, fd & ~LKS_FDPROXY_TAG, b, c, d);
	if (result >= 0)
		return result;
	errno = (int)-result;
	return -1;
}

void lks_fdproxy_begin(void)
{
	if (scope_depth++ == 0)
		__atomic_store_n(&limit_met, 0, __ATOMIC_RELAXED);
}

void lks_fdproxy_end(void)
{
	if (--scope_depth || !owned_here())
		return;
	if (helper_pid)
		stop_helper();
	if (raised_to)
		lower_soft_limit();
	__atomic_store_n(&owner, 0, __ATOMIC_RELEASE);
}

int lks_fdproxy_limit_met(void)
{
	return __atomic_load_n(&limit_met, __ATOMIC_RELAXED);
}

/* The helper is the parent's: a fork child starts with none. */
void lks_fdproxy_after_fork(void)
{
	helper_pid = 0;
	owner = 0;
	if (raised_to)  /* raised by the parent's snapshot: the child's own copy */
		lower_soft_limit();
	limit_met = 0;
	scope_depth = 0;
	in_call = 0;
}
