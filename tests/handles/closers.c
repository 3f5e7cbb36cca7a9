/* SPDX-License-Identifier: MIT */
/* Every way to close a handle: close, close_range, closefrom, dup2 and dup3
 * over an open fd, fclose, fcloseall, pclose, closedir, munmap. Nothing is
 * left open. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* expect-no-handles */

static int open_null(void)
{
	return open("/dev/null", O_RDONLY);
}

int main(void)
{
	int first = open_null(), target = open_null(), other = open_null();
	int base;

	if (first < 0 || target < 0 || other < 0)
		return 1;
	dup2(first, target);     /* closes the old target, target is a copy now */
	dup3(first, other, O_CLOEXEC);
	close(target);
	close(other);
	close(first);

	base = open_null();
	for (int i = 0; i < 5; i++)
		dup(base);
	close_range((unsigned)base, (unsigned)base + 5, 0);

	base = open_null();
	open_null();
	open_null();
	closefrom(base);

	fopen("/dev/null", "r");
	fopen("/dev/zero", "r");
	fcloseall();

	pclose(popen("true", "r"));
	closedir(opendir("/"));
	munmap(mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 8192);

	base = open_null();
	dup2(open_null(), base);  /* the copy over base closes the earlier base */
	close_range(3, ~0u, 0);
	return 0;
}
