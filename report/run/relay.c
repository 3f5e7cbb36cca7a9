/* SPDX-License-Identifier: MIT */
/* Relaying a run's signals to the program (relay.h). */
#include <errno.h>

#include "relay.h"

static volatile sig_atomic_t program_pid;
static volatile sig_atomic_t interrupted;

/* A process's signal (kill, sigqueue: si_code <= 0) goes on; the kernel's
 * (the terminal's, SI_KERNEL) was sent to the program as well. */
static void relay_signal(int signo, siginfo_t *info, void *context)
{
	int saved_errno = errno;

	if (info->si_code <= 0 && program_pid > 0)
		kill((pid_t)program_pid, signo);
	interrupted = 1;
	errno = saved_errno;
}

/* Only wakes sigsuspend in relay_wait. */
static void child_changed(int signo)
{
}

static void take(int signo, struct sigaction *saved, bool keep_ignored)
{
	struct sigaction relay = { .sa_sigaction = relay_signal, .sa_flags = SA_SIGINFO };

	sigaction(signo, NULL, saved);
	if (keep_ignored && saved->sa_handler == SIG_IGN)
		return;
	sigemptyset(&relay.sa_mask);
	sigaction(signo, &relay, NULL);
}

void relay_start(struct relay *relay, sigset_t *defaults)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN };

	sigemptyset(&relay->relayed);
	sigaddset(&relay->relayed, SIGTERM);
	sigaddset(&relay->relayed, SIGINT);
	sigaddset(&relay->relayed, SIGHUP);
	sigprocmask(SIG_BLOCK, &relay->relayed, &relay->mask);
	interrupted = 0;
	take(SIGTERM, &relay->term, false);
	take(SIGINT, &relay->intr, true);
	take(SIGHUP, &relay->hup, true);
	/* the terminal's quit is the program's alone */
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGQUIT, &ignore, &relay->quit);
	sigaction(SIGCHLD, NULL, &relay->chld);
	/* the program starts with each at its default action, unless the user
	 * ignored it (SIGTERM always, as before): set before the child unblocks
	 * them, so that none is caught by our handler in the child */
	sigemptyset(defaults);
	sigaddset(defaults, SIGTERM);
	if (relay->intr.sa_handler != SIG_IGN)
		sigaddset(defaults, SIGINT);
	if (relay->hup.sa_handler != SIG_IGN)
		sigaddset(defaults, SIGHUP);
	if (relay->quit.sa_handler != SIG_IGN)
		sigaddset(defaults, SIGQUIT);
}

void relay_to(const struct relay *relay, pid_t pid)
{
	program_pid = pid;
	sigprocmask(SIG_SETMASK, &relay->mask, NULL);
}

bool relay_interrupted(void)
{
	return interrupted;
}

void relay_hold(const struct relay *relay)
{
	struct sigaction wake = { .sa_handler = child_changed, .sa_flags = SA_NOCLDSTOP };
	sigset_t held = relay->relayed;

	sigemptyset(&wake.sa_mask);
	sigaction(SIGCHLD, &wake, NULL);
	sigaddset(&held, SIGCHLD);
	sigprocmask(SIG_BLOCK, &held, NULL);
}

void relay_wait(const struct relay *relay)
{
	sigset_t open = relay->mask;

	sigdelset(&open, SIGCHLD);
	sigdelset(&open, SIGTERM);
	sigdelset(&open, SIGINT);
	sigdelset(&open, SIGHUP);
	sigsuspend(&open);
}

void relay_stop(const struct relay *relay)
{
	program_pid = 0;
	sigaction(SIGTERM, &relay->term, NULL);
	sigaction(SIGINT, &relay->intr, NULL);
	sigaction(SIGHUP, &relay->hup, NULL);
	sigaction(SIGQUIT, &relay->quit, NULL);
	sigaction(SIGCHLD, &relay->chld, NULL);
	sigprocmask(SIG_SETMASK, &relay->mask, NULL);
}
