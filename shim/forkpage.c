/* SPDX-License-Identifier: MIT */
/* Telling a fork child whose atfork handlers never ran (_Fork, a raw
 * clone or fork system call: crash handlers and sandboxes make them) from a
 * vfork child, which shares its parent's memory. Both see another pid than
 * the one the shim started in; only the fork child finds this page empty:
 * the kernel zero-fills an MADV_WIPEONFORK page in every child that does
 * not share the memory. Without it (Linux before 4.14) such a child stays
 * taken for a vfork child, as it always was: it writes no snapshot. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "shim.h"
#include "sys.h"

#define PAGE 4096

static uint32_t unwipeable = 1;
volatile uint32_t *lks_fork_page = &unwipeable;

void lks_forkpage_start(void)
{
	void *page = lks_sys_mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
	                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED)
		return;
	if (madvise(page, PAGE, MADV_WIPEONFORK) != 0) {
		lks_sys_munmap(page, PAGE);
		return;
	}
	*(volatile uint32_t *)page = 1;
	lks_fork_page = page;
}

bool lks_forkpage_claim(void)
{
	if (lks_fork_page == &unwipeable)
		return true;
	if (*lks_fork_page)
		return false;
	*lks_fork_page = 1;
	return true;
}
