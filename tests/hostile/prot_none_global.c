// SPDX-License-Identifier: MIT
/* issue 10 item 4: the program makes a page of its own .data and a page of
 * its own .bss PROT_NONE (a guard page, a sealed table) and exits normally:
 * status 0 and a report; the exit scan must skip what it cannot read. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static char data_pages[3 * 4096] __attribute__((aligned(4096))) = { 1 };
static char bss_pages[3 * 4096] __attribute__((aligned(4096)));

int main(void)
{
	/* held only from the protected pages: what the scan cannot read */
	*(void **)(data_pages + 4096) = malloc(100);
	*(void **)(bss_pages + 4096) = malloc(200);
	if (mprotect(data_pages + 4096, 4096, PROT_NONE) ||
	    mprotect(bss_pages + 4096, 4096, PROT_NONE)) {
		perror("mprotect");
		return 1;
	}
	puts("a page of .data and of .bss protected");
	return 0;
}
