/* SPDX-License-Identifier: MIT */
/* 40 pthread keys created before the first allocation: the shim's first
 * stack capture then creates libunwind's key, number 40, whose
 * pthread_setspecific makes glibc allocate the thread's second-level array
 * (keys 32 to 63) inside the shim, unrecorded. The program's value for key
 * 35 lives in that array: its block is reachable (it was a false definite
 * leak), as Valgrind 3.19 says (612 bytes reachable with the array). */
#include <pthread.h>
#include <stdlib.h>

#include "reach_fixture.h"

static pthread_key_t keys[40];

__attribute__((noinline)) static void first_allocation(void)
{
	escape(malloc(10)); /* expect-class: fn=first_allocation class=definite blocks=1 bytes=10 */
}

__attribute__((noinline)) static void set_value(void)
{
	pthread_setspecific(keys[35], malloc(100)); /* expect-class: fn=set_value class=reachable blocks=1 bytes=100 */
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
