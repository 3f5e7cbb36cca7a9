/* SPDX-License-Identifier: MIT */
/* A non-PIE executable that takes malloc's address, as Debian's python3
 * does: its dynamic symbol for malloc is undefined but has a value, the PLT
 * stub that is the function's canonical address. malloc is still the
 * shim's: the leak below must be found, and the report must not claim the
 * program has its own malloc. */
#include <stdlib.h>

void *(*volatile g_allocate)(size_t);

int main(void)
{
	void *leaked;

	g_allocate = malloc;  /* in code built -fno-pie: an absolute address */
	leaked = g_allocate(100);

	return leaked ? 0 : 1;
}
