/* SPDX-License-Identifier: MIT */
/* Blocks still referenced at exit are reachable, not leaks: one by a
 * global, one by a function's static local, one only through a pointer
 * into its middle (possibly lost), one through a pointer hidden by XOR
 * (definitely lost: the scan cannot see it, as with any conservative tool). */
#include <stdint.h>
#include <stdlib.h>

#include "reach_fixture.h"

void *g_config;
/* volatile: stores nobody reads would be dropped, and the mallocs with them */
static char *volatile g_cursor;
static volatile uintptr_t g_hidden;

__attribute__((noinline)) static void keep_in_global(void)
{
	g_config = malloc(200); /* expect-class: fn=keep_in_global class=reachable blocks=1 bytes=200 */
}

__attribute__((noinline)) static const char *keep_in_static_local(void)
{
	static char *table;

	if (!table)
		table = malloc(300); /* expect-class: fn=keep_in_static_local class=reachable blocks=1 bytes=300 */
	return table;
}

__attribute__((noinline)) static void keep_interior(void)
{
	char *text = malloc(400); /* expect-class: fn=keep_interior class=possible blocks=1 bytes=400 */

	g_cursor = text + 100;
}

__attribute__((noinline)) static void keep_hidden(void)
{
	void *block = malloc(500); /* expect-class: fn=keep_hidden class=definite blocks=1 bytes=500 */

	g_hidden = (uintptr_t)block ^ 0x5a5a5a5a5a5aull;
}

int main(void)
{
	keep_in_global();
	escape((void *)keep_in_static_local());
	keep_interior();
	keep_hidden();
	return 0;
}
