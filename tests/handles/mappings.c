/* SPDX-License-Identifier: MIT */
/* The program's own mappings: unmapped ones, a head, a tail or a middle
 * page cut off (the rest of a holed one is two mappings), and a mremap'd
 * one keep their open site; the rest is reported with its file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = open("/etc/hostname", O_RDONLY);
	char *trimmed, *moved, *tailed, *holed;

	munmap(mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), page);
	mmap(NULL, 3 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* expect-handle: type=mmap count=1 desc=anonymous */
	mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0); /* expect-handle: type=mmap count=1 desc=/etc/hostname */
	trimmed = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* expect-handle: type=mmap count=1 desc="8192 bytes" */
	munmap(trimmed, 2 * page);
	tailed = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* expect-handle: type=mmap count=1 desc="12288 bytes" */
	munmap(tailed + 3 * page, page);
	holed = mmap(NULL, 5 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* expect-handle: type=mmap count=2 desc="8192 bytes" */
	munmap(holed + 2 * page, page);
	moved = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = mremap(moved, page, 64 * page, MREMAP_MAYMOVE);
	munmap(moved, 64 * page);
	close(fd);
	return 0;
}
