// SPDX-License-Identifier: MIT
/* fork from a multithreaded program while four other threads allocate and
 * free; each of 20 children leaks 5 blocks from child_leak and exits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 20

static volatile int stop;

static void *churn(void *unused)
{
	while (!stop)
		free(malloc(64));
	return NULL;
}

static void __attribute__((noinline)) child_leak(void)
{
	for (int i = 0; i < 5; i++) {
		void *volatile block = malloc(55);
		(void)block;
	}
}

int main(void)
{
	pthread_t threads[4];
	int ok = 0;

	for (int i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, churn, NULL);
	for (int i = 0; i < CHILDREN; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			child_leak();
			exit(0);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	printf("%d of %d children exited 0\n", ok, CHILDREN);
	return 0;
}
