// SPDX-License-Identifier: MIT
/* issue 11 section 3: a process ended by a signal still gets its report,
 * and dies exactly as without the shim. Leaks 3 blocks in leak_before_end
 * (pointers dropped), then, by argv[1]:
 *   term       kill(getpid(), SIGTERM)
 *   abort      abort()
 *   segv       a write through a null pointer
 *   pipe       a write into a pipe nobody reads (SIGPIPE)
 *   resethand  segv, with an SA_RESETHAND handler of its own that says so
 *              and returns: the fault recurs, now with the default action
 *   handler    SIGTERM to a handler of its own, which says so and _exits 7
 *   default    a SIGINT handler set and then SIG_DFL again; says what
 *              sigaction reports for SIGINT before and after, then SIGINT
 *   in_malloc  glibc aborts inside malloc, holding its arena's lock (a
 *              thread has run, so malloc locks; the top chunk's size is
 *              overwritten): the snapshot must not need that lock
 *   busy       SIGTERM to a thread that does nothing but allocate and
 *              free, most likely inside malloc or the shim when it lands
 *   kill9      SIGKILL: no handler sees it, no snapshot can be written
 *   reap       4 children killed by SIGKILL, reaped by waitpid, wait(NULL),
 *              waitid (after a WNOWAIT look) and wait4: the parent prints
 *              what each call said, then exits 0 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) static void leak_before_end(void)
{
	for (int i = 0; i < 3; i++) {
		sink = malloc(100 + (size_t)i);
		memset(sink, i, 100);
	}
	sink = NULL;
}

static void say(const char *text)
{
	/* write(2): stdio's buffer would be lost with the process */
	if (write(STDOUT_FILENO, text, strlen(text)) < 0)
		_exit(99);
}

static void on_segv(int signo)
{
	(void)signo;
	say("own handler, once\n");
}

static void on_term(int signo)
{
	(void)signo;
	say("own SIGTERM handler\n");
	_exit(7);
}

static const char *disposition(int signo)
{
	struct sigaction now;

	sigaction(signo, NULL, &now);
	return now.sa_handler == SIG_DFL ? "default\n" : now.sa_handler == SIG_IGN ? "ignored\n"
	                                                                         : "a handler\n";
}

static void segv(void)
{
	*(volatile int *)sink = 1;
}

static void broken_pipe(void)
{
	int fds[2];

	if (pipe(fds))
		exit(2);
	close(fds[0]);
	if (write(fds[1], "x", 1) < 0)
		say("write failed: SIGPIPE was not fatal\n");
}

static void *nothing(void *unused)
{
	return unused;
}

/* glibc checks the top chunk's size against the arena's memory: "malloc():
 * corrupted top size", with the arena locked. */
static void abort_in_malloc(void)
{
	pthread_t thread;
	char *last;

	if (pthread_create(&thread, NULL, nothing, NULL) || pthread_join(thread, NULL))
		exit(2);
	last = malloc(24);  /* from the top chunk: its size word follows */
	*(volatile size_t *)(last + malloc_usable_size(last)) = (size_t)-1 & ~(size_t)7;
	sink = malloc(1 << 16);
}

static void *churn(void *unused)
{
	for (;;) {
		void *volatile block = malloc(64);

		free(block);
	}
	return unused;
}

static void term_while_busy(void)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	pthread_t thread;

	if (pthread_create(&thread, NULL, churn, NULL))
		exit(2);
	nanosleep(&pause, NULL);
	pthread_kill(thread, SIGTERM);
	pthread_join(thread, NULL);
}

static pid_t child_killed(void)
{
	pid_t pid = fork();

	if (pid == 0)
		raise(SIGKILL);
	return pid;
}

static void reap_killed_children(void)
{
	siginfo_t info = { 0 };
	struct rusage usage;
	char line[96];
	int status = 0;
	pid_t pid = child_killed();
	bool same = waitpid(pid, &status, 0) == pid;

	snprintf(line, sizeof(line), "waitpid: %d, signal %d\n", same,
		 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	say(line);
	pid = child_killed();
	snprintf(line, sizeof(line), "wait(NULL): %d\n", wait(NULL) == pid);
	say(line);
	pid = child_killed();
	waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
	waitid(P_PID, (id_t)pid, &info, WEXITED);
	snprintf(line, sizeof(line), "waitid: %d, code %d, signal %d\n", info.si_pid == pid,
		 info.si_code, info.si_status);
	say(line);
	pid = child_killed();
	same = wait4(pid, &status, 0, &usage) == pid;
	snprintf(line, sizeof(line), "wait4: %d, signal %d\n", same, WTERMSIG(status));
	say(line);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "term";
	struct sigaction action = { .sa_handler = on_segv, .sa_flags = SA_RESETHAND };

	sigemptyset(&action.sa_mask);
	leak_before_end();
	say("leaked\n");
	if (!strcmp(mode, "term")) {
		kill(getpid(), SIGTERM);
	} else if (!strcmp(mode, "abort")) {
		abort();
	} else if (!strcmp(mode, "segv")) {
		segv();
	} else if (!strcmp(mode, "pipe")) {
		broken_pipe();
	} else if (!strcmp(mode, "resethand")) {
		sigaction(SIGSEGV, &action, NULL);
		segv();
	} else if (!strcmp(mode, "handler")) {
		signal(SIGTERM, on_term);
		kill(getpid(), SIGTERM);
	} else if (!strcmp(mode, "default")) {
		say(disposition(SIGINT));
		signal(SIGINT, on_term);
		say(disposition(SIGINT));
		signal(SIGINT, SIG_DFL);
		say(disposition(SIGINT));
		raise(SIGINT);
	} else if (!strcmp(mode, "in_malloc")) {
		abort_in_malloc();
	} else if (!strcmp(mode, "busy")) {
		term_while_busy();
	} else if (!strcmp(mode, "kill9")) {
		raise(SIGKILL);
	} else if (!strcmp(mode, "reap")) {
		reap_killed_children();
	}
	say("still running\n");
	return 0;
}
