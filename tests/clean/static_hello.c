/* SPDX-License-Identifier: MIT */
/* Linked with -static: no dynamic loader, so no preload. */
#include <stdio.h>

int main(void)
{
	puts("static hello");
	return 0;
}
