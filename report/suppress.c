/* SPDX-License-Identifier: MIT */
/* The built-in rules. Each names allocations glibc makes once and keeps on
 * purpose, so that a program that frees all its own memory reports nothing. */
#include <string.h>

#include "suppress.h"

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The dynamic loader: TLS blocks of cached thread stacks, dlopen's
 * bookkeeping, link maps. ld.so frees none of them before exit. */
static bool in_dynamic_loader(const struct model_frame *frame)
{
	return frame->module && strncmp(base_name(frame->module), "ld-linux", 8) == 0;
}

static bool ends_with(const char *text, const char *suffix)
{
	size_t text_len = strlen(text), suffix_len = strlen(suffix);

	return text_len >= suffix_len && !strcmp(text + text_len - suffix_len, suffix);
}

/* The buffer stdio gives stdin, stdout and stderr on first use: exit
 * flushes it but never frees it. (A FILE the program opened and never
 * closed is reported as an open handle, and its FILE as a leak at fopen.) */
static bool is_stdio_buffer(const struct model_frame *frame)
{
	return frame->function && ends_with(frame->function, "_IO_file_doallocate");
}

/* libstdc++'s own start-up (the emergency exception pool, 72 KiB): made
 * from its constructor, run by the loader's _dl_init before main. */
static bool is_cxx_runtime_init(const struct model_stack *stack)
{
	if (stack->count == 0 || !stack->frames[0].module ||
	    strncmp(base_name(stack->frames[0].module), "libstdc++.so", 12) != 0)
		return false;
	for (size_t i = 1; i < stack->count; i++)
		if (stack->frames[i].function &&
		    !strcmp(stack->frames[i].function, "_dl_init"))
			return true;
	return false;
}

const char *suppress_builtin(const struct model_stack *stack)
{
	if (stack->count > 0 && in_dynamic_loader(&stack->frames[0]))
		return "builtin:dynamic-loader";
	if (stack->count > 0 && is_stdio_buffer(&stack->frames[0]))
		return "builtin:stdio-buffer";
	if (is_cxx_runtime_init(stack))
		return "builtin:libstdc++-init";
	return NULL;
}
