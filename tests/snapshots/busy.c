/* SPDX-License-Identifier: MIT */
/* A long-running, multithreaded program for snapshots on request and on a
 * timer. Usage: busy MODE THREADS. MODE says what it does with real-time
 * signal 60 (the one the tests give leakscope): none, sigaction (SA_SIGINFO
 * handler), signal, sysv (sysv_signal: reset to the default after one), or
 * blocked (every signal blocked in every thread of its own, as daemons that
 * wait for signals in one place do).
 * THREADS threads churn malloc/free while the main thread reads commands:
 *   grow   5 more blocks at the kept site; answers "grown N"
 *   query  answers "signals=N handler=info|plain|default|other": what the
 *          program counted and the disposition it reads back
 *   fork   a child that keeps 2 more blocks and sleeps; answers "child PID"
 * It prints "ready" first and exits 0 at the end of its input, all freed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SIGNO 60
#define KEPT_MAX 1000
#define KEPT_FIRST 7
#define WINDOW 64

static volatile sig_atomic_t signals;
static volatile int stop;
void *kept[KEPT_MAX];
int kept_count;

static void count_info(int signo, siginfo_t *info, void *context)
{
	signals++;
}

static void count_plain(int signo)
{
	signals++;
}

__attribute__((noinline)) static void keep(int count)
{
	for (int i = 0; i < count && kept_count < KEPT_MAX; i++)
		kept[kept_count++] = malloc(48); /* snap-site: kept */
}

static void *churn(void *arg)
{
	void *window[WINDOW] = { 0 };
	unsigned seed = (unsigned)(size_t)arg;

	for (unsigned i = 0; !stop; i++) {
		seed = seed * 1103515245u + 12345u;
		free(window[i % WINDOW]);
		window[i % WINDOW] = malloc(16 + seed % 4000); /* snap-site: churn */
	}
	for (int i = 0; i < WINDOW; i++)
		free(window[i]);
	return NULL;
}

static int install(const char *mode)
{
	struct sigaction act = { .sa_sigaction = count_info, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&act.sa_mask);
	if (!strcmp(mode, "sigaction"))
		return sigaction(SIGNO, &act, NULL);
	if (!strcmp(mode, "signal"))
		return signal(SIGNO, count_plain) == SIG_ERR ? -1 : 0;
	if (!strcmp(mode, "sysv"))
		return sysv_signal(SIGNO, count_plain) == SIG_ERR ? -1 : 0;
	if (!strcmp(mode, "blocked")) {
		sigset_t all;

		sigfillset(&all);
		return pthread_sigmask(SIG_BLOCK, &all, NULL);  /* the threads inherit it */
	}
	return strcmp(mode, "none") ? -1 : 0;
}

/* The child only sleeps until the test kills it or its parent ends (10
 * minutes at most, should the test itself die). */
static void fork_sleeper(void)
{
	pid_t child = fork();

	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		keep(2);
		printf("child %d\n", (int)getpid());
		for (int i = 0; i < 600; i++)
			sleep(1);
		_exit(0);
	}
	if (child < 0)
		printf("child -1\n");
}

static const char *handler_now(void)
{
	struct sigaction now;

	if (sigaction(SIGNO, NULL, &now) != 0)
		return "error";
	if ((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == count_info)
		return "info";
	if (now.sa_handler == count_plain)
		return "plain";
	return now.sa_handler == SIG_DFL ? "default" : "other";
}

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	pthread_t workers[16];
	char line[64];

	if (argc < 3 || threads > 16 || install(argv[1]) != 0) {
		fprintf(stderr, "usage: busy none|sigaction|signal|sysv|blocked THREADS(0..16)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	keep(KEPT_FIRST);
	for (int i = 0; i < threads; i++)
		pthread_create(&workers[i], NULL, churn, (void *)(size_t)(i + 1));
	printf("ready\n");
	for (;;) {
		if (!fgets(line, sizeof(line), stdin)) {
			if (!ferror(stdin) || errno != EINTR)
				break;
			clearerr(stdin);  /* sysv_signal's handler interrupts read */
			continue;
		}
		if (!strcmp(line, "grow\n")) {
			keep(5);
			printf("grown %d\n", kept_count);
		} else if (!strcmp(line, "fork\n")) {
			fork_sleeper();
		} else if (!strcmp(line, "query\n")) {
			printf("signals=%d handler=%s\n", (int)signals, handler_now());
		}
	}
	stop = 1;
	for (int i = 0; i < threads; i++)
		pthread_join(workers[i], NULL);
	for (int i = 0; i < kept_count; i++)
		free(kept[i]);
	return 0;
}
