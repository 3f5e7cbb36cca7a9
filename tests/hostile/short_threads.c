// SPDX-License-Identifier: MIT
/* issue 10 item 11: argv[1] short threads, created and joined one after
 * the other, each allocating and freeing once; every 1000th also leaks one
 * block from leak_in_thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void __attribute__((noinline)) leak_in_thread(void)
{
	void *volatile block = malloc(99);
	(void)block;
}

static void *body(void *index)
{
	/* volatile: the compiler may not fold a malloc/free pair away */
	void *volatile block = malloc(48);

	free(block);
	if ((long)index % 1000 == 999)
		leak_in_thread();
	return NULL;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;

	for (long i = 0; i < count; i++) {
		pthread_t thread;

		if (pthread_create(&thread, NULL, body, (void *)i)) {
			printf("pthread_create failed at thread %ld\n", i);
			return 1;
		}
		pthread_join(thread, NULL);
	}
	printf("%ld threads\n", count);
	return 0;
}
