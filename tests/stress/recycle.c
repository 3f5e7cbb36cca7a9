/* SPDX-License-Identifier: MIT */
/* Threads churn malloc/free through one malloc arena (the test runs it with
 * MALLOC_ARENA_MAX=1): their blocks share one shard of the shim's live
 * table, whose generations are then closed and reset while other threads
 * insert into them. Everything of the churn is freed; each thread leaks
 * LEAKS blocks at its end, so the report must show exactly those and no
 * block of the churn. Fixed seeds.
 *
 * With "stalled", a profiling timer's handler sleeps 2 ms in whichever
 * thread it lands: now and then in one that is rotating a generation, as a
 * descheduled thread does on a loaded machine, while the others fill the
 * full one. Their blocks must still be recorded. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../memory/fixture.h"

#define THREADS 4
#define OPERATIONS 1000000u
#define WINDOW 2048u /* live blocks per thread: generations empty quickly */
#define LEAKS 10u
#define LEAKED_SIZE 48u

static void churn(uint64_t rng)
{
	void *window[WINDOW] = { 0 };
	for (unsigned i = 0; i < OPERATIONS; i++) {
		/* xorshift64: a fixed sequence per seed */
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		unsigned slot = (unsigned)(rng % WINDOW);
		free(window[slot]);
		window[slot] = malloc(8 + (rng >> 32) % 1024);
		if (window[slot] == NULL)
			abort();
	}
	for (unsigned slot = 0; slot < WINDOW; slot++)
		free(window[slot]);
}

static void leak_tail(void)
{
	for (unsigned i = 0; i < LEAKS; i++) {
		void *block = malloc(LEAKED_SIZE); /* expect-leak: fn=leak_tail blocks=40 bytes=1920 */
		escape(block);
	}
}

static void *worker(void *arg)
{
	churn(0x2545f4914f6cdd1dULL + (uintptr_t)arg);
	leak_tail();
	return NULL;
}

static void stall(int signo)
{
	const struct timespec pause = { 0, 2000000 };

	(void)signo;
	nanosleep(&pause, NULL);
}

static int stall_threads(void)
{
	const struct itimerval every_ms = { { 0, 1000 }, { 0, 1000 } };
	struct sigaction action = { .sa_handler = stall, .sa_flags = SA_RESTART };

	return sigaction(SIGPROF, &action, NULL) || setitimer(ITIMER_PROF, &every_ms, NULL);
}

int main(int argc, char **argv)
{
	pthread_t threads[THREADS];

	if (argc > 1 && (strcmp(argv[1], "stalled") != 0 || stall_threads() != 0))
		return 2;
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0)
			return 1;
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	printf("recycle: leaked %u blocks, %u bytes\n", THREADS * LEAKS,
	       THREADS * LEAKS * LEAKED_SIZE);
	return 0;
}
