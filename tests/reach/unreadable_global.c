/* SPDX-License-Identifier: MIT */
/* Blocks held only from a page of .data and a page of .bss that the program
 * made PROT_NONE: the scan skips both pages (it crashed reading them) and
 * counts their bytes, so the blocks are definitely lost, as Valgrind 3.19
 * says too (300 bytes definitely lost). */
#include <stdlib.h>
#include <sys/mman.h>

#include "reach_fixture.h"

static char data_pages[3 * 4096] __attribute__((aligned(4096))) = { 1 };
static char bss_pages[3 * 4096] __attribute__((aligned(4096)));

__attribute__((noinline)) static void hide(void)
{
	*(void **)(data_pages + 4096) = malloc(100); /* expect-class: fn=hide class=definite blocks=1 bytes=100 */
	*(void **)(bss_pages + 4096) = malloc(200); /* expect-class: fn=hide class=definite blocks=1 bytes=200 */
	escape(data_pages);
	escape(bss_pages);
}

int main(void)
{
	hide();
	if (mprotect(data_pages + 4096, 4096, PROT_NONE) ||
	    mprotect(bss_pages + 4096, 4096, PROT_NONE))
		return 1;
	return 0;
}
