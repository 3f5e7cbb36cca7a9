/* SPDX-License-Identifier: MIT */
/* Enough live blocks (over 65,536) that the scan finds blocks through its
 * per-page index rather than a plain search: 80,000 blocks a global table
 * keeps, a dropped list of 1,000 (1 definite, 999 indirect) among them, and
 * one block held only through a pointer into its middle. */
#include <stdlib.h>

#include "reach_fixture.h"

#define KEPT 80000
#define LOST 1000

struct node {
	struct node *next;
	char payload[40];
};

void **g_table;
char *volatile g_middle;

__attribute__((noinline)) static void *keep(void)
{
	void *block = malloc(24); /* expect-class: fn=keep class=reachable blocks=80000 bytes=1920000 */

	escape(block);  /* no tail call: keep's frame stays in the stack */
	return block;
}

__attribute__((noinline)) static struct node *push(struct node *head)
{
	struct node *node = calloc(1, sizeof(*node)); /* expect-class: fn=push class=definite blocks=1 bytes=48 indirect_blocks=999 indirect_bytes=47952 */ /* expect-class: fn=push class=indirect blocks=999 bytes=47952 */
	node->next = head;
	return node;
}

__attribute__((noinline)) static void fill(void)
{
	struct node *lost = NULL;
	char *middle = malloc(600); /* expect-class: fn=fill class=possible blocks=1 bytes=600 */

	g_table = malloc(KEPT * sizeof(*g_table)); /* expect-class: fn=fill class=reachable blocks=1 bytes=640000 */
	/* interleaved, so that lost and kept blocks share pages */
	for (int i = 0; i < KEPT; i++) {
		g_table[i] = keep();
		if (i % (KEPT / LOST) == 0)
			lost = push(lost);
	}
	g_middle = middle + 300;
	escape(lost);
}

int main(void)
{
	fill();
	return 0;
}
