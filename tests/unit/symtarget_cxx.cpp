// SPDX-License-Identifier: MIT
// A C++ call site for test_symbols: its function must come out demangled.
#include "symtarget.h"

namespace target {

struct Widget {
	static void *make(int size);
};

__attribute__((noinline)) void *Widget::make(int size)
{
	void *ip = symtarget_here(); // mark: cxx
	__asm__ volatile("" : : "r"(size) : "memory");
	return ip;
}

} // namespace target

void *symtarget_cxx(void)
{
	return target::Widget::make(3);
}
