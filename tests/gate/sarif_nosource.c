/* SPDX-License-Identifier: MIT */
/* Built without debug information: a leak whose stack has no source line
 * of the program's own. "header" leaks in sarif_sysline.c, whose only line
 * information names a system header; otherwise no frame has a line. */
#include <stdlib.h>
#include <string.h>

void header_leak(void);

__attribute__((noinline)) static void plain_leak(void)
{
	void *block = malloc(64);

	__asm__ volatile("" : : "r"(block) : "memory");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "header") == 0)
		header_leak();
	else
		plain_leak();
	return 0;
}
