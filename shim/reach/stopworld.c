/* SPDX-License-Identifier: MIT */
/* Holding the program's other threads still while the scan reads memory, as
 * conservative collectors do: each is sent a signal whose handler saves its
 * registers and stack pointer and waits until released. A thread that
 * blocks the signal is held with ptrace instead (ptrace_hold.c). One that
 * does not answer in time (stuck in the kernel) or cannot be traced is
 * counted as missed, never waited for, unless it ended meanwhile; the scan
 * then reads memory through the kernel. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "reach.h"
#include "sys.h"

#define ANSWER_WAIT_NS 500000000ull  /* all threads together */
#define ENUMERATE_ROUNDS 4           /* threads may start threads meanwhile */
#define LOOK_EVERY 16                /* pauses: 3.2 ms */


/* Static, not mapped: a handler that read `stopping` just before the scan
 * ended may still write its slot after the scan's memory is gone. */
static struct reach_thread slots[MAX_THREADS];
static uint32_t slot_count;        /* atomic: slots a handler may look at */
static int stopping;               /* atomic: 1 while a scan holds threads */
static int release_word;           /* atomic futex word: 1 while held */
static struct sigaction program_action;
static int stop_signal;            /* 0 until the handler is installed */

static long futex(int *word, int op, int value, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static void save_context(struct reach_thread *slot, const ucontext_t *context)
{
#if defined(__x86_64__)
	for (int i = 0; i < NGREG && i < THREAD_WORDS; i++)
		slot->regs[i] = (uint64_t)context->uc_mcontext.gregs[i];
	slot->sp = (uint64_t)context->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
	for (int i = 0; i < 31 && i < THREAD_WORDS; i++)
		slot->regs[i] = context->uc_mcontext.regs[i];
	slot->sp = context->uc_mcontext.sp;
#else
#error "leakscope: saving a stopped thread's registers is not written for this CPU"
#endif
	slot->tp = (uint64_t)(uintptr_t)__builtin_thread_pointer();
}

/* A signal that is not ours (the program's own use of the number) goes to
 * the program's handler; ours arriving late is dropped. */
static void forward(int signo, siginfo_t *info, void *context)
{
	if (program_action.sa_flags & SA_SIGINFO)
		program_action.sa_sigaction(signo, info, context);
	else if (program_action.sa_handler != SIG_IGN && program_action.sa_handler != SIG_DFL)
		program_action.sa_handler(signo);
}

static void on_stop_signal(int signo, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	pid_t self = gettid();
	bool ours = info->si_code == SI_TKILL && info->si_pid == getpid();
	uint32_t count = __atomic_load_n(&stopping, __ATOMIC_ACQUIRE) ?
		__atomic_load_n(&slot_count, __ATOMIC_ACQUIRE) : 0;

	if (!ours)
		forward(signo, info, context);

	for (uint32_t i = 1; ours && i < count && i < MAX_THREADS; i++) {
		struct reach_thread *slot = &slots[i];

		if (slot->tid != self)
			continue;
		save_context(slot, context);
		/* release: the saved context is visible to the scanner first */
		__atomic_store_n(&slot->answered, 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&release_word, __ATOMIC_ACQUIRE))
			futex(&release_word, FUTEX_WAIT_PRIVATE, 1, NULL);
		break;
	}
	errno = saved_errno;
}

/* A real-time signal (applications mostly take the low ones), never the
 * snapshot request signal, set through the real sigaction: the shim's own
 * sigaction (sigchain.c) would keep it for the program's view. On the
 * thread's alternate stack when it has one: a thread may run on a stack
 * too small for a signal frame and give its signals a stack of their own
 * (every goroutine of a Go program does). */
static bool install_handler(void)
{
	struct sigaction action = { .sa_sigaction = on_stop_signal,
	                            .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };
	int signo = SIGRTMAX - 3 == lks_opt.snapshot_signal ? SIGRTMAX - 5 : SIGRTMAX - 3;

	if (stop_signal)
		return true;
	if (!lks_real_get(&lks_real.sigaction))
		return false;
	sigfillset(&action.sa_mask);
	/* Stays installed: a signal still pending in a thread that had it
	 * blocked must not meet the default action (terminate) later. */
	if (lks_real.sigaction(signo, &action, &program_action) != 0)
		return false;
	stop_signal = signo;
	return true;
}

static bool known(const struct reach *reach, pid_t tid)
{
	for (uint32_t i = 0; i < reach->thread_count; i++)
		if (reach->threads[i].tid == tid)
			return true;
	return false;
}

static pid_t parse_tid(const char *name)
{
	pid_t tid = 0;

	for (; *name; name++) {
		if (*name < '0' || *name > '9')
			return 0;
		tid = tid * 10 + (*name - '0');
	}
	return tid;
}

/* /proc/self/task/TID/NAME into buf; its length, or -1 when the thread
 * is gone. */
static ssize_t read_task_file(pid_t tid, const char *name, char *buf, size_t size)
{
	char path[64];
	int fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", (int)tid, name);
	fd = lks_sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	len = lks_sys_read(fd, buf, size - 1);
	lks_sys_close(fd);
	buf[len > 0 ? len : 0] = '\0';
	return len;
}

/* A main thread that called pthread_exit stays listed as a zombie until
 * the process ends: a signal to it is accepted and never answered. */
static bool task_exited(pid_t tid)
{
	char stat[512];
	const char *state;

	if (read_task_file(tid, "stat", stat, sizeof(stat)) < 0)
		return true;  /* reaped meanwhile */
	state = strrchr(stat, ')');  /* the name before it may hold anything */
	return state && state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X');
}

/* Its SigBlk mask has the stop signal: it would never answer. */
__attribute__((noinline)) static bool task_blocks(pid_t tid, int signo)
{
	char status[4096];
	const char *field;

	if (read_task_file(tid, "status", status, sizeof(status)) <= 0 ||
	    !(field = strstr(status, "\nSigBlk:")))
		return false;
	return (strtoull(field + 8, NULL, 16) >> (signo - 1)) & 1;
}

/* Signals every thread of /proc/self/task not signalled yet (marks those
 * that block the signal instead); how many were new. getdents64 directly:
 * opendir would call malloc. */
static int signal_new_threads(struct reach *reach)
{
	char buf[1024];  /* dozens of entries per call; a small frame */
	int fd = lks_sys_openat(AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int fresh = 0;
	long got;

	if (fd < 0)
		return 0;
	while ((got = lks_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < got; ) {
			struct dirent64 *entry = (struct dirent64 *)(buf + at);
			pid_t tid = parse_tid(entry->d_name);

			at += entry->d_reclen;
			if (tid <= 0 || known(reach, tid) || reach->thread_count == MAX_THREADS)
				continue;
			if (task_exited(tid)) {
				reach->main_exited |= tid == getpid();
				continue;
			}
			uint32_t index = reach->thread_count;

			reach->threads[index] = (struct reach_thread){ .tid = tid };
			/* release: counted before the handler can look for its slot */
			reach->thread_count = index + 1;
			__atomic_store_n(&slot_count, index + 1, __ATOMIC_RELEASE);
			if (task_blocks(tid, stop_signal)) {
				reach->threads[index].blocks_stop = 1;
				fresh++;
			} else if (syscall(SYS_tgkill, getpid(), tid, stop_signal) == 0)
				fresh++;
			else  /* gone meanwhile: no handler will run for it */
				__atomic_store_n(&slot_count, reach->thread_count = index,
				                 __ATOMIC_RELAXED);
		}
	}
	lks_sys_close(fd);
	return fresh;
}

/* Not answered; with `look`, not ended either. glibc blocks every signal
 * in a thread on its way out, so one listed then never answers; once its
 * task is gone it runs no more, and its stack is a finished thread's
 * (stacks.c reads it as such): it is not missed. */
static bool unanswered(const struct reach_thread *t, bool look)
{
	return !__atomic_load_n(&t->answered, __ATOMIC_ACQUIRE) && !(look && task_exited(t->tid));
}

/* The threads that neither answered nor ended by the deadline. /proc is
 * read for the unanswered ones every LOOK_EVERY pauses only. */
static uint32_t wait_for_answers(const struct reach *reach, uint64_t deadline)
{
	static const struct timespec pause = { 0, 200000 };

	for (uint32_t pass = 1;; pass++) {
		bool late = lks_uptime_ns() >= deadline, look = late || pass % LOOK_EVERY == 0;
		uint32_t waiting = 0;

		for (uint32_t i = 1; i < reach->thread_count; i++)
			waiting += !reach->threads[i].blocks_stop && unanswered(&reach->threads[i], look);
		if (!waiting || late)
			return waiting;
		nanosleep(&pause, NULL);
	}
}

/* Only the exiting thread's slot is cleared: the others are written whole
 * when a thread is found (signal_new_threads), and nothing reads past the
 * count.
 * Clearing all 1,024 (352 KiB) cost a short process 90 page faults. */
struct reach_thread *reach_thread_slots(void)
{
	slots[0] = (struct reach_thread){ 0 };
	return slots;
}

static uint32_t unanswered_blocking(const struct reach *reach)
{
	uint32_t count = 0;

	for (uint32_t i = 1; i < reach->thread_count; i++)
		count += reach->threads[i].blocks_stop && unanswered(&reach->threads[i], true);
	return count;
}

int reach_stop_threads(struct reach *reach)
{
	uint64_t deadline = lks_uptime_ns() + ANSWER_WAIT_NS;

	if (!install_handler()) {
		reach->missed_threads = 1;  /* at least one may run: read safely */
		return -1;
	}
	__atomic_store_n(&release_word, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&slot_count, reach->thread_count, __ATOMIC_RELAXED);
	/* release: the slots are filled before any handler looks at them */
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	for (int round = 0; round < ENUMERATE_ROUNDS; round++) {
		wait_for_answers(reach, deadline);
		if (!signal_new_threads(reach))
			break;
	}
	reach->missed_threads = wait_for_answers(reach, deadline);
	if (unanswered_blocking(reach)) {
		reach_trace_threads(reach);
		reach->missed_threads += unanswered_blocking(reach);
	}
	return 0;
}

void reach_resume_threads(struct reach *reach)
{
	reach_untrace_threads();
	if (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
		return;
	/* a handler that runs from now on finds nothing to wait for */
	__atomic_store_n(&stopping, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&release_word, 0, __ATOMIC_RELEASE);
	futex(&release_word, FUTEX_WAKE_PRIVATE, 1 << 30, NULL);
}
