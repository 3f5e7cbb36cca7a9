/* SPDX-License-Identifier: MIT */
/* Issue 10, item 3: one thread allocates inside dl_iterate_phdr callbacks
 * (holding the loader's lock) while the other allocates from many call
 * sites, each new to the unwinder. libunwind took a mutex of its own and
 * then the loader's lock: the two threads waited for each other. Must
 * finish; run many times under a timeout. */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <stdlib.h>

#define ROUNDS 300

static volatile int sink;

static int allocate_in_callback(struct dl_phdr_info *info, size_t size, void *arg)
{
	void *block = malloc(32 + (info->dlpi_phnum & 7));

	sink = sink + (block != NULL);
	free(block);
	return 0;
}

static void *iterate(void *unused)
{
	for (int i = 0; i < ROUNDS; i++)
		dl_iterate_phdr(allocate_in_callback, NULL);
	return NULL;
}

/* Sixteen call sites, each its own return addresses to look up. */
#define SITE(n)                                                 \
	__attribute__((noinline)) static void site##n(int bytes)  \
	{                                                       \
		void *block = malloc((size_t)bytes + n);        \
		sink = sink + (block != NULL);                  \
		free(block);                                    \
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
SITE(8) SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15)

static void (*const sites[])(int) = {
	site0, site1, site2, site3, site4, site5, site6, site7,
	site8, site9, site10, site11, site12, site13, site14, site15,
};

static void *allocate(void *unused)
{
	for (int i = 0; i < ROUNDS * 16; i++)
		sites[i % 16](i & 255);
	return NULL;
}

int main(void)
{
	pthread_t one, two;

	pthread_create(&one, NULL, iterate, NULL);
	pthread_create(&two, NULL, allocate, NULL);
	pthread_join(one, NULL);
	pthread_join(two, NULL);
	return 0;
}
