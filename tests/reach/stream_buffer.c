/* SPDX-License-Identifier: MIT */
/* A buffer the program gives a stream it leaves open (setvbuf), then
 * forgets: only the FILE points at it. glibc allocates the FILE inside
 * fopen, which the shim interposes, so on a thread busy in the shim: the
 * block is not recorded. The FILE is on glibc's list of open streams, so
 * at exit the buffer is reachable. Neither recorded nor read, the FILE
 * left it a false definite leak: blocks the C library allocates while the
 * shim works are roots of the exit scan (reach/behalf.c). Valgrind 3.19
 * says definite: it looks after exit's stream cleanup, which makes every
 * stream unbuffered and so drops the FILE's pointer; the exit snapshot,
 * like LeakSanitizer's check, runs before it. (A buffer glibc allocates
 * itself is suppressed as builtin:stdio-buffer.) */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int give_buffer(FILE *stream)
{
	char *buffer = malloc(4096); /* expect-class: fn=give_buffer class=reachable blocks=1 bytes=4096 */

	return buffer ? setvbuf(stream, buffer, _IOFBF, 4096) : -1;
}

int main(void)
{
	FILE *stream = fopen("/dev/null", "w");

	if (!stream || give_buffer(stream) != 0)
		return 1;
	fputs("kept open\n", stream);
	return 0;
}
