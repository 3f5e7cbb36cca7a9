/* SPDX-License-Identifier: MIT */
/* Looks like CPython 3.14 to the shim: the symbols it reads at start-up,
 * exported, with a version whose frame layout it does not know. Its
 * allocations must keep their native stacks (tests/python, unsupported). */
#include <stdint.h>
#include <stdlib.h>

__attribute__((visibility("default"))) const uint32_t Py_Version = 0x030e00f0;
__attribute__((visibility("default"))) char _PyRuntime[4096];

/* sized by the compiler, as the eval loop's dynamic symbol is */
void *_PyEval_EvalFrameDefault(size_t bytes);
__attribute__((visibility("default"), noinline)) void *_PyEval_EvalFrameDefault(size_t bytes)
{
	return malloc(bytes);
}

int main(void)
{
	static void *held[10];

	for (int i = 0; i < 10; i++)
		held[i] = _PyEval_EvalFrameDefault(100);
	return held[9] == NULL;
}
