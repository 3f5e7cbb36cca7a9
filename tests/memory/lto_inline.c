/* SPDX-License-Identifier: MIT */
/* Built with -flto: make_block (lto_inline_alloc.c) is inlined into main
 * across files, and its abstract definition lies in another unit of the
 * debug information, as the standard library's generics do in every Rust
 * program. The report must still name make_block at its line, not main. */
#include <stdlib.h>

#include "fixture.h"

void *make_block(int size);

int main(void)
{
	escape(make_block(24));
	return 0;
}
