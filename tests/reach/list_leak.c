/* SPDX-License-Identifier: MIT */
/* A linked list of ten nodes whose head is dropped: the head is definitely
 * lost and carries the nine nodes behind it as indirect. */
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

int main(void)
{
	build_and_drop();
	return 0;
}
