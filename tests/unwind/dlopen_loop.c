/* SPDX-License-Identifier: MIT */
/* A library loaded and unloaded 50 times, allocating each time it is in:
 * its table is dropped at every dlclose and digested again at the next
 * load, maybe at another address, and every stack through it must still
 * be right. Usage: dlopen_loop PATH-TO-LIBRARY */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	for (int round = 0; round < 50; round++) {
		void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
		void (*lib_leak)(void);

		if (lib == NULL) {
			fprintf(stderr, "dlopen: %s\n", dlerror());
			return 1;
		}
		lib_leak = (void (*)(void))dlsym(lib, "lib_leak");
		if (lib_leak == NULL)
			return 1;
		lib_leak();
		free(malloc(16));  /* a stack in the program between two loads */
		if (dlclose(lib) != 0)
			return 1;
	}
	return 0;
}
