/* SPDX-License-Identifier: MIT */
/* Benchmark workload: builds BLOCKS live blocks (a linked list), then frees
 * them all. Usage: live BLOCKS */
#include <stdlib.h>

struct item {
	struct item *next;
	unsigned long value;
};

int main(int argc, char **argv)
{
	unsigned long blocks = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	struct item *head = NULL;
	for (unsigned long i = 0; i < blocks; i++) {
		struct item *item = malloc(sizeof *item + i % 64);
		if (item == NULL)
			return 1;
		item->value = i;
		item->next = head;
		head = item;
	}
	while (head != NULL) {
		struct item *next = head->next;
		free(head);
		head = next;
	}
	return 0;
}
