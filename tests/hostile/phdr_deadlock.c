// SPDX-License-Identifier: MIT
/* issue 10 item 3: two threads at a time allocate under 256 distinct
 * functions, so that each capture of their stacks looks up return addresses
 * no cache holds yet (new threads: empty per-thread caches); one of them
 * does it inside a dl_iterate_phdr callback, with the loader's lock held.
 * Neither may wait for the other: a stack capture must take no lock the
 * loader can hold. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WALKERS 20

typedef int step_fn(int left, int offset);
static step_fn *steps[256];

static int __attribute__((noinline)) bottom(void)
{
	char *p = malloc(24);
	int r = p != NULL;

	free(p);
	return r;
}

/* 256 copies of one function: distinct return addresses */
#define STEP(n)                                                               \
	static int __attribute__((noinline)) step_##n(int left, int offset)   \
	{                                                                     \
		int r = left ? steps[(left + offset) & 255](left - 1, offset) \
		             : bottom();                                      \
		__asm__ volatile("" ::: "memory"); /* no tail call */         \
		return r + 1;                                                 \
	}
#define STEP4(n) STEP(n##0) STEP(n##1) STEP(n##2) STEP(n##3)
#define STEP16(n) STEP4(n##0) STEP4(n##1) STEP4(n##2) STEP4(n##3)
#define STEP64(n) STEP16(n##0) STEP16(n##1) STEP16(n##2) STEP16(n##3)
STEP64(0) STEP64(1) STEP64(2) STEP64(3)

#define SET(n) steps[i++] = step_##n;
#define SET4(n) SET(n##0) SET(n##1) SET(n##2) SET(n##3)
#define SET16(n) SET4(n##0) SET4(n##1) SET4(n##2) SET4(n##3)
#define SET64(n) SET16(n##0) SET16(n##1) SET16(n##2) SET16(n##3)

static void *walk(void *unused)
{
	long sum = 0;

	for (int offset = 0; offset < 256; offset += 5)
		sum += steps[offset](70, offset);
	return (void *)sum;
}

static int walk_in_callback(struct dl_phdr_info *info, size_t size, void *offset)
{
	int *next = offset;

	*next = (*next + 3) & 255;
	return steps[*next](70, *next) < 0;
}

static void *walk_with_loader_lock(void *unused)
{
	int offset = 0;

	for (int i = 0; i < 20; i++)
		dl_iterate_phdr(walk_in_callback, &offset);
	return NULL;
}

/* A new thread starts with empty per-thread unwinding caches. */
static void *spawn_walkers(void *start)
{
	for (int i = 0; i < WALKERS; i++) {
		pthread_t t;

		pthread_create(&t, NULL, start, NULL);
		pthread_join(t, NULL);
	}
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	int i = 0;

	SET64(0) SET64(1) SET64(2) SET64(3)
	pthread_create(&a, NULL, spawn_walkers, walk_with_loader_lock);
	pthread_create(&b, NULL, spawn_walkers, walk);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	puts("both threads done");
	return 0;
}
