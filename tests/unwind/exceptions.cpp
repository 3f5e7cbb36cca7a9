// SPDX-License-Identifier: MIT
// Allocations made while a C++ exception unwinds (in a destructor run by
// the personality routine, below libgcc's _Unwind_RaiseException frames)
// and in catch handlers: their stacks must go on through the unwinder's
// own frames to main.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "unwind_test.h"

static int destroyed;

struct Guard {
	~Guard()
	{
		void *block = malloc(24);
		if (++destroyed == 1)
			escape(block);  // the first one leaks: stack through the unwinder
		else
			free(block);
	}
};

extern "C" __attribute__((noinline)) void thrower(int depth)
{
	Guard guard;

	if (depth == 0)
		throw std::runtime_error(std::string(100, 'x'));
	thrower(depth - 1);
	escape(&guard);
}

extern "C" __attribute__((noinline)) void catcher(void)
{
	for (int i = 0; i < 100; i++) {
		try {
			thrower(10);
		} catch (const std::exception &error) {
			void *block = malloc(32);
			if (i == 99)
				escape(block);  // leaks: allocated in a catch handler
			else
				free(block);
		}
	}
}

int main()
{
	catcher();
	return 0;
}
