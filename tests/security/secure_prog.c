/* SPDX-License-Identifier: MIT */
/* Loads the shim it is given, as a set-user-ID program would get it from
 * /etc/ld.so.preload, then exits: made set-user-ID by the test, it runs
 * in secure mode (AT_SECURE), where the shim must take nothing from the
 * environment and write nothing. Usage: secure_prog SHIM */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 2 || !dlopen(argv[1], RTLD_NOW)) {
		fprintf(stderr, "secure_prog: %s\n", dlerror());
		return 2;
	}
	free(malloc(10));
	return 0;
}
