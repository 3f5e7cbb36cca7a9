/* SPDX-License-Identifier: MIT */
/* fds created by calls no interposer sees: syscall(SYS_openat), openat2
 * (no libc wrapper), pidfd_open and pidfd_getfd by syscall. The three left
 * open at exit are counted as opened unseen, never listed; the ones closed
 * again (raw, or by close()) are not counted; a fork child, which inherits
 * them, counts none of them (they were open at its start); the one fd
 * opened through open() is reported as usual. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* expect-opened-unseen: 3 */

static int raw_openat(const char *path)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
}

static int fork_and_wait(void)
{
	int status;
	pid_t child = fork();

	if (child == 0)
		exit(0);
	return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) ? 0 : 1;
}

int main(void)
{
	struct open_how how = { .flags = O_RDONLY };
	int pidfd;

	if (raw_openat("/dev/null") < 0 ||
	    syscall(SYS_openat2, AT_FDCWD, "/dev/zero", &how, sizeof(how)) < 0)
		return 1;
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return 1;
	/* the same file again, through the pidfd; closed again by libc */
	close((int)syscall(SYS_pidfd_getfd, pidfd, 0, 0));
	syscall(SYS_close, raw_openat("/dev/urandom"));
	close(raw_openat("/dev/urandom"));
	if (fork_and_wait())
		return 1;
	open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/null */
	return 0;
}
