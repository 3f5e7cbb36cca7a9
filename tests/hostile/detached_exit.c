// SPDX-License-Identifier: MIT
/* eight detached threads still allocating and freeing when main calls
 * exit: the exit snapshot must not hang or crash on them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *churn(void *unused)
{
	for (unsigned i = 0;; i++)
		free(malloc(16 + i % 512));
	return NULL;
}

int main(void)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < 8; i++) {
		pthread_attr_t attr;
		pthread_t thread;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_create(&thread, &attr, churn, NULL);
	}
	nanosleep(&pause, NULL);
	puts("exit with 8 threads allocating");
	fflush(stdout);
	exit(0);
}
