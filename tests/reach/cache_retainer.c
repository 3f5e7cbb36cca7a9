/* SPDX-License-Identifier: MIT */
/* An unbounded cache: every entry is reachable, and the retainer chain of
 * the entries' site must lead back to the global that holds the cache. */
#include <stdlib.h>

#include "reach_fixture.h"

struct entry {
	struct entry *next;
	char key[40];
};

struct cache {
	struct entry *head;
	size_t count;
};

static struct cache *g_cache; /* expect-retainer: root=g_cache site=cache_put */

__attribute__((noinline)) static void cache_put(void)
{
	struct entry *entry = calloc(1, sizeof(*entry)); /* expect-class: fn=cache_put class=reachable blocks=200 bytes=9600 */

	entry->next = g_cache->head;
	g_cache->head = entry;
	g_cache->count++;
}

int main(void)
{
	g_cache = calloc(1, sizeof(*g_cache)); /* expect-class: fn=main class=reachable blocks=1 bytes=16 */
	for (int i = 0; i < 200; i++)
		cache_put();
	return 0;
}
