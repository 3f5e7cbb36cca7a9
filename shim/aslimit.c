/* SPDX-License-Identifier: MIT */
/* The address-space limit (RLIMIT_AS, ulimit -v). The shim's tables start
 * small and grow with the program; under a limit they grow only while the
 * program keeps an eighth of it free for itself, and the first growth
 * refused stops them growing for good: what then needs room is counted as
 * not recorded, and the snapshot says which limit stopped it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

static uint64_t stopped_by; /* atomic: the limit that stopped growth, in bytes; 0 */

/* The soft limit in bytes, 0 when there is none. Read at each growth:
 * the program may set it after start (and growths are few). */
static uint64_t limit_now(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
		return 0;
	return limit.rlim_cur;
}

/* The process's address space now (VmSize), 0 when /proc cannot tell. */
static uint64_t mapped_now(void)
{
	char text[64];
	int fd = lks_sys_openat(AT_FDCWD, "/proc/self/statm", O_RDONLY | O_CLOEXEC, 0);
	ssize_t len = fd < 0 ? -1 : lks_sys_read(fd, text, sizeof(text) - 1);
	uint64_t pages = 0;

	if (fd >= 0)
		lks_sys_close(fd);
	for (ssize_t at = 0; at < len && text[at] >= '0' && text[at] <= '9'; at++)
		pages = pages * 10 + (uint64_t)(text[at] - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* What the program keeps for itself under a limit. */
static uint64_t kept_for_program(uint64_t limit)
{
	return limit / 8;
}

static void stop(uint64_t limit)
{
	uint64_t none = 0;

	/* relaxed: a flag; the first limit seen is the one reported */
	__atomic_compare_exchange_n(&stopped_by, &none, limit, false, __ATOMIC_RELAXED,
	                            __ATOMIC_RELAXED);
}

bool lks_aslimit_allows(uint64_t bytes)
{
	uint64_t limit;

	if (__atomic_load_n(&stopped_by, __ATOMIC_RELAXED))
		return false;
	limit = limit_now();
	if (!limit || mapped_now() + bytes + kept_for_program(limit) <= limit)
		return true;
	stop(limit);
	return false;
}

/* A growth whose mmap failed anyway: ENOMEM under a limit is the limit's. */
void lks_aslimit_failed(int error)
{
	uint64_t limit = limit_now();

	if (error == ENOMEM && limit)
		stop(limit);
}

uint64_t lks_aslimit_stopped(void)
{
	return __atomic_load_n(&stopped_by, __ATOMIC_RELAXED);
}

static void line_mib(struct lks_line *line, uint64_t bytes)
{
	lks_line_u64(line, (bytes + (1u << 20) - 1) >> 20);
	lks_line_str(line, " MiB");
}

bool lks_aslimit_room_to_start(uint64_t start_bytes, struct lks_line *why)
{
	uint64_t limit = limit_now(), mapped, need;

	if (!limit)
		return true;
	mapped = mapped_now();
	need = mapped + start_bytes + kept_for_program(limit);
	if (need <= limit)
		return true;
	lks_line_str(why, "RLIMIT_AS is ");
	line_mib(why, limit);
	lks_line_str(why, " (ulimit -v), the program has ");
	line_mib(why, mapped);
	lks_line_str(why, " mapped; leakscope needs about ");
	line_mib(why, need - limit);
	lks_line_str(why, " more (its tables, and an eighth of the limit left to the program)");
	return false;
}
