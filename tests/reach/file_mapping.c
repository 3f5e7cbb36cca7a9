/* SPDX-License-Identifier: MIT */
/* Blocks whose only pointers lie in writable mappings of a file, private
 * (as a JVM's class-data archive) and shared: those mappings are roots, as
 * for Valgrind (3.19: 0 bytes lost, 160 reachable), so the blocks are
 * reachable. A third block, only in a mapping the program unmapped, is
 * lost. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reach_fixture.h"

static void **map_file(int flags)
{
	char path[] = "lks-file-mapping-XXXXXX";
	int fd = mkstemp(path);
	void *map;

	if (fd < 0 || ftruncate(fd, 4096) != 0)
		exit(1);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, flags, fd, 0);
	unlink(path);
	close(fd);
	if (map == MAP_FAILED)
		exit(1);
	return map;
}

__attribute__((noinline)) static void store(void)
{
	void **private_map = map_file(MAP_PRIVATE);
	void **shared_map = map_file(MAP_SHARED);
	void **gone = map_file(MAP_PRIVATE);

	private_map[100] = malloc(64); /* expect-class: fn=store class=reachable blocks=1 bytes=64 */
	shared_map[200] = malloc(96); /* expect-class: fn=store class=reachable blocks=1 bytes=96 */
	gone[10] = malloc(48); /* expect-class: fn=store class=definite blocks=1 bytes=48 */
	munmap(gone, 4096);
	escape(private_map);
	escape(shared_map);
}

int main(void)
{
	store();
	return 0;
}
