/* SPDX-License-Identifier: MIT */
/* The C runtime's own memory is never a leak: stdio buffers, locales, the
 * dlerror buffer, the TLS of a thread of a dlopen'ed library's kind
 * (dynamic TLS), a finished thread's cached stack. expect-runtime-clean */
#include <dlfcn.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "reach_fixture.h"

static __thread char per_thread[64];

static void *worker(void *arg)
{
	per_thread[0] = 1;
	printf("worker %p\n", (void *)per_thread);
	return arg;
}

int main(void)
{
	pthread_t thread;
	locale_t c_locale = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);

	setlocale(LC_ALL, "C.UTF-8");
	printf("hello %d\n", 42);
	fprintf(stderr, "to stderr\n");
	if (!dlopen("libdoes-not-exist.so.7", RTLD_NOW))
		printf("dlerror: %s\n", dlerror());
	if (pthread_create(&thread, NULL, worker, NULL) || pthread_join(thread, NULL))
		return 2;
	if (c_locale)
		freelocale(c_locale);
	return 0;
}
