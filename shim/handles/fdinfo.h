/* SPDX-License-Identifier: MIT */
/* What a handle is, in words, read when a snapshot or an exec note is
 * written (never on the hot path). */
#ifndef LEAKSCOPE_FDINFO_H
#define LEAKSCOPE_FDINFO_H

#include <stddef.h>
#include <stdint.h>

#include "shim.h"

#define LKS_DESCRIPTION_MAX 256

/* "socket AF_INET 127.0.0.1:40000 -> 127.0.0.1:8080", a path, "pipe:[ino]",
 * "anon_inode:[eventfd]"...; "" when the fd is no longer open. */
void lks_describe_fd(int fd, uint16_t type, char *out, size_t size);

/* /proc/self/maps, read once per snapshot into an mmap'd buffer. */
int lks_read_maps(struct lks_buf *maps);
/* "65536 bytes, /usr/lib/x/data.bin" or "65536 bytes, anonymous"; returns
 * false when nothing is mapped at addr any more. */
bool lks_describe_mapping(const struct lks_buf *maps, uint64_t addr, uint64_t size,
                          char *out, size_t out_size);

#endif
