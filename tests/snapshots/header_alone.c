/* SPDX-License-Identifier: MIT */
/* leakscope.h compiles on its own, first, in C and in C++ (built from this
 * file as header_alone.cpp too), and a program using it runs without
 * leakscope: the call answers -1 with ENOSYS. */
#include "leakscope.h"

int main(void)
{
	return leakscope_snapshot("alone") == -1 && errno == ENOSYS ? 0 : 1;
}
