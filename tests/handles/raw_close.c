/* SPDX-License-Identifier: MIT */
/* Handles closed behind the shim's back, as libuv does with
 * syscall(SYS_close): by raw close, raw close_range, and a raw close whose
 * number a raw open then takes for another file. None is open at exit; the
 * shim counts each as closed unseen, one of them replaced. The one fd left
 * open, and one reopened through open() after a raw close, are reported.
 * A mapping unmapped by syscall(SYS_munmap) is counted unmapped unseen. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* expect-closed-unseen: 5 */
/* expect-replaced-unseen: 1 */
/* expect-unmapped-unseen: 1 */

static int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

/* Everything is opened before the raw closes, so that no later open takes
 * a number closed unseen (and replaces its record). */
int main(void)
{
	int file = open("/dev/null", O_RDONLY), pair[2], first, other, reused;
	FILE *stream = fopen("/dev/zero", "r");
	void *mapping = mmap(NULL, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (file < 0 || !stream || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0 ||
	    mapping == MAP_FAILED)
		return 1;
	syscall(SYS_munmap, mapping, 1 << 16);

	/* the number now holds another file, opened unseen */
	first = open("/dev/null", O_RDONLY);
	raw_close(first);
	other = (int)syscall(SYS_openat, AT_FDCWD, "/dev/zero", O_RDONLY);
	if (other != first)
		return 1;

	/* closed unseen, then given again by open(): a new record */
	reused = open("/dev/null", O_RDONLY);
	raw_close(reused);
	reused = open("/dev/urandom", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/urandom */
	open("/dev/null", O_RDONLY); /* expect-handle: type=fd count=1 desc=/dev/null */

	raw_close(file);
	syscall(SYS_close_range, pair[0], pair[1], 0);
	raw_close(fileno(stream));  /* its FILE is left, its fd gone */
	return reused < 0;
}
