/* SPDX-License-Identifier: MIT */
/* Runs with a low RLIMIT_NOFILE (check_handles.py --nofile): opens until
 * EMFILE, closes all but the last one, and still exits normally with its
 * report written. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define MAX_FDS 4096

int main(void)
{
	int fds[MAX_FDS], count = 0;

	while (count < MAX_FDS) {
		int fd = open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/null */
		if (fd < 0)
			break;
		fds[count++] = fd;
	}
	if (count == MAX_FDS || errno != EMFILE || count < 2)
		return 1;
	for (int i = 0; i < count - 1; i++)
		close(fds[i]);
	return 0;
}
