/* SPDX-License-Identifier: MIT */
/* A daemon-style program closes every fd from 3 up, the way it finds them
 * (a loop to the limit), then opens new ones: the shim keeps working and
 * reports only the one left open. */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	struct rlimit limit;
	int kept;

	open("/dev/null", O_RDONLY);
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return 1;
	for (rlim_t fd = 3; fd < limit.rlim_cur; fd++)
		close((int)fd);
	for (int i = 0; i < 100; i++)
		close(open("/dev/null", O_RDONLY));
	kept = open("/dev/zero", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/zero */
	return kept < 0;
}
