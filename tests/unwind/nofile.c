/* SPDX-License-Identifier: MIT */
/* At RLIMIT_NOFILE 16 the program opens as many files as it does without
 * the shim (issue 10, item 10): the shim holds no fd of its own while the
 * program runs. Prints how many it could open. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	struct rlimit limit = { 16, 16 };
	int opened = 0;

	for (int i = 0; i < 100; i++)
		free(malloc(32 + i));
	if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 2;
	while (open("/dev/null", O_RDONLY) >= 0) {
		free(malloc(64));
		opened++;
	}
	printf("opened %d files\n", opened);
	close_range(3, ~0U, 0);  /* room for the exit snapshot */
	return 0;
}
