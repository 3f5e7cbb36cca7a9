/* SPDX-License-Identifier: MIT */
/* The program's fds are its own (issue 10, item 1): after allocations that
 * make the shim capture stacks, the first fd it opens is 3; after
 * close_range(3, ~0U) the files it opens again get 3, 4, 5... and keep
 * what it wrote, whatever the shim does in between. Exits 0 when all
 * holds, else says what broke. Run in a scratch directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 20
#define FILES 6

static volatile int sink;

__attribute__((noinline)) static void churn(int level)
{
	if (level > 0) {
		churn(level - 1);
		sink = sink + 1;
		return;
	}
	for (int i = 0; i < 50; i++) {
		char *block = malloc(16 + i);
		block[0] = (char)i;
		free(block);
	}
}

static int fail(const char *what, int got, int want)
{
	fprintf(stderr, "fds: %s: got %d, want %d\n", what, got, want);
	return 1;
}

static int check_round(int round)
{
	char name[64], text[64], back[64];

	close_range(3, ~0U, 0);
	for (int i = 0; i < FILES; i++) {
		int fd;

		snprintf(name, sizeof(name), "file%d", i);
		churn(i + 3);
		fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0600);
		if (fd != 3 + i)
			return fail("fd after close_range", fd, 3 + i);
		snprintf(text, sizeof(text), "round %d file %d\n", round, i);
		churn(2);
		if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
			return fail("write", -1, (int)strlen(text));
	}
	for (int i = 0; i < FILES; i++) {
		ssize_t got = pread(3 + i, back, sizeof(back) - 1, 0);

		snprintf(text, sizeof(text), "round %d file %d\n", round, i);
		churn(1);
		if (got != (ssize_t)strlen(text) || memcmp(back, text, (size_t)got))
			return fail("contents of fd", 3 + i, 3 + i);
	}
	return 0;
}

int main(void)
{
	int fd;

	churn(10);
	fd = open("/dev/null", O_RDONLY);
	if (fd != 3)
		return fail("first fd of the program", fd, 3);
	close(fd);
	for (int round = 0; round < ROUNDS; round++)
		if (check_round(round))
			return 1;
	return 0;
}
