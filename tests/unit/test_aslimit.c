/* SPDX-License-Identifier: MIT */
/* RLIMIT_AS alone (shim/aslimit.c, arena.c). Without a limit any growth is
 * allowed. Under one, a growth that would leave the program less than an
 * eighth of it is refused, names the limit, and stops every later growth;
 * at start the reason says the limit and how much more is needed. The
 * limit is set in a child: the checks run there.
 * Usage: test_aslimit (TAP output) */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"
#include "tap.h"

#define MIB (1u << 20)

static uint64_t mapped_now(void)
{
	FILE *statm = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	if (statm) {
		if (fscanf(statm, "%lu", &pages) != 1)
			pages = 0;
		fclose(statm);
	}
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int under_limit(void)
{
	/* room for 64 MiB: an eighth kept is 8 MiB or more of it */
	uint64_t limit = (mapped_now() + 64 * MIB) & ~(uint64_t)(MIB - 1);
	struct rlimit set = { limit, limit };
	struct lks_line why = { .len = 0 };
	void *grown;

	ok(setrlimit(RLIMIT_AS, &set) == 0, "RLIMIT_AS set to %.0f MiB", limit / (double)MIB);
	ok(lks_aslimit_room_to_start(4 * MIB, &why), "4 MiB to start fits");
	ok(!lks_aslimit_room_to_start(60 * MIB, &why), "60 MiB to start does not");
	why.text[why.len] = '\0';
	ok(strstr(why.text, "RLIMIT_AS is ") && strstr(why.text, "needs about"),
	   "and says why: %s", why.text);
	grown = lks_map_growth(4 * MIB);
	ok(grown != NULL && !lks_aslimit_stopped(), "a 4 MiB growth is made");
	grown = lks_map_growth(60 * MIB);
	ok(!grown && lks_aslimit_stopped() == limit,
	   "a 60 MiB growth is refused, and the limit kept (%.0f MiB)",
	   lks_aslimit_stopped() / (double)MIB);
	ok(!lks_map_growth(4096), "no growth after that, even a page");
	return tap_done();
}

int main(void)
{
	struct rlimit now;
	int status = 1;
	pid_t child;

	if (getrlimit(RLIMIT_AS, &now) == 0 && now.rlim_cur == RLIM_INFINITY)
		ok(lks_aslimit_allows(1ull << 40) && lks_aslimit_stopped() == 0,
		   "no limit: a 1 TiB growth is allowed");
	fflush(stdout);
	child = fork();
	if (child == 0) {
		status = under_limit();  /* numbering on from the parent's checks */
		fflush(stdout);
		_exit(status);
	}
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
