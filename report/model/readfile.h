/* SPDX-License-Identifier: MIT */
/* Reading an input file whole (a snapshot, a baseline), the careful way:
 * a regular file only (a FIFO would wait for a writer, a device might never
 * end), of bounded size. */
#ifndef LEAKSCOPE_READFILE_H
#define LEAKSCOPE_READFILE_H

#include <stddef.h>
#include <stdint.h>

/* The regular file at `path`, of at most `max` bytes, in a malloc'd buffer
 * with a NUL after its `size` bytes. 0, or a negative errno: -EINVAL not a
 * regular file, -EFBIG larger than `max` (`size` says how large), -EIO it
 * shrank while being read, or what open or read said. */
int read_whole_file(const char *path, uint64_t max, char **data, size_t *size);

#endif
