/* SPDX-License-Identifier: MIT */
/* Where libleakscope.so is, found from the leakscope executable's own
 * location, so that neither the build tree nor an install needs a variable. */
#ifndef LEAKSCOPE_SHIMPATH_H
#define LEAKSCOPE_SHIMPATH_H

#include <stddef.h>

#include "errmsg.h"

#define SHIM_FILE_NAME "libleakscope.so"

/* An absolute path to the shim, tried in order: EXE_DIR/../shim (the build
 * tree), EXE_DIR/<bindir to shim dir> (installed). 0 or a negative errno. */
int shim_locate(char *path, size_t size, struct errmsg *err);
int shim_locate_from(const char *exe_dir, char *path, size_t size,
		     struct errmsg *err);

#endif
