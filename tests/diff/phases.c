/* SPDX-License-Identifier: MIT */
/* A program with phases, for diffs: a warm-up that allocates once, then
 * rounds in which a cache grows, a pipe is opened and kept, and a ring of
 * buffers churns at a steady size. `phases run N` does N rounds and exits
 * (its exit snapshot is the only one); `phases api N` takes a snapshot
 * through leakscope_snapshot() after the warm-up and after each round, and
 * exits 77 (skipped) when the shim does not provide it. Markers name the
 * lines check_diff.py expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CACHE_ENTRY 200
#define CACHE_PER_ROUND 10
#define RING 8
#define WARM_BLOCKS 16

/* Weak: the program links and runs without leakscope (the header's way). */
int leakscope_snapshot(const char *label) __attribute__((weak));

/* Not static: the compiler must not drop stores nobody reads, or the
 * mallocs with them. */
void *warm[WARM_BLOCKS];
void *extra[4];
void *cache[1000];
size_t cache_length;
void *ring[RING];

/* An allocation wrapper: without --alloc-fn its line is the site. */
__attribute__((noinline)) static void *xalloc(size_t size)
{
	void *block = malloc(size); /* diff-site: xalloc */

	if (!block)
		abort();
	return block;
}

__attribute__((noinline)) static void warm_up(void)
{
	for (int i = 0; i < WARM_BLOCKS; i++)
		warm[i] = xalloc(512); /* diff-site: warm */
	for (int i = 0; i < 4; i++)
		extra[i] = xalloc(64); /* diff-site: extra */
}

__attribute__((noinline)) static void grow_cache(void)
{
	for (int i = 0; i < CACHE_PER_ROUND && cache_length < 1000; i++)
		cache[cache_length++] = malloc(CACHE_ENTRY); /* diff-site: cache */
}

/* One pipe a round, never closed: a handle leak that grows. */
__attribute__((noinline)) static void open_pipe(void)
{
	int fds[2];

	if (pipe(fds) != 0) /* diff-site: pipe */
		abort();
}

/* The ring's live size never changes: each buffer replaced by another. */
__attribute__((noinline)) static void churn(void)
{
	for (int i = 0; i < RING; i++) {
		free(ring[i]);
		ring[i] = malloc(256); /* diff-site: churn */
		memset(ring[i], i, 256);
	}
}

static int snapshot(const char *label)
{
	if (!leakscope_snapshot || leakscope_snapshot(label) < 0) {
		fprintf(stderr, "phases: leakscope_snapshot is not available\n");
		exit(77);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int api = argc > 1 && strcmp(argv[1], "api") == 0;
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	char label[32];

	warm_up();
	churn();
	if (api)
		snapshot("warm");
	for (int round = 1; round <= rounds; round++) {
		grow_cache();
		open_pipe();
		churn();
		snprintf(label, sizeof(label), "round%d", round);
		if (api)
			snapshot(label);
	}
	return 0;
}
