/* SPDX-License-Identifier: MIT */
/* fds the program holds that no interposer saw created: the mirror of the
 * fds closed unseen (fdtable.c's check). The fds open at start (or at a
 * fork) are noted in a bitmap; at a snapshot, an open fd above 2 that is
 * neither in it nor recorded was opened by a call the shim did not see. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "fdtable.h"
#include "shim.h"
#include "sys.h"
#include "unseen.h"

static uint8_t *open_at_start;  /* bit per fd, NULL: not noted */
static size_t open_at_start_bytes;

/* "17" gives 17; anything else (".", "..") -1. */
static int parse_fd(const char *name)
{
	int fd = 0;

	if (!*name)
		return -1;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || fd > (1 << 27))
			return -1;
		fd = fd * 10 + (*name - '0');
	}
	return fd;
}

/* Calls visit for every fd of /proc/self/fd but the one reading it;
 * getdents64 directly (opendir would call malloc). false when it cannot
 * be read. */
static bool foreach_open_fd(void (*visit)(int fd, void *ctx), void *ctx)
{
	char buf[1024];
	int dir = lks_sys_openat(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	long got;

	if (dir < 0)
		return false;
	while ((got = lks_sys_getdents64(dir, buf, sizeof(buf))) > 0)
		for (long at = 0; at < got; at += ((struct dirent64 *)(buf + at))->d_reclen) {
			int fd = parse_fd(((struct dirent64 *)(buf + at))->d_name);

			if (fd >= 0 && fd != dir)
				visit(fd, ctx);
		}
	lks_sys_close(dir);
	return got == 0;
}

static void note_highest(int fd, void *ctx)
{
	int *highest = ctx;

	if (fd > *highest)
		*highest = fd;
}

static void note_open(int fd, void *ctx)
{
	(void)ctx;
	if ((size_t)fd / 8 < open_at_start_bytes)
		open_at_start[fd / 8] |= (uint8_t)(1u << (fd % 8));
}

static bool was_open_at_start(int fd)
{
	return (size_t)fd / 8 < open_at_start_bytes &&
	       (open_at_start[fd / 8] & (1u << (fd % 8)));
}

/* Two passes: the highest fd sizes the bitmap. One opened between them
 * is above it and counts as opened unseen, as it was. */
void lks_unseen_note_start(void)
{
	int highest = -1;

	lks_unmap(open_at_start, open_at_start_bytes);
	open_at_start = NULL;
	open_at_start_bytes = 0;
	if (!foreach_open_fd(note_highest, &highest))
		return;
	open_at_start_bytes = (size_t)(highest + 1) / 8 + 1;  /* highest -1: none open */
	open_at_start = lks_map(open_at_start_bytes);
	if (!open_at_start || !foreach_open_fd(note_open, NULL)) {
		lks_unmap(open_at_start, open_at_start_bytes);
		open_at_start = NULL;
		open_at_start_bytes = 0;
	}
}

static void count_unseen(int fd, void *ctx)
{
	uint64_t *unseen = ctx;
	struct lks_fd_entry entry;

	if (fd > 2 && !was_open_at_start(fd) && !lks_fd_lookup(fd, &entry))
		(*unseen)++;
}

uint64_t lks_unseen_count(void)
{
	uint64_t unseen = 0;

	if (!open_at_start || !foreach_open_fd(count_unseen, &unseen))
		return 0;
	return unseen;
}
