// SPDX-License-Identifier: MIT
/* issue 10 item 1: a daemon closes every fd above 2, then opens its own
 * files on fds 3, 4, ... and trusts them; allocations with a deep stack in
 * between (some short enough to unwind to _start) make an unwinder probe
 * memory. Prints the first new fd (3 without
 * a preloaded library holding fds) and checks every file's contents. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "no_cfi.h"

#define FILES 4
#define ROUNDS 10

static void *__attribute__((noinline)) deep_alloc(int depth)
{
	void *p;

	if (depth == 0)
		return malloc(32);
	p = deep_alloc(depth - 1);
	__asm__ volatile("" ::: "memory");  /* no tail call */
	return p;
}

static void *shallow_alloc(void)
{
	return malloc(48);
}

/* Each call from a different depth of stack: fresh pages to check. */
static void __attribute__((noinline)) alloc_at(size_t stack_bytes)
{
	volatile char *pad = __builtin_alloca(stack_bytes);

	pad[0] = 0;
	free(call_without_cfi(shallow_alloc));
	free(deep_alloc((int)(stack_bytes / 4096) % 90));
}

static void churn(void)
{
	for (size_t kib = 4; kib < 1024; kib += 60)
		alloc_at(kib * 1024);
}

static int check_round(int round)
{
	int fds[FILES];
	char name[32], want[64], got[64];

	close_range(3, ~0U, 0);
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof(name), "file%d", i);
		fds[i] = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fds[i] != 3 + i) {
			printf("round %d: file %d opened on fd %d, not %d\n", round, i, fds[i], 3 + i);
			return 1;
		}
		churn();
	}
	for (int i = 0; i < FILES; i++) {
		int len = snprintf(want, sizeof(want), "round %d file %d\n", round, i);

		if (write(fds[i], want, (size_t)len) != len) {
			printf("round %d: write to fd %d failed\n", round, fds[i]);
			return 1;
		}
		churn();
	}
	for (int i = 0; i < FILES; i++) {
		int len = snprintf(want, sizeof(want), "round %d file %d\n", round, i);
		ssize_t n = pread(fds[i], got, sizeof(got), 0);

		if (n != len || memcmp(got, want, (size_t)len) != 0) {
			printf("round %d: fd %d holds %zd bytes, not its %d\n", round, fds[i], n, len);
			return 1;
		}
	}
	return 0;
}

int main(void)
{
	int first;

	churn();
	first = open("/dev/null", O_RDONLY);
	printf("first new fd: %d\n", first);
	close(first);
	for (int round = 0; round < ROUNDS; round++)
		if (check_round(round))
			return 1;
	printf("%d rounds of %d files ok\n", ROUNDS, FILES);
	return 0;
}
