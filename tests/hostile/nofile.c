// SPDX-License-Identifier: MIT
/* issue 10 item 10: fd limits. Opens /dev/null until EMFILE (with
 * allocations in between) and prints how many it got; every fd stays open
 * at exit, where the snapshot must still be written. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	int opened = 0;

	for (;;) {
		int fd = open("/dev/null", O_RDONLY);

		if (fd < 0)
			break;
		opened++;
		free(malloc(16 + (size_t)opened));
	}
	printf("opened %d files\n", opened);
	return 0;
}
