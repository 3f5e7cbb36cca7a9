/* SPDX-License-Identifier: MIT */
/* 40 pthread keys: the program's value for key 35 lives in glibc's
 * second-level key array (keys 32 to 63), which glibc allocates in the
 * first pthread_setspecific of a key above 31. With libunwind on the hot
 * path, the shim's first capture created key 40, so that array was
 * allocated inside the shim, unrecorded, and the value a false definite
 * leak; the shim's own unwinder creates no key, and the array is the
 * program's. Either way the value is reachable, as Valgrind 3.19 says
 * (612 bytes reachable with the array). */
#include <pthread.h>
#include <stdlib.h>

#include "reach_fixture.h"

static pthread_key_t keys[40];

__attribute__((noinline)) static void first_allocation(void)
{
	escape(malloc(10)); /* expect-class: fn=first_allocation class=definite blocks=1 bytes=10 */
}

__attribute__((noinline)) static void *make_value(void)
{
	void *value = malloc(100); /* expect-class: fn=make_value class=reachable blocks=1 bytes=100 */

	escape(value);  /* no tail call: make_value stays on the block's stack */
	return value;
}

__attribute__((noinline)) static void set_value(void)
{
	void *value = make_value();

	/* glibc's second-level array: the program's, held from its thread */
	pthread_setspecific(keys[35], value); /* expect-class: fn=set_value class=reachable blocks=1 bytes=512 */
	escape(value);  /* no tail call: set_value stays on the array's stack */
}

int main(void)
{
	for (int i = 0; i < 40; i++)
		if (pthread_key_create(&keys[i], NULL) != 0)
			return 1;
	first_allocation();
	set_value();
	return 0;
}
