/* SPDX-License-Identifier: MIT */
/* A .bss of a few pages for unmapped_page.c, reached through a function
 * (a direct reference from the executable would copy it there). */
#include <stddef.h>

char *unmapped_page_area(size_t *bytes);

static char area[3 * 4096 + 100];

char *unmapped_page_area(size_t *bytes)
{
	*bytes = sizeof(area);
	return area;
}
