// SPDX-License-Identifier: MIT
/* A thread that blocks every signal is held with ptrace by a helper task
 * at the exit scan, and a tracer gets a SIGCHLD each time a thread it
 * traces stops. The program has a SIGCHLD handler, which the helper
 * inherits with clone: it must never run there (a Go program's handler,
 * finding no signal stack on the helper, printed a goroutine dump and
 * ended it). The handler here says so on stdout if it runs in a process
 * that is not the program. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pid_t program_pid;
static volatile int blocked;

static void on_child(int signo, siginfo_t *info, void *context)
{
	static const char outside[] = "SIGCHLD handled in a task that is not the program's\n";

	(void)signo;
	(void)info;
	(void)context;
	if (getpid() != program_pid)
		(void)!write(STDOUT_FILENO, outside, sizeof(outside) - 1);
}

static void *sleeper(void *arg)
{
	sigset_t every;
	struct timespec nap = { 0, 10000000 };

	(void)arg;
	sigfillset(&every);
	pthread_sigmask(SIG_SETMASK, &every, NULL);
	blocked = 1;
	for (;;)
		nanosleep(&nap, NULL);
	return NULL;
}

int main(void)
{
	struct sigaction action = { .sa_sigaction = on_child, .sa_flags = SA_SIGINFO | SA_RESTART };
	pthread_t thread;

	program_pid = getpid();
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGCHLD, &action, NULL) != 0 ||
	    pthread_create(&thread, NULL, sleeper, NULL) != 0)
		return 1;
	while (!blocked)
		usleep(1000);
	puts("exit while a thread blocks every signal");
	fflush(stdout);
	exit(0);
}
