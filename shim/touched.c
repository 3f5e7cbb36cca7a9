/* SPDX-License-Identifier: MIT */
/* Which pages of a range were ever touched, per /proc/thread-self/pagemap:
 * a page of private anonymous memory never written (nor read) holds zeros,
 * and reading it would cost a page fault for nothing. The exit snapshot's
 * walks over large, mostly unused memory (the live table's slots, the top
 * of every anonymous mapping searched for a thread's control block) read
 * only the touched pages: a short process paid over 300 faults there. */
#include <fcntl.h>
#include <unistd.h>

#include "shim.h"
#include "sys.h"

#define PAGEMAP_SWAPPED (1ull << 62)
#define PAGEMAP_PRESENT (1ull << 63)
#define ENTRIES 256  /* pagemap entries read at once (2 KiB of stack) */

int lks_pagemap_open(void)
{
	return lks_sys_open_proc("pagemap");
}

void lks_pagemap_close(int pagemap_fd)
{
	if (pagemap_fd >= 0)
		lks_sys_close(pagemap_fd);
}

struct runs {
	uint64_t lo, hi;   /* the range asked for: runs are cut to it */
	void (*visit)(uint64_t lo, uint64_t hi, void *ctx);
	void *ctx;
};

static void visit_run(const struct runs *runs, uint64_t lo, uint64_t hi)
{
	lo = lo > runs->lo ? lo : runs->lo;
	hi = hi < runs->hi ? hi : runs->hi;
	if (lo < hi)
		runs->visit(lo, hi, runs->ctx);
}

/* Visits the runs of pages from `at` (page-aligned) on that pagemap says
 * present or swapped; returns where it stopped: the end, or the first page
 * it could not ask about. */
static uint64_t touched_runs(int pagemap_fd, uint64_t at, uint64_t page,
                             const struct runs *runs)
{
	uint64_t entries[ENTRIES], run_lo = 0;
	bool in_run = false;

	while (at < runs->hi) {
		uint64_t pages = (runs->hi - at + page - 1) / page;
		uint64_t want = pages < ENTRIES ? pages : ENTRIES;
		ssize_t got = lks_sys_pread(pagemap_fd, entries, want * sizeof(uint64_t),
		                            (off_t)(at / page * sizeof(uint64_t)));

		if (got < (ssize_t)sizeof(uint64_t))
			break;
		for (uint64_t i = 0; i < (uint64_t)got / sizeof(uint64_t); i++, at += page) {
			bool touched = entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED);

			if (touched && !in_run)
				run_lo = at;
			else if (!touched && in_run)
				visit_run(runs, run_lo, at);
			in_run = touched;
		}
	}
	if (in_run)
		visit_run(runs, run_lo, at);
	return at;
}

void lks_touched_foreach(int pagemap_fd, uint64_t lo, uint64_t hi,
                         void (*visit)(uint64_t lo, uint64_t hi, void *ctx), void *ctx)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct runs runs = { lo, hi, visit, ctx };
	uint64_t stopped = lo & ~(page - 1);

	if (pagemap_fd >= 0)
		stopped = touched_runs(pagemap_fd, stopped, page, &runs);
	visit_run(&runs, stopped, hi);  /* what pagemap could not tell: all of it */
}
