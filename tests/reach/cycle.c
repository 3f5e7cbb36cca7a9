/* SPDX-License-Identifier: MIT */
/* Three blocks in a ring that nothing else points at: one definite block
 * stands for the ring, the other two are indirect. */
#include <stdlib.h>

#include "reach_fixture.h"

struct ring {
	struct ring *next;
	long value;
};

__attribute__((noinline)) static void make_ring(void)
{
	struct ring *a = malloc(sizeof(*a)); /* expect-class: fn=make_ring class=definite blocks=1 bytes=16 indirect_blocks=2 indirect_bytes=48 */
	struct ring *b = malloc(32); /* expect-class: fn=make_ring class=indirect blocks=1 bytes=32 */
	struct ring *c = malloc(sizeof(*c)); /* expect-class: fn=make_ring class=indirect blocks=1 bytes=16 */

	a->next = b;
	b->next = c;
	c->next = a;
	escape(a);
}

int main(void)
{
	make_ring();
	return 0;
}
