/* SPDX-License-Identifier: MIT */
#ifndef LEAKSCOPE_UNTRACED_H
#define LEAKSCOPE_UNTRACED_H

#include <stdbool.h>

/* Says on stderr when the program about to be exec'd or spawned will run
 * without the shim, and returns true then; file is searched in PATH when
 * it has no slash. */
bool lks_warn_if_untraced(const char *file, bool search_path);

#endif
