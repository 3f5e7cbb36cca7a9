/* SPDX-License-Identifier: MIT */
/* A program without Python: its stacks must stay exactly native. */
#include <stdlib.h>

void *keep;

int main(void)
{
	keep = malloc(4242);
	return 0;
}
