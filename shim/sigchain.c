/* SPDX-License-Identifier: MIT */
/* The request signal (snapshot_signal option), shared with the program: the
 * shim's handler stays installed, the program's sigaction, signal,
 * sysv_signal and sigset calls for that number are recorded and answered as
 * if they had taken effect, and every signal of that number that is not a
 * leakscope request goes to the disposition the program believes it set. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "request.h"
#include "shim.h"

/* Exported aliases glibc's headers do not declare. */
int __sigaction(int signo, const struct sigaction *act, struct sigaction *old);
__sighandler_t bsd_signal(int signo, __sighandler_t handler);

#define VIEWS 8
/* What of the program's flags the kernel applies for us: restarting
 * syscalls, the alternate stack, not blocking the signal in its handler. */
#define MIRRORED_FLAGS (SA_RESTART | SA_ONSTACK | SA_NODEFER)

static int channel_signal;             /* atomic: 0 until installed */
static lks_request_fn *on_request;     /* set before the handler is */
static struct sigaction views[VIEWS];  /* the program's dispositions */
static uint32_t view_next = 1, view_at; /* atomic: slot to fill, slot in force */

/* A writer fills a slot of its own, then publishes it: a handler reading
 * an older slot is done long before VIEWS more changes reuse it. */
static struct sigaction program_view(void)
{
	return views[__atomic_load_n(&view_at, __ATOMIC_ACQUIRE) % VIEWS];
}

static void publish_view(const struct sigaction *act)
{
	uint32_t slot = __atomic_fetch_add(&view_next, 1, __ATOMIC_RELAXED) % VIEWS;

	views[slot] = *act;
	__atomic_store_n(&view_at, slot, __ATOMIC_RELEASE);
}

static bool is_handler(const struct sigaction *act)
{
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

static void on_signal(int signo, siginfo_t *info, void *context);

/* The kernel keeps our handler, with the program's mask and flags when it
 * set a handler; SA_RESTART otherwise, so that a signal it ignores does not
 * make its system calls fail with EINTR. */
static int install(int signo, const struct sigaction *program)
{
	struct sigaction ours = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&ours.sa_mask);
	if (is_handler(program)) {
		ours.sa_mask = program->sa_mask;
		ours.sa_flags = SA_SIGINFO | (program->sa_flags & MIRRORED_FLAGS);
	}
	return lks_real.sigaction(signo, &ours, NULL);
}

/* What the kernel would have done with no handler: a real-time signal's
 * default action ends the process. Blocked while we run, the signal sent
 * here is delivered, with the default action, when the handler returns. */
static void act_by_default(int signo)
{
	struct sigaction fallback = { .sa_handler = SIG_DFL };

	sigemptyset(&fallback.sa_mask);
	lks_real.sigaction(signo, &fallback, NULL);
	syscall(SYS_tgkill, getpid(), gettid(), signo);
}

static void chain(int signo, siginfo_t *info, void *context)
{
	struct sigaction view = program_view();

	if (view.sa_handler == SIG_IGN)
		return;
	if (view.sa_handler == SIG_DFL) {
		act_by_default(signo);
		return;
	}
	if (view.sa_flags & SA_RESETHAND) {
		struct sigaction reset = { .sa_handler = SIG_DFL };

		sigemptyset(&reset.sa_mask);
		publish_view(&reset);
		install(signo, &reset);
	}
	if (view.sa_flags & SA_SIGINFO)
		view.sa_sigaction(signo, info, context);
	else
		view.sa_handler(signo);
}

static void on_signal(int signo, siginfo_t *info, void *context)
{
	uint64_t value = (uint64_t)(uintptr_t)info->si_value.sival_ptr;

	if (info->si_code == SI_QUEUE && value >> 32 == LKS_REQUEST_MAGIC) {
		int saved_errno = errno;

		on_request(info->si_pid, (uint32_t)value);
		errno = saved_errno;
		return;
	}
	chain(signo, info, context);
}

bool lks_sigchain_start(int signo, lks_request_fn *request)
{
	struct sigaction before;

	on_request = request;
	if (!lks_real_get(&lks_real.sigaction) || lks_real.sigaction(signo, NULL, &before) != 0)
		return false;
	views[0] = before;
	if (install(signo, &before) != 0)
		return false;
	/* release: views[0] is set before an interposer looks at it */
	__atomic_store_n(&channel_signal, signo, __ATOMIC_RELEASE);
	return true;
}

/* ---- the program's calls for that signal ---------------------------------- */

static bool is_channel(int signo)
{
	int channel = __atomic_load_n(&channel_signal, __ATOMIC_ACQUIRE);

	return channel && signo == channel;
}

static int program_sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	if (old)
		*old = program_view();
	if (act) {
		publish_view(act);
		install(signo, act);
	}
	return 0;
}

/* signal() and sysv_signal() as glibc builds them on sigaction. */
static __sighandler_t program_signal(int signo, __sighandler_t handler, int flags,
                                     bool mask_self)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = flags }, old;

	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, signo);
	program_sigaction(signo, &act, &old);
	return old.sa_handler;
}

LKS_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	lks_real_get(&lks_real.sigaction);
	if (is_channel(signo))
		return program_sigaction(signo, act, old);
	return lks_real.sigaction(signo, act, old);
}

LKS_EXPORT int __sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(signo, act, old);
}

LKS_EXPORT __sighandler_t signal(int signo, __sighandler_t handler)
{
	lks_real_get(&lks_real.signal);
	if (is_channel(signo))
		return program_signal(signo, handler, SA_RESTART, true);
	return lks_real.signal(signo, handler);
}

LKS_EXPORT __sighandler_t bsd_signal(int signo, __sighandler_t handler)
{
	return signal(signo, handler);
}

LKS_EXPORT __sighandler_t ssignal(int signo, __sighandler_t handler)
{
	return signal(signo, handler);
}

LKS_EXPORT __sighandler_t sysv_signal(int signo, __sighandler_t handler)
{
	lks_real_get(&lks_real.sysv_signal);
	if (is_channel(signo))
		return program_signal(signo, handler, SA_RESETHAND | SA_NODEFER, false);
	return lks_real.sysv_signal(signo, handler);
}

LKS_EXPORT __sighandler_t __sysv_signal(int signo, __sighandler_t handler)
{
	return sysv_signal(signo, handler);
}

/* SysV sigset: SIG_HOLD blocks the signal in this thread, anything else
 * sets the disposition and unblocks it; the answer is SIG_HOLD when it was
 * blocked before. */
LKS_EXPORT __sighandler_t sigset(int signo, __sighandler_t disposition)
{
	sigset_t one, before;
	__sighandler_t old;

	lks_real_get(&lks_real.sigset);
	if (!is_channel(signo))
		return lks_real.sigset(signo, disposition);
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (disposition == SIG_HOLD) {
		old = program_view().sa_handler;
		pthread_sigmask(SIG_BLOCK, &one, &before);
	} else {
		old = program_signal(signo, disposition, 0, false);
		pthread_sigmask(SIG_UNBLOCK, &one, &before);
	}
	return sigismember(&before, signo) ? SIG_HOLD : old;
}
