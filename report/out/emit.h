/* SPDX-License-Identifier: MIT */
/* The one way leakscope writes an output: a format run on a file it opens
 * and closes, or on the command's own stream, and a message saying what
 * failed. */
#ifndef LEAKSCOPE_EMIT_H
#define LEAKSCOPE_EMIT_H

#include <stdio.h>

#include "errmsg.h"

/* One output: `write` runs a format on `what`, returning 0 or a negative
 * errno. It goes to `path`, or to `stream` when path is NULL; with
 * neither, the output was not asked for and is skipped. */
struct emit_output {
	const char *path;
	FILE *stream;
	int (*write)(FILE *out, const void *what);
	const void *what;
};

/* Writes the outputs in order and stops at the first that fails. 0, or a
 * negative errno with "PATH: why" or "writing PATH: why" in `err`. */
int emit(const struct emit_output *outputs, size_t count, struct errmsg *err);

/* One output written the way a snapshot is: into a new file of mode 0600
 * in the directory of `o->path` (never through a symlink, never over
 * another's file), renamed to `o->path` once complete, so that a reader
 * sees the whole file or none. 0, or a negative errno with why in `err`. */
int emit_private(const struct emit_output *o, struct errmsg *err);

/* A run can take hours: an output file that cannot be written fails it
 * before the command starts, not after. The file is created (empty) now,
 * as the output would create it. NULL passes. 0 or a negative errno. */
int emit_check_writable(const char *path, struct errmsg *err);

#endif
