/* SPDX-License-Identifier: MIT */
/* Whose a snapshot is: the run that started the process (its token), and
 * the process itself, told apart from any other with the same pid (its
 * start time and a random instance number); and random numbers for names
 * nobody can guess. No malloc: it runs at start-up and in fork children. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

static uint8_t run_token[LKS_RUN_TOKEN_SIZE];
static uint64_t instance;
static uint64_t start_ticks;

/* Without the kernel's generator (before it is seeded, or in a sandbox
 * that forbids the call): what differs between two processes and two
 * calls, mixed. Guessable with effort, which only costs a retry. */
static uint64_t fallback_random(void)
{
	static uint64_t counter;
	struct timespec now;
	uint64_t x;

	clock_gettime(CLOCK_MONOTONIC, &now);
	x = (uint64_t)now.tv_nsec ^ ((uint64_t)now.tv_sec << 32) ^
	    ((uint64_t)syscall(SYS_getpid) << 16) ^ (uint64_t)(uintptr_t)&now ^
	    __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15u, __ATOMIC_RELAXED);
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

uint64_t lks_random_u64(void)
{
	uint64_t value;

	if (syscall(SYS_getrandom, &value, sizeof(value), GRND_NONBLOCK) ==
	    (long)sizeof(value))
		return value;
	return fallback_random();
}

/* Field 22 of /proc/self/stat, counted after the ')' that ends the
 * command name (which may hold spaces and parentheses itself). */
static uint64_t read_start_ticks(void)
{
	char text[1024], *at;
	int fd = lks_sys_openat(AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC, 0);
	ssize_t got = fd < 0 ? -1 : lks_sys_read(fd, text, sizeof(text) - 1);
	uint64_t ticks = 0;

	if (fd >= 0)
		lks_sys_close(fd);
	if (got <= 0)
		return 0;
	text[got] = '\0';
	at = strrchr(text, ')');
	for (int field = 2; at && field < 22; field++)
		at = strchr(at + 1, ' ');
	while (at && *++at >= '0' && *at <= '9')
		ticks = ticks * 10 + (uint64_t)(*at - '0');
	return ticks;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The run_token option: exactly 32 hex digits, or no token. */
static bool parse_token(const char *text)
{
	uint8_t token[LKS_RUN_TOKEN_SIZE];

	if (strlen(text) != 2 * LKS_RUN_TOKEN_SIZE)
		return false;
	for (int i = 0; i < LKS_RUN_TOKEN_SIZE; i++) {
		int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);

		if (high < 0 || low < 0)
			return false;
		token[i] = (uint8_t)(high << 4 | low);
	}
	memcpy(run_token, token, sizeof(token));
	return true;
}

static void draw_process_identity(void)
{
	instance = lks_random_u64();
	start_ticks = read_start_ticks();
}

void lks_identity_start(const char *token)
{
	if (token[0] && !parse_token(token)) {
		struct lks_line line = { .len = 0 };

		lks_line_str(&line, "run_token in LEAKSCOPE_OPTIONS is not 32 hex digits (ignored)");
		lks_say(&line);
	}
	draw_process_identity();
}

/* A fork child is another process with its own start; its token is the
 * run's as before. */
void lks_identity_after_fork(void)
{
	draw_process_identity();
}

void lks_identity_fill(struct lks_header *header)
{
	memcpy(header->run_token, run_token, sizeof(run_token));
	header->instance = instance;
	header->start_ticks = start_ticks;
}
