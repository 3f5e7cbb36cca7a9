// SPDX-License-Identifier: MIT
/* dup2 one file over every fd from 3 to 63, whatever was there, then
 * write a line through each (allocating between writes, with frames an
 * unwinder must check word by word) and read the file back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "no_cfi.h"

#define LOW 3
#define HIGH 63

static void *alloc(void)
{
	return malloc(48);
}

static void __attribute__((noinline)) alloc_at(size_t stack_bytes)
{
	volatile char *pad = __builtin_alloca(stack_bytes);

	pad[0] = 0;
	free(call_without_cfi(alloc));
}

int main(void)
{
	char want[64 * 16] = "", got[sizeof(want)];
	int file = open("dup2.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	size_t len;

	if (file < 0)
		return 2;
	for (int fd = LOW; fd <= HIGH; fd++)
		if (fd != file && dup2(file, fd) != fd)
			return 3;
	for (int fd = LOW; fd <= HIGH; fd++) {
		char line[16];
		int n = snprintf(line, sizeof(line), "fd %d\n", fd);

		alloc_at((size_t)fd * 4096);
		if (write(fd, line, (size_t)n) != n) {
			printf("write to fd %d failed\n", fd);
			return 1;
		}
		strcat(want, line);
	}
	len = strlen(want);
	if (pread(LOW, got, sizeof(got), 0) != (ssize_t)len || memcmp(got, want, len)) {
		puts("the file does not hold what was written");
		return 1;
	}
	printf("%d fds written through, file intact\n", HIGH - LOW + 1);
	return 0;
}
