/* SPDX-License-Identifier: MIT */
/* FILE and DIR handles: the ones left open are reported as streams (not as
 * the fd they own), a DIR with its buffer's heap bytes (32 KiB at least);
 * the closed ones are not. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	FILE *closed = fopen("/dev/null", "r");
	DIR *dir = opendir("/");

	if (!closed || !dir)
		return 1;
	fclose(closed);
	closedir(dir);
	fclose(fdopen(open("/dev/null", O_RDONLY), "r"));
	pclose(popen("true", "r"));

	popen("cat", "w"); /* expect-handle: type=FILE count=1 desc=pipe:[ */
	fopen("/dev/null", "r"); /* expect-handle: type=FILE count=1 desc=/dev/null */
	fdopen(open("/dev/zero", O_RDONLY), "r"); /* expect-handle: type=FILE count=1 desc=/dev/zero */
	tmpfile(); /* expect-handle: type=FILE count=1 desc=(deleted) */
	opendir("/"); /* expect-handle: type=DIR count=1 desc=/ heap=32768 */
	fdopendir(open("/tmp", O_RDONLY | O_DIRECTORY)); /* expect-handle: type=DIR count=1 desc=/tmp heap=32768 */
	freopen("/dev/full", "w", fopen("/dev/null", "r")); /* expect-handle: type=FILE count=1 desc=/dev/full */
	return 0;
}
