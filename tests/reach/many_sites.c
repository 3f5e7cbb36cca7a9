/* SPDX-License-Identifier: MIT */
/* More sites of each class than the text report lists of one by default
 * (20): 30 possibly lost (only a pointer into each block's middle is
 * kept), 25 still reachable and 25 definitely lost. Site n of a class is
 * its recursive function at depth n (a stack of its own) and has a size
 * of its own, BASE + n * 8 bytes; check_listing.py reads these numbers. */
#include <stdlib.h>

#include "reach_fixture.h"

#define POSSIBLE_SITES 30  /* listing: possible 30 4000 */
#define REACHABLE_SITES 25 /* listing: reachable 25 3000 */
#define DEFINITE_SITES 25  /* listing: definite 25 2000 */

static char *volatile interior[POSSIBLE_SITES];
static void *volatile kept[REACHABLE_SITES];

/* The work after the call keeps each depth a frame of its own. */
__attribute__((noinline)) static int keep_interior(int n)
{
	int depth = n > 0 ? keep_interior(n - 1) + 1 : 0;

	interior[n] = (char *)malloc(4000 + (size_t)n * 8) + 16;
	return depth;
}

__attribute__((noinline)) static int keep_start(int n)
{
	int depth = n > 0 ? keep_start(n - 1) + 1 : 0;

	kept[n] = malloc(3000 + (size_t)n * 8);
	return depth;
}

__attribute__((noinline)) static int drop(int n)
{
	int depth = n > 0 ? drop(n - 1) + 1 : 0;

	escape(malloc(2000 + (size_t)n * 8));
	return depth;
}

int main(void)
{
	return keep_interior(POSSIBLE_SITES - 1) + keep_start(REACHABLE_SITES - 1) +
	       drop(DEFINITE_SITES - 1) == POSSIBLE_SITES + REACHABLE_SITES + DEFINITE_SITES - 3 ?
	       0 : 1;
}
