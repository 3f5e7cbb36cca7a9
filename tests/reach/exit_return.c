/* SPDX-License-Identifier: MIT */
/* A 10-node list and a 32 MiB block, both dropped by functions main calls,
 * then main returns. Once main returned, its frames and
 * those of all it called are dead, and exit() with its handlers and the
 * shim's exit snapshot run on top of them: their unwritten slots still hold
 * the list's and the buffer's addresses. Read as roots, at -O2 the list
 * came out 1 definite + 9 reachable, held by "a frame called from
 * __GI_exit". `valgrind --leak-check=full` (3.19) on both builds: 32 bytes
 * definitely lost and 288 indirectly; it calls the 32 MiB block "possibly
 * lost", as it does in a program that only mallocs 32 MiB (2 to 24 MiB come
 * out definite there): a word of its own layout points into it. */
#include <stdlib.h>

#include "reach_fixture.h"

struct node {
	struct node *next;
	char payload[24];
};

__attribute__((noinline)) static struct node *push(struct node *head)
{
	struct node *node = calloc(1, sizeof(*node)); /* expect-class: fn=push class=definite blocks=1 bytes=32 indirect_blocks=9 indirect_bytes=288 */ /* expect-class: fn=push class=indirect blocks=9 bytes=288 */
	node->next = head;
	return node;
}

__attribute__((noinline)) static void build_and_drop(void)
{
	struct node *head = NULL;

	for (int i = 0; i < 10; i++)
		head = push(head);
	escape(head);
}

__attribute__((noinline)) static void fill_and_drop(void)
{
	char *buffer = malloc(32u << 20); /* expect-class: fn=fill_and_drop class=definite blocks=1 bytes=33554432 */

	buffer[0] = 1;
	escape(buffer);
}

int main(void)
{
	fill_and_drop();
	build_and_drop();
	return 0;
}
