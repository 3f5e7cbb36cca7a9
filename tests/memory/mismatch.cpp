// SPDX-License-Identifier: MIT
// Blocks released by the wrong family: free() of a new[] block and
// realloc() of one are each a mismatch (new[] must go to delete[]); the
// block realloc returns is the malloc family's and free() of it is right.
// expect-clean
// expect-mismatches: 2
#include <cstdlib>

#include "fixture.h"

// the mistakes are the point
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

int main()
{
	char *freed = new char[40];
	escape(freed);
	std::free(freed);  // mismatch 1

	char *grown = new char[24];
	escape(grown);
	void *moved = std::realloc(grown, 4000);  // mismatch 2
	escape(moved);
	std::free(moved);  // a malloc-family block now: not a mismatch
	return 0;
}
