/* SPDX-License-Identifier: MIT */
/* The signals the shim shares with the program: the request signal
 * (snapshot_signal option), whose handler stays the shim's, and every signal
 * whose default action ends the process, whose handler is the shim's while
 * the program's own disposition is the default (the exit snapshot, then the
 * same death). The program's sigaction, signal, sysv_signal and sigset
 * calls for them are recorded and answered as if they had taken effect; a
 * handler of the program's is installed as its own, or chained to from ours
 * when it resets itself (SA_RESETHAND), so that the default it falls back to
 * is still ours. */
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
#define SHARED_MAX 24
/* What of the program's flags the kernel applies for us: restarting
 * syscalls, the alternate stack, not blocking the signal in its handler. */
#define MIRRORED_FLAGS (SA_RESTART | SA_ONSTACK | SA_NODEFER)

/* Default action: terminate, or terminate with a core. Not SIGTRAP (a
 * debugger's), not SIGKILL or SIGSTOP (no handler can see them). */
static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGUSR1, SIGSEGV,
	SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ, SIGVTALRM,
	SIGPROF, SIGIO, SIGPWR, SIGSYS,
};

/* The program's view of one shared signal: a writer fills a slot of its
 * own, then publishes it; a handler reading an older slot is done long
 * before VIEWS more changes reuse it. */
struct shared {
	struct sigaction views[VIEWS];
	uint32_t view_next, view_at;  /* atomic: slot to fill, slot in force */
};

static struct shared shared[SHARED_MAX];
static uint8_t shared_of[NSIG];     /* atomic: index + 1 in shared[], 0: not ours */
static uint32_t shared_count;
static int channel_signal;          /* set before its handler is */
static lks_request_fn *on_request;  /* set before the handler is */
static lks_fatal_fn *on_fatal;      /* set before any handler is */

static struct shared *shared_for(int signo)
{
	/* acquire: views[0] is set before the signal is marked shared */
	uint8_t index = signo > 0 && signo < NSIG ?
		__atomic_load_n(&shared_of[signo], __ATOMIC_ACQUIRE) : 0;

	return index ? &shared[index - 1] : NULL;
}

static struct sigaction program_view(const struct shared *sig)
{
	return sig->views[__atomic_load_n(&sig->view_at, __ATOMIC_ACQUIRE) % VIEWS];
}

static void publish_view(struct shared *sig, const struct sigaction *act)
{
	uint32_t slot = __atomic_fetch_add(&sig->view_next, 1, __ATOMIC_RELAXED) % VIEWS;

	sig->views[slot] = *act;
	__atomic_store_n(&sig->view_at, slot, __ATOMIC_RELEASE);
}

static bool is_handler(const struct sigaction *act)
{
	return act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN;
}

static void on_signal(int signo, siginfo_t *info, void *context);

/* What the kernel gets for the program's disposition `program`: ours while
 * it is the default, or a handler that resets itself (with the program's
 * mask and flags), or anything of the channel's; the program's own
 * otherwise. Ours blocks every signal while the snapshot is written. */
static int install(int signo, const struct sigaction *program)
{
	struct sigaction ours = { .sa_sigaction = on_signal,
	                          .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };

	sigfillset(&ours.sa_mask);
	if (is_handler(program) && signo != channel_signal &&
	    !(program->sa_flags & SA_RESETHAND))
		return lks_real.sigaction(signo, program, NULL);
	if (program->sa_handler == SIG_IGN && signo != channel_signal)
		return lks_real.sigaction(signo, program, NULL);
	if (is_handler(program)) {
		ours.sa_mask = program->sa_mask;
		ours.sa_flags = SA_SIGINFO | (program->sa_flags & MIRRORED_FLAGS);
	}
	return lks_real.sigaction(signo, &ours, NULL);
}

/* ---- delivery ------------------------------------------------------------- */

/* A fault the kernel raised for an instruction: returning runs it again. */
static bool instruction_fault(int signo, const siginfo_t *info)
{
	return (signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE) &&
	       info->si_code > 0 && info->si_code != SI_KERNEL;
}

/* The death the program would have had: the default action restored, and
 * the signal again. A fault recurs when the handler returns, with the
 * kernel's own siginfo for the core; any other signal is sent again, and
 * stays pending (blocked while we run) until the handler returns to the
 * interrupted code, whose state a core then shows. */
static void die_by_default(int signo, const siginfo_t *info)
{
	struct sigaction fallback = { .sa_handler = SIG_DFL };

	sigemptyset(&fallback.sa_mask);
	lks_real.sigaction(signo, &fallback, NULL);
	if (!instruction_fault(signo, info))
		syscall(SYS_tgkill, getpid(), gettid(), signo);
}

static void chain(struct shared *sig, int signo, siginfo_t *info, void *context)
{
	struct sigaction view = program_view(sig);

	if (view.sa_handler == SIG_IGN)
		return;
	if (view.sa_handler == SIG_DFL) {
		int saved_errno = errno;

		on_fatal(signo, info, context);
		die_by_default(signo, info);
		errno = saved_errno;
		return;
	}
	if (view.sa_flags & SA_RESETHAND) {
		struct sigaction reset = { .sa_handler = SIG_DFL };

		sigemptyset(&reset.sa_mask);
		publish_view(sig, &reset);
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
	struct shared *sig = shared_for(signo);

	if (signo == channel_signal && info->si_code == SI_QUEUE &&
	    value >> 32 == LKS_REQUEST_MAGIC) {
		int saved_errno = errno;

		on_request(info->si_pid, (uint32_t)value);
		errno = saved_errno;
		return;
	}
	if (sig)
		chain(sig, signo, info, context);
}

/* ---- taking a signal on ---------------------------------------------------- */

/* Marks signo shared, its view what the kernel had (before). */
static bool mark_shared(int signo, const struct sigaction *before)
{
	uint32_t index = shared_count;

	if (index == SHARED_MAX)
		return false;
	shared_count++;
	shared[index].views[0] = *before;
	/* release: views[0] is set before an interposer or handler looks */
	__atomic_store_n(&shared_of[signo], (uint8_t)(index + 1), __ATOMIC_RELEASE);
	return true;
}

/* Marks signo shared, then puts ours in place when its view calls for it. */
static bool share(int signo, const struct sigaction *before)
{
	return mark_shared(signo, before) && install(signo, before) == 0;
}

bool lks_sigchain_start(int signo, lks_request_fn *request)
{
	struct sigaction before;

	on_request = request;
	if (!lks_real_get(&lks_real.sigaction) || lks_real.sigaction(signo, NULL, &before) != 0)
		return false;
	channel_signal = signo;
	return share(signo, &before);
}

/* At start-up, before the program's main: each fatal signal the kernel
 * leaves at its default (an ignored one, inherited as nohup leaves SIGHUP,
 * stays the program's). One system call each: ours in, the old one back
 * only when it was not the default (install() would put ours in again). */
void lks_sigchain_watch_fatal(lks_fatal_fn *fatal)
{
	struct sigaction ours = { .sa_sigaction = on_signal,
	                          .sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK };

	on_fatal = fatal;
	if (!lks_real_get(&lks_real.sigaction))
		return;
	sigfillset(&ours.sa_mask);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++) {
		int signo = fatal_signals[i];
		struct sigaction before;

		if (signo == channel_signal || lks_real.sigaction(signo, &ours, &before) != 0)
			continue;
		if (!mark_shared(signo, &before) ||
		    (before.sa_handler != SIG_DFL && install(signo, &before) != 0))
			lks_real.sigaction(signo, &before, NULL);
	}
}

/* ---- the program's calls for those signals -------------------------------- */

static int program_sigaction(struct shared *sig, int signo, const struct sigaction *act,
                             struct sigaction *old)
{
	if (old)
		*old = program_view(sig);
	if (act) {
		publish_view(sig, act);
		install(signo, act);
	}
	return 0;
}

/* signal() and sysv_signal() as glibc builds them on sigaction. */
static __sighandler_t program_signal(struct shared *sig, int signo, __sighandler_t handler,
                                     int flags, bool mask_self)
{
	struct sigaction act = { .sa_handler = handler, .sa_flags = flags }, old;

	sigemptyset(&act.sa_mask);
	if (mask_self)
		sigaddset(&act.sa_mask, signo);
	program_sigaction(sig, signo, &act, &old);
	return old.sa_handler;
}

LKS_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	struct shared *sig = shared_for(signo);

	lks_real_get(&lks_real.sigaction);
	if (sig)
		return program_sigaction(sig, signo, act, old);
	return lks_real.sigaction(signo, act, old);
}

LKS_EXPORT int __sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(signo, act, old);
}

LKS_EXPORT __sighandler_t signal(int signo, __sighandler_t handler)
{
	struct shared *sig = shared_for(signo);

	lks_real_get(&lks_real.signal);
	if (sig && handler != SIG_ERR)
		return program_signal(sig, signo, handler, SA_RESTART, true);
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
	struct shared *sig = shared_for(signo);

	lks_real_get(&lks_real.sysv_signal);
	if (sig && handler != SIG_ERR)
		return program_signal(sig, signo, handler, SA_RESETHAND | SA_NODEFER, false);
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
	struct shared *sig = shared_for(signo);
	sigset_t one, before;
	__sighandler_t old;

	lks_real_get(&lks_real.sigset);
	if (!sig || disposition == SIG_ERR)
		return lks_real.sigset(signo, disposition);
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (disposition == SIG_HOLD) {
		old = program_view(sig).sa_handler;
		pthread_sigmask(SIG_BLOCK, &one, &before);
	} else {
		old = program_signal(sig, signo, disposition, 0, false);
		pthread_sigmask(SIG_UNBLOCK, &one, &before);
	}
	return sigismember(&before, signo) ? SIG_HOLD : old;
}
