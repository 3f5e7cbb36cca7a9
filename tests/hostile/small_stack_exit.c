// SPDX-License-Identifier: MIT
/* issue 10 item 7: a thread on the smallest stack POSIX allows
 * (PTHREAD_STACK_MIN, 16 KiB) allocates and calls exit(3): the exit
 * snapshot must not need more stack than the thread has. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void *leave(void *unused)
{
	char *p = malloc(40);

	snprintf(p, 40, "exit from a %d-byte stack", (int)PTHREAD_STACK_MIN);
	puts(p);
	fflush(stdout);
	exit(3);
}

int main(void)
{
	pthread_attr_t attr;
	pthread_t thread;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN);
	if (pthread_create(&thread, &attr, leave, NULL))
		return 1;
	pthread_join(thread, NULL);
	return 0;
}
