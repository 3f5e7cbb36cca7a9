/* SPDX-License-Identifier: MIT */
/* A C program that embeds Python the way plugins do: it dlopens a shared
 * libpython after start-up and runs a script with it, never finalizing, so
 * what the script keeps is live at exit (tests/python/check_python.py). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char code[4200];
	void *lib;
	void (*initialize)(void);
	int (*run)(const char *);

	if (argc != 3 || strpbrk(argv[2], "'\\\n")) {
		fprintf(stderr, "usage: embedder LIBPYTHON SCRIPT (no quote in its path)\n");
		return 2;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);  /* global: extension modules need it */
	if (!lib) {
		fprintf(stderr, "embedder: %s\n", dlerror());
		return 3;
	}
	initialize = (void (*)(void))dlsym(lib, "Py_Initialize");
	run = (int (*)(const char *))dlsym(lib, "PyRun_SimpleString");
	if (!initialize || !run)
		return 4;
	snprintf(code, sizeof(code), "import runpy\nrunpy.run_path('%s', run_name='__main__')\n",
		 argv[2]);
	initialize();
	return run(code) ? 5 : 0;
}
