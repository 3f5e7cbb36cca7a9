/* SPDX-License-Identifier: MIT */
/* A small program with two leaks, for tools/demo.sh and the README.
 * Build it with debug info: cc -g -O0 -o leaky examples/leaky.c */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	char *name;
	struct node *next;
};

/* Leak 1: main drops the list without freeing its nodes or their names. */
static struct node *build_list(int count)
{
	struct node *head = NULL;
	for (int i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof name, "node-%d", i);
		struct node *node = malloc(sizeof *node);
		if (node == NULL)
			exit(1);
		node->name = strdup(name);
		node->next = head;
		head = node;
	}
	return head;
}

/* Leak 2: an early return forgets the buffer. */
static int count_spaces(const char *text)
{
	char *copy = malloc(strlen(text) + 1);
	if (copy == NULL)
		return -1;
	strcpy(copy, text);
	int spaces = 0;
	for (char *c = copy; *c != '\0'; c++)
		spaces += *c == ' ';
	if (spaces > 2)
		return spaces; /* copy is lost here */
	free(copy);
	return spaces;
}

/* Not a leak: allocated and freed. */
static long sum_squares(int count)
{
	long *squares = calloc((size_t)count, sizeof *squares);
	long sum = 0;
	for (int i = 0; squares != NULL && i < count; i++) {
		squares[i] = (long)i * i;
		sum += squares[i];
	}
	free(squares);
	return sum;
}

int main(void)
{
	struct node *list = build_list(5);
	printf("first node: %s\n", list->name);
	printf("spaces: %d\n", count_spaces("a b c d"));
	printf("sum of squares: %ld\n", sum_squares(100));
	list = NULL; /* the last pointer to the list is gone */
	return 0;
}
