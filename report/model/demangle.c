/* SPDX-License-Identifier: MIT */
/* Demangling through libstdc++'s __cxa_demangle, declared here so that the
 * reporter stays a C program that merely links the C++ runtime. */
#include <stddef.h>
#include <string.h>

#include "demangle.h"

char *__cxa_demangle(const char *mangled, char *buffer, size_t *length,
		     int *status);

char *demangle(const char *name)
{
	int status = 0;
	char *readable;

	/* _Z is the Itanium prefix; anything else (C, Rust v0 _R) is left as is */
	if (!name || strncmp(name, "_Z", 2) != 0)
		return NULL;
	readable = __cxa_demangle(name, NULL, NULL, &status);
	return status == 0 ? readable : NULL;
}
